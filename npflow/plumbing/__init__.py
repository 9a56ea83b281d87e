"""Plumbing: what turns npflow's method into a tool, and what a student may skip.

Run directories (``io``) and safe writes (``outputs``), the run's lock and how its training
ended (``lock``, ``status``), the figures (``plot``, ``plot_images``), the report of a run
(``evaluate``, ``evaluate_images``, ``labels``), flowing many points in chunks (``chunks``), the
demo, the process's memory and thread settings, and the bridge to PyTorch's weight layout. The
command line that uses them is ``npflow.cli``; the method itself, the math a student reads, is
in ``npflow.core`` and the chapters beside it.
"""

"""Plumbing: what turns npflow's method into a tool, and what a student may skip.

The command line (``cli``), run directories (``io``), argument checks (``checks``), the
figures (``plot``), the report of a run (``evaluate``), the demo, the process's memory
settings and the bridge to PyTorch's weight layout. The method itself, the math a student
reads, is the modules of ``npflow`` one level up.
"""

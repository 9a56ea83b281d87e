"""npflow's version: what ``npflow --version`` prints and what a run file records."""
__version__ = "0.1.0"

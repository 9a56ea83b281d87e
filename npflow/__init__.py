"""npflow: flow matching in NumPy, written to be read."""
__version__ = "0.1.0"

"""What the checks of every chapter share: the solvers' vector field, array drawing, closeness with a message.

The vector field of the solver exercises is ``f(t, x) = tanh(x @ A) * (1 + t) + b``, smooth,
non-linear, and different for each point, so that a slope taken at the wrong time or the wrong
point shows.
"""
import autograd.numpy as anp
import numpy as np

from ..checks import compare_arrays
from ..packages import module

__all__ = ["FIELD", "ACTIVATIONS", "normal", "field", "with_field", "close", "make_path"]

FIELD = "f(t, x) = tanh(x @ A) * (1 + t) + b"
ACTIVATIONS = ("relu", "silu", "tanh")


def normal(rng, shape, dtype, scale=1.0):
    """N(0, scale^2) draws of ``shape`` in ``dtype``."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


def field(case):
    """The case's field ``f(t, x) = tanh(x @ A) * (1 + t) + b``, autograd-differentiable in x."""
    A, b = case["A"], case["b"]
    return lambda t, x: anp.tanh(x @ A) * (1.0 + t) + b


def with_field(rng, size, scale=0.8):
    """The inputs of the case's field: its description, A of shape (d, d) and b of shape (d,)."""
    return {"f": FIELD, "A": normal(rng, (size.d, size.d), size.dtype, scale), "b": normal(rng, size.d, size.dtype)}


def close(what, got, expected, rtol=1e-6, atol=1e-8):
    """Raise AssertionError (with expected against got) unless ``got`` is ``expected`` to the tolerance."""
    problem = compare_arrays(what, np.asarray(expected, dtype=float), np.asarray(got, dtype=float), rtol, atol)
    if problem is not None:
        raise AssertionError(problem)


def make_path(pkg, case):
    """The case's path (``case["path"]``, ``case["sigma_min"]``), made by the package under test."""
    return module(pkg, "core/paths").make_path(case["path"], case["sigma_min"])

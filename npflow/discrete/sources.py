"""The source x_0: every token MASK (a symbol of its own, V), or every token uniform over the V symbols.

A masked source needs S = V + 1 symbols per token, a uniform one S = V.
"""
import numpy as np

__all__ = ["SOURCES", "states", "draw_source"]

#: The sources by name.
SOURCES = ("mask", "uniform")


def states(source, V):
    """S, the number of symbols a token can take: V + 1 for ``"mask"`` (MASK = V), V for ``"uniform"``."""
    check_source(source)
    return V + 1 if source == "mask" else V


def draw_source(source, n, D, V, rng):
    """x_0 of shape (n, D), int64: all MASK = V (no draw from rng), or i.i.d. uniform on 0 .. V-1.

    Parameters
    ----------
    source : str
        One of ``SOURCES``.
    n, D, V : int
        Sequences, tokens per sequence, data symbols.
    rng : numpy.random.Generator

    Examples
    --------
    >>> draw_source("mask", 2, 3, 5, None)
    array([[5, 5, 5],
           [5, 5, 5]])
    """
    check_source(source)
    if source == "mask":
        return np.full((n, D), V, dtype=np.int64)
    return rng.integers(V, size=(n, D), dtype=np.int64)


def check_source(source):
    """A ValueError unless ``source`` is one of ``SOURCES``."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: expected one of {', '.join(SOURCES)}")

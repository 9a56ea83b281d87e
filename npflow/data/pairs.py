"""Tables of pairs (x_0, x_1): read from an ``.npz`` file, and drawn whole, as reflow trains on them."""
import numpy as np

from .files import read_archive

__all__ = ["load_pairs", "draw_pairs"]


def load_pairs(path):
    """Read a table of pairs: an ``.npz`` file with float arrays ``x_0`` and ``x_1`` of shape (N, d), N >= 2.

    Returns
    -------
    x_0, x_1 : ndarray, shape (N, d)

    Raises
    ------
    ValueError
        One line naming the file, if it is missing, unreadable or not such a table.
    """
    arrays = read_archive(path, "pairs")  # never unpickles
    if not {"x_0", "x_1"} <= set(arrays):
        raise ValueError(f"pairs file {path!r} must hold arrays named x_0 and x_1, got {sorted(arrays)}")
    x_0, x_1 = arrays["x_0"], arrays["x_1"]
    if x_0.dtype.kind != "f" or x_1.dtype.kind != "f" or x_0.ndim != 2 or x_0.shape != x_1.shape or len(x_0) < 2:
        raise ValueError(f"pairs file {path!r} must hold x_0 and x_1 as float arrays of one shape (N, d) with N >= 2, "
                         f"got {x_0.dtype} {x_0.shape} and {x_1.dtype} {x_1.shape}")
    if not (np.all(np.isfinite(x_0)) and np.all(np.isfinite(x_1))):
        raise ValueError(f"pairs file {path!r} has NaN or infinite values")
    return x_0, x_1


def draw_pairs(x_0, x_1, n, rng):
    """n pairs drawn whole from the table (x_0, x_1), uniformly with replacement. Returns x_0, x_1 of shape (n, d)."""
    i = rng.integers(0, len(x_0), n)  # (n,) rows of the table
    return x_0[i], x_1[i]

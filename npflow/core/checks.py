"""Argument checks shared by the public functions: one clear ``ValueError`` that names the argument."""
import numpy as np

__all__ = ["check_points", "count_non_finite_rows"]


def count_non_finite_rows(x):
    """How many rows of x, shape (n, d), hold a NaN or an infinity."""
    return int(np.sum(~np.all(np.isfinite(x), axis=1)))


def check_points(x, name="x", dim=None):
    """Return ``x`` as a floating-point array of shape (n, d), or raise ``ValueError`` naming ``name``.

    Refuses anything that is not a non-empty 2-D numeric array, has the wrong dimension d
    (when ``dim`` is given), or holds NaN or infinity.

    Examples
    --------
    >>> check_points([[1, 2]]).dtype
    dtype('float64')
    >>> check_points([[0.0, np.nan]], name="z")
    Traceback (most recent call last):
    ...
    ValueError: z has NaN or infinite values in 1 of its 1 rows
    """
    array = np.asarray(x)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be a numeric array of shape (n, d), got dtype {array.dtype}")
    if array.dtype.kind != "f":  # integers become float64; float32 stays float32 (it is faster)
        array = array.astype(float)
    expected = "(n, d)" if dim is None else f"(n, {dim})"
    if array.ndim != 2 or array.shape[0] == 0 or (dim is not None and array.shape[1] != dim):
        raise ValueError(f"{name} must have shape {expected} with n >= 1, got shape {array.shape}")
    bad_rows = count_non_finite_rows(array)
    if bad_rows:
        raise ValueError(f"{name} has NaN or infinite values in {bad_rows} of its {len(array)} rows")
    return array

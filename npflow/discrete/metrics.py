"""How close sampled tokens are to a data table: histogram, total variation, KL, and the floor of i.i.d. draws.

A sample of n tokens has a histogram that differs from its own law by sampling noise alone: n
i.i.d. draws of the table itself sit at a TV of about sqrt(cells / (2 pi n)) (for many cells of
small mass). ``sampling_floor`` measures it; a sampler cannot be told apart from the data below it.
"""
import numpy as np

__all__ = ["MAX_CELLS", "histogram", "total_variation", "kl_divergence", "sampling_floor"]

#: The largest table ``histogram`` builds, V^D cells; past it, a dict of the rows seen.
MAX_CELLS = 2 ** 22


def histogram(x, V):
    """The frequencies of the rows of x (n, D) over V symbols.

    Returns
    -------
    ndarray of shape (V,) * D, summing to 1, when V^D <= ``MAX_CELLS``;
    else a dict {row as a tuple of ints: frequency} of the rows seen.

    Examples
    --------
    >>> histogram(np.array([[0, 1], [0, 1], [1, 1], [0, 0]]), 2)
    array([[0.25, 0.5 ],
           [0.  , 0.25]])
    """
    x = np.asarray(x, dtype=np.int64)
    n, D = x.shape
    if x.size and (x.min() < 0 or x.max() >= V):
        raise ValueError(f"tokens must lie in 0 .. {V - 1}, got values from {x.min()} to {x.max()}")
    if V ** D > MAX_CELLS:
        rows, counts = np.unique(x, axis=0, return_counts=True)
        return {tuple(int(v) for v in row): count / n for row, count in zip(rows, counts)}
    counts = np.bincount(np.ravel_multi_index(x.T, (V,) * D), minlength=V ** D)
    return (counts / n).reshape((V,) * D)


def total_variation(p, q):
    """``TV(p, q) = (1/2) sum_x |p(x) - q(x)|``, in [0, 1].

    Parameters
    ----------
    p, q : ndarray of one shape, or dicts {state: probability} (a missing state has probability 0)
    """
    if isinstance(p, dict) or isinstance(q, dict):
        p, q = _aligned(p, q)
    return 0.5 * float(np.sum(np.abs(np.asarray(p, dtype=float) - np.asarray(q, dtype=float))))


def kl_divergence(p, q):
    """KL(p || q) = sum_{x: p(x) > 0} p(x) log(p(x) / q(x)), in nats.

    Terms with p(x) = 0 are 0 (0 log 0 = 0), whatever q(x). If q(x) = 0 where p(x) > 0 the
    divergence is infinite, and ``inf`` is returned: p puts mass where q has none.

    Parameters
    ----------
    p, q : ndarray of one shape, or dicts {state: probability}
    """
    if isinstance(p, dict) or isinstance(q, dict):
        p, q = _aligned(p, q)
    p, q = np.ravel(np.asarray(p, dtype=float)), np.ravel(np.asarray(q, dtype=float))
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def _aligned(p, q):
    """Two dicts (or a dict and a table) as two vectors over the union of their states."""
    p, q = _as_dict(p), _as_dict(q)
    keys = sorted(set(p) | set(q))
    return np.array([p.get(k, 0.0) for k in keys]), np.array([q.get(k, 0.0) for k in keys])


def _as_dict(p):
    """A dict {state: probability}: a dict as it is, a table as its cells with mass > 0."""
    if isinstance(p, dict):
        return p
    p = np.asarray(p, dtype=float)
    return {tuple(int(i) for i in cell): p[tuple(cell)] for cell in np.argwhere(p > 0)}


def sampling_floor(probs, n, rng, repeats=5, measure=total_variation):
    """The ``measure`` of the histogram of n i.i.d. draws of ``probs`` against ``probs`` itself (its TV by default):
    the mean and standard deviation over repeats.

    Parameters
    ----------
    probs : ndarray
        A table (any shape), summing to 1.
    n : int
        Sample size, as the sampler's.
    rng : numpy.random.Generator
    repeats : int
        At least 2, for the standard deviation.
    measure : callable
        ``measure(histogram, probs) -> float`` on flat tables, e.g. ``total_variation`` or ``kl_divergence``.

    Returns
    -------
    mean, sd : float
    """
    if repeats < 2:
        raise ValueError(f"repeats must be at least 2 for a standard deviation, got {repeats}")
    p = np.ravel(np.asarray(probs, dtype=float))
    p = p / p.sum()
    values = [measure(rng.multinomial(n, p) / n, p) for _ in range(repeats)]
    return float(np.mean(values)), float(np.std(values, ddof=1))

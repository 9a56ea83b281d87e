"""Target datasets: the distributions p_1 that a flow learns to reach at t = 1.

Every dataset is a function ``sample(n, rng) -> x_1`` of shape (n, d). All randomness comes
from the ``numpy.random.Generator`` passed in, so the same seed gives the same points.

The registry ``DATASETS`` maps a name to its sampler and the reference statistics a user can
check samples against (``means``: the mode centres, ``std``: the within-mode standard deviation).
Add a dataset by adding an entry.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

__all__ = ["Dataset", "DATASETS", "get_dataset", "two_gaussians", "TWO_GAUSSIAN_MEANS"]

#: Centres of the seed's two modes, shape (2, 2).
TWO_GAUSSIAN_MEANS = np.array([[-4.0, 0.0], [4.0, 0.0]])


def two_gaussians(n, rng):
    """The seed's target: an equal mixture of N((-4, 0), I) and N((4, 0), I).

    As in the tutorial's ``sample_target_data``: pick a centre with a fair coin, then add
    standard normal noise.

    Parameters
    ----------
    n : int
        Number of points.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    x_1 : ndarray, shape (n, 2)

    Examples
    --------
    >>> x_1 = two_gaussians(5, np.random.default_rng(0))
    >>> x_1.shape
    (5, 2)
    """
    component = rng.integers(0, 2, size=n)  # (n,) which mode each point comes from
    return TWO_GAUSSIAN_MEANS[component] + rng.standard_normal((n, 2))


@dataclass(frozen=True)
class Dataset:
    """A named target distribution.

    Attributes
    ----------
    name : str
    sample : callable
        ``sample(n, rng) -> ndarray of shape (n, dim)``.
    dim : int
        Dimension d of one point.
    means : ndarray of shape (K, dim) or None
        Mode centres, when the dataset has modes (used by the mode metrics).
    std : float or None
        Within-mode standard deviation, when it is known.
    """

    name: str
    sample: Callable
    dim: int
    means: Optional[np.ndarray] = None
    std: Optional[float] = None


DATASETS = {
    "two_gaussians": Dataset("two_gaussians", two_gaussians, dim=2, means=TWO_GAUSSIAN_MEANS, std=1.0),
}


def get_dataset(name):
    """Look up a dataset by name; raise ``ValueError`` naming the choices if it is unknown."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]

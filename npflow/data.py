"""Target datasets: the distributions p_1 that a flow learns to reach at t = 1.

Every dataset is a function ``sample(n, rng) -> x_1`` of shape (n, d). All randomness comes
from the ``numpy.random.Generator`` passed in, so the same seed gives the same points.

The registry ``DATASETS`` maps a name to its sampler and what is known about it: the mode
centres (for the mode metrics) and, for a Gaussian mixture, the mixture itself, which gives the
exact density and the exact flow (``npflow.oracle``). Add a dataset by adding an entry.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .gmm import GaussianMixture

__all__ = ["Dataset", "DATASETS", "TWO_GAUSSIANS", "get_dataset", "two_gaussians"]

#: The seed's target: an equal mixture of N((-4, 0), I) and N((4, 0), I).
TWO_GAUSSIANS = GaussianMixture(means=[[-4.0, 0.0], [4.0, 0.0]], std=1.0)


def two_gaussians(n, rng):
    """Draw from the seed's target, ``TWO_GAUSSIANS``: a fair coin picks (-4, 0) or (4, 0), plus N(0, I).

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
    return TWO_GAUSSIANS.sample(n, rng)


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
    mixture : GaussianMixture or None
        The exact distribution, when it is a Gaussian mixture: its density gives KL and NLL
        references, and ``npflow.exact_velocity`` its exact field.
    """

    name: str
    sample: Callable
    dim: int
    means: Optional[np.ndarray] = None
    mixture: Optional[GaussianMixture] = None


DATASETS = {
    "two_gaussians": Dataset("two_gaussians", two_gaussians, dim=2, means=TWO_GAUSSIANS.means, mixture=TWO_GAUSSIANS),
}


def get_dataset(name):
    """Look up a dataset by name; raise ``ValueError`` naming the choices if it is unknown."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]

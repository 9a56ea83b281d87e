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

__all__ = ["Dataset", "DATASETS", "TWO_GAUSSIANS", "EIGHT_GAUSSIANS", "get_dataset", "two_gaussians", "eight_gaussians",
           "moons", "circles", "checkerboard", "spirals", "swiss_roll"]

#: The seed's target: an equal mixture of N((-4, 0), I) and N((4, 0), I).
TWO_GAUSSIANS = GaussianMixture(means=[[-4.0, 0.0], [4.0, 0.0]], std=1.0)

#: Eight equal Gaussians of std 0.5 on the circle of radius 4, at angles 0, 45, ..., 315 degrees.
EIGHT_GAUSSIANS = GaussianMixture(
    means=4.0 * np.column_stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)]), std=0.5)


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


def eight_gaussians(n, rng):
    """Draw from ``EIGHT_GAUSSIANS``: 8 equal modes of std 0.5 on the circle of radius 4. Shape (n, 2)."""
    return EIGHT_GAUSSIANS.sample(n, rng)


def moons(n, rng, noise=0.1):
    """Two interleaving half circles, scaled to span about [-4, 4] x [-2, 2].

    Half the points on the upper arc (cos a, sin a), half on the lower one (1 - cos a, 1/2 - sin a),
    with a ~ U(0, pi); then centred on (1/2, 1/4), multiplied by 2.5, plus N(0, noise^2 I).
    """
    a = rng.uniform(0.0, np.pi, n)  # (n,) angle on the arc
    upper = rng.random(n) < 0.5  # (n,) which moon
    x = np.where(upper, np.cos(a), 1.0 - np.cos(a))
    y = np.where(upper, np.sin(a), 0.5 - np.sin(a))
    return 2.5 * (np.column_stack([x, y]) - [0.5, 0.25]) + noise * rng.standard_normal((n, 2))


def circles(n, rng, noise=0.1):
    """Two concentric circles of radius 2 and 4, half the points on each, plus N(0, noise^2 I)."""
    a = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(rng.random(n) < 0.5, 2.0, 4.0)
    return radius[:, None] * np.column_stack([np.cos(a), np.sin(a)]) + noise * rng.standard_normal((n, 2))


def checkerboard(n, rng):
    """Uniform on the 8 dark squares of a 4 x 4 board of side-2 squares covering [-4, 4]^2.

    A square (i, j), i, j in 0..3, is dark when i + j is even.
    """
    i = rng.integers(0, 4, n)  # column of the square
    j = 2 * rng.integers(0, 2, n) + (i % 2)  # a row of the same parity as the column: i + j even
    corner = np.column_stack([i, j]) * 2.0 - 4.0  # lower-left corner of the square
    return corner + 2.0 * rng.random((n, 2))


def spirals(n, rng, noise=0.1):
    """Two interleaved spiral arms, each r = 0.4 theta for theta in [0, 3 pi], the second turned by 180 degrees.

    theta = 3 pi sqrt(u), u ~ U(0, 1), so points are spread evenly along the arm; plus N(0, noise^2 I).
    """
    theta = 3 * np.pi * np.sqrt(rng.random(n))
    arm = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]  # (n, 1) +1 or -1: which arm
    return arm * 0.4 * theta[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]) \
        + noise * rng.standard_normal((n, 2))


def swiss_roll(n, rng, noise=0.1):
    """The 2-D swiss roll: (s cos s, s sin s) / 2.5 for s = 1.5 pi (1 + 2u), u ~ U(0, 1), plus N(0, noise^2 I)."""
    s = 1.5 * np.pi * (1 + 2 * rng.random(n))
    return np.column_stack([s * np.cos(s), s * np.sin(s)]) / 2.5 + noise * rng.standard_normal((n, 2))


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
    "eight_gaussians": Dataset("eight_gaussians", eight_gaussians, dim=2, means=EIGHT_GAUSSIANS.means,
                               mixture=EIGHT_GAUSSIANS),
    "moons": Dataset("moons", moons, dim=2),
    "circles": Dataset("circles", circles, dim=2),
    "checkerboard": Dataset("checkerboard", checkerboard, dim=2),
    "spirals": Dataset("spirals", spirals, dim=2),
    "swiss_roll": Dataset("swiss_roll", swiss_roll, dim=2),
}


def get_dataset(name):
    """Look up a dataset by name; raise ``ValueError`` naming the choices if it is unknown."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]

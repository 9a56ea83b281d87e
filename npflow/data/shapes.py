"""The 2-D target shapes: Gaussian mixtures, moons, circles, a checkerboard, spirals and a swiss roll.

Each is a function ``sample(n, rng) -> x_1`` of shape (n, 2), every draw from the generator it
is given; ``npflow.data.datasets`` names them in its registry.
"""
import numpy as np

from ..core.gmm import GaussianMixture

__all__ = ["TWO_GAUSSIANS", "EIGHT_GAUSSIANS", "GMM", "two_gaussians", "eight_gaussians", "moons", "circles",
           "checkerboard", "spirals", "swiss_roll"]

#: The tutorial's target: an equal mixture of N((-4, 0), I) and N((4, 0), I).
TWO_GAUSSIANS = GaussianMixture(means=[[-4.0, 0.0], [4.0, 0.0]], std=1.0)

#: Eight equal Gaussians of std 0.5 on the circle of radius 4, at angles 0, 45, ..., 315 degrees.
EIGHT_GAUSSIANS = GaussianMixture(
    means=4.0 * np.column_stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)]), std=0.5)

#: The ``gmm`` dataset: three components with unequal weights and widths, to show that nothing
#: in the exact density or the exact field needs equal ones.
GMM = GaussianMixture(means=[[-3.0, -2.0], [3.0, -2.0], [0.0, 3.0]], std=[0.6, 0.9, 0.4], weights=[0.5, 0.3, 0.2])


def two_gaussians(n, rng, labels=False):
    """Draw from the tutorial's target, ``TWO_GAUSSIANS``: a fair coin picks (-4, 0) or (4, 0), plus N(0, I).

    Parameters
    ----------
    n : int
        Number of points.
    rng : numpy.random.Generator
        Source of randomness.
    labels : bool
        Also return the mode of each point: 0 for (-4, 0), 1 for (4, 0).

    Returns
    -------
    x_1 : ndarray, shape (n, 2)
    y : ndarray of int, shape (n,)
        Only with ``labels=True``; x_1 is the same bits either way.

    Examples
    --------
    >>> x_1 = two_gaussians(5, np.random.default_rng(0))
    >>> x_1.shape
    (5, 2)
    """
    return TWO_GAUSSIANS.sample(n, rng, labels)


def eight_gaussians(n, rng, labels=False):
    """Draw from ``EIGHT_GAUSSIANS``: 8 equal modes of std 0.5 on the circle of radius 4. Shape (n, 2).

    With ``labels=True``, also each point's mode k (at angle 45 k degrees), shape (n,).
    """
    return EIGHT_GAUSSIANS.sample(n, rng, labels)


def moons(n, rng, noise=0.1, labels=False):
    """Two interleaving half circles, scaled to span about [-4, 4] x [-2, 2].

    Half the points on the upper arc (cos a, sin a), half on the lower one (1 - cos a, 1/2 - sin a),
    with a ~ U(0, pi); then centred on (1/2, 1/4), multiplied by 2.5, plus N(0, noise^2 I).
    With ``labels=True``, also each point's moon, shape (n,): 0 for the upper, 1 for the lower.
    """
    a = rng.uniform(0.0, np.pi, n)  # (n,) angle on the arc
    upper = rng.random(n) < 0.5  # (n,) which moon
    x = np.where(upper, np.cos(a), 1.0 - np.cos(a))
    y = np.where(upper, np.sin(a), 0.5 - np.sin(a))
    x_1 = 2.5 * (np.column_stack([x, y]) - [0.5, 0.25]) + noise * rng.standard_normal((n, 2))
    return (x_1, np.where(upper, 0, 1)) if labels else x_1


def circles(n, rng, noise=0.1):
    """Two concentric circles of radius 2 and 4, half the points on each, plus N(0, noise^2 I)."""
    a = rng.uniform(0.0, 2 * np.pi, n)
    radius = np.where(rng.random(n) < 0.5, 2.0, 4.0)
    return radius[:, None] * np.column_stack([np.cos(a), np.sin(a)]) + noise * rng.standard_normal((n, 2))


def checkerboard(n, rng, labels=False):
    """Uniform on the 8 dark squares of a 4 x 4 board of side-2 squares covering [-4, 4]^2.

    A square (i, j), column i and row j in 0..3, is dark when i + j is even. With ``labels=True``,
    also each point's square, shape (n,): ``2 j + i // 2``, row by row from the bottom, left to right.
    """
    i = rng.integers(0, 4, n)  # column of the square
    j = 2 * rng.integers(0, 2, n) + (i % 2)  # a row of the same parity as the column: i + j even
    corner = np.column_stack([i, j]) * 2.0 - 4.0  # lower-left corner of the square
    x_1 = corner + 2.0 * rng.random((n, 2))
    return (x_1, 2 * j + i // 2) if labels else x_1


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

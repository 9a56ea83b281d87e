"""Target datasets: the distributions p_1 that a flow learns to reach at t = 1.

Every dataset is a function ``sample(n, rng) -> x_1`` of shape (n, d). All randomness comes
from the ``numpy.random.Generator`` passed in, so the same seed gives the same points.

The registry ``DATASETS`` maps a name to its sampler and what is known about it: the mode
centres (for the mode metrics) and, for a Gaussian mixture, the mixture itself, which gives the
exact density and the exact flow (``npflow.oracle``). Add a dataset by adding an entry, or wrap
any ``GaussianMixture`` with ``mixture_dataset``.

**Your own data.** Wherever a dataset name is expected, the path of a ``.npy`` or ``.csv`` file of
shape (n, d) works too (``get_dataset("points.npy")``, ``npflow train --dataset points.npy``),
for any d. Its distribution is the empirical one: a draw picks rows of the file uniformly, with
replacement. The file is read (by ``npflow.plumbing.files``, never unpickling) and checked
each time it is asked for: a 2-D numeric array, at least 2 rows, no NaN or inf.

**Sources.** The flow starts at t = 0 from a source p_0: ``"gaussian"``, N(0, I), by default,
or any dataset, for data-to-data transport (``get_source``).

**Densities.** Where a distribution is a Gaussian mixture (``gaussian`` is one, with one
component), its log-density is known: ``dataset.log_prob``. The likelihood of a run needs its
source's, and KL references need the target's.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .plumbing.checks import count_non_finite_rows
from .plumbing.files import read_array
from .gmm import GaussianMixture

__all__ = ["Dataset", "DATASETS", "TWO_GAUSSIANS", "EIGHT_GAUSSIANS", "GMM", "get_dataset", "get_source",
           "mixture_dataset", "is_data_file", "load_data_file", "points_dataset", "two_gaussians",
           "eight_gaussians", "moons", "circles", "checkerboard", "spirals", "swiss_roll"]

#: The tutorial's target: an equal mixture of N((-4, 0), I) and N((4, 0), I).
TWO_GAUSSIANS = GaussianMixture(means=[[-4.0, 0.0], [4.0, 0.0]], std=1.0)

#: Eight equal Gaussians of std 0.5 on the circle of radius 4, at angles 0, 45, ..., 315 degrees.
EIGHT_GAUSSIANS = GaussianMixture(
    means=4.0 * np.column_stack([np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4)]), std=0.5)

#: The ``gmm`` dataset: three components with unequal weights and widths, to show that nothing
#: in the exact density or the exact field needs equal ones.
GMM = GaussianMixture(means=[[-3.0, -2.0], [3.0, -2.0], [0.0, 3.0]], std=[0.6, 0.9, 0.4], weights=[0.5, 0.3, 0.2])


def two_gaussians(n, rng):
    """Draw from the tutorial's target, ``TWO_GAUSSIANS``: a fair coin picks (-4, 0) or (4, 0), plus N(0, I).

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

    @property
    def log_prob(self):
        """The log-density, a function ``log_p(x)`` from shape (n, d) to (n,), or None where it is unknown.

        Known for a Gaussian mixture (the source ``gaussian`` is one); a likelihood and KL need it.

        Examples
        --------
        >>> get_source("gaussian", 2).log_prob(np.zeros((1, 2)))  # log N(0; 0, I) = -log(2 pi)
        array([-1.83787707])
        >>> get_dataset("moons").log_prob is None
        True
        """
        return None if self.mixture is None else self.mixture.log_prob


def mixture_dataset(name, mixture):
    """A dataset drawn from a ``GaussianMixture``, with its modes, exact density and exact field.

    Examples
    --------
    >>> dataset = mixture_dataset("mine", GaussianMixture([[0.0, 0.0, 0.0]], std=2.0))
    >>> dataset.sample(4, np.random.default_rng(0)).shape, dataset.dim
    ((4, 3), 3)
    """
    return Dataset(name, mixture.sample, dim=mixture.dim, means=mixture.means, mixture=mixture)


DATASETS = {
    "two_gaussians": Dataset("two_gaussians", two_gaussians, dim=2, means=TWO_GAUSSIANS.means, mixture=TWO_GAUSSIANS),
    "eight_gaussians": Dataset("eight_gaussians", eight_gaussians, dim=2, means=EIGHT_GAUSSIANS.means,
                               mixture=EIGHT_GAUSSIANS),
    "gmm": mixture_dataset("gmm", GMM),
    "moons": Dataset("moons", moons, dim=2),
    "circles": Dataset("circles", circles, dim=2),
    "checkerboard": Dataset("checkerboard", checkerboard, dim=2),
    "spirals": Dataset("spirals", spirals, dim=2),
    "swiss_roll": Dataset("swiss_roll", swiss_roll, dim=2),
}


#: File types a dataset can be read from.
DATA_FILE_SUFFIXES = (".npy", ".csv")


def is_data_file(name):
    """Whether a dataset name is the path of a data file (it ends in .npy or .csv)."""
    return isinstance(name, str) and name.lower().endswith(DATA_FILE_SUFFIXES)


def load_data_file(path):
    """Read and check points from a ``.npy`` file or a comma-separated ``.csv`` file.

    A ``.csv`` file has one point per line, d numbers separated by commas; lines starting with
    ``#`` are skipped. Nothing is unpickled (``npflow.plumbing.files.read_array``).

    Returns
    -------
    x : ndarray of float, shape (n, d), n >= 2

    Raises
    ------
    ValueError
        One line naming the file: missing, unreadable, not a 2-D numeric array, fewer than 2
        rows, or NaN/inf values.
    """
    x = read_array(path, "dataset")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"dataset file {path!r} must hold an array of shape (n, d) with n >= 2, got shape {x.shape}")
    bad_rows = count_non_finite_rows(x)
    if bad_rows:
        raise ValueError(f"dataset file {path!r} has NaN or infinite values in {bad_rows} of its {len(x)} rows")
    return x.astype(float)


def points_dataset(name, x):
    """The empirical distribution of the points x, shape (n, d): a draw picks rows uniformly, with replacement.

    Examples
    --------
    >>> dataset = points_dataset("three", np.array([[0.0], [1.0], [2.0]]))
    >>> dataset.sample(5, np.random.default_rng(0))[:, 0]
    array([2., 1., 1., 0., 0.])
    """
    return Dataset(name, lambda n, rng: x[rng.integers(0, len(x), n)], dim=x.shape[1])


def get_dataset(name):
    """A dataset by registry name, or from a ``.npy``/``.csv`` file path; ``ValueError`` saying what is accepted.

    Examples
    --------
    >>> get_dataset("eight_gaussians").dim
    2
    """
    if is_data_file(name):
        return points_dataset(name, load_data_file(name))
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(DATASETS))}, "
                         f"or a .npy or .csv file of shape (n, d)")
    return DATASETS[name]


def get_source(name, dim):
    """The source p_0 that the flow starts from at t = 0.

    ``"gaussian"`` is N(0, I) in dimension ``dim`` (the tutorial's; a draw is
    ``rng.standard_normal((n, dim))``; a mixture of one component, so its ``log_prob`` is known).
    Any other name is a dataset (``get_dataset``) of dimension ``dim``: data-to-data transport.

    Examples
    --------
    >>> get_source("gaussian", 3).sample(2, np.random.default_rng(0)).shape
    (2, 3)
    """
    if name == "gaussian":
        return Dataset("gaussian", lambda n, rng: rng.standard_normal((n, dim)), dim=dim,
                       mixture=GaussianMixture(np.zeros((1, dim)), std=1.0))
    source = get_dataset(name)
    if source.dim != dim:
        raise ValueError(f"the source {name!r} has dimension {source.dim}, but the data has dimension {dim}")
    return source

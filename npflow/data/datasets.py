"""Target datasets: the distributions p_1 that a flow learns to reach at t = 1.

Every dataset is a function ``sample(n, rng) -> x_1`` of shape (n, d). All randomness comes
from the ``numpy.random.Generator`` passed in, so the same seed gives the same points.

The registry ``DATASETS`` maps a name to its sampler and what is known about it: the mode
centres (for the mode metrics) and, for a Gaussian mixture, the mixture itself, which gives the
exact density and the exact flow (``npflow.core.oracle``). Add a dataset by adding an entry, or wrap
any ``GaussianMixture`` with ``mixture_dataset``.

**Your own data.** Wherever a dataset name is expected, the path of a ``.npy`` or ``.csv`` file of
shape (n, d) works too (``get_dataset("points.npy")``, ``npflow train --dataset points.npy``),
for any d. Its distribution is the empirical one: a draw picks rows of the file uniformly, with
replacement. The file is read (by ``npflow.data.files``, never unpickling) and checked
each time it is asked for: a 2-D numeric array, at least 2 rows, no NaN or inf. Labelled data
goes in an ``.npz`` file with arrays ``x`` (n, d) and ``y`` (n,) of integer labels 0 .. K - 1,
every class with at least one row; a draw picks whole rows, a point with its label.

**Labels.** Where a dataset has natural classes it can be drawn with them, for a conditional
field (``npflow.guidance``): ``dataset.sample_labelled(n, rng)`` returns ``(x, y)``, where x is
the same bits ``dataset.sample(n, rng)`` draws from the same generator and y (n,) holds each
point's class in 0 .. ``dataset.num_classes`` - 1. Label k of a Gaussian mixture is its k-th
component, in the order of ``dataset.means``; ``moons`` has 2 (the upper moon is 0) and
``checkerboard`` 8 (its dark squares, row by row from the bottom, left to right).

**Sources.** The flow starts at t = 0 from a source p_0: ``"gaussian"``, N(0, I), by default,
or any dataset, for data-to-data transport (``get_source``).

**Densities.** Where a distribution is a Gaussian mixture (``gaussian`` is one, with one
component), its log-density is known: ``dataset.log_prob``. The likelihood of a run needs its
source's, and KL references need the target's.
"""
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numpy as np

from ..core.checks import count_non_finite_rows
from ..core.gmm import GaussianMixture
from .files import read_archive, read_array

__all__ = ["Dataset", "DATASETS", "TWO_GAUSSIANS", "EIGHT_GAUSSIANS", "GMM", "get_dataset", "get_source",
           "labelled_dataset", "mixture_dataset", "is_data_file", "load_data_file", "points_dataset", "two_gaussians",
           "eight_gaussians", "moons", "circles", "checkerboard", "spirals", "swiss_roll"]

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
    sample_labelled : callable or None
        ``sample_labelled(n, rng) -> (x, y)`` for a dataset with classes: x the same bits as
        ``sample(n, rng)`` draws, y of int, shape (n,), each point's class in 0 .. num_classes - 1.
    num_classes : int
        K, the number of classes; 0 for a dataset without labels.
    to_pixels : callable or None
        For an image dataset, ``to_pixels(x) -> pixels``: from the model's units back to the
        images' own; None for points.
    """

    name: str
    sample: Callable
    dim: int
    means: Optional[np.ndarray] = None
    mixture: Optional[GaussianMixture] = None
    sample_labelled: Optional[Callable] = None
    num_classes: int = 0
    to_pixels: Optional[Callable] = None

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
    """A dataset drawn from a ``GaussianMixture``, with its modes, exact density and exact field, and its
    components as labels.

    Examples
    --------
    >>> dataset = mixture_dataset("mine", GaussianMixture([[0.0, 0.0, 0.0]], std=2.0))
    >>> dataset.sample(4, np.random.default_rng(0)).shape, dataset.dim, dataset.num_classes
    ((4, 3), 3, 1)
    """
    return Dataset(name, mixture.sample, dim=mixture.dim, means=mixture.means, mixture=mixture,
                   sample_labelled=partial(mixture.sample, labels=True), num_classes=len(mixture.weights))


def labelled(name, sample, num_classes, dim=2, to_pixels=None):
    """A dataset whose sampler also draws the labels when asked: ``sample(n, rng, labels=True) -> (x, y)``."""
    return Dataset(name, sample, dim=dim, sample_labelled=partial(sample, labels=True), num_classes=num_classes,
                   to_pixels=to_pixels)


DATASETS = {
    "two_gaussians": mixture_dataset("two_gaussians", TWO_GAUSSIANS),
    "eight_gaussians": mixture_dataset("eight_gaussians", EIGHT_GAUSSIANS),
    "gmm": mixture_dataset("gmm", GMM),
    "moons": labelled("moons", moons, 2),
    "circles": Dataset("circles", circles, dim=2),
    "checkerboard": labelled("checkerboard", checkerboard, 8),
    "spirals": Dataset("spirals", spirals, dim=2),
    "swiss_roll": Dataset("swiss_roll", swiss_roll, dim=2),
}


def register_dataset(dataset):
    """Add a ``Dataset`` to ``DATASETS`` under its name; return it. An entry never replaces another."""
    if dataset.name in DATASETS:
        raise ValueError(f"dataset {dataset.name!r} is registered already")
    DATASETS[dataset.name] = dataset
    return dataset


#: File types a dataset can be read from: points in a .npy or .csv file, points with labels in an .npz file.
DATA_FILE_SUFFIXES = (".npy", ".csv", ".npz")


def is_data_file(name):
    """Whether a dataset name is the path of a data file (it ends in .npy, .csv or .npz)."""
    return isinstance(name, str) and name.lower().endswith(DATA_FILE_SUFFIXES)


def load_data_file(path, labels=False):
    """Read and check points from a ``.npy`` file, a comma-separated ``.csv`` file, or an ``.npz`` file with labels.

    A ``.csv`` file has one point per line, d numbers separated by commas; lines starting with
    ``#`` are skipped. An ``.npz`` file holds the points as ``x`` and their labels as ``y``.
    Nothing is unpickled (``npflow.data.files``).

    Parameters
    ----------
    path : str
    labels : bool
        Also return the labels (None for a ``.npy`` or ``.csv`` file).

    Returns
    -------
    x : ndarray of float, shape (n, d), n >= 2
    y : ndarray of int, shape (n,), or None
        Only with ``labels=True``: labels 0 .. K - 1, every class present (``check_file_labels``).

    Raises
    ------
    ValueError
        One line naming the file: missing, unreadable, not a 2-D numeric array, fewer than 2
        rows, NaN/inf values, or (in an .npz) no x and y or labels that are not 0 .. K - 1.
    """
    x, y = _readlabelled(path) if path.lower().endswith(".npz") else (read_array(path, "dataset"), None)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"dataset file {path!r} must hold an array of shape (n, d) with n >= 2, got shape {x.shape}")
    bad_rows = count_non_finite_rows(x)
    if bad_rows:
        raise ValueError(f"dataset file {path!r} has NaN or infinite values in {bad_rows} of its {len(x)} rows")
    y = None if y is None else check_file_labels(y, len(x), f"dataset file {path!r}")
    return (x.astype(float), y) if labels else x.astype(float)


def _readlabelled(path):
    """The arrays x and y of an .npz dataset file, as they are; a ValueError if either is missing or not numbers."""
    arrays = read_archive(path, "dataset")
    if not {"x", "y"} <= set(arrays):
        raise ValueError(f"dataset file {path!r} must hold arrays named x (the points) and y (their labels), "
                         f"got {sorted(arrays)}")
    if arrays["x"].dtype.kind not in "fiu":
        raise ValueError(f"dataset file {path!r}: x must hold numbers, got dtype {arrays['x'].dtype}")
    return arrays["x"], arrays["y"]


def check_file_labels(y, n, where):
    """Labels read from a file: integers, one per point, 0 .. K - 1 with every class present; as int64.

    Parameters
    ----------
    y : ndarray
    n : int
        The number of points they label.
    where : str
        What to name in a message, e.g. ``"dataset file 'd.npz'"``.

    Returns
    -------
    ndarray of int64, shape (n,)

    Raises
    ------
    ValueError
        One line: not integers, not of shape (n,), a negative label, or a class with no examples.
    """
    if y.dtype.kind not in "iu":
        raise ValueError(f"{where}: y must hold integer labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{where}: y must hold one label per point, shape ({n},), got shape {y.shape}")
    if y.min() < 0:
        raise ValueError(f"{where}: y must hold labels 0, 1, 2, ..., got {y.min()}")
    missing = np.setdiff1d(np.arange(y.max() + 1), y)
    if missing.size:
        raise ValueError(f"{where}: class {missing[0]} has no examples; the labels must be 0 .. K - 1 "
                         f"(here K = {y.max() + 1}) with every class present")
    return y.astype(np.int64)


def points_dataset(name, x, y=None):
    """The empirical distribution of the points x, shape (n, d): a draw picks rows uniformly, with replacement.

    With labels y (n,), in 0 .. K - 1, a labelled draw picks whole rows: each point with its label.

    Examples
    --------
    >>> dataset = points_dataset("three", np.array([[0.0], [1.0], [2.0]]), y=np.array([0, 1, 1]))
    >>> dataset.sample(5, np.random.default_rng(0))[:, 0]
    array([2., 1., 1., 0., 0.])
    >>> dataset.sample_labelled(5, np.random.default_rng(0))[1]
    array([1, 1, 1, 0, 0])
    """
    def sample(n, rng, labels=False):
        i = rng.integers(0, len(x), n)  # (n,) rows
        return (x[i], y[i]) if labels else x[i]

    if y is None:
        return Dataset(name, sample, dim=x.shape[1])
    return labelled(name, sample, int(y.max()) + 1, dim=x.shape[1])


def get_dataset(name):
    """A dataset by registry name, or from a ``.npy``/``.csv``/``.npz`` file path; ``ValueError`` saying what is
    accepted.

    Examples
    --------
    >>> get_dataset("eight_gaussians").dim
    2
    """
    if is_data_file(name):
        return points_dataset(name, *load_data_file(name, labels=True))
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(DATASETS))}, "
                         f"or a .npy or .csv file of shape (n, d), or an .npz file of points x and labels y")
    return DATASETS[name]


def labelled_dataset(name):
    """The dataset ``name`` (as ``get_dataset`` finds it) if it has labels; a ValueError naming those that do if not.

    Examples
    --------
    >>> labelled_dataset("gmm").num_classes
    3
    """
    dataset = get_dataset(name)
    if not dataset.num_classes:
        with_labels = ", ".join(key for key, known in DATASETS.items() if known.num_classes)
        raise ValueError(f"dataset {name!r} has no labels; a conditional run needs one that has: {with_labels}, "
                         "or an .npz file of points x and labels y")
    return dataset


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

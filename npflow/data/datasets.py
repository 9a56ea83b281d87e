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
every class with at least one row; a draw picks whole rows, a point with its label. Points
that are all whole numbers >= 0 (an ``.npy`` of integers, say) are also sequences of tokens
over the vocabulary 0 .. max (``Dataset.vocabulary``, ``Dataset.tokens``), which a discrete
objective learns.

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
from .shapes import (EIGHT_GAUSSIANS, GMM, TWO_GAUSSIANS, checkerboard, circles, eight_gaussians, moons, spirals,
                     swiss_roll, two_gaussians)

__all__ = ["Dataset", "DATASETS", "TWO_GAUSSIANS", "EIGHT_GAUSSIANS", "GMM", "get_dataset", "get_source",
           "labelled_dataset", "mixture_dataset", "is_data_file", "load_data_file", "points_dataset", "two_gaussians",
           "eight_gaussians", "moons", "circles", "checkerboard", "spirals", "swiss_roll", "whole_numbers"]


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
    vocabulary : int
        V, for data that are also sequences of ``dim`` tokens, each one of the symbols 0 .. V - 1
        (a discrete objective learns them); 0 for points only.
    tokens : callable or None
        With a vocabulary, ``tokens(n, rng) -> ndarray of int64, shape (n, dim)``: n sequences.
    table : ndarray of shape (V,) * dim, or None
        With a vocabulary small enough to enumerate, the exact probability of every sequence
        (summing to 1): the oracle a discrete model is checked against.
    """

    name: str
    sample: Callable
    dim: int
    means: Optional[np.ndarray] = None
    mixture: Optional[GaussianMixture] = None
    sample_labelled: Optional[Callable] = None
    num_classes: int = 0
    to_pixels: Optional[Callable] = None
    vocabulary: int = 0
    tokens: Optional[Callable] = None
    table: Optional[np.ndarray] = None

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


def labelled(name, sample, num_classes, dim=2, **known):
    """A dataset whose sampler also draws the labels when asked: ``sample(n, rng, labels=True) -> (x, y)``; ``known``
    holds the rest of what is known about it (``to_pixels``, ``vocabulary``, ``tokens``: ``Dataset``'s fields)."""
    return Dataset(name, sample, dim=dim, sample_labelled=partial(sample, labels=True), num_classes=num_classes,
                   **known)


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

    vocabulary = whole_numbers(x)
    known = {"vocabulary": vocabulary, "tokens": lambda n, rng: sample(n, rng).astype(np.int64)} if vocabulary else {}
    if y is None:
        return Dataset(name, sample, dim=x.shape[1], **known)
    return labelled(name, sample, int(y.max()) + 1, dim=x.shape[1], **known)


def whole_numbers(x):
    """V = max + 1 where every value of the points x is a whole number >= 0, the vocabulary of their rows read as
    tokens; 0 where one is not.

    Examples
    --------
    >>> whole_numbers(np.array([[0.0, 3.0], [2.0, 1.0]])), whole_numbers(np.array([[0.5, 3.0]]))
    (4, 0)
    """
    return int(x.max()) + 1 if x.min() >= 0 and np.array_equal(x, np.round(x)) else 0


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

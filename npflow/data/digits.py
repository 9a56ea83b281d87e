"""Handwritten digits: 8x8 images as points in R^64, and the units a flow works in.

**The data.** The 8x8 digits of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin and C. Kaynak, 1998,
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits), licensed
CC BY 4.0 by the UCI Machine Learning Repository, as scikit-learn's ``load_digits`` ships them
(a copy of the UCI set's test part, ``optdigits.tes``): 1,797 images of 8 x 8 pixels, each
an integer 0..16 (the count of "on" cells in a 4 x 4 block of a 32 x 32 bitmap), and a label
0..9. They are stored in ``npflow/datasets/digits.npz``, extracted once with scikit-learn
1.9.1, which npflow does not depend on: ``pixels`` (1797, 64) uint8 in row-major order,
``labels`` (1797,) uint8, and ``is_test`` (1797,) bool, a fixed stratified 80/20 split. One
generator, ``numpy.random.default_rng(0)``, permutes the n_k images of each class k in turn
(k = 0..9, the images in the file's order); the first round(0.2 n_k) of each permutation
are test images: 359 test, 1,438 train.

**Units.** A flow models a continuous density, but pixels are discrete: fit to the 17 values
alone, a density can pile up on them and its likelihood grow without bound. So each pixel v gets uniform noise u ~ U(0, 1) (it is
*dequantized*: v + u fills the bin [v, v + 1)), and the result is mapped affinely onto
[-1, 1), the scale of the N(0, I) noise at t = 0::

    x = (v + u) / 17 * 2 - 1,        u ~ U(0, 1) per pixel                      (to_model)
    v = clip(floor((x + 1) / 2 * 17), 0, 16)                                      (to_pixels)

``to_pixels`` undoes ``to_model`` exactly (whatever u was), and takes any point of R^64,
such as a sample, back to the dataset's own pixels.

**Bits per dimension.** For a model density p(x) on R^D (D = 64), the continuous pixels
w = v + u have the density p_w(w) = p(x) (2 / 17)^D (change of variables of the affine map,
whose Jacobian is 2/17 per pixel). The probability the model gives a discrete image v is its
mass over the bin, P(v) = integral over [0, 1)^D of p_w(v + u) du, and by Jensen's inequality
log P(v) >= E_u[log p_w(v + u)] (Theis, van den Oord and Bethge, 2016, "A note on the
evaluation of generative models", Sec. 3.1). So, in bits per pixel::

    bits/dim = -(log p(x) + D log(2 / 17)) / (D log 2),    x = to_model(v, rng)

has its expectation over u above -log2 P(v) / D, the discrete model's negative
log-likelihood per pixel: an upper bound on it, equal when p is constant within every bin.
One draw of u per image, averaged over many images, estimates it without bias. A model that
spreads each pixel evenly over its 17 levels scores log2 17 = 4.09 bits/dim.
"""
import functools
import os
from collections import namedtuple

import numpy as np

from .datasets import labelled, register_dataset

__all__ = ["SIDE", "DIM", "LEVELS", "CLASSES", "Digits", "load_digits", "to_model", "to_pixels", "bits_per_dim"]

#: Images are SIDE x SIDE pixels, DIM numbers in all, each pixel one of LEVELS values 0..16.
SIDE, LEVELS, CLASSES = 8, 17, 10
DIM = SIDE * SIDE

#: One split of the digits: pixels (n, 64) float64 with values 0..16, labels (n,) int64 0..9.
Digits = namedtuple("Digits", ["pixels", "labels"])

_FILE = os.path.join(os.path.dirname(__file__), "digits.npz")


@functools.lru_cache(maxsize=None)  # read the file once: a digits run draws a batch from it at every step
def load_digits(split="train"):
    """One split of the bundled digits, in the dataset's own units.

    The file is read once per split and the arrays are kept, read-only (``functools.lru_cache``):
    reading it for every batch made a training step of the digits recipe 17 % slower (8.0 against
    6.7 ms, 200 steps, one thread, side by side).

    Parameters
    ----------
    split : {"train", "test", "all"}
        The fixed 80/20 split of the module docstring (1,438 train, 359 test images), or all 1,797.

    Returns
    -------
    Digits
        ``pixels`` of shape (n, 64), float64 with integer values 0..16, as scikit-learn's
        ``load_digits`` gives them (floats, so that differences between images cannot wrap
        around as uint8 would); ``labels`` of shape (n,), int64 0..9.

    Examples
    --------
    >>> train = load_digits("train")
    >>> train.pixels.shape, train.labels.shape, float(train.pixels.max())
    ((1438, 64), (1438,), 16.0)
    """
    with np.load(_FILE) as data:
        pixels, labels, is_test = data["pixels"], data["labels"], data["is_test"]
    rows = {"train": ~is_test, "test": is_test, "all": np.ones_like(is_test)}
    if split not in rows:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    keep = rows[split]
    split_pixels, split_labels = pixels[keep].astype(np.float64), labels[keep].astype(np.int64)
    split_pixels.flags.writeable = split_labels.flags.writeable = False  # shared by every caller
    return Digits(split_pixels, split_labels)


def to_model(pixels, rng):
    """Dequantize and scale pixels to model units: ``x = (v + u) / 17 * 2 - 1``, u ~ U(0, 1).

    Parameters
    ----------
    pixels : ndarray, shape (n, 64)
        Pixels v, integers 0..16.
    rng : numpy.random.Generator
        Draws the dequantization noise u, one number per pixel.

    Returns
    -------
    x : ndarray, shape (n, 64)
        Points in [-1, 1).
    """
    u = rng.random(np.shape(pixels))  # (n, 64), U(0, 1)
    return (pixels + u) / LEVELS * 2 - 1


def to_pixels(x):
    """Model units back to pixels: ``v = clip(floor((x + 1) / 2 * 17), 0, 16)``.

    The floor finds the bin [v, v + 1) that ``to_model`` spread pixel v over, so
    ``to_pixels(to_model(v, rng)) == v``; points outside [-1, 1) are clipped to 0 or 16.

    Parameters
    ----------
    x : ndarray, shape (n, 64)

    Returns
    -------
    pixels : ndarray, shape (n, 64)
        float64 with integer values 0..16.

    Examples
    --------
    >>> to_pixels(np.array([[-1.0, -0.99, 0.0, 0.999, 3.0, -7.0]]))
    array([[ 0.,  0.,  8., 16., 16.,  0.]])
    """
    return np.clip(np.floor((x + 1) / 2 * LEVELS), 0, LEVELS - 1)


def bits_per_dim(log_p, dim=DIM):
    """Bits per pixel of the discrete images, from the model's log-density in model units.

    ``bits/dim = -(log p(x) + D log(2 / 17)) / (D log 2)``: the log-density of the continuous
    pixels v + u (the change of variables of ``to_model``), in bits, per pixel. Its mean over
    images is an upper bound on the discrete negative log-likelihood (see the module docstring).

    Parameters
    ----------
    log_p : ndarray, shape (n,)
        log p(x) in nats, x = to_model(v, rng) for images v.
    dim : int
        D, the number of pixels of an image.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> # the uniform density on [-1, 1)^D, log p = -D log 2, is 17 equally likely levels per pixel
    >>> bits_per_dim(np.array([-64 * np.log(2.0)]))
    array([4.08746284])
    """
    log_p_pixels = np.asarray(log_p) + dim * np.log(2 / LEVELS)  # log p_w(v + u), w = v + u
    return -log_p_pixels / (dim * np.log(2))


def digits(n, rng, labels=False):
    """Handwritten digits of the train split (``load_digits``) in model units: images drawn uniformly, with
    replacement, then dequantized, ``x = (v + u) / 17 * 2 - 1`` with u ~ U(0, 1) drawn afresh every time."""
    train = load_digits("train")
    i = rng.integers(0, len(train.labels), n)  # (n,) images
    x = to_model(train.pixels[i], rng)  # (n, 64)
    return (x, train.labels[i]) if labels else x


register_dataset(labelled("digits", digits, CLASSES, dim=DIM, to_pixels=to_pixels))

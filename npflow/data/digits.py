"""Handwritten digits: 8x8 images as points in R^64, and the units a flow works in.

**The data.** The 8x8 digits of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin and C. Kaynak, 1998,
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits), licensed
CC BY 4.0 by the UCI Machine Learning Repository, as scikit-learn's ``load_digits`` ships them
(a copy of the UCI set's test part, ``optdigits.tes``): 1,797 images of 8 x 8 pixels, each
an integer 0..16 (the count of "on" cells in a 4 x 4 block of a 32 x 32 bitmap), and a label
0..9. They are stored in ``npflow/data/digits.npz``, extracted once with scikit-learn
1.9.1, which npflow does not depend on: ``pixels`` (1797, 64) uint8 in row-major order,
``labels`` (1797,) uint8, and ``is_test`` (1797,) bool, a fixed stratified 80/20 split. One
generator, ``numpy.random.default_rng(0)``, permutes the n_k images of each class k in turn
(k = 0..9, the images in the file's order); the first round(0.2 n_k) of each permutation
are test images: 359 test, 1,438 train.

In a flow they are points of R^64 in model units (``npflow.images.pixels``); to a discrete
objective, sequences of 64 tokens over the vocabulary of the 17 pixel values (``digit_tokens``).
"""
import functools
import os
from collections import namedtuple

import numpy as np

from ..images.pixels import CLASSES, DIM, LEVELS, to_model, to_pixels
from .datasets import labelled, register_dataset

__all__ = ["Digits", "load_digits", "digits", "digit_tokens"]

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


def digits(n, rng, labels=False):
    """Handwritten digits of the train split (``load_digits``) in model units: images drawn uniformly, with
    replacement, then dequantized, ``x = (v + u) / 17 * 2 - 1`` with u ~ U(0, 1) drawn afresh every time."""
    train = load_digits("train")
    i = rng.integers(0, len(train.labels), n)  # (n,) images
    x = to_model(train.pixels[i], rng)  # (n, 64)
    return (x, train.labels[i]) if labels else x


def digit_tokens(n, rng):
    """Handwritten digits of the train split as tokens: images drawn uniformly, with replacement, each pixel its
    value 0..16 as an int64; shape (n, 64)."""
    train = load_digits("train")
    return train.pixels[rng.integers(0, len(train.labels), n)].astype(np.int64)


register_dataset(labelled("digits", digits, CLASSES, dim=DIM, to_pixels=to_pixels, vocabulary=LEVELS,
                          tokens=digit_tokens))

"""A digit classifier trained by npflow itself: the judge of generated digits.

Image models are scored through a classifier (FID uses the Inception network's features). For
the 8x8 digits, npflow trains its own, in about a second, with its own ``optim.Adam``: an MLP
with one hidden layer of ReLU units, on pixels scaled to [0, 1]::

    h      = relu(v / 16 @ W_1 + b_1)            (n, hidden)     the features
    logits = h @ W_2 + b_2                       (n, 10)
    L      = -mean over images of log softmax(logits)[label]     (cross-entropy)

It reads 96 to 97 % of the test split right (five seeds). Softmax regression, with no hidden
layer, reached 95.3 to 96.1 % with 1,000 to 2,000 steps, too close to the 95 % it must clear,
and it has no hidden features to compare images in. The classifier's two uses: the share of conditional samples read as
the class they were asked for, and the features h in which ``image_metrics.frechet_distance``
compares samples with real digits.
"""
import autograd
import autograd.numpy as anp
import numpy as np

from ..core.gmm import logsumexp
from ..core.mlp import init_mlp
from ..core.optim import Adam
from .pixels import CLASSES, DIM, LEVELS

__all__ = ["features", "logits", "cross_entropy", "train_classifier", "predict"]


def features(params, pixels):
    """The hidden layer h = relu(v / 16 @ W_1 + b_1), shape (n, hidden), for pixels (n, 64) in 0..16."""
    (W_1, b_1), _ = params
    return anp.maximum(pixels / (LEVELS - 1) @ W_1 + b_1, 0.0)


def logits(params, pixels):
    """logits = h @ W_2 + b_2, shape (n, 10): one score per class."""
    _, (W_2, b_2) = params
    return features(params, pixels) @ W_2 + b_2


def cross_entropy(params, pixels, labels):
    """L = -mean log softmax(logits)[label], with log softmax(z) = z - logsumexp(z).

    Parameters
    ----------
    params : list of (W, b)
    pixels : ndarray, shape (n, 64)
    labels : ndarray of int, shape (n,)

    Returns
    -------
    float
    """
    z = logits(params, pixels)  # (n, 10)
    log_softmax = z - logsumexp(z, axis=1, keepdims=True)
    one_hot = np.eye(CLASSES)[labels]  # (n, 10)
    return -anp.mean(anp.sum(one_hot * log_softmax, axis=1))


def train_classifier(pixels, labels, rng, hidden=128, steps=500, batch=128, lr=3e-3):
    """Fit the classifier by Adam on minibatches drawn with replacement.

    Parameters
    ----------
    pixels : ndarray, shape (n, 64)
        Training images, pixels 0..16 (``digits.load_digits("train").pixels``).
    labels : ndarray of int, shape (n,)
    rng : numpy.random.Generator
        Draws the initial weights, then the batches.
    hidden, steps, batch, lr
        Width of the hidden layer; Adam steps, images per step, learning rate. The defaults
        reach 96 to 97 % on the test split in about a second.

    Returns
    -------
    params : list of (W, b)
        ``[(W_1, b_1), (W_2, b_2)]``.
    """
    params = init_mlp([DIM, hidden, CLASSES], rng)
    optimizer = Adam(lr=lr)
    gradient = autograd.grad(cross_entropy)
    for _ in range(steps):
        rows = rng.integers(0, len(pixels), size=batch)
        params = optimizer.step(params, gradient(params, pixels[rows], labels[rows]))
    return params


def predict(params, pixels):
    """The class each image is read as: argmax of the logits, shape (n,)."""
    return np.argmax(logits(params, pixels), axis=1)

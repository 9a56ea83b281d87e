"""The digits judge: one classifier, trained once and shipped, that scores every digits run alike.

``npflow evaluate`` reads a digits run's samples through a classifier (``npflow.images.classifier``):
the share of the samples it reads as the class they were asked for, and the Frechet distance in
its hidden features. A judge retrained for each evaluation would move with the evaluation's
seed, and with it every figure it gives. So npflow trains it once, from a fixed seed
(``JUDGE_SEED``) on the train split of the bundled digits, and ships the weights it reaches in
``npflow/data/judge.npz`` (float64, as trained, about 80 KB): ``W_1`` (64, 128), ``b_1`` (128,),
``W_2`` (128, 10), ``b_2`` (10,), and ``version`` and ``seed``, the ``JUDGE_VERSION`` and
``JUDGE_SEED`` they were built with.

``build_judge()`` trains it again; training is deterministic, so on the machine that wrote the
file it gives the same bits (a test checks it). ``python -m npflow.data.judge`` writes the file.
A new judge (other steps, other widths, another seed) is a new ``JUDGE_VERSION``: figures
measured by two versions are not comparable, and ``npflow evaluate`` names the version it used.
"""
import functools
import os
from collections import namedtuple

import numpy as np

from ..images.classifier import predict, train_classifier
from .digits import load_digits

__all__ = ["JUDGE_VERSION", "JUDGE_SEED", "Judge", "build_judge", "save_judge", "load_judge"]

#: The judge's version: which trained classifier the figures of ``npflow evaluate`` come from.
JUDGE_VERSION = 1
#: The seed of ``numpy.random.default_rng`` the judge is trained from (its first weights, then its batches).
JUDGE_SEED = 0

_FILE = os.path.join(os.path.dirname(__file__), "judge.npz")

#: The judge: its weights ``params`` [(W_1, b_1), (W_2, b_2)], its ``version``, and its ``test_accuracy``,
#: the share of the 359 test images it reads right.
Judge = namedtuple("Judge", ["params", "version", "test_accuracy"])


def build_judge():
    """Train the judge from ``JUDGE_SEED`` on the train split, as the shipped file holds it.

    Returns
    -------
    list of (W, b)
        ``[(W_1, b_1), (W_2, b_2)]``, shapes (64, 128), (128,), (128, 10), (10,).
    """
    train = load_digits("train")
    return train_classifier(train.pixels, train.labels, np.random.default_rng(JUDGE_SEED))


def save_judge(params, path=_FILE):
    """Write the judge's weights, version and seed to ``path`` (the shipped file by default)."""
    (W_1, b_1), (W_2, b_2) = params
    np.savez_compressed(path, W_1=W_1, b_1=b_1, W_2=W_2, b_2=b_2, version=JUDGE_VERSION, seed=JUDGE_SEED)


@functools.lru_cache(maxsize=None)  # one file, read once
def load_judge(path=_FILE):
    """The shipped judge, with its version and its accuracy on the test split.

    Raises
    ------
    ValueError
        In one line, when the file holds another version than ``JUDGE_VERSION``.

    Examples
    --------
    >>> judge = load_judge()
    >>> judge.version, judge.params[0][0].shape, judge.test_accuracy > 0.95
    (1, (64, 128), True)
    """
    with np.load(path) as saved:
        if int(saved["version"]) != JUDGE_VERSION:
            raise ValueError(f"{path!r} holds judge v{int(saved['version'])}; this npflow reads v{JUDGE_VERSION}: "
                             "rebuild it with python -m npflow.data.judge")
        params = [(saved["W_1"], saved["b_1"]), (saved["W_2"], saved["b_2"])]
    test = load_digits("test")
    return Judge(params, JUDGE_VERSION, float(np.mean(predict(params, test.pixels) == test.labels)))


if __name__ == "__main__":
    save_judge(build_judge())
    print(f"wrote judge v{JUDGE_VERSION} (seed {JUDGE_SEED}) to {_FILE}")

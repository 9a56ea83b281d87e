import numpy as np
import pytest
from autograd.test_util import check_grads

from npflow.core.mlp import init_mlp
from npflow.data.digits import load_digits
from npflow.images.pixels import CLASSES
from npflow.images.classifier import cross_entropy, features, logits, predict, train_classifier


def test_trained_classifier_reads_the_test_split():
    """The judge of generated digits must read at least 95 % of real test digits right."""
    train, test = load_digits("train"), load_digits("test")
    params = train_classifier(train.pixels, train.labels, np.random.default_rng(0))
    accuracy = np.mean(predict(params, test.pixels) == test.labels)
    assert accuracy >= 0.95
    assert features(params, test.pixels).shape == (len(test.labels), 128)


def test_cross_entropy_of_equal_logits_is_log_of_the_class_count():
    params = [(np.zeros((64, 8)), np.zeros(8)), (np.zeros((8, CLASSES)), np.zeros(CLASSES))]
    pixels, labels = load_digits("test").pixels[:5], load_digits("test").labels[:5]
    assert cross_entropy(params, pixels, labels) == pytest.approx(np.log(CLASSES), rel=1e-14)


def test_cross_entropy_by_hand(rng):
    params = init_mlp([64, 8, CLASSES], rng)
    pixels, labels = rng.integers(0, 17, (6, 64)).astype(float), rng.integers(0, CLASSES, 6)
    z = logits(params, pixels)
    p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)  # softmax
    assert cross_entropy(params, pixels, labels) == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])), rel=1e-12)


def test_cross_entropy_gradient(rng):
    params = init_mlp([64, 8, CLASSES], rng)
    pixels, labels = rng.integers(0, 17, (6, 64)).astype(float), rng.integers(0, CLASSES, 6)
    check_grads(lambda p: cross_entropy(p, pixels, labels), modes=["rev"], order=1)(params)

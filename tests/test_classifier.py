import numpy as np
import pytest
from autograd.test_util import check_grads

from npflow.core.mlp import init_mlp
from npflow.data.digits import load_digits
from npflow.data.judge import JUDGE_VERSION, build_judge, load_judge
from npflow.images.pixels import CLASSES
from npflow.images.classifier import cross_entropy, features, logits, predict, train_classifier


def test_the_shipped_judge_reads_the_test_split():
    """The judge of generated digits must read at least 95 % of real test digits right."""
    test = load_digits("test")
    judge = load_judge()
    assert judge.version == JUDGE_VERSION and judge.test_accuracy >= 0.95
    assert judge.test_accuracy == np.mean(predict(judge.params, test.pixels) == test.labels)
    assert features(judge.params, test.pixels).shape == (len(test.labels), 128)
    assert all(array.dtype == np.float64 for layer in judge.params for array in layer)


@pytest.mark.slow
def test_rebuilding_the_judge_gives_the_shipped_weights_to_the_bit():
    """Training is deterministic from the judge's fixed seed (about a second of Adam)."""
    for rebuilt, shipped in zip(build_judge(), load_judge().params):
        for a, b in zip(rebuilt, shipped):
            np.testing.assert_array_equal(a, b)


def test_a_judge_file_of_another_version_is_refused_in_one_line(tmp_path):
    (W_1, b_1), (W_2, b_2) = load_judge().params
    np.savez(tmp_path / "judge.npz", W_1=W_1, b_1=b_1, W_2=W_2, b_2=b_2, version=JUDGE_VERSION + 1, seed=0)
    with pytest.raises(ValueError, match=f"holds judge v{JUDGE_VERSION + 1}; this npflow reads v{JUDGE_VERSION}"):
        load_judge(str(tmp_path / "judge.npz"))


@pytest.mark.slow
def test_a_classifier_trained_from_any_seed_reads_the_test_split():
    train, test = load_digits("train"), load_digits("test")
    params = train_classifier(train.pixels, train.labels, np.random.default_rng(3))
    assert np.mean(predict(params, test.pixels) == test.labels) >= 0.95


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

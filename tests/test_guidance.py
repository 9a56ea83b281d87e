from dataclasses import replace

import numpy as np
import pytest
from autograd.test_util import check_grads

from npflow.core.gmm import GaussianMixture
from npflow.core.metrics import nearest_mode
from npflow.core.mlp import ACTIVATIONS, init_mlp
from npflow.core.optim import Adam
from npflow.core.oracle import exact_velocity
from npflow.core.paths import LinearPath
from npflow.core.sampling import generate
from npflow.data.datasets import GMM, get_dataset
from npflow.guidance.conditional import (conditional_cfm_loss, conditional_loss_and_grad, conditional_sizes,
                                         conditional_velocity, guided_velocity)
from npflow.guidance.exact import exact_conditional_velocity, exact_guided_velocity
from npflow.guidance.labels import NO_LABEL, drop_labels, label_inputs

EIGHT = get_dataset("eight_gaussians").mixture


def labelled_draws(gmm, n, rng):
    """n points of ``gmm`` with their labels: a component k ~ w, then m_k + s_k N(0, I)."""
    y = rng.choice(len(gmm.weights), size=n, p=gmm.weights)  # (n,)
    return gmm.means[y] + gmm.stds[y, None] * rng.standard_normal((n, gmm.dim)), y


def component(gmm, k):
    """Component k of ``gmm`` alone, with weight 1."""
    return GaussianMixture(gmm.means[[k]], gmm.stds[[k]])


# --- how the label enters the network ---------------------------------------------------------------

def test_label_inputs_is_a_one_hot_with_the_last_slot_for_no_label():
    one_hot = label_inputs(np.array([0, 2, NO_LABEL, 1]), num_classes=3, dtype=np.float32)
    assert one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])


@pytest.mark.parametrize("y, message", [
    (np.array([0, 3]), "labels must be in 0..2 or NO_LABEL (-1), got 3"),
    (np.array([0, -2]), "labels must be in 0..2 or NO_LABEL (-1), got -2"),
    (np.array([0.0, 1.0]), "labels must be a 1-D array of signed integers, got shape (2,) and dtype float64"),
    (np.zeros((2, 1), dtype=int), "labels must be a 1-D array of signed integers, got shape (2, 1)"),
])
def test_bad_labels_are_refused_in_one_line(y, message):
    with pytest.raises(ValueError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)")):
        label_inputs(y, num_classes=3)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_one_hot_rows_of_the_first_layer_are_an_embedding_table(rng, activation):
    """MLP([t, x, onehot(y)]) = act(t W_1[0] + x W_1[1:3] + E[y] + b_1) ... with E = W_1[3:], a row per label."""
    d, K = 2, 4
    params = init_mlp(conditional_sizes(d, [16, 8], K), rng)
    assert params[0][0].shape == (1 + d + K + 1, 16)
    t, x, y = rng.random(6), rng.standard_normal((6, d)), np.array([0, 3, NO_LABEL, 1, 2, NO_LABEL])
    (W_1, b_1), *rest = params
    E = W_1[1 + d:]  # (K + 1, 16): the embedding, row K for "no label"
    h = ACTIVATIONS[activation](t[:, None] * W_1[0] + x @ W_1[1:1 + d] + E[np.where(y == NO_LABEL, K, y)] + b_1)
    for W, b in rest[:-1]:
        h = ACTIVATIONS[activation](h @ W + b)
    expected = h @ rest[-1][0] + rest[-1][1]
    np.testing.assert_allclose(conditional_velocity(params, t, x, y, K, activation), expected, rtol=1e-12, atol=1e-12)
    # one time for every point, as when sampling
    np.testing.assert_allclose(conditional_velocity(params, 0.3, x, y, K, activation),
                               conditional_velocity(params, np.full(6, 0.3), x, y, K, activation), rtol=0, atol=1e-15)


def test_float32_stays_float32(rng):
    params = [(W.astype(np.float32), b.astype(np.float32)) for W, b in init_mlp(conditional_sizes(2, [8], 3), rng)]
    x = rng.standard_normal((5, 2)).astype(np.float32)
    assert conditional_velocity(params, 0.5, x, np.array([0, 1, 2, NO_LABEL, 0]), 3).dtype == np.float32


# --- label dropout ----------------------------------------------------------------------------------

def test_drop_labels_drops_at_the_asked_rate_and_keeps_the_rest(rng):
    n, p = 20_000, 0.2
    y = rng.integers(0, 8, size=n)
    kept = y.copy()
    dropped = drop_labels(y, p, np.random.default_rng(7))
    np.testing.assert_array_equal(y, kept)  # the input is not touched
    assert dropped.shape == (n,)
    is_dropped = dropped == NO_LABEL
    np.testing.assert_array_equal(dropped[~is_dropped], y[~is_dropped])
    assert abs(is_dropped.sum() - n * p) < 5 * np.sqrt(n * p * (1 - p))  # binomial, 5 standard deviations
    np.testing.assert_array_equal(drop_labels(y, p, np.random.default_rng(7)), dropped)  # same seed, same bits
    assert not np.array_equal(drop_labels(y, p, np.random.default_rng(8)), dropped)


def test_drop_labels_at_the_ends_and_bad_probabilities(rng):
    y = rng.integers(0, 3, size=50)
    np.testing.assert_array_equal(drop_labels(y, 0.0, rng), y)
    np.testing.assert_array_equal(drop_labels(y, 1.0, rng), np.full(50, NO_LABEL))
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="p_uncond must be a probability in"):
            drop_labels(y, p, rng)


# --- the conditional loss ---------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_conditional_loss_gradient_matches_finite_differences(rng, activation):
    params = init_mlp(conditional_sizes(2, (6, 5), 3), rng)
    t, x_t, u_t = rng.random(7), rng.standard_normal((7, 2)), rng.standard_normal((7, 2))
    y = np.array([0, 1, 2, NO_LABEL, 1, NO_LABEL, 0])
    check_grads(lambda p: conditional_cfm_loss(p, t, x_t, u_t, y, 3, activation), modes=["rev"], order=1)(params)
    loss, _ = conditional_loss_and_grad(params, t, x_t, u_t, y, 3, activation)
    assert loss == np.mean((conditional_velocity(params, t, x_t, y, 3, activation) - u_t) ** 2)


# --- guidance and the exact fields -----------------------------------------------------------------

@pytest.mark.parametrize("sigma_min", [0.0, 0.1])
def test_exact_conditional_field_is_each_points_own_component_field(rng, sigma_min):
    """GMM has unequal weights and widths: label k gives component k's field, no label the mixture's."""
    t, x = rng.random(9), 3 * rng.standard_normal((9, 2))
    y = np.array([0, 1, 2, NO_LABEL, 2, 1, NO_LABEL, 0, 0])
    got = exact_conditional_velocity(GMM, sigma_min)(t, x, y)
    for i, label in enumerate(y):
        target = GMM if label == NO_LABEL else component(GMM, label)
        np.testing.assert_array_equal(got[i], exact_velocity(target, sigma_min)(t[i:i + 1], x[i:i + 1])[0])


def test_exact_guided_field_is_unconditional_at_w_minus_1_conditional_at_0_and_the_formula_between(rng):
    t, x = rng.random(12), 3 * rng.standard_normal((12, 2))
    y = rng.integers(0, 3, size=12)
    f_cond, f_uncond = exact_conditional_velocity(GMM, 0.05), exact_velocity(GMM, 0.05)
    np.testing.assert_array_equal(exact_guided_velocity(GMM, 0.05, y, -1.0)(t, x), f_uncond(t, x))
    np.testing.assert_array_equal(exact_guided_velocity(GMM, 0.05, y, 0.0)(t, x), f_cond(t, x, y))
    for w in (0.5, 2.0):  # from the fields of each component, written out again
        own = np.array([exact_velocity(component(GMM, k), 0.05)(t[i:i + 1], x[i:i + 1])[0] for i, k in enumerate(y)])
        np.testing.assert_allclose(guided_velocity(f_cond, y, w)(t, x), (1 + w) * own - w * f_uncond(t, x),
                                   rtol=1e-13, atol=1e-13)
    # one label for every point, and the unconditional field whatever w when no label is asked
    np.testing.assert_array_equal(guided_velocity(f_cond, 2, 1.0)(t, x),
                                  guided_velocity(f_cond, np.full(12, 2), 1.0)(t, x))
    np.testing.assert_allclose(exact_guided_velocity(GMM, 0.05, NO_LABEL, 3.0)(t, x), f_uncond(t, x),
                               rtol=0, atol=1e-14)


def test_the_exact_guided_field_can_be_differentiated_by_autograd(rng):
    """Its divergence (for a likelihood) by autograd, against central differences."""
    from npflow.core.likelihood import divergence

    f, x, h = exact_guided_velocity(GMM, 0.0, np.array([0, 1, 2, NO_LABEL]), 1.5), rng.standard_normal((4, 2)), 1e-6
    expected = sum((f(0.4, x + h * e)[:, i] - f(0.4, x - h * e)[:, i]) / (2 * h) for i, e in enumerate(np.eye(2)))
    np.testing.assert_allclose(divergence(f, 0.4, x)[1], expected, rtol=1e-6, atol=1e-6)


def test_a_guidance_weight_that_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="the guidance weight w must be a finite number, got nan"):
        guided_velocity(exact_conditional_velocity(GMM), 0, float("nan"))


def test_samples_of_the_exact_conditional_field_are_the_asked_component():
    """With sigma_min = 0 the field given k carries x_0 ~ N(0, I) to m_k + s_k x_0 exactly, so its
    samples are N(m_k, s_k^2 I). One solve holds every label, a label per point."""
    rng = np.random.default_rng(3)
    per_class, K = 400, len(EIGHT.weights)
    y = np.repeat(np.arange(K), per_class)
    x_0 = rng.standard_normal((len(y), 2))
    x_1 = generate(exact_guided_velocity(EIGHT, 0.0, y, 0.0), x_0, method="DOP853", rtol=1e-9, atol=1e-9).x[-1]
    np.testing.assert_allclose(x_1, EIGHT.means[y] + EIGHT.stds[y, None] * x_0, rtol=0, atol=1e-6)
    for k in range(K):  # mean and std to sampling tolerance (5 standard errors)
        points, s_k = x_1[y == k], EIGHT.stds[k]
        assert np.all(np.abs(points.mean(axis=0) - EIGHT.means[k]) < 5 * s_k / np.sqrt(per_class))
        assert np.all(np.abs(points.std(axis=0, ddof=1) - s_k) < 5 * s_k / np.sqrt(2 * per_class))


def test_guidance_keeps_the_class_narrows_it_and_pushes_it_past_its_mode():
    """w = 2 on the exact field of eight_gaussians: every sample asked for k lands nearest mode k,
    its class is narrower than s_k, and its centre has moved outwards, away from the other classes."""
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(8), 100)
    x_1 = generate(exact_guided_velocity(EIGHT, 0.0, y, 2.0), rng.standard_normal((len(y), 2)), steps=50).x[-1]
    assert np.all(nearest_mode(x_1, EIGHT.means) == y)
    for k in range(8):
        points = x_1[y == k]
        assert np.all(points.std(axis=0, ddof=1) < 0.8 * EIGHT.stds[k])  # about 0.15 to 0.3 against 0.5
        centre = points.mean(axis=0)
        assert np.linalg.norm(centre) > np.linalg.norm(EIGHT.means[k]) + 0.5  # about 4.85 against 4


# --- learning it ------------------------------------------------------------------------------------

def conditional_field_errors(params, probe):
    """Mean squared gap to the exact conditional field, per label, on points of each label's own path."""
    t, x_t, y = probe
    learned = conditional_velocity(params, t, x_t, y, 8, "silu")
    exact = exact_conditional_velocity(EIGHT)(t, x_t, y)
    return np.array([np.mean((learned[y == k] - exact[y == k]) ** 2) for k in range(8)])


def test_a_short_training_brings_the_conditional_field_towards_the_exact_one():
    rng = np.random.default_rng(0)
    path = LinearPath(0.0)
    x_1, y = labelled_draws(EIGHT, 2000, rng)
    t = rng.random(2000)
    probe = (t, path.sample(x_1=x_1, t=t, x_0=rng.standard_normal(x_1.shape))[0], y)
    params, optimizer = init_mlp(conditional_sizes(2, [64, 64], 8), rng), Adam(lr=3e-3)
    before = conditional_field_errors(params, probe)
    for _ in range(500):
        x_1, y = labelled_draws(EIGHT, 256, rng)
        t, x_0 = rng.random(256), rng.standard_normal((256, 2))
        x_t, u_t = path.sample(x_1=x_1, t=t, x_0=x_0)
        _, grads = conditional_loss_and_grad(params, t, x_t, u_t, drop_labels(y, 0.2, rng), 8, "silu")
        params = optimizer.step(params, grads)
    after = conditional_field_errors(params, probe)
    assert np.all(after < 0.1 * before), (before, after)  # about 0.02 here; 0.45 if the labels were all dropped


# --- a conditional run --------------------------------------------------------------------------------

def test_a_conditional_batch_is_the_unconditional_batch_with_its_labels_then_the_dropout():
    """The same x_0, x_1, t to the bit as an unconditional run's; the labels those of the dataset's own labelled
    draw; then one uniform per label for the dropout, from the same generator."""
    from npflow.models.batches import labelled_batch_sampler
    from npflow.runs.config import TrainConfig
    from npflow.models.batches import batch_sampler

    config = TrainConfig(dataset="gmm", options={"conditional": True, "p_uncond": 0.3})
    rng, plain_rng, label_rng = (np.random.default_rng(5) for _ in range(3))
    x_0, x_1, t, y = labelled_batch_sampler(config, 0.3)(4000, rng)
    for ours, plain in zip((x_0, x_1, t), batch_sampler(TrainConfig(dataset="gmm"))(4000, plain_rng)):
        np.testing.assert_array_equal(ours, plain)
    label_rng.random(4000)  # t
    _, labels = GMM.sample(4000, label_rng, labels=True)
    label_rng.standard_normal((4000, 2))  # x_0
    np.testing.assert_array_equal(y, drop_labels(labels, 0.3, label_rng))
    assert rng.bit_generator.state == label_rng.bit_generator.state


def test_ot_pairs_within_each_label_and_keeps_every_point_with_its_label(rng):
    """Each label's group is paired as ``ot`` pairs it alone; across labels nothing moves."""
    from npflow.core.couplings import ot, pairing_cost
    from npflow.guidance.conditional import pair_within_labels

    x_0, (x_1, y) = rng.standard_normal((60, 2)), labelled_draws(EIGHT, 60, rng)
    y = drop_labels(y, 0.2, rng)
    paired_0, paired_1 = pair_within_labels(ot, x_0, x_1, y, rng)
    for label in np.unique(y):
        rows = y == label
        expected_0, expected_1 = ot(x_0[rows], x_1[rows])
        np.testing.assert_array_equal(paired_0[rows], expected_0)
        np.testing.assert_array_equal(paired_1[rows], expected_1)
        assert {tuple(p) for p in paired_1[rows]} == {tuple(p) for p in x_1[rows]}  # a reordering of the label's own
    assert pairing_cost(paired_0, paired_1) < pairing_cost(x_0, x_1)


@pytest.mark.parametrize("extra", [{}, {"grad": "backprop"}, {"coupling": "ot"}, {"path": "vp"},
                                   {"path": "icfm", "sigma_min": 0.1, "dtype": "float32", "ema": 0.9}])
def test_a_conditional_run_stopped_and_resumed_gives_the_uninterrupted_bits(extra):
    from npflow.runs.config import TrainConfig
    from npflow.runs.loop import train

    config = TrainConfig(dataset="moons", steps=24, batch_size=32, hidden=(16,), **extra, options={"conditional": True})
    whole = train(config, stream=None)
    resumed = train(config, resume=train(replace(config, steps=10), stream=None), stream=None)
    for (W, b), (W_whole, b_whole) in zip(resumed.field_params, whole.field_params):
        assert W.dtype == np.dtype(config.dtype)
        np.testing.assert_array_equal(W, W_whole)
        np.testing.assert_array_equal(b, b_whole)
    assert whole.params[0][0].shape == (1 + 2 + 2 + 1, 16)  # [t, x, onehot(y)] with 2 classes and "no label"


def test_backprop_trains_a_conditional_run_as_autograd_does():
    from npflow.runs.config import TrainConfig
    from npflow.runs.loop import train

    config = TrainConfig(dataset="gmm", steps=30, batch_size=64, hidden=(16, 16), options={"conditional": True})
    by_autograd, by_hand = train(config, stream=None), train(replace(config, grad="backprop"), stream=None)
    np.testing.assert_allclose(by_hand.losses, by_autograd.losses, rtol=1e-9)
    for (W, _), (W_0, _) in zip(by_hand.params, by_autograd.params):
        np.testing.assert_allclose(W, W_0, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("changes, message", [
    ({"dataset": "spirals", "conditional": True}, "dataset 'spirals' has no labels"),
    ({"conditional": True, "coupling": "pairs", "pairs_file": "p.npz"}, "coupling 'pairs' draws from a table of pairs"),
    ({"conditional": True, "p_uncond": 1.5}, r"p_uncond must be a probability in \[0, 1\], got 1.5"),
    ({"conditional": True, "p_uncond": float("nan")}, "p_uncond must be a probability"),
    ({"p_uncond": 0.5}, "p_uncond is the label dropout of a conditional run: set conditional too"),
    ({"conditional": "yes"}, "conditional must be True or False, got 'yes'"),
])
def test_conditional_recipes_are_checked(changes, message):
    from npflow.runs.config import TrainConfig

    with pytest.raises(ValueError, match=message):
        TrainConfig.from_settings(changes)


def test_a_conditional_runs_velocity_is_its_no_label_field_and_guidance_asks_for_a_conditional_run(rng):
    from npflow.runs.config import TrainConfig
    from npflow.runs.loop import train

    run = train(TrainConfig(dataset="gmm", steps=3, hidden=(8,), options={"conditional": True}), stream=None)
    t, x = rng.random(5), rng.standard_normal((5, 2))
    no_label = conditional_velocity(run.params, t, x, np.full(5, NO_LABEL), 3)
    np.testing.assert_array_equal(run.velocity(t, x), no_label)
    np.testing.assert_allclose(run.guided_velocity(NO_LABEL, 2.0)(t, x), no_label, rtol=0, atol=1e-15)  # 3 v - 2 v
    own = conditional_velocity(run.params, t, x, np.full(5, 1), 3)
    np.testing.assert_allclose(run.guided_velocity(1, 2.0)(t, x), 3 * own - 2 * no_label, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="labels must be in 0..2 or NO_LABEL"):
        run.guided_velocity(3)
    plain = train(TrainConfig(steps=2, hidden=(8,)), stream=None)
    with pytest.raises(ValueError, match="this run was trained without labels"):
        plain.guided_velocity(0)


def test_the_exact_field_given_a_label_is_its_components_own_on_any_path(rng):
    from npflow.core.paths import VPPath

    t, x, y = rng.random(10), 2 * rng.standard_normal((10, 2)), rng.integers(0, 3, 10)
    for path in (None, VPPath()):
        own = np.array([exact_velocity(component(GMM, k), path=path)(t[i:i + 1], x[i:i + 1])[0]
                        for i, k in enumerate(y)])
        np.testing.assert_allclose(exact_guided_velocity(GMM, label=y, path=path)(t, x), own, rtol=1e-13, atol=1e-13)


# --- measuring what guidance does --------------------------------------------------------------------

def test_class_measures_by_hand():
    from npflow.guidance.measures import class_measures

    means = np.array([[0.0, 0.0], [10.0, 0.0]])
    x = np.array([[1.0, 0.0], [-1.0, 2.0], [9.0, 0.0], [9.0, 1.0], [11.0, 1.0], [10.0, 4.0]])
    y = np.array([0, 0, 0, 1, 1, 1])  # the third asked for 0 and landed on mode 1
    measures = class_measures(x, y, means)
    np.testing.assert_array_equal(measures["label"], [0, 1])
    np.testing.assert_allclose(measures["share"], [2 / 3, 1.0])
    # label 0 keeps (1, 0) and (-1, 2): variances 2 and 2, centre (0, 1);
    # label 1 keeps all three: variances 1 and 3, centre (10, 2)
    np.testing.assert_allclose(measures["spread"], [np.sqrt(2.0), np.sqrt(2.0)])
    np.testing.assert_allclose(measures["shift"], [1.0, 2.0])


def test_label_field_errors_is_zero_for_the_field_itself_and_the_squared_offset_for_a_shifted_one():
    from npflow.guidance.measures import label_field_errors

    def exact(k):
        return exact_guided_velocity(GMM, 0.0, k, 0.0)

    def shifted(k):  # label k's field, moved by (k + 1) / 10 in the first coordinate
        return lambda t, x: exact(k)(t, x) + np.array([(k + 1) / 10, 0.0])

    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(label_field_errors(exact, exact, GMM, [0, 1, 2], 50, rng), np.zeros(3))
    np.testing.assert_allclose(label_field_errors(shifted, exact, GMM, [2, 0], 50, rng), [0.09 / 2, 0.01 / 2],
                               rtol=1e-12)


def test_a_short_conditional_run_puts_nearly_every_sample_in_its_class_and_w_minus_1_is_unconditional():
    """The whole loop, from npflow.train: at w = 0 each label lands nearest its own mode; at w = -1 the
    samples asked for any label spread over the modes as the target does (1/8 each)."""
    from npflow.core.metrics import mode_fractions
    from npflow.guidance.labels import equal_shares
    from npflow.guidance.measures import class_measures
    from npflow.runs.config import TrainConfig
    from npflow.runs.loop import train

    run = train(TrainConfig(dataset="eight_gaussians", steps=1500, batch_size=256, hidden=(64, 64), grad="backprop", lr=2e-3, options={"conditional": True}), stream=None)
    y, x_0 = equal_shares(np.arange(8), 1600), np.random.default_rng(1).standard_normal((1600, 2))
    conditional = generate(run.guided_velocity(y, 0.0), x_0, steps=40).x[-1]
    assert class_measures(conditional, y, EIGHT.means)["share"].min() > 0.9  # about 0.99
    unconditional = generate(run.guided_velocity(y, -1.0), x_0, steps=40).x[-1]
    assert np.all(np.abs(mode_fractions(unconditional, EIGHT.means) - 1 / 8) < 0.05)


@pytest.mark.parametrize("n", [10, 23, 29, 30, 1000])
def test_equal_shares_give_every_class_its_share_and_the_remainder_one_each(n):
    from npflow.guidance.labels import equal_shares

    y = equal_shares(np.arange(10), n)
    shares = np.bincount(y, minlength=10)
    assert len(y) == n and shares.sum() == n and shares.min() == n // 10 and shares.max() - shares.min() <= 1
    assert np.all(np.diff(y) >= 0)  # in blocks
    assert list(shares[: n % 10]) == [n // 10 + 1] * (n % 10)  # the remainder, one to each of the first classes


def test_equal_shares_refuse_fewer_samples_than_classes():
    from npflow.guidance.labels import equal_shares

    with pytest.raises(ValueError, match="7 samples cannot give each of the 10 classes one: ask for at least 10"):
        equal_shares(np.arange(10), 7)

import math
from dataclasses import replace

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

import npflow
from npflow.cli import main as npflow_command
from npflow.core.backprop import numerical_gradient
from npflow.core.gmm import GaussianMixture
from npflow.core.mlp import init_mlp, sigmoid
from npflow.core.optim import Adam, tree_flatten
from npflow.core.oracle import exact_velocity
from npflow.core.paths import LinearPath
from npflow.core.primitives import mean_squared_error
from npflow.core.training import draw_batch
from npflow.data.datasets import TWO_GAUSSIANS, two_gaussians
from npflow.meanflow.average import (average_velocity, average_velocity_jvp, instantaneous_velocity, meanflow_sizes,
                                     network_input)
from npflow.meanflow.exact import exact_average_velocity
from npflow.meanflow.jumps import meanflow_sample
from npflow.meanflow.loss import (adaptive_weights, draw_times, meanflow_loss, meanflow_loss_and_grad,
                                  meanflow_loss_and_grad_by_hand, meanflow_target)
from npflow.models.meanflow import PAPER_RECIPE, MeanFlowOptions
from npflow.teach import check_meanflow_target, strip_exercises

# Unequal weights and stds, and sigma_min > 0 where it applies: no symmetry to hide a mistake.
GMM = GaussianMixture([[-3.0, 1.0], [2.0, -1.0]], std=[0.6, 1.2], weights=[0.3, 0.7])

#: The activations written again in plain autograd.numpy, which autograd's forward mode can trace.
PLAIN_ACTIVATIONS = {"relu": lambda z: anp.maximum(z, 0.0), "silu": lambda z: z / (1.0 + anp.exp(-z)),
                     "tanh": anp.tanh}


def tight_flow(f, s, t, x):
    """x carried by dx/dt = f(t, x) from time s to t, by solve_ivp at 1e-12: the reference flow."""
    n, d = x.shape
    solution = solve_ivp(lambda tau, y: f(tau, y.reshape(n, d)).ravel(), (s, t), x.ravel(), method="DOP853",
                         rtol=1e-12, atol=1e-12)
    return solution.y[:, -1].reshape(n, d)


# --- the network and its JVP ---------------------------------------------------------------------

def test_network_input_is_start_length_position():
    x = np.array([[7.0, 8.0], [9.0, 10.0]])
    assert_allclose(network_input(np.array([0.1, 0.5]), np.array([0.4, 0.5]), x),
                    [[0.1, 0.3, 7.0, 8.0], [0.5, 0.0, 9.0, 10.0]])
    assert meanflow_sizes(3, (16, 8)) == [5, 16, 8, 3]
    assert network_input(0.25, 1.0, x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("activation", ["relu", "silu", "tanh"])
def test_forward_chain_rule_matches_autograd_forward_mode(rng, activation):
    params = init_mlp(meanflow_sizes(2, (16, 16)), rng)
    x, dx = rng.standard_normal((2, 10, 2))
    s, t = np.sort(rng.random((2, 10)), axis=0)
    ds, dt = rng.standard_normal((2, 10))

    def network(z):  # z = [s, t, x] in columns; the same network, traced by autograd
        h = anp.concatenate([z[:, 0:1], z[:, 1:2] - z[:, 0:1], z[:, 2:]], axis=1)
        for W, b in params[:-1]:
            h = PLAIN_ACTIVATIONS[activation](h @ W + b)
        return h @ params[-1][0] + params[-1][1]

    u_expected, du_expected = autograd.make_jvp(network)(np.column_stack([s, t, x]))(np.column_stack([ds, dt, dx]))
    u, du = average_velocity_jvp(params, s, t, x, ds, dt, dx, activation)
    assert_allclose(u, u_expected, rtol=1e-12, atol=1e-12)
    assert_allclose(du, du_expected, rtol=1e-12, atol=1e-12)
    assert_allclose(average_velocity(params, s, t, x, activation), u_expected, rtol=1e-12, atol=1e-12)


# --- the convention: u(params, s, t, x) in npflow's time -------------------------------------------

def test_u_over_no_time_is_the_field_and_one_jump_goes_where_the_flow_does(rng):
    """u(params, t, t, x) = v(params, t, x), and x_t = x_s + (t - s) u(s, t, x_s) for s <= t."""
    params = init_mlp(meanflow_sizes(2, (16, 16)), rng)
    t, x = rng.random(10), rng.standard_normal((10, 2))
    assert_allclose(average_velocity(params, t, t, x, "silu"), instantaneous_velocity(params, t, x, "silu"),
                    rtol=0, atol=0)
    v, u = exact_velocity(GMM, 0.05), exact_average_velocity(GMM, 0.05)
    s, t, x_s = 0.2, 0.7, rng.standard_normal((30, 2)) * 2
    x_t = tight_flow(v, s, t, x_s)
    assert np.max(np.abs(x_t - x_s - (t - s) * v(s, x_s))) > 0.1  # one Euler step of the field would miss
    assert_allclose(x_s + (t - s) * u(s, t, x_s), x_t, rtol=1e-8, atol=1e-8)


# --- the target and the loss ---------------------------------------------------------------------

def test_target_against_central_differences():
    check_meanflow_target(npflow)


def test_the_target_is_an_exercise_and_its_check_can_fail(monkeypatch):
    with open(npflow.meanflow.loss.__file__) as file:
        assert strip_exercises(file.read())[1] == ["meanflow_target"]

    def paper_sign(params, s, t, x_s, v_s, activation="relu"):  # v_s - (t - s) du/ds: the sign not reversed
        return 2 * v_s - meanflow_target(params, s, t, x_s, v_s, activation)

    monkeypatch.setattr(npflow.meanflow.loss, "meanflow_target", paper_sign)
    with pytest.raises(AssertionError, match="u_tgt"):
        check_meanflow_target(npflow)


def test_target_and_loss_are_flow_matching_where_the_interval_is_empty(rng):
    params = init_mlp(meanflow_sizes(2, (16,)), rng)
    x_s, v_s = rng.standard_normal((2, 12, 2))
    s = rng.random(12)
    assert_allclose(meanflow_target(params, s, s, x_s, v_s), v_s, rtol=0, atol=0)
    cfm = np.mean((average_velocity(params, s, s, x_s) - v_s) ** 2)
    assert meanflow_loss(params, s, s, x_s, v_s) == pytest.approx(cfm, rel=1e-14)


def test_loss_gradient_stops_at_the_target(rng):
    params = init_mlp(meanflow_sizes(2, (8,)), rng)
    x_s, v_s = rng.standard_normal((2, 12, 2))
    s, t = draw_times(12, rng, share_equal=0.25)
    u_tgt = meanflow_target(params, s, t, x_s, v_s, "tanh")

    def loss_given_target(p):  # the same loss with the target a constant, as stop_gradient makes it
        return mean_squared_error(average_velocity(p, s, t, x_s, "tanh"), u_tgt)

    check_grads(loss_given_target, modes=["rev"], order=1)(params)
    loss, grads = meanflow_loss_and_grad(params, s, t, x_s, v_s, "tanh")
    assert loss == pytest.approx(loss_given_target(params), rel=1e-14)
    assert_allclose(tree_flatten(grads), tree_flatten(autograd.grad(loss_given_target)(params)), rtol=1e-12, atol=1e-14)
    # The stop matters: differentiating the target too would give another gradient.
    whole = numerical_gradient(lambda p: meanflow_loss(p, s, t, x_s, v_s, "tanh"), params)
    assert not np.allclose(tree_flatten(whole), tree_flatten(grads), rtol=1e-2, atol=1e-4)


def weighted_case(rng, activation="tanh"):
    """A small network, a batch on random intervals, its target and the error e = u_theta - u_tgt."""
    params = init_mlp(meanflow_sizes(2, (8,)), rng)
    x_s, v_s = rng.standard_normal((2, 12, 2))
    s, t = draw_times(12, rng, share_equal=0.25)
    u_tgt = meanflow_target(params, s, t, x_s, v_s, activation)
    return params, (s, t, x_s, v_s), u_tgt, average_velocity(params, s, t, x_s, activation) - u_tgt


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0])
def test_the_weighted_loss_is_its_formula(rng, power):
    """w_i = 1 / (||e_i||^2 + c)^p and L = (1 / (n d)) sum_i w_i ||e_i||^2, written out point by point."""
    params, batch, _, error = weighted_case(rng)
    n, d = error.shape
    weights = [1 / (sum(error[i, j] ** 2 for j in range(d)) + 1e-3) ** power for i in range(n)]
    expected = sum(weights[i] * sum(error[i, j] ** 2 for j in range(d)) for i in range(n)) / (n * d)
    assert meanflow_loss(params, *batch, "tanh", power, 1e-3) == pytest.approx(expected, rel=1e-13)
    assert meanflow_loss_and_grad_by_hand(params, *batch, "tanh", power, 1e-3)[0] == pytest.approx(expected, rel=1e-13)
    if power == 0.0:  # no weighting: the mean squared error
        assert meanflow_loss(params, *batch, "tanh") == pytest.approx(np.mean(error**2), rel=1e-14)
    assert_allclose(adaptive_weights(np.array([0.0, 1.0]), 1.0, 1e-3), [1e3, 1 / 1.001], rtol=1e-15)


@pytest.mark.parametrize("power", [0.5, 1.0])
def test_the_weighted_gradient_holds_the_weights_constant(rng, power):
    """autograd and by hand against the same loss with the target and the weights fixed arrays, by check_grads and
    central differences; and the stop matters: weights that move with theta give another gradient."""
    params, batch, u_tgt, error = weighted_case(rng)
    s, t, x_s, _ = batch
    fixed_weights = adaptive_weights(np.sum(error**2, axis=1), power, 1e-3)  # (n,)

    def loss_given_weights(p, weights=fixed_weights):
        e = average_velocity(p, s, t, x_s, "tanh") - u_tgt
        return anp.sum(weights * anp.sum(e**2, axis=1)) / e.size

    check_grads(loss_given_weights, modes=["rev"], order=1)(params)
    expected = tree_flatten(numerical_gradient(loss_given_weights, params))
    for loss_and_grad in (meanflow_loss_and_grad, meanflow_loss_and_grad_by_hand):
        loss, grads = loss_and_grad(params, *batch, "tanh", power, 1e-3)
        assert loss == pytest.approx(loss_given_weights(params), rel=1e-13)
        assert_allclose(tree_flatten(grads), expected, rtol=1e-6, atol=1e-9)

    def loss_with_moving_weights(p):
        e = average_velocity(p, s, t, x_s, "tanh") - u_tgt
        return loss_given_weights(p, adaptive_weights(np.sum(e**2, axis=1), power, 1e-3))

    moving = tree_flatten(numerical_gradient(loss_with_moving_weights, params))
    assert not np.allclose(moving, expected, rtol=1e-2, atol=1e-4)


# --- times and sampling --------------------------------------------------------------------------

def test_draw_times_gives_ordered_intervals_with_the_share_of_empty_ones():
    s, t = draw_times(1000, np.random.default_rng(3), share_equal=0.75)
    assert s.shape == t.shape == (1000,)
    assert np.all((0 <= s) & (s <= t) & (t <= 1))
    assert np.sum(s == t) == 750
    assert np.mean(t[s < t] - s[s < t]) == pytest.approx(1 / 3, abs=0.05)  # |U - U'| has mean 1/3
    again = draw_times(1000, np.random.default_rng(3), share_equal=0.75)
    assert_allclose(again, (s, t), rtol=0, atol=0)
    assert np.sum(np.equal(*draw_times(100, np.random.default_rng(0), share_equal=0.0))) == 0
    assert np.sum(np.equal(*draw_times(100, np.random.default_rng(0), share_equal=1.0))) == 100
    with pytest.raises(ValueError, match=r"^share_equal must be in \[0, 1\], got 1.5$"):
        draw_times(10, np.random.default_rng(0), share_equal=1.5)


def test_logit_normal_times_are_the_papers_in_npflows_time():
    """tau = sigmoid(0.4 + z) here is 1 - tau_paper, tau_paper = sigmoid(-0.4 + z'): the paper's lognorm(-0.4, 1)."""
    s, t = draw_times(20_000, np.random.default_rng(4), share_equal=0.0, times="logit_normal", mean=0.4, std=1.0)
    assert np.all((0 < s) & (s <= t) & (t < 1))
    logits = np.log(np.concatenate([s, t]) / (1 - np.concatenate([s, t])))  # sorting keeps the draws themselves
    assert np.mean(logits) == pytest.approx(0.4, abs=0.03) and np.std(logits) == pytest.approx(1.0, abs=0.03)
    paper_times = 1 - np.concatenate([s, t])
    assert np.mean(np.log(paper_times / (1 - paper_times))) == pytest.approx(-0.4, abs=0.03)
    assert np.median(np.concatenate([s, t])) == pytest.approx(sigmoid(0.4), abs=0.01)  # towards the data, at 1


@pytest.mark.parametrize("times", ["uniform", "logit_normal"])
def test_draw_times_draws_in_its_documented_order(times):
    """The two times (2, n), then the permutation that places the pairs with s = t."""
    rng = np.random.default_rng(5)
    draws = rng.random((2, 10)) if times == "uniform" else sigmoid(-0.3 + 1.5 * rng.standard_normal((2, 10)))
    first, second = np.sort(draws, axis=0)
    equal = rng.permutation(10) < 3
    s, t = draw_times(10, np.random.default_rng(5), share_equal=0.3, times=times, mean=-0.3, std=1.5)
    assert_allclose(s, first, rtol=0, atol=0)
    assert_allclose(t, np.where(equal, first, second), rtol=0, atol=0)
    with pytest.raises(ValueError, match="^times must be one of uniform, logit_normal, got 'lognormal'$"):
        draw_times(10, rng, times="lognormal")


def test_sampler_is_exact_for_any_steps_with_the_exact_average_velocity():
    def u(s, t, x):  # dx/dt = -x: x_t = x_s exp(-(t - s)), so u = x_s (exp(-(t - s)) - 1) / (t - s)
        return x * (math.expm1(-(t - s)) / (t - s))  # a Python float, so float32 stays float32

    x_0 = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    for steps in (1, 2, 5):
        traj = meanflow_sample(u, x_0, steps)
        assert traj.x.shape == (steps + 1, 2, 2) and traj.nfe == steps and traj.method == "meanflow"
        assert_allclose(traj.t, np.linspace(0, 1, steps + 1), rtol=0, atol=0)
        assert_allclose(traj.x, x_0 * np.exp(-traj.t)[:, None, None], rtol=1e-6)
        assert traj.x.dtype == np.float32
    with pytest.raises(ValueError, match="^steps must be a positive integer, got 0$"):
        meanflow_sample(u, x_0, 0)


# --- the exact average velocity ------------------------------------------------------------------

def test_exact_average_velocity_over_an_empty_interval_is_the_exact_field(rng):
    x = rng.standard_normal((20, 2)) * 3
    s = rng.random(20)
    assert_allclose(exact_average_velocity(GMM, 0.05)(s, s, x), exact_velocity(GMM, 0.05)(s, x), rtol=1e-12)


def test_exact_average_velocity_jumps_where_the_tight_ode_goes(rng):
    v, u = exact_velocity(GMM, 0.05), exact_average_velocity(GMM, 0.05)
    x_0 = rng.standard_normal((30, 2))
    x_1 = tight_flow(v, 0.0, 1.0, x_0)
    assert_allclose(x_0 + u(0.0, 1.0, x_0), x_1, rtol=1e-8, atol=1e-8)
    for steps in (2, 3):  # exact for any number of steps
        assert_allclose(meanflow_sample(u, x_0, steps).x[-1], x_1, rtol=1e-8, atol=1e-8)
    # a different interval for every point
    s = rng.random(5) * 0.8
    t = s + rng.random(5) * (1 - s)
    jumps = [tight_flow(v, s[i], t[i], x_0[i:i + 1])[0] - x_0[i] for i in range(5)]
    assert_allclose(u(s, t, x_0[:5]) * (t - s)[:, None], jumps, rtol=1e-8, atol=1e-9)


def test_exact_average_velocity_satisfies_the_meanflow_identity(rng):
    """u = v + (t - s) du/ds, with du/ds = d_s u + (grad_x u) v by central differences along (1, 0, v)."""
    v, u = exact_velocity(TWO_GAUSSIANS), exact_average_velocity(TWO_GAUSSIANS)
    x = rng.standard_normal((20, 2)) * 2
    s = rng.random(20) * 0.6
    t = s + 0.2 + rng.random(20) * 0.2
    v_s, h = v(s, x), 1e-4
    du_ds = (u(s + h, t, x + h * v_s) - u(s - h, t, x - h * v_s)) / (2 * h)  # (n, d)
    correction = (t - s)[:, None] * du_ds
    assert np.max(np.abs(correction)) > 0.5  # the identity is not u = v
    assert_allclose(u(s, t, x), v_s + correction, rtol=0, atol=1e-5)
    assert not np.allclose(u(s, t, x), v_s - correction, atol=1e-2)  # the paper's sign, without its time reversal


# --- training ------------------------------------------------------------------------------------

def test_training_brings_the_learned_average_velocity_near_the_exact_one():
    rng = np.random.default_rng(0)
    path, u_exact = LinearPath(0.0), exact_average_velocity(TWO_GAUSSIANS)
    params = init_mlp(meanflow_sizes(2, (64, 64)), rng)
    # Where to measure: x_s ~ p_s on short intervals [s, s + 0.1], and from the noise over [0, 1].
    x_0, x_1 = rng.standard_normal((200, 2)), two_gaussians(200, rng)
    s_short = rng.random(200) * 0.9
    x_s, v_s = path.sample(x_0=x_0, x_1=x_1, t=s_short)
    u_short, u_long = u_exact(s_short, s_short + 0.1, x_s), u_exact(0.0, 1.0, x_0)

    def errors(p):  # mean squared error against the exact u, short and long intervals
        return (np.mean((average_velocity(p, s_short, s_short + 0.1, x_s) - u_short) ** 2),
                np.mean((average_velocity(p, 0.0, 1.0, x_0) - u_long) ** 2))

    # The MeanFlow loss itself need not fall: its target moves with the network, and the variance
    # that the conditional v_s brings into the JVP grows as the network learns. Where s = t it is
    # the CFM loss, whose target stays put: that part must fall.
    def flow_matching_loss(p):
        return meanflow_loss(p, s_short, s_short, x_s, v_s)

    before, cfm_before, optimizer = errors(params), flow_matching_loss(params), Adam(lr=3e-3)
    for _ in range(400):
        s, t = draw_times(128, rng)
        x_1 = two_gaussians(128, rng)
        x_batch, v_batch = path.sample(x_0=rng.standard_normal(x_1.shape), x_1=x_1, t=s)  # at the starts s
        params = optimizer.step(params, meanflow_loss_and_grad(params, s, t, x_batch, v_batch)[1])
    after = errors(params)
    assert flow_matching_loss(params) < 0.5 * cfm_before
    assert after[0] < 0.3 * before[0] and after[1] < 0.3 * before[1], (before, after)


# --- by hand, and in a run -----------------------------------------------------------------------

@pytest.mark.parametrize("power", [0.0, 1.0])
@pytest.mark.parametrize("activation", ["relu", "silu", "tanh"])
def test_loss_and_gradient_by_hand_are_autograds(rng, activation, power):
    params = init_mlp(meanflow_sizes(2, (16, 8)), rng)
    x_s, v_s = rng.standard_normal((2, 20, 2))
    s, t = draw_times(20, rng)
    loss, grads = meanflow_loss_and_grad_by_hand(params, s, t, x_s, v_s, activation, power)
    expected_loss, expected = meanflow_loss_and_grad(params, s, t, x_s, v_s, activation, power)
    assert loss == pytest.approx(expected_loss, rel=1e-13)
    assert_allclose(tree_flatten(grads), tree_flatten(expected), rtol=1e-11, atol=1e-14)
    single = [(W.astype(np.float32), b.astype(np.float32)) for W, b in params]
    as_32 = [a.astype(np.float32) for a in (s, t, x_s, v_s)]
    for loss_and_grad in (meanflow_loss_and_grad_by_hand, meanflow_loss_and_grad):
        loss_32, grads_32 = loss_and_grad(single, *as_32, activation, power)
        assert np.asarray(loss_32).dtype == np.float32 and tree_flatten(grads_32).dtype == np.float32


CONFIG = npflow.TrainConfig(dataset="eight_gaussians", steps=12, batch_size=32, hidden=(16, 16), seed=3,
                            objective="meanflow")


def test_a_run_step_is_the_meanflow_step_on_its_draws():
    """train's first step, against the step written out: the batch, then (s, t), the path at s, the loss, Adam."""
    rng = np.random.default_rng(CONFIG.seed)
    params = init_mlp(meanflow_sizes(2, CONFIG.hidden), rng)
    x_0, x_1, _ = draw_batch(npflow.get_dataset("eight_gaussians").sample, 32, rng)  # the batch's own times go unused
    s, t = draw_times(32, rng)
    x_s, v_s = LinearPath(0.0).sample(x_0=x_0, x_1=x_1, t=s)
    loss, grads = meanflow_loss_and_grad(params, s, t, x_s, v_s)
    expected = Adam(lr=CONFIG.lr).step(params, grads)
    run = npflow.train(replace(CONFIG, steps=1), stream=None)
    assert run.losses[0] == loss
    assert_allclose(tree_flatten(run.params), tree_flatten(expected), rtol=0, atol=0)
    assert run.config.layer_sizes == [4, 16, 16, 2]


def test_a_run_step_with_the_papers_recipe_is_the_step_on_its_draws():
    """The same first step with the paper's options: logit-normal times, a 0.75 share, the weights with p = 1."""
    config = replace(CONFIG, steps=1, options=PAPER_RECIPE)
    rng = np.random.default_rng(config.seed)
    params = init_mlp(meanflow_sizes(2, config.hidden), rng)
    x_0, x_1, _ = draw_batch(npflow.get_dataset("eight_gaussians").sample, 32, rng)
    s, t = draw_times(32, rng, share_equal=0.75, times="logit_normal", mean=0.4, std=1.0)
    x_s, v_s = LinearPath(0.0).sample(x_0=x_0, x_1=x_1, t=s)
    loss, grads = meanflow_loss_and_grad(params, s, t, x_s, v_s, "relu", 1.0, 1e-3)
    run = npflow.train(config, stream=None)
    assert run.losses[0] == loss
    assert_allclose(tree_flatten(run.params), tree_flatten(Adam(lr=config.lr).step(params, grads)), rtol=0, atol=0)
    by_autograd = npflow.train(replace(CONFIG, options=PAPER_RECIPE), stream=None)
    by_hand = npflow.train(replace(CONFIG, grad="backprop", options=PAPER_RECIPE), stream=None)
    assert_allclose(tree_flatten(by_hand.params), tree_flatten(by_autograd.params), rtol=1e-9, atol=1e-12)


def test_the_defaults_are_the_plain_recipe_and_bad_options_are_refused_in_one_line():
    assert MeanFlowOptions() == MeanFlowOptions(share_equal=0.5, times="uniform", weight_power=0.0)
    for options, message in [({"weight_power": -1.0}, "weight_power must be a finite number >= 0, got -1.0"),
                             ({"weight_eps": 0.0}, "weight_eps must be a finite number > 0, got 0.0"),
                             ({"time_std": float("nan")}, "time_std must be a finite number > 0, got nan"),
                             ({"time_mean": "0.4"}, "time_mean must be a finite number, got '0.4'"),
                             ({"times": "lognormal"}, "times must be one of uniform, logit_normal, got 'lognormal'"),
                             ({"share_equal": 2}, r"share_equal must be a share in \[0, 1\], got 2")]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            replace(CONFIG, options=options)


def test_the_command_line_takes_the_papers_recipe(tmp_path):
    arguments = ["train", "--objective", "meanflow", "--dataset", "eight_gaussians", "--steps", "2", "--hidden", "8",
                 "--share-equal", "0.75", "--times", "logit_normal", "--time-mean", "0.4", "--time-std", "1",
                 "--weight-power", "1", "--weight-eps", "0.001", "--out", str(tmp_path / "run"), "--quiet"]
    assert npflow_command(arguments) == 0
    assert npflow.load_run(tmp_path / "run").config.options == PAPER_RECIPE


def test_a_run_trains_alike_by_autograd_and_by_hand_and_in_float32(monkeypatch):
    by_autograd = npflow.train(CONFIG, stream=None)
    calls = []  # the two agree to the bit here, so count that --grad backprop does take the gradient by hand
    monkeypatch.setattr(npflow.models.meanflow, "meanflow_loss_and_grad_by_hand",
                        lambda *args: calls.append(1) or meanflow_loss_and_grad_by_hand(*args))
    by_hand = npflow.train(replace(CONFIG, grad="backprop"), stream=None)
    assert len(calls) == CONFIG.steps
    assert_allclose(tree_flatten(by_hand.params), tree_flatten(by_autograd.params), rtol=1e-9, atol=1e-12)
    single = npflow.train(replace(CONFIG, grad="backprop", dtype="float32", ema=0.9), stream=None)
    assert tree_flatten(single.params).dtype == tree_flatten(single.ema).dtype == np.float32
    assert_allclose(tree_flatten(single.params), tree_flatten(by_autograd.params), atol=1e-4)


def test_a_meanflow_run_samples_by_its_jumps_and_its_field_is_u_over_no_time(rng):
    run = npflow.train(replace(CONFIG, ema=0.9), stream=None)
    x_0, t = rng.standard_normal((9, 2)), rng.random(9)
    assert_allclose(run.velocity(t, x_0), average_velocity(run.ema, t, t, x_0), rtol=0, atol=0)
    assert_allclose(run.average_velocity(0.0, 1.0, x_0), average_velocity(run.ema, 0.0, 1.0, x_0), rtol=0, atol=0)
    for steps in (1, 3):
        traj = run.sample(x_0, steps=steps)
        expected = meanflow_sample(lambda s, t, x: average_velocity(run.ema, s, t, x), x_0, steps)
        assert traj.method == "meanflow" and traj.nfe == steps
        assert_allclose(traj.x, expected.x, rtol=0, atol=0)
    assert_allclose(run.sample(x_0, "meanflow", steps=2).x, run.sample(x_0, steps=2).x, rtol=0, atol=0)
    for solver in ("RK45", "euler"):
        with pytest.raises(ValueError, match=rf"^a MeanFlow run samples only by K jumps .* got solver '{solver}'$"):
            run.sample(x_0, solver)
    flow = npflow.train(replace(CONFIG, objective="cfm"), stream=None)
    with pytest.raises(ValueError, match="^solver 'meanflow' takes the jumps of a MeanFlow run"):
        flow.sample(x_0, "meanflow")
    with pytest.raises(ValueError, match="^only a MeanFlow run has an average velocity; this run's objective is 'cfm'"):
        flow.average_velocity(0.0, 1.0, x_0)
    with pytest.raises(ValueError, match=r"^objective must be one of cfm, discrete, meanflow, got 'mean_flow'$"):
        replace(CONFIG, objective="mean_flow")


def test_the_field_error_log_of_a_meanflow_run_measures_u_over_no_time():
    from npflow.core.oracle import points_on_path
    from npflow.runs.field_error import exact_mixture

    run = npflow.train(CONFIG, stream=None, field_error_every=6)
    mixture = exact_mixture(CONFIG)
    t, x_t = points_on_path(mixture.sample, LinearPath(0.0), 2000, np.random.default_rng([CONFIG.seed, 1]))
    expected = npflow.field_error(run.velocity, exact_velocity(mixture), t, x_t)
    assert run.field_errors[:, 0].tolist() == [6, 12] and run.field_errors[-1, 1] == pytest.approx(expected, rel=1e-12)


def test_the_command_line_takes_each_meanflow_setting_in_its_own_range(tmp_path):
    from npflow.cli import main
    from npflow.plumbing.io import load_run

    out = tmp_path / "run"
    assert main(["train", "--objective", "meanflow", "--times", "logit_normal", "--time-mean", "-0.4",
                 "--time-std", "1.5", "--weight-power", "1", "--steps", "2", "--hidden", "8", "--quiet",
                 "--out", str(out)]) == 0
    options = load_run(out).config.options
    assert (options.time_mean, options.time_std, options.weight_power) == (-0.4, 1.5, 1.0)
    with pytest.raises(SystemExit) as refused:  # argparse's own refusal: one line, exit 2
        main(["train", "--objective", "meanflow", "--time-std", "0", "--out", str(tmp_path / "bad")])
    assert refused.value.code == 2 and not (tmp_path / "bad").exists()

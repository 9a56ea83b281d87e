"""Discrete flow matching (npflow.discrete): each piece against an oracle, and the sampler's exact law.

The oracles: enumeration (the exact posterior against Bayes' rule summed by hand), closed forms
(the masked source's TV = TV(p_1, p_1^(1) x p_1^(2)) / N), autograd's check_grads and central
differences (the posterior's gradient), Monte Carlo within a few standard errors (the path's
draw, the sampler against its exact law), and the observed order of convergence.
"""
import itertools

import numpy as np
import pytest
from autograd.test_util import check_grads
from numpy.testing import assert_allclose, assert_array_equal

from npflow.core.backprop import numerical_gradient
from npflow.core.optim import tree_flatten
import npflow.discrete.exact as exact_module
from npflow.discrete.exact import (empirical_support, exact_law, exact_posterior, exact_sampler, grid_posterior,
                                   table_support)
from npflow.discrete.metrics import histogram, kl_divergence, sampling_floor, total_variation
from npflow.discrete.paths import sample_path
from npflow.discrete.posterior import (cross_entropy, cross_entropy_and_grad, features, init_posterior,
                                       posterior_logits, posterior_probs)
from npflow.discrete.sampling import STEPS, sample_tokens, step_probabilities
from npflow.discrete.schedulers import polynomial, scheduler_named
from npflow.discrete.sources import draw_source, states
from npflow.discrete.velocity import (draw_tokens, euler_probabilities, exponential_probabilities,
                                      flow_matching_probabilities, probability_velocity)

LINEAR = polynomial(1.0)


def eight_gaussians_table(V=32, std=1.5, radius=11.0):
    """The grid_eight_gaussians table (V, V): mass of (i, j) ∝ sum_k exp(-((i - c_k)^2 + (j - d_k)^2) / (2 std^2))."""
    angles = 2 * np.pi * np.arange(8) / 8
    centre = (V - 1) / 2
    i = np.arange(V)
    table = sum(np.exp(-((i[:, None] - c) ** 2 + (i[None, :] - d) ** 2) / (2 * std ** 2))
                for c, d in zip(centre + radius * np.cos(angles), centre + radius * np.sin(angles)))
    return table / table.sum()


def small_table(V=3, seed=7):
    """A (V, V) table with dependence between its two tokens and a zero cell."""
    table = np.random.default_rng(seed).random((V, V)) ** 2
    table[0, -1] = 0.0
    return table / table.sum()


def fitted_order(Ns, errors):
    """The slope p of log(error) = -p log(N) + c, least squares."""
    return -np.polyfit(np.log(Ns), np.log(errors), 1)[0]


def random_posterior(rng, n, D, V):
    """Random rows of probabilities (n, D, V), some near one-hot."""
    logits = rng.normal(size=(n, D, V)) * rng.choice([1.0, 8.0], size=(n, D, 1))
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


# --- schedulers and sources ----------------------------------------------------------------------

@pytest.mark.parametrize("name, k", [("linear", 1.0), ("t^2", 2.0), ("t^1.5", 1.5)])
def test_scheduler_kappa_and_its_derivative(name, k):
    scheduler = scheduler_named(name)
    assert scheduler.name == name
    t = np.linspace(0.05, 0.95, 7)
    assert_allclose(scheduler.kappa(t), t ** k)
    eps = 1e-6
    assert_allclose(scheduler.d_kappa(t), (scheduler.kappa(t + eps) - scheduler.kappa(t - eps)) / (2 * eps), rtol=1e-7)
    assert scheduler.kappa(0.0) == 0.0 and scheduler.kappa(1.0) == 1.0


@pytest.mark.parametrize("name", ["cosine", "t^", "t^-1", "t^0", "t^0.5", "t^x", ""])
def test_unknown_scheduler_is_one_line_value_error(name):
    with pytest.raises(ValueError, match="scheduler"):
        scheduler_named(name)
    with pytest.raises(ValueError, match="power k must be a number >= 1, got 0.5"):
        polynomial(0.5)


def test_sources():
    assert states("mask", 5) == 6 and states("uniform", 5) == 5
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    x_0 = draw_source("mask", 4, 3, 5, rng)
    assert x_0.dtype == np.int64 and x_0.shape == (4, 3) and np.all(x_0 == 5)
    assert rng.bit_generator.state == before  # the mask source draws nothing
    x_0 = draw_source("uniform", 20000, 2, 5, rng)
    assert x_0.dtype == np.int64 and x_0.min() == 0 and x_0.max() == 4
    assert_allclose(np.bincount(x_0.ravel()) / x_0.size, 0.2, atol=4 * np.sqrt(0.2 * 0.8 / x_0.size))
    assert_array_equal(draw_source("uniform", 7, 3, 5, np.random.default_rng(1)),
                       draw_source("uniform", 7, 3, 5, np.random.default_rng(1)))
    with pytest.raises(ValueError, match="source 'gauss'"):
        states("gauss", 5)


# --- the mixture path ----------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", [polynomial(1.0), polynomial(2.0)], ids=["linear", "t^2"])
def test_sample_path_reveals_each_token_with_probability_kappa(rng, scheduler):
    n, D, V = 40000, 3, 4
    x_1 = rng.integers(V, size=(n, D))
    x_0 = np.full((n, D), V)  # MASK: never equal to x_1, so x_t == x_1 exactly when revealed
    t = rng.choice([0.2, 0.5, 0.9], size=n)
    x_t = sample_path(x_0, x_1, t, scheduler, np.random.default_rng(3))
    assert x_t.dtype == np.int64 and x_t.shape == (n, D)
    assert np.all((x_t == x_0) | (x_t == x_1))
    for time in (0.2, 0.5, 0.9):
        revealed = (x_t == x_1)[t == time]
        kappa = scheduler.kappa(time)
        assert abs(revealed.mean() - kappa) < 4 * np.sqrt(kappa * (1 - kappa) / revealed.size)
    # the tokens are independent: the share of sequences with all D revealed is kappa^D
    both = np.all(x_t == x_1, axis=1)[t == 0.5]
    assert abs(both.mean() - scheduler.kappa(0.5) ** D) < 4 * np.sqrt(0.25 / both.size)
    assert_array_equal(x_t, sample_path(x_0, x_1, t, scheduler, np.random.default_rng(3)))


def test_sample_path_ends():
    x_0, x_1 = np.zeros((5, 2), dtype=np.int64), np.ones((5, 2), dtype=np.int64)
    rng = np.random.default_rng(0)
    assert_array_equal(sample_path(x_0, x_1, np.zeros(5), LINEAR, rng), x_0)
    assert_array_equal(sample_path(x_0, x_1, np.ones(5), LINEAR, rng), x_1)


# --- the posterior model -------------------------------------------------------------------------

def test_features_are_time_then_one_hot_tokens():
    x_t = np.array([[0, 3], [2, 1]])
    f = features(np.array([0.25, 0.75]), x_t, 4)
    assert f.shape == (2, 1 + 2 * 4)
    assert_allclose(f[:, 0], [0.25, 0.75])
    assert_allclose(f[:, 1:].reshape(2, 2, 4), np.eye(4)[x_t])


@pytest.fixture
def posterior_batch(rng):
    """A small masked-source batch: V = 3, S = 4, D = 3 and a posterior MLP."""
    V, S, D, n = 3, 4, 3, 12
    params = init_posterior(D, V, S, [8, 8], rng)
    x_1 = rng.integers(V, size=(n, D))
    t = rng.random(n)
    x_t = sample_path(np.full((n, D), V), x_1, t, LINEAR, rng)
    return params, t, x_t, x_1, V, S


def test_posterior_probabilities_and_cross_entropy_against_numpy(posterior_batch):
    params, t, x_t, x_1, V, S = posterior_batch
    logits = posterior_logits(params, t, x_t, V, S, "tanh")
    assert logits.shape == (len(t), 3, V)
    p = posterior_probs(params, t, x_t, V, S, "tanh")
    assert_allclose(p, np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), rtol=1e-12)
    nll = -np.log(np.take_along_axis(p, x_1[..., None], axis=-1)[..., 0])  # (n, D)
    assert_allclose(cross_entropy(params, t, x_t, x_1, V, S, "tanh"), nll.mean(), rtol=1e-12)
    masked = x_t == V
    assert 0 < masked.sum() < masked.size
    assert_allclose(cross_entropy(params, t, x_t, x_1, V, S, "tanh", masked_only=True), nll[masked].mean(),
                    rtol=1e-12)
    with pytest.raises(ValueError, match="masked_only"):
        cross_entropy(params, t, x_t, x_1, V, V, "tanh", masked_only=True)


def test_posterior_softmax_is_stable_for_huge_logits(posterior_batch):
    params, t, x_t, x_1, V, S = posterior_batch
    huge = [(W * 1e4, b * 1e4) for W, b in params]
    p = posterior_probs(huge, t, x_t, V, S)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    assert np.isfinite(cross_entropy(huge, t, x_t, x_1, V, S))


@pytest.mark.parametrize("masked_only", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "silu", "relu"])
def test_cross_entropy_gradient(posterior_batch, activation, masked_only):
    """autograd's gradient against check_grads (its own finite differences) and npflow's central differences."""
    params, t, x_t, x_1, V, S = posterior_batch

    def loss(p):
        return cross_entropy(p, t, x_t, x_1, V, S, activation, masked_only)

    value, grads = cross_entropy_and_grad(params, t, x_t, x_1, V, S, activation, masked_only)
    assert_allclose(value, loss(params), rtol=1e-14)
    if activation != "relu":  # relu's kink breaks the check's second-order finite differences, not the gradient
        check_grads(loss, modes=["rev"], order=1)(params)
    assert_allclose(tree_flatten(grads)[0], tree_flatten(numerical_gradient(loss, params))[0], atol=1e-7)


# --- the probability velocity and the steps ------------------------------------------------------

@pytest.mark.parametrize("source", ["mask", "uniform"])
@pytest.mark.parametrize("scheduler", [polynomial(1.0), polynomial(2.0)], ids=["linear", "t^2"])
def test_probability_velocity_is_a_rate_matrix_row(rng, source, scheduler):
    n, D, V = 50, 3, 5
    S = states(source, V)
    p_1 = random_posterior(rng, n, D, V)
    x_t = draw_source(source, n, D, V, rng)
    t = rng.random(n) * 0.95
    u = probability_velocity(p_1, x_t, t, scheduler, S)
    assert u.shape == (n, D, S)
    assert_allclose(u.sum(-1), 0.0, atol=1e-12)
    off_diagonal = np.eye(S)[x_t] == 0
    assert np.all(u[off_diagonal] >= 0)
    c = (scheduler.d_kappa(t) / (1 - scheduler.kappa(t)))[:, None, None]
    padded = np.concatenate([p_1, np.zeros((n, D, S - V))], axis=-1)
    assert_allclose(u, c * (padded - np.eye(S)[x_t]), rtol=1e-12)
    if source == "mask":
        assert_allclose(u[..., V][x_t != V], 0.0)  # nothing jumps to MASK


@pytest.mark.parametrize("h", [1e-3, 0.1, 5.0])
def test_step_probabilities_are_probabilities(rng, h):
    """Euler's, clipped and renormalised, is a probability even where h is too large; so are the others."""
    n, D, V = 40, 2, 4
    p_1 = random_posterior(rng, n, D, V)
    x_t = rng.integers(V, size=(n, D))
    t = np.full(n, 0.5)
    u = probability_velocity(p_1, x_t, t, LINEAR, V)
    for p in (euler_probabilities(x_t, u, h, V), exponential_probabilities(x_t, u, h, V),
              flow_matching_probabilities(p_1, x_t, t, h, LINEAR, V)):
        assert np.all(p >= 0)
        assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    euler = euler_probabilities(x_t, u, h, V)
    if h * 2 * 1.0 <= 1:  # h lambda <= h c = 2 h: no clipping, delta + h u exactly
        assert_allclose(euler, np.eye(V)[x_t] + h * u, atol=1e-15)
    else:
        unclipped = np.eye(V)[x_t] + h * u
        clipped = unclipped.min(-1) < 0
        assert clipped.any()
        assert_allclose(euler[clipped], np.clip(unclipped[clipped], 0, None)
                        / np.clip(unclipped[clipped], 0, None).sum(-1, keepdims=True))


def test_the_steps_agree_to_first_order(rng):
    """exponential - Euler and flow_matching's - Euler are O(h^2): halving h quarters them."""
    n, D, V = 30, 2, 4
    p_1 = random_posterior(rng, n, D, V)
    x_t = rng.integers(V, size=(n, D))
    t = np.full(n, 0.3)
    gaps = []
    for h in (0.02, 0.01, 0.005):
        u = probability_velocity(p_1, x_t, t, LINEAR, V)
        euler = euler_probabilities(x_t, u, h, V)
        gaps.append([np.abs(exponential_probabilities(x_t, u, h, V) - euler).max(),
                     np.abs(flow_matching_probabilities(p_1, x_t, t, h, LINEAR, V) - euler).max()])
    ratios = np.array(gaps[:-1]) / np.array(gaps[1:])
    assert_allclose(ratios, 4.0, rtol=0.05)


def test_exponential_is_flow_matching_where_the_token_is_masked(rng):
    """With p(x_t^i) = 0 (a MASK token) the rate of leaving is c either way, so the two steps coincide."""
    n, D, V = 20, 3, 4
    p_1 = random_posterior(rng, n, D, V)
    x_t = np.full((n, D), V)
    t = rng.random(n) * 0.9
    u = probability_velocity(p_1, x_t, t, LINEAR, V + 1)
    assert_allclose(exponential_probabilities(x_t, u, 0.05, V + 1),
                    flow_matching_probabilities(p_1, x_t, t, 0.05, LINEAR, V + 1), rtol=1e-12, atol=1e-15)


def test_draw_tokens_inverse_cdf(rng):
    probabilities = np.array([[0.5, 0.0, 0.3, 0.2], [0.0, 0.0, 0.0, 1.0]])  # zeros inside and at the start
    many = np.broadcast_to(probabilities, (50000, 2, 4))
    x = draw_tokens(many, np.random.default_rng(5))
    assert x.dtype == np.int64 and x.shape == (50000, 2)
    assert np.all(x[:, 1] == 3)
    frequencies = np.bincount(x[:, 0], minlength=4) / len(x)
    assert frequencies[1] == 0
    assert_allclose(frequencies, probabilities[0], atol=4 * np.sqrt(0.25 / len(x)))
    assert_array_equal(x, draw_tokens(many, np.random.default_rng(5)))
    # one uniform per token, U < CDF: U just below 0.5 gives 0, U = 0.5 gives 2 (symbol 1 has no mass)
    assert_array_equal(draw_tokens(np.array([[[0.5, 0.0, 0.5, 0.0]]]), np.random.default_rng(0)) < 4, [[True]])


# --- the exact oracle ----------------------------------------------------------------------------

def brute_force_posterior(table, t, x_t, scheduler, source):
    """p(x_1^i | x_t) by Bayes' rule, summed over every cell of a (V, V) table, one state at a time.

    NaN for a state no cell can reach."""
    V = table.shape[0]
    kappa = scheduler.kappa(t)
    p_0 = (lambda s: float(s == V)) if source == "mask" else (lambda s: 1.0 / V)
    out = np.zeros((len(x_t), 2, V))
    for row, (a, b) in enumerate(x_t):
        joint = np.zeros((V, V))
        for v, w in itertools.product(range(V), repeat=2):
            like_a = kappa * (a == v) + (1 - kappa) * p_0(a)
            like_b = kappa * (b == w) + (1 - kappa) * p_0(b)
            joint[v, w] = table[v, w] * like_a * like_b
        with np.errstate(invalid="ignore"):  # an unreachable state: 0 / 0, NaN
            joint /= joint.sum()
        out[row] = joint.sum(axis=1), joint.sum(axis=0)
    return out


@pytest.mark.parametrize("source", ["mask", "uniform"])
@pytest.mark.parametrize("t", [0.0, 0.4, 0.9])
def test_exact_posterior_against_enumeration(source, t):
    table, scheduler = small_table(), polynomial(2.0)
    V, S = table.shape[0], states(source, table.shape[0])
    support, weights = table_support(table)
    x_t = np.array([(a, b) for a, b in itertools.product(range(S), repeat=2)
                    if np.isfinite(brute_force_posterior(table, t, [(a, b)], scheduler, source)).all()])
    p_1 = exact_posterior(support, weights, t, x_t, scheduler, source, V)
    assert_allclose(p_1, brute_force_posterior(table, t, x_t, scheduler, source), rtol=1e-12, atol=1e-15)
    grid = grid_posterior(table, t, scheduler, source)[x_t[:, 0], x_t[:, 1]]
    assert_allclose(grid, p_1, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("source", ["mask", "uniform"])
def test_exact_sampler_is_the_exact_posterior(monkeypatch, rng, source):
    """D = 2 by the grid's look-up, D = 3 in chunks of rows: both the posterior of exact_posterior."""
    V, S = 3, states(source, 3)
    support, weights = table_support(small_table())
    x_t = rng.integers(S, size=(50, 2))
    x_t = x_t[np.isfinite(brute_force_posterior(small_table(), 0.3, x_t, LINEAR, source)).all(axis=(1, 2))]
    assert_allclose(exact_sampler(support, weights, LINEAR, source, V)(0.3, x_t),
                    exact_posterior(support, weights, 0.3, x_t, LINEAR, source, V), rtol=1e-12, atol=1e-15)
    monkeypatch.setattr(exact_module, "CHUNK", 20)  # 20 // m = 2 rows at a time
    support, weights = empirical_support(rng.integers(V, size=(12, 3)))
    x_t = sample_path(draw_source(source, 9, 3, V, rng), support[rng.integers(len(support), size=9)],
                      rng.random(9), LINEAR, rng)
    assert_allclose(exact_sampler(support, weights, LINEAR, source, V)(0.6, x_t),
                    exact_posterior(support, weights, 0.6, x_t, LINEAR, source, V), rtol=1e-12, atol=1e-15)


def test_exact_posterior_of_unreachable_states_is_uniform():
    table = small_table()  # table[0, 2] = 0: at t = 0.5 with a mask source, (0, 2) cannot be reached
    support, weights = table_support(table)
    p_1 = exact_posterior(support, weights, 0.5, np.array([[0, 2]]), LINEAR, "mask", 3)
    assert_allclose(p_1, 1 / 3)
    assert_allclose(grid_posterior(table, 0.5, LINEAR, "mask")[0, 2], 1 / 3)


def test_exact_posterior_of_long_sequences_from_data_rows(rng):
    """D = 40 from empirical rows: the posterior of a revealed token is its value; no underflow."""
    x_data = rng.integers(5, size=(30, 40))
    support, weights = empirical_support(np.concatenate([x_data, x_data[:10]]))
    assert len(support) == 30 and np.isclose(weights.sum(), 1) and weights.max() == 2 / 40
    x_t = sample_path(np.full((8, 40), 5), x_data[:8], np.full(8, 0.3), LINEAR, rng)
    p_1 = exact_posterior(support, weights, 0.3, x_t, LINEAR, "mask", 5)
    assert np.all(np.isfinite(p_1))
    revealed = x_t != 5
    assert_allclose(p_1[revealed], np.eye(5)[x_t[revealed]], atol=1e-12)


@pytest.mark.parametrize("source", ["mask", "uniform"])
def test_one_step_law_is_the_product_of_the_marginals(source):
    """N = 1 is a single posterior draw at t = 0, where x_t says nothing: p_1^(1) x p_1^(2)."""
    table = small_table(4)
    assert_allclose(exact_law(table, 1, LINEAR, source), np.outer(table.sum(1), table.sum(0)), atol=1e-15)


@pytest.mark.parametrize("source, step", [("mask", "euler"), ("uniform", "euler"), ("uniform", "exponential"),
                                          ("uniform", "flow_matching")])
def test_sampler_with_exact_posterior_matches_exact_law(source, step):
    """Monte Carlo: sample_tokens with the exact posterior, against the exact law, cell by cell within 5 SE."""
    table, steps, n = small_table(4), 3, 100000
    V, S = 4, states(source, 4)
    support, weights = table_support(table)
    rng = np.random.default_rng(11)
    tokens = sample_tokens(exact_sampler(support, weights, LINEAR, source, V), draw_source(source, n, 2, V, rng),
                           steps, LINEAR, rng, S, step)
    law = exact_law(table, steps, LINEAR, source, step)
    assert_allclose(law.sum(), 1.0, rtol=1e-12)
    assert np.all(np.abs(histogram(tokens.x, V) - law) <= 5 * np.sqrt(law * (1 - law) / n) + 1e-12)
    assert total_variation(law, table) > 0.01  # the steps' error is there to be seen, well above the noise


def test_sample_tokens_keeps_every_state_and_says_what_it_ran(rng):
    table = small_table(4)
    support, weights = table_support(table)
    x_0 = draw_source("mask", 100, 2, 4, rng)
    tokens = sample_tokens(exact_sampler(support, weights, LINEAR, "mask", 4), x_0, 5, LINEAR, rng, 5, keep=True)
    assert tokens.x.shape == (6, 100, 2) and tokens.x.dtype == np.int64
    assert_array_equal(tokens.x[0], x_0)
    assert tokens.x[-1].max() < 4  # no MASK is left
    assert np.all((tokens.x[1:] == tokens.x[:-1]) | (tokens.x[:-1] == 4))  # a revealed token never changes
    assert_allclose(tokens.t, np.linspace(0, 1, 6))
    assert tokens.nfe == 5 and tokens.method == "euler, 5 steps"
    for bad in ({"steps": 0}, {"steps": 2.5}, {"step": "heun"}):
        with pytest.raises(ValueError, match="step"):
            sample_tokens(lambda t, x: None, x_0, **{"steps": 4, "step": "euler", **bad},
                          scheduler=LINEAR, rng=rng, S=5)


def test_euler_last_step_is_a_posterior_draw_for_kappa_t(rng):
    """From t = 1 - h, h kappa' / (1 - kappa) = 1: the Euler step is the posterior itself."""
    n, D, V, h = 10, 2, 4, 0.125
    p_1 = random_posterior(rng, n, D, V)
    x_t = rng.integers(V + 1, size=(n, D))
    u = probability_velocity(p_1, x_t, 1 - h, LINEAR, V + 1)
    assert_allclose(euler_probabilities(x_t, u, h, V + 1)[..., :V], p_1, atol=1e-12)
    assert_allclose(step_probabilities(p_1, x_t, 1 - h, h, polynomial(2.0), V + 1, "exponential")[..., :V], p_1)


# --- the oracle: the exact law's convergence (the "Done when") -----------------------------

def exact_tvs(table, Ns, source, step):
    return np.array([total_variation(exact_law(table, N, LINEAR, source, step), table) for N in Ns])


@pytest.mark.slow
def test_masked_source_tv_is_the_dependence_over_n():
    """Masked source, kappa = t: TV(law_N, p_1) = TV(p_1, p_1^(1) x p_1^(2)) / N, to 1e-9, N = 8 .. 256."""
    table = eight_gaussians_table()
    dependence = total_variation(table, np.outer(table.sum(1), table.sum(0)))
    assert abs(dependence - 0.4447) < 5e-5
    Ns = np.array([8, 16, 32, 64, 128, 256])
    tvs = exact_tvs(table, Ns, "mask", "euler")
    print("mask, euler: N", Ns.tolist(), "TV", tvs.tolist())
    assert_allclose(tvs, dependence / Ns, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_uniform_source_converges_at_first_order():
    """Uniform source, kappa = t: TV <= 0.009 at N = 64, fitted order 0.9 .. 1.1 over N = 16 .. 256 (Euler).

    Printed beside it, the orders of the exponential step and of flow_matching's step; the latter
    under-jumps near t = 1 (see npflow.discrete.velocity) and converges more slowly.
    """
    table = eight_gaussians_table()
    Ns = np.array([16, 32, 64, 128, 256])
    orders = {}
    for step in STEPS:
        tvs = exact_tvs(table, Ns, "uniform", step)
        orders[step] = fitted_order(Ns, tvs)
        print(f"uniform, {step}: N {Ns.tolist()} TV {np.round(tvs, 6).tolist()} order {orders[step]:.3f}")
        if step == "euler":
            assert tvs[Ns == 64][0] <= 0.009
    assert 0.9 <= orders["euler"] <= 1.1
    assert orders["flow_matching"] < orders["exponential"] < orders["euler"]


@pytest.mark.slow
def test_masked_source_steps_differ_only_in_how_fast_they_unmask():
    """Masked: exponential and flow_matching's coincide (p(MASK) = 0), first order too, a little above Euler's."""
    table = eight_gaussians_table()
    Ns = np.array([16, 64, 256])
    dependence = total_variation(table, np.outer(table.sum(1), table.sum(0)))
    exponential, flow_matching = exact_tvs(table, Ns, "mask", "exponential"), exact_tvs(table, Ns, "mask",
                                                                                         "flow_matching")
    assert_allclose(exponential, flow_matching, rtol=1e-10)
    assert np.all(exponential > dependence / Ns)
    assert 0.95 <= fitted_order(Ns, exponential) <= 1.05


# --- metrics -------------------------------------------------------------------------------------

def test_histogram_tv_and_kl():
    x = np.array([[0, 1], [0, 1], [2, 0], [1, 1]])
    table = histogram(x, 3)
    assert table.shape == (3, 3)
    assert_allclose(table[0, 1], 0.5) and assert_allclose(table.sum(), 1.0)
    rows = histogram(np.tile(x, (1, 7)), 3)  # 3^14 > MAX_CELLS: a dict of the rows seen
    assert isinstance(rows, dict) and rows[tuple([0, 1] * 7)] == 0.5
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert_allclose(total_variation(p, q), 0.5)
    assert_allclose(kl_divergence(p, q), np.log(2))  # 0 log 0 = 0 at the third cell
    assert kl_divergence(q, p) == np.inf  # q has mass where p has none
    assert_allclose(total_variation({(0,): 0.5, (1,): 0.5}, {(1,): 1.0}), 0.5)
    assert_allclose(total_variation(table, dict(zip([(0, 1), (2, 0), (1, 1)], [0.5, 0.25, 0.25]))), 0.0)
    with pytest.raises(ValueError, match="tokens"):
        histogram(np.array([[3, 0]]), 3)


def test_sampling_floor_against_its_normal_approximation():
    """Many cells of mass >> 1/n: TV of n draws ≈ sum_x sqrt(p(x) / (2 pi n)), and it shrinks as 1/sqrt(n)."""
    table = eight_gaussians_table()
    heavy = np.where(table > 1e-3, table, 0.0)
    heavy /= heavy.sum()
    n = 10 ** 6
    mean, sd = sampling_floor(heavy, n, np.random.default_rng(0), repeats=6)
    assert abs(mean - np.sum(np.sqrt(heavy / (2 * np.pi * n)))) < 4 * sd / np.sqrt(6) + 0.02 * mean
    assert (mean, sd) == sampling_floor(heavy, n, np.random.default_rng(0), repeats=6)
    with pytest.raises(ValueError, match="repeats"):
        sampling_floor(heavy, n, np.random.default_rng(0), repeats=1)

import numpy as np
import pytest

from npflow.core.gmm import GaussianMixture
from npflow.core.likelihood import divergence, log_likelihood, standard_normal_log_prob
from npflow.core.mlp import init_mlp, layer_sizes, velocity
from npflow.core.oracle import exact_velocity, marginal_at
from npflow.core.sampling import decode, encode

SINGLE = GaussianMixture([[1.0, -2.0]], std=2.0)
MIXTURE = GaussianMixture([[-3.0, 0.5], [2.0, -1.0]], std=[0.7, 1.3], weights=[0.35, 0.65])


def model_density(gmm, sigma_min):
    """The flow of the exact field ends at p_1 = the target widened by sigma_min (exactly the target if 0)."""
    return marginal_at(gmm, 1.0, sigma_min)


@pytest.mark.parametrize("gmm", [SINGLE, MIXTURE], ids=["single", "mixture"])
@pytest.mark.parametrize("sigma_min", [0.0, 0.05])
def test_exact_likelihood_with_rk45_at_tight_tolerance(rng, gmm, sigma_min):
    x = gmm.sample(100, rng)
    log_p = log_likelihood(exact_velocity(gmm, sigma_min), x, solver="RK45", rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(log_p, model_density(gmm, sigma_min).log_prob(x), atol=1e-4)


@pytest.mark.parametrize("gmm", [SINGLE, MIXTURE], ids=["single", "mixture"])
def test_exact_likelihood_with_rk4_at_200_steps(rng, gmm):
    x = gmm.sample(100, rng)
    log_p = log_likelihood(exact_velocity(gmm), x, solver="rk4", steps=200)
    np.testing.assert_allclose(log_p, gmm.log_prob(x), atol=1e-3)


def test_the_sign_of_the_divergence_term(rng):
    """A wide target (std 2) is reached by spreading noise out: div v > 0, so log p_1 < log N(x(0))."""
    x = SINGLE.sample(50, rng)
    f = exact_velocity(SINGLE)
    x_0 = encode(f, x, "RK45", rtol=1e-10, atol=1e-10)
    log_p = log_likelihood(f, x, solver="RK45", rtol=1e-10, atol=1e-10)
    # For N(m, s^2 I) in d = 2 the change of variables costs exactly log(s^2) = log 4 nats everywhere.
    np.testing.assert_allclose(standard_normal_log_prob(x_0) - log_p, np.log(4.0), atol=1e-6)


@pytest.mark.slow
def test_hutchinson_averages_to_exact(rng):
    x = MIXTURE.sample(40, rng)
    f = exact_velocity(MIXTURE)
    exact = log_likelihood(f, x, steps=20)
    for noise in ("rademacher", "gaussian"):
        estimates = np.array([log_likelihood(f, x, method="hutchinson", steps=20, probes=4, rng=rng, noise=noise)
                              for _ in range(10)])  # (10, 40)
        mean, stderr = estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(10)
        assert np.all(np.abs(mean - exact) < 5 * stderr + 1e-6)
        assert stderr.max() > 1e-4  # the estimator really is random
    # more probes, less noise
    few = np.std([log_likelihood(f, x, method="hutchinson", steps=20, probes=1, rng=rng) for _ in range(8)], axis=0)
    many = np.std([log_likelihood(f, x, method="hutchinson", steps=20, probes=16, rng=rng) for _ in range(8)], axis=0)
    assert many.mean() < few.mean() / 2


def test_density_of_a_model_integrates_to_one():
    """Any flow from N(0, I) gives a normalised density: here a small untrained MLP."""
    params = init_mlp(layer_sizes(2, (16,)), np.random.default_rng(3))

    def f(t, x):
        return velocity(params, t, x, "tanh")

    grid = np.linspace(-7, 7, 71)
    xx, yy = np.meshgrid(grid, grid)
    log_p = log_likelihood(f, np.column_stack([xx.ravel(), yy.ravel()]), steps=40)
    assert np.exp(log_p).sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, abs=0.01)


def test_divergence_exact_against_finite_differences(rng):
    params = init_mlp(layer_sizes(3, (8, 8)), rng)

    def f(t, x):
        return velocity(params, t, x, "silu")

    x, h = rng.standard_normal((6, 3)), 1e-6
    _, div = divergence(f, 0.4, x)
    expected = sum((f(0.4, x + h * e)[:, i] - f(0.4, x - h * e)[:, i]) / (2 * h) for i, e in enumerate(np.eye(3)))
    np.testing.assert_allclose(div, expected, atol=1e-7)


@pytest.mark.parametrize("method, options", [("rk4", {"steps": 200}), ("RK45", {"rtol": 1e-10, "atol": 1e-10})])
def test_encode_decode_round_trip(rng, method, options):
    f = exact_velocity(MIXTURE, 0.01)
    x = MIXTURE.sample(200, rng)
    z = encode(f, x, method, **options)
    assert np.abs(z).mean() < np.abs(x).mean()  # data went back towards the noise
    np.testing.assert_allclose(decode(f, z, method, **options), x, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"x": np.zeros(3)}, r"x must have shape \(n, d\)"),
    ({"x": np.array([[0.0, np.inf]])}, "NaN or infinite"),
    ({"method": "trace"}, "method must be 'exact' or 'hutchinson'"),
    ({"method": "hutchinson"}, "needs rng"),
    ({"method": "hutchinson", "rng": np.random.default_rng(0), "probes": 0}, "probes must be a positive integer"),
    ({"method": "hutchinson", "rng": np.random.default_rng(0), "noise": "uniform"}, "noise must be"),
])
def test_bad_arguments(kwargs, message):
    arguments = {"x": np.zeros((2, 2)), **kwargs}
    with pytest.raises(ValueError, match=message):
        log_likelihood(exact_velocity(SINGLE), **arguments)


def test_the_likelihood_starts_from_the_source_density(rng):
    """With v = 0 nothing moves, so log p_1 is the source's own log-density."""
    from npflow.data.datasets import get_dataset

    source = get_dataset("eight_gaussians").mixture
    x = source.sample(20, rng)
    log_p = log_likelihood(lambda t, y: 0.0 * y, x, steps=4, log_p_0=source.log_prob)
    np.testing.assert_allclose(log_p, source.log_prob(x), rtol=0, atol=1e-12)

import autograd
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from npflow.core.gmm import GaussianMixture
from npflow.data.datasets import TWO_GAUSSIANS, two_gaussians

GMM = GaussianMixture([[-2.0, 1.0], [3.0, 0.0], [0.0, -3.0]], std=[0.5, 1.5, 1.0], weights=[1.0, 2.0, 1.0])


def test_log_prob_against_scipy(rng):
    x = rng.standard_normal((20, 2)) * 3
    density = sum(w * multivariate_normal(m, s**2 * np.eye(2)).pdf(x) for m, s, w in zip(GMM.means, GMM.stds, GMM.weights))
    np.testing.assert_allclose(GMM.log_prob(x), np.log(density), rtol=1e-12)


def test_log_prob_is_stable_far_away():
    assert np.isfinite(GMM.log_prob(np.array([[1e3, -1e3]]))).all()


def test_density_integrates_to_one():
    grid = np.linspace(-12, 12, 601)
    xx, yy = np.meshgrid(grid, grid)
    density = np.exp(GMM.log_prob(np.column_stack([xx.ravel(), yy.ravel()])))
    assert density.sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, abs=1e-6)


def test_score_is_the_gradient_of_log_prob(rng):
    x = rng.standard_normal((10, 2)) * 2
    gradient = autograd.grad(lambda y: np.sum(GMM.log_prob(y)))(x)
    np.testing.assert_allclose(GMM.score(x), gradient, rtol=1e-10, atol=1e-12)


def test_sample_statistics(rng):
    x = GMM.sample(200_000, rng)
    k = np.argmin(((x[:, None, :] - GMM.means) ** 2).sum(axis=2) / GMM.stds**2, axis=1)
    assert np.bincount(k) / len(x) == pytest.approx(GMM.weights, abs=0.01)
    mean = GMM.weights @ GMM.means
    assert x.mean(axis=0) == pytest.approx(mean, abs=0.02)


def test_two_gaussians_is_the_seeds_target(rng):
    assert isinstance(TWO_GAUSSIANS, GaussianMixture)
    np.testing.assert_array_equal(TWO_GAUSSIANS.means, [[-4.0, 0.0], [4.0, 0.0]])
    np.testing.assert_array_equal(TWO_GAUSSIANS.stds, [1.0, 1.0])
    np.testing.assert_array_equal(TWO_GAUSSIANS.weights, [0.5, 0.5])
    x = two_gaussians(100_000, rng)
    assert np.mean(x[:, 0] > 0) == pytest.approx(0.5, abs=0.01)
    assert x[x[:, 0] > 0].std(axis=0) == pytest.approx([1.0, 1.0], abs=0.02)


@pytest.mark.parametrize("kwargs, message", [
    ({"means": [1.0, 2.0], "std": 1.0}, "means must be a finite array of shape"),
    ({"means": [[0.0, np.nan]], "std": 1.0}, "means must be a finite array"),
    ({"means": [[0.0], [1.0]], "std": [1.0, 0.0]}, "std must be a positive number or 2 positive numbers"),
    ({"means": [[0.0], [1.0]], "std": [1.0, 1.0, 1.0]}, "std must be"),
    ({"means": [[0.0], [1.0]], "std": 1.0, "weights": [1.0, -1.0]}, "weights must be 2 positive numbers"),
])
def test_bad_mixtures(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**kwargs)


def test_sampling_draws_the_same_bits_as_rng_choice():
    """The inverse-CDF draw of the component is rng.choice's, bit for bit (the README's figures rely on it)."""
    gmm = GaussianMixture([[0.0, 0.0], [5.0, 1.0], [-3.0, 2.0]], std=[1.0, 0.5, 2.0], weights=[0.2, 0.7, 0.1])
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    k = rng_b.choice(3, size=1000, p=gmm.weights)
    expected = gmm.means[k] + gmm.stds[k, None] * rng_b.standard_normal((1000, 2))
    np.testing.assert_array_equal(gmm.sample(1000, rng_a), expected)

import warnings

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import multivariate_normal

from npflow.data.digits import load_digits
from npflow.images.pixels import DIM, LEVELS, to_model
from npflow.images.image_metrics import (frechet_distance, gaussian_baselines, gaussian_frechet_distance,
                                         gaussian_log_density, nearest_distances)


def random_covariance(rng, k):
    A = rng.standard_normal((k, k))
    return A @ A.T / k + 0.1 * np.eye(k)


def test_frechet_distance_of_commuting_gaussians_is_the_closed_form(rng):
    """Diagonal covariances commute: FD = |mu_a - mu_b|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2."""
    mean_a, mean_b = rng.standard_normal(5), rng.standard_normal(5)
    a, b = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert gaussian_frechet_distance(mean_a, np.diag(a), mean_b, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_matches_the_matrix_square_root(rng):
    """Non-commuting covariances: the FID formula with scipy.linalg.sqrtm."""
    mean_a, mean_b = rng.standard_normal(6), rng.standard_normal(6)
    cov_a, cov_b = random_covariance(rng, 6), random_covariance(rng, 6)
    assert not np.allclose(cov_a @ cov_b, cov_b @ cov_a)
    cross = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * cross)
    assert gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-10)
    assert gaussian_frechet_distance(mean_b, cov_b, mean_a, cov_a) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_of_a_set_with_itself_is_zero(rng):
    features = rng.standard_normal((200, 8)) @ rng.standard_normal((8, 8))
    assert abs(frechet_distance(features, features)) < 1e-10
    assert frechet_distance(features, features + 1.0) == pytest.approx(8.0, rel=1e-10)  # a shift of 1 in 8 features


def test_dead_features_change_nothing_and_raise_no_warning(rng):
    """A feature that is 0 in both sets (a dead ReLU) makes the covariances singular."""
    a, b = rng.standard_normal((100, 4)), rng.standard_normal((150, 4)) + 0.5
    with_dead = [np.column_stack([f, np.zeros(len(f))]) for f in (a, b)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert frechet_distance(*with_dead) == pytest.approx(frechet_distance(a, b), rel=1e-10)


def test_nearest_distances_by_brute_force(rng):
    images, reference = rng.integers(0, 17, (7, DIM)).astype(float), rng.integers(0, 17, (11, DIM)).astype(float)
    expected = [min(np.sqrt(np.sum((image - r) ** 2)) for r in reference) for image in images]
    np.testing.assert_allclose(nearest_distances(images, reference), expected, rtol=1e-12)
    assert np.all(nearest_distances(reference[:3], reference) == 0)  # a copy is at distance 0


@pytest.mark.parametrize("full", [True, False])
def test_gaussian_log_density_is_scipys(rng, full):
    x_fit = rng.standard_normal((300, 4)) @ rng.standard_normal((4, 4)) + rng.standard_normal(4)
    x = rng.standard_normal((9, 4))
    cov = np.cov(x_fit, rowvar=False, bias=True)  # the maximum-likelihood fit
    reference = multivariate_normal(x_fit.mean(axis=0), cov if full else np.diag(np.diag(cov)))
    np.testing.assert_allclose(gaussian_log_density(x_fit, x, full), reference.logpdf(x), rtol=1e-10)


def test_gaussian_baselines_on_the_digits(rng):
    """Each baseline in bits/dim against scipy's log-density and the conversion by hand."""
    x_train = to_model(load_digits("train").pixels, rng)
    x_test = to_model(load_digits("test").pixels, rng)
    baselines = gaussian_baselines(x_train, x_test)
    cov = np.cov(x_train, rowvar=False, bias=True)
    for name, fitted_cov in (("independent pixels", np.diag(np.diag(cov))), ("full covariance", cov)):
        log_p = multivariate_normal(x_train.mean(axis=0), fitted_cov).logpdf(x_test)
        by_hand = np.mean(-(log_p + DIM * np.log(2 / LEVELS)) / (DIM * np.log(2)))
        assert baselines[name] == pytest.approx(by_hand, rel=1e-10)
    # pixels move together: the full covariance knows it
    assert baselines["full covariance"] < baselines["independent pixels"] < np.log2(LEVELS)

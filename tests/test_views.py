import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from npflow.gmm import GaussianMixture
from npflow.oracle import exact_velocity, marginal_at
from npflow.paths import ICFMPath, LinearPath, VPPath
from npflow.views import (data_to_noise, noise_to_data, score_from_velocity, velocity_from_prediction,
                          velocity_from_score, velocity_to_data, velocity_to_score)

GMM_2D = GaussianMixture([[-3.0, 1.0], [2.0, -1.0], [0.5, 2.5]], std=[0.6, 1.2, 0.3], weights=[0.3, 0.5, 0.2])
PATHS = [LinearPath(0.0), LinearPath(0.1), VPPath()]
TIMES = np.linspace(0.05, 0.95, 19)


def exact_predictions(gmm, path, t, x):
    """(E[x_0 | x_t = x], E[x_1 | x_t = x]) by conditioning each component's Gaussian, written
    independently of the oracle's velocity: given k, Cov(x_1, x_t) = alpha_t s_k^2 and
    Cov(x_0, x_t) = sigma_t, per coordinate, over var_k = alpha_t^2 s_k^2 + sigma_t^2."""
    alpha_t, sigma_t = path.alpha(t), path.sigma(t)
    p_t = marginal_at(gmm, t, path=path)
    posterior = p_t.posterior(x)  # (n, K)
    deviation = x[:, None, :] - alpha_t * gmm.means  # (n, K, d)
    var = p_t.stds**2  # (K,)
    x1_given_k = gmm.means + (alpha_t * gmm.stds**2 / var)[:, None] * deviation
    x0_given_k = (sigma_t / var)[:, None] * deviation
    return (np.sum(posterior[:, :, None] * x0_given_k, axis=1), np.sum(posterior[:, :, None] * x1_given_k, axis=1))


@pytest.fixture
def x(rng):
    return rng.standard_normal((40, 2)) * 3  # near the modes and far from them


@pytest.mark.parametrize("path", PATHS, ids=["linear", "linear-sigma_min-0.1", "vp"])
def test_score_from_velocity_is_the_closed_form_score(path, x):
    score = score_from_velocity(exact_velocity(GMM_2D, path=path), path)
    for t in TIMES:
        expected = marginal_at(GMM_2D, t, path=path).score(x)
        np.testing.assert_allclose(score(t, x), expected, rtol=0, atol=1e-6)
    assert np.abs(expected).max() > 1  # the scores compared are not all near 0


@pytest.mark.parametrize("path", PATHS, ids=["linear", "linear-sigma_min-0.1", "vp"])
def test_velocity_from_score_is_the_exact_velocity(path, x):
    def exact_score(t, y):
        return marginal_at(GMM_2D, t, path=path).score(y)

    velocity, exact = velocity_from_score(exact_score, path), exact_velocity(GMM_2D, path=path)
    for t in TIMES:
        np.testing.assert_allclose(velocity(t, x), exact(t, x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("path", PATHS, ids=["linear", "linear-sigma_min-0.1", "vp"])
def test_noise_and_data_predictions_give_the_exact_velocity(path, x):
    exact = exact_velocity(GMM_2D, path=path)
    from_noise = velocity_from_prediction(lambda t, y: exact_predictions(GMM_2D, path, t, y)[0], path, "noise")
    from_data = velocity_from_prediction(lambda t, y: exact_predictions(GMM_2D, path, t, y)[1], path, "data")
    for t in TIMES:
        x0_hat, x1_hat = exact_predictions(GMM_2D, path, t, x)
        np.testing.assert_allclose(path.alpha(t) * x1_hat + path.sigma(t) * x0_hat, x, atol=1e-12)  # (1)
        np.testing.assert_allclose(from_noise(t, x), exact(t, x), rtol=0, atol=1e-6)
        np.testing.assert_allclose(from_data(t, x), exact(t, x), rtol=0, atol=1e-6)
        np.testing.assert_allclose(velocity_to_data(exact(t, x), x, t, path), x1_hat, rtol=0, atol=1e-6)
        np.testing.assert_allclose(data_to_noise(x1_hat, x, t, path), x0_hat, rtol=0, atol=1e-6)
        np.testing.assert_allclose(noise_to_data(x0_hat, x, t, path), x1_hat, rtol=0, atol=1e-6)


def test_a_time_per_point_equals_one_time(x):
    path, f = VPPath(), exact_velocity(GMM_2D, path=VPPath())
    t = np.linspace(0.1, 0.9, len(x))
    per_point = score_from_velocity(f, path)(t, x)
    one_by_one = np.concatenate([score_from_velocity(f, path)(t_i, x[i:i + 1]) for i, t_i in enumerate(t)])
    np.testing.assert_allclose(per_point, one_by_one, rtol=1e-12)


def test_the_score_of_a_velocity_is_a_gradient_autograd_can_take(x):
    """Differentiated by autograd through the conversion, the score's Jacobian is the Hessian
    of log p_t, which autograd takes from the closed-form mixture density."""
    path, t = VPPath(), 0.6
    score = score_from_velocity(exact_velocity(GMM_2D, path=path), path)
    p_t = marginal_at(GMM_2D, t, path=path)
    for point in x[:5]:
        jacobian = autograd.jacobian(lambda y: score(t, anp.reshape(y, (1, 2)))[0])(point)
        hessian = autograd.hessian(lambda y: p_t.log_prob(anp.reshape(y, (1, 2)))[0])(point)
        np.testing.assert_allclose(jacobian, hessian, atol=1e-9)


def test_the_velocity_predicts_the_data_at_both_ends(x):
    """x1_hat from the velocity needs no division by alpha_t or sigma_t: at t = 0 it is E[x_1]
    (x_t is pure noise), at t = 1 on a path that ends on the data it is x itself."""
    mean = GMM_2D.weights @ GMM_2D.means
    for path in (LinearPath(0.0), VPPath()):
        f = exact_velocity(GMM_2D, path=path)
        np.testing.assert_allclose(velocity_to_data(f(0.0, x), x, 0.0, path), np.tile(mean, (len(x), 1)), atol=1e-12)
        np.testing.assert_allclose(velocity_to_data(f(1.0, x), x, 1.0, path), x, atol=1e-12)


@pytest.mark.parametrize("path", [LinearPath(0.0), VPPath()], ids=["linear", "vp"])
def test_conversions_raise_at_their_singular_end(path, x):
    f = exact_velocity(GMM_2D, path=path)
    with pytest.raises(ValueError, match=r"the score divides by sigma_t, which is 0 at t = 1;"):
        score_from_velocity(f, path)(1.0, x)
    with pytest.raises(ValueError, match=r"divides by sigma_t, which is 0 at t = 1;"):
        velocity_from_prediction(lambda t, y: y, path, "data")(1.0, x)
    with pytest.raises(ValueError, match=r"divides by alpha_t, which is 0 at t = 0;"):
        velocity_from_score(score_from_velocity(f, path), path)(0.0, x)
    with pytest.raises(ValueError, match=r"divides by alpha_t, which is 0 at t = 0;"):
        velocity_from_prediction(lambda t, y: y, path, "noise")(0.0, x)
    t = np.linspace(0.0, 0.5, len(x))  # one point at t = 0 among many
    with pytest.raises(ValueError, match=r"the data from a noise prediction divides by alpha_t, which is 0 at t = 0;"):
        noise_to_data(x, x, t, path)


def test_with_sigma_min_the_score_exists_at_the_data_end(x):
    path = LinearPath(0.1)  # p_1 is the target blurred by N(0, 0.1^2 I): it has a score
    score = score_from_velocity(exact_velocity(GMM_2D, path=path), path)(1.0, x)
    np.testing.assert_allclose(score, marginal_at(GMM_2D, 1.0, path=path).score(x), rtol=1e-9, atol=1e-9)


def test_one_time_keeps_float32_points_float32():
    path = VPPath()
    x = np.ones((3, 2), dtype=np.float32)
    assert velocity_to_score(x, x, 0.5, path).dtype == np.float32
    assert velocity_to_data(x, x, 0.5, path).dtype == np.float32


def test_bad_input_is_named():
    f = exact_velocity(GMM_2D)
    with pytest.raises(ValueError, match=r"predict must be one of velocity, noise, data, got 'epsilon'"):
        velocity_from_prediction(f, LinearPath(), "epsilon")
    assert velocity_from_prediction(f, ICFMPath(0.2), "velocity") is f  # a velocity needs no conversion
    with pytest.raises(ValueError, match=r"ICFMPath with blur 0.2 is not x_t = alpha_t x_1 \+ sigma_t x_0"):
        score_from_velocity(f, ICFMPath(0.2))(0.5, np.zeros((1, 2)))

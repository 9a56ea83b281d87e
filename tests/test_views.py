import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from npflow.core.gmm import GaussianMixture
from npflow.core.likelihood import log_likelihood
from npflow.core.oracle import exact_velocity, marginal_at
from npflow.core.paths import ICFMPath, LinearPath, VPPath
from npflow.core.sampling import generate
from npflow.core.views import (MARGIN, data_to_noise, noise_to_data, prediction_target, score_from_velocity,
                               velocity_from_prediction, velocity_from_score, velocity_to_data, velocity_to_score)
from npflow.data.datasets import get_dataset

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
    with pytest.raises(ValueError, match=r"margin must be in \[0, 0.5\), got 0.5"):
        velocity_from_prediction(f, LinearPath(), "noise", margin=0.5)
    with pytest.raises(ValueError, match=r"predict must be one of velocity, noise, data, got 'score'"):
        prediction_target("score", *np.zeros((3, 1, 2)))


def test_each_prediction_regresses_on_its_own_target(rng):
    x_0, x_1, u_t = rng.standard_normal((3, 5, 2))
    assert prediction_target("velocity", x_0, x_1, u_t) is u_t
    assert prediction_target("noise", x_0, x_1, u_t) is x_0
    assert prediction_target("data", x_0, x_1, u_t) is x_1


def predictions(path, which):
    """The exact noise (which = 0) or data (1) prediction of GMM_2D on ``path``, as a field."""
    return lambda t, y: exact_predictions(GMM_2D, path, t, y)[which]


@pytest.mark.parametrize("path", PATHS, ids=["linear", "linear-sigma_min-0.1", "vp"])
def test_a_margin_changes_nothing_inside_it(path, x):
    for which, predict, times in ((0, "noise", TIMES[2:]), (1, "data", TIMES[:-2])):  # t >= 0.15, t <= 0.85
        held = velocity_from_prediction(predictions(path, which), path, predict, margin=0.15)
        direct = velocity_from_prediction(predictions(path, which), path, predict)
        for t in times:
            np.testing.assert_allclose(held(t, x), direct(t, x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("path", [LinearPath(0.0), VPPath()], ids=["linear", "vp"])
def test_below_the_margin_a_noise_prediction_holds_its_data_prediction(path, x):
    """Below m, x1_hat is the one read at m, and v is (2) with x0_hat from (1) at t, written out here."""
    m, x0_hat = 0.1, predictions(path, 0)
    x1_at_m = (x - path.sigma(m) * x0_hat(m, x)) / path.alpha(m)
    held = velocity_from_prediction(x0_hat, path, "noise", margin=m)
    for t in (0.0, 0.03, 0.0999):
        expected = path.d_alpha(t) * x1_at_m + path.d_sigma(t) * (x - path.alpha(t) * x1_at_m) / path.sigma(t)
        np.testing.assert_allclose(held(t, x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("path", [LinearPath(0.0), VPPath()], ids=["linear", "vp"])
def test_above_the_margin_a_data_prediction_holds_its_noise_prediction(path, x):
    m, x1_hat = 0.1, predictions(path, 1)
    x0_at_edge = (x - path.alpha(0.9) * x1_hat(0.9, x)) / path.sigma(0.9)
    held = velocity_from_prediction(x1_hat, path, "data", margin=m)
    for t in (0.9001, 0.97, 1.0):
        expected = path.d_alpha(t) * (x - path.sigma(t) * x0_at_edge) / path.alpha(t) + path.d_sigma(t) * x0_at_edge
        np.testing.assert_allclose(held(t, x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("predict, which, end", [("noise", 0, 0.0), ("data", 1, 1.0)])
def test_the_held_field_misses_the_exact_one_at_the_end_by_order_margin(x, predict, which, end):
    """Held from exact predictions, the field at the singular end is off by O(m): halving m halves the gap."""
    path = VPPath()
    exact = exact_velocity(GMM_2D, path=path)(end, x)
    gaps = [np.abs(velocity_from_prediction(predictions(path, which), path, predict, m)(end, x) - exact).max()
            for m in (0.02, 0.01, 0.005)]
    orders = np.log2(np.array(gaps[:-1]) / gaps[1:])
    assert np.all(np.abs(orders - 1) < 0.15), orders


def test_a_held_field_takes_a_time_per_point_and_keeps_float32(x):
    path = VPPath()
    held = velocity_from_prediction(lambda t, y: np.sin(y) * (1 + np.reshape(t, (-1, 1))), path, "noise", margin=0.2)
    t = np.linspace(0.0, 0.6, len(x))  # a third of the points below the margin
    one_by_one = np.concatenate([held(t_i, x[i:i + 1]) for i, t_i in enumerate(t)])
    np.testing.assert_allclose(held(t, x), one_by_one, rtol=1e-12, atol=1e-12)
    x32 = x.astype(np.float32)
    assert velocity_from_prediction(lambda t, y: y, path, "noise", margin=0.1)(0.0, x32).dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("name", ["two_gaussians", "eight_gaussians"])
def test_the_default_margin_keeps_a_perfect_noise_predictors_likelihood_and_spread(name):
    """With MARGIN, the exact noise predictor x0_hat = -sigma_t score (Tweedie) on the vp path gives E[log p]
    within 0.005 nats of the exact field's and a spread within 0.5 %; a margin of 0.1 does not."""
    gmm, path = get_dataset(name).mixture, VPPath()
    exact = exact_velocity(gmm, path=path)
    noise = lambda t, x: -path.sigma(t) * marginal_at(gmm, t, path=path).score(x)  # noqa: E731
    rng = np.random.default_rng(0)
    x, x_0 = gmm.sample(500, rng), rng.standard_normal((2000, 2))
    exact_log_p, exact_spread = log_likelihood(exact, x, steps=100).mean(), generate(exact, x_0).x[-1].std(axis=0)

    def gaps(margin):
        v = velocity_from_prediction(noise, path, "noise", margin)
        spread = generate(v, x_0).x[-1].std(axis=0)
        return abs(log_likelihood(v, x, steps=100).mean() - exact_log_p), abs(spread.mean() / exact_spread.mean() - 1)

    log_p_gap, spread_gap = gaps(MARGIN)
    assert log_p_gap < 0.005 and spread_gap < 0.005
    assert gaps(0.1)[1] > 0.01  # the check can tell a margin that costs the spread

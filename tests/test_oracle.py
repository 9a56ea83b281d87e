import numpy as np
import pytest
from scipy.integrate import quad

from npflow.core.gmm import GaussianMixture
from npflow.core.metrics import energy_distance
from npflow.core.oracle import exact_velocity, marginal_at
from npflow.core.paths import ICFMPath, LinearPath, VPPath
from npflow.core.sampling import generate, noise
from npflow.core.solvers import integrate

# Unequal weights and stds, and sigma_min > 0: the hard case.
GMM_1D = GaussianMixture([[-2.0], [1.0], [3.0]], std=[0.5, 1.0, 0.3], weights=[0.2, 0.5, 0.3])
GMM_2D = GaussianMixture([[-3.0, 1.0], [2.0, -1.0]], std=[0.6, 1.2], weights=[0.3, 0.7])


def posterior_mean_velocity_1d(gmm, sigma_min, t, x):
    """E[u_t | x_t = x] by quadrature over x_1, independent of the closed form:

    x_t | x_1 ~ N(t x_1, sigma_t^2), so E[u_t | x] = int p_1(y) N(x; t y, sigma_t^2) u(y) dy / p_t(x)
    with u(y) = (y - (1 - sigma_min) x) / sigma_t, the target velocity written through x_t.
    """
    sigma_t = 1 - (1 - sigma_min) * t

    def weight(y):
        return np.exp(gmm.log_prob(np.array([[y]]))[0] - (x - t * y) ** 2 / (2 * sigma_t**2))

    options = {"epsabs": 1e-14, "epsrel": 1e-13, "limit": 500, "points": gmm.means.ravel().tolist()}
    numerator = quad(lambda y: weight(y) * (y - (1 - sigma_min) * x) / sigma_t, -10, 10, **options)[0]
    return numerator / quad(weight, -10, 10, **options)[0]


@pytest.mark.parametrize("sigma_min", [0.0, 0.1])
def test_exact_field_matches_quadrature_1d(sigma_min):
    f = exact_velocity(GMM_1D, sigma_min)
    times = (0.0, 0.3, 0.7, 0.95) + ((1.0,) if sigma_min > 0 else ())  # sigma_1 = 0 has no density to integrate
    for t in times:
        for x in (-2.5, 0.2, 2.7):
            assert f(t, np.array([[x]]))[0, 0] == pytest.approx(posterior_mean_velocity_1d(GMM_1D, sigma_min, t, x),
                                                              abs=1e-8)


def test_exact_field_matches_quadrature_2d():
    """In 2-D, each isotropic component factorises over coordinates, so 1-D quadratures suffice.

    For component k and coordinate i: I0 = int N(y; m_ki, s_k^2) N(x_i; t y, sigma_t^2) dy and
    I1 = the same with a factor y. Then p_t(x) ~ sum_k w_k I0_k1 I0_k2, and the numerator of
    E[u_i | x] has I1 in place of I0 for coordinate i, less (1 - sigma_min) x_i p_t(x), over sigma_t.
    """
    sigma_min, f = 0.05, exact_velocity(GMM_2D, 0.05)
    for t, x in ((0.4, np.array([0.5, -0.3])), (0.8, np.array([-2.0, 1.5])), (1.0, np.array([1.0, -1.0]))):
        sigma_t = 1 - (1 - sigma_min) * t
        numerator, denominator = np.zeros(2), 0.0
        for m, s, w in zip(GMM_2D.means, GMM_2D.stds, GMM_2D.weights):
            I0, I1 = [], []
            for i in range(2):
                def kernel(y, i=i, m=m, s=s):
                    return np.exp(-(y - m[i]) ** 2 / (2 * s**2) - (x[i] - t * y) ** 2 / (2 * sigma_t**2))

                options = {"epsabs": 1e-15, "epsrel": 1e-13, "limit": 200}
                I0.append(quad(kernel, -30, 30, points=[m[i]], **options)[0] / s)
                I1.append(quad(lambda y: y * kernel(y), -30, 30, points=[m[i]], **options)[0] / s)
            denominator += w * I0[0] * I0[1]
            numerator += w * (np.array([I1[0] * I0[1], I0[0] * I1[1]]) - (1 - sigma_min) * x * I0[0] * I0[1]) / sigma_t
        np.testing.assert_allclose(f(t, x[None, :])[0], numerator / denominator, atol=1e-8)


def test_exact_field_matches_monte_carlo(rng):
    """Average u_t over the (x_1, x_0) pairs whose x_t lands near x: E[u_t | x_t near x]."""
    path, f = LinearPath(0.1), exact_velocity(GMM_2D, 0.1)
    n, t = 2_000_000, 0.6
    x_1, x_0 = GMM_2D.sample(n, rng), rng.standard_normal((n, 2))
    x_t, u_t = path.sample(x_0, x_1, np.full(n, t))
    for x in (np.array([-1.0, 0.5]), np.array([1.2, -0.6])):
        near = np.sum((x_t - x) ** 2, axis=1) < 0.05**2
        estimate = u_t[near].mean(axis=0)
        stderr = u_t[near].std(axis=0) / np.sqrt(near.sum())
        assert near.sum() > 500
        assert np.all(np.abs(estimate - f(t, x[None, :])[0]) < 4 * stderr + 0.02), (estimate, f(t, x[None, :]))


@pytest.mark.parametrize("sigma_min", [0.0, 0.2])
def test_continuity_equation(rng, sigma_min):
    """d/dt p_t + div(p_t u_t) = 0, with p_t the exact marginal, by central differences."""
    f = exact_velocity(GMM_2D, sigma_min)
    x = rng.standard_normal((20, 2)) * 2

    def p(t, y):
        return np.exp(marginal_at(GMM_2D, t, sigma_min).log_prob(y))

    def flux(t, y):  # p_t u_t, shape (n, 2)
        return p(t, y)[:, None] * f(t, y)

    h = 1e-5
    for t in (0.2, 0.5, 0.9):
        dp_dt = (p(t + h, x) - p(t - h, x)) / (2 * h)
        div = sum((flux(t, x + h * e)[:, i] - flux(t, x - h * e)[:, i]) / (2 * h) for i, e in enumerate(np.eye(2)))
        np.testing.assert_allclose(dp_dt + div, 0.0, atol=1e-8)
        assert np.abs(dp_dt).max() > 1e-3  # the check is not vacuous


def test_marginal_end_points():
    p_0 = marginal_at(GMM_2D, 0.0, 0.1)
    np.testing.assert_array_equal(p_0.means, 0.0)
    np.testing.assert_allclose(p_0.stds, 1.0)
    p_1 = marginal_at(GMM_2D, 1.0, 0.1)
    np.testing.assert_allclose(p_1.stds, np.sqrt(GMM_2D.stds**2 + 0.1**2))


def test_sampling_the_exact_field_reproduces_the_mixture(rng):
    x = generate(exact_velocity(GMM_2D), noise(3000, 2, rng), "rk4", steps=100).x[-1]
    target = GMM_2D.sample(3000, rng)
    assert energy_distance(x, target) < 0.01
    assert energy_distance(x, target + [0.3, 0.0]) > 0.02  # the metric would see a small shift
    k = GMM_2D.posterior(x).argmax(axis=1)
    assert np.mean(k == 1) == pytest.approx(0.7, abs=0.025)


def test_a_time_per_point_equals_a_scalar_time(rng):
    f = exact_velocity(GMM_2D, 0.1)
    x = rng.standard_normal((5, 2))
    np.testing.assert_allclose(f(np.full(5, 0.3), x), f(0.3, x), rtol=1e-14)


# --- any affine path: vp, icfm, and the linear path given as a path ---------------------------

def mixture_cdf(gmm, x):
    """P(X <= x) for a 1-D mixture, shape like x."""
    from scipy.special import ndtr

    return np.sum(gmm.weights * ndtr((np.reshape(x, (-1, 1)) - gmm.means[:, 0]) / gmm.stds), axis=1)


def test_the_linear_path_given_as_a_path_is_the_old_call_to_the_bit(rng):
    x, t = rng.standard_normal((30, 2)) * 3, rng.random(30)
    for sigma_min in (0.0, 0.1):
        by_number = exact_velocity(GMM_2D, sigma_min)(t, x)
        assert exact_velocity(GMM_2D, path=LinearPath(sigma_min))(t, x).tobytes() == by_number.tobytes()
    with pytest.raises(ValueError, match=r"give sigma_min or a path, not both: sigma_min 0.1 with VPPath"):
        exact_velocity(GMM_2D, 0.1, path=VPPath())


@pytest.mark.parametrize("path", [VPPath(), ICFMPath(0.3), LinearPath(0.2)], ids=["vp", "icfm", "linear"])
def test_continuity_equation_on_any_path(rng, path):
    """d/dt p_t + div(p_t u_t) = 0 by central differences, p_t the mixture of ``marginal_at``."""
    f = exact_velocity(GMM_2D, path=path)
    x = rng.standard_normal((20, 2)) * 2

    def flux(t, y):  # p_t u_t, shape (n, 2)
        return np.exp(marginal_at(GMM_2D, t, path=path).log_prob(y))[:, None] * f(t, y)

    h = 1e-5
    for t in (0.2, 0.5, 0.9):
        dp_dt = (np.exp(marginal_at(GMM_2D, t + h, path=path).log_prob(x))
                 - np.exp(marginal_at(GMM_2D, t - h, path=path).log_prob(x))) / (2 * h)
        div = sum((flux(t, x + h * e)[:, i] - flux(t, x - h * e)[:, i]) / (2 * h) for i, e in enumerate(np.eye(2)))
        np.testing.assert_allclose(dp_dt + div, 0.0, atol=1e-8)
        assert np.abs(dp_dt).max() > 1e-3  # the check is not vacuous


@pytest.mark.parametrize("path", [VPPath(), ICFMPath(0.3)], ids=["vp", "icfm"])
def test_the_marginal_is_the_law_of_x_t(rng, path):
    """x_t = alpha_t x_1 + sigma_t x_0 (+ blur z) drawn directly: its CDF is the marginal's."""
    n, t = 400_000, 0.6
    x_t = (path.alpha(t) * GMM_1D.sample(n, rng) + path.sigma(t) * rng.standard_normal((n, 1))
           + path.blur * rng.standard_normal((n, 1)))
    points = np.linspace(-3, 3, 13)
    empirical = np.mean(x_t[:, 0] <= points[:, None], axis=1)
    np.testing.assert_allclose(empirical, mixture_cdf(marginal_at(GMM_1D, t, path=path), points),
                               atol=4 * 0.5 / np.sqrt(n))


def test_the_vp_flow_carries_noise_to_the_marginal_by_its_quantiles():
    """In 1-D a flow keeps the order of points, so the exact field carries the u-quantile of
    N(0, 1) to the u-quantile of p_t: F_t(x_t) = u, with x_t from a tight solve_ivp."""
    from scipy.special import ndtri

    path, u = VPPath(), np.linspace(0.01, 0.99, 25)
    f = exact_velocity(GMM_1D, path=path)
    for t in (0.5, 1.0):
        x_t = integrate(f, ndtri(u)[:, None], 0.0, t, method="RK45", rtol=1e-11, atol=1e-11).x[-1]
        np.testing.assert_allclose(mixture_cdf(marginal_at(GMM_1D, t, path=path), x_t), u, atol=1e-7)

import numpy as np
import pytest

from npflow.core.paths import LinearPath


def tutorial_target_velocity(x_1, t, x_t, sigma_min):
    """The tutorial's sample_conditional_path, line for line."""
    t = t.reshape(-1, 1)
    mu_t = t * x_1
    sigma_t = (1 - t) + t * sigma_min
    dot_mu_t = x_1
    dot_sigma_t = -1.0 + sigma_min
    return (dot_sigma_t / sigma_t) * (x_t - mu_t) + dot_mu_t


@pytest.mark.parametrize("sigma_min", [0.0, 0.01, 0.3, 0.9])
def test_three_forms_of_the_target_velocity_agree(rng, sigma_min):
    path = LinearPath(sigma_min)
    x_1, x_0 = rng.standard_normal((200, 2)) * 3, rng.standard_normal((200, 2))
    t = rng.random(200) * 0.999
    x_t, u_t = path.sample(x_0, x_1, t)
    np.testing.assert_allclose(u_t, x_1 - (1 - sigma_min) * x_0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(u_t, tutorial_target_velocity(x_1, t, x_t, sigma_min), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(u_t, path.velocity_from_x_t(x_t, x_1, t), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("sigma_min", [0.0, 0.1])
def test_target_velocity_is_the_time_derivative_of_x_t(rng, sigma_min):
    path = LinearPath(sigma_min)
    x_1, x_0 = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    t, h = rng.uniform(0.01, 0.99, 50), 1e-6
    x_plus, _ = path.sample(x_0, x_1, t + h)
    x_minus, _ = path.sample(x_0, x_1, t - h)
    _, u_t = path.sample(x_0, x_1, t)
    np.testing.assert_allclose((x_plus - x_minus) / (2 * h), u_t, rtol=1e-7, atol=1e-7)


def test_end_points(rng):
    path = LinearPath(0.05)
    x_1, x_0 = rng.standard_normal((10, 2)), rng.standard_normal((10, 2))
    np.testing.assert_array_equal(path.sample(x_0, x_1, np.zeros(10))[0], x_0)  # noise at t = 0
    np.testing.assert_allclose(path.sample(x_0, x_1, np.ones(10))[0], x_1 + 0.05 * x_0)  # data at t = 1


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2.0, float("nan")])
def test_sigma_min_out_of_range(bad):
    with pytest.raises(ValueError, match="sigma_min must be in"):
        LinearPath(bad)


def test_vp_path_end_points_and_unit_variance(rng):
    from npflow.core.paths import VPPath

    path = VPPath()
    x_1, x_0 = rng.standard_normal((20000, 2)), rng.standard_normal((20000, 2))
    np.testing.assert_allclose(path.sample(x_0, x_1, np.zeros(20000))[0], x_0, atol=1e-15)  # noise at t = 0
    np.testing.assert_allclose(path.sample(x_0, x_1, np.ones(20000))[0], x_1, atol=1e-15)  # data at t = 1
    x_t, _ = path.sample(x_0, x_1, np.full(20000, 0.37))
    assert x_t.std() == pytest.approx(1.0, abs=0.02)  # alpha^2 + sigma^2 = 1 keeps unit variance


def test_vp_velocity_is_the_time_derivative_and_has_its_x_t_form(rng):
    from npflow.core.paths import VPPath

    path = VPPath()
    x_1, x_0 = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    t, h = rng.uniform(0.01, 0.99, 50), 1e-6
    x_t, u_t = path.sample(x_0, x_1, t)
    derivative = (path.sample(x_0, x_1, t + h)[0] - path.sample(x_0, x_1, t - h)[0]) / (2 * h)
    np.testing.assert_allclose(derivative, u_t, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(path.velocity_from_x_t(x_t, x_1, t), u_t, rtol=1e-9, atol=1e-9)


def test_make_path_refuses_an_unknown_name():
    from npflow.core.paths import make_path

    with pytest.raises(ValueError, match="path must be one of linear, icfm, vp, got 've'"):
        make_path("ve")


def test_icfm_path_end_points_velocity_and_blur(rng):
    from npflow.core.paths import ICFMPath

    path = ICFMPath(sigma=0.2)
    x_1, x_0, z = rng.standard_normal((50, 3)) * 3, rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    np.testing.assert_allclose(path.sample(x_0, x_1, np.zeros(50), z)[0], x_0 + 0.2 * z, atol=1e-15)
    np.testing.assert_allclose(path.sample(x_0, x_1, np.ones(50), z)[0], x_1 + 0.2 * z, atol=1e-15)
    t, h = rng.uniform(0.01, 0.99, 50), 1e-6
    _, u_t = path.sample(x_0, x_1, t, z)
    np.testing.assert_allclose(u_t, x_1 - x_0, atol=1e-14)  # TorchCFM's target
    derivative = (path.sample(x_0, x_1, t + h, z)[0] - path.sample(x_0, x_1, t - h, z)[0]) / (2 * h)
    np.testing.assert_allclose(derivative, u_t, rtol=1e-6, atol=1e-7)
    x_t, _ = path.sample(np.zeros((20000, 1)), np.zeros((20000, 1)), np.full(20000, 1.0), rng.standard_normal((20000, 1)))
    assert x_t.std() == pytest.approx(0.2, rel=0.03)  # the blur stays sigma wide at t = 1
    with pytest.raises(ValueError, match="needs z"):
        path.sample(x_0, x_1, t)
    with pytest.raises(ValueError, match="do not determine"):
        path.velocity_from_x_t(x_t, x_1, t)


def test_icfm_without_blur_is_the_tutorial_path_with_sigma_min_0(rng):
    from npflow.core.paths import ICFMPath

    x_1, x_0, t = rng.standard_normal((30, 2)), rng.standard_normal((30, 2)), rng.random(30)
    for got, want in zip(ICFMPath(0.0).sample(x_0, x_1, t), LinearPath(0.0).sample(x_0, x_1, t)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name, alpha, sigma, d_alpha, d_sigma, blur", [
    ("linear", 0.3, 1 - 0.8 * 0.3, 1.0, -0.8, 0.0),  # sigma_min 0.2
    ("vp", np.sin(0.15 * np.pi), np.cos(0.15 * np.pi), np.pi / 2 * np.cos(0.15 * np.pi),
     -np.pi / 2 * np.sin(0.15 * np.pi), 0.0),
    ("icfm", 0.3, 0.7, 1.0, -1.0, 0.2),  # blur sigma 0.2
], ids=["linear", "vp", "icfm"])
def test_path_samples_have_the_moments_of_their_closed_form(name, alpha, sigma, d_alpha, d_sigma, blur):
    """With x_1 ~ N(m, s^2 I), x_0 and z ~ N(0, I) independent, at t = 0.3 in each coordinate:

    E x_t = alpha_t m,  Var x_t = alpha_t^2 s^2 + sigma_t^2 + blur^2,  E u_t = d_alpha_t m,
    Var u_t = d_alpha_t^2 s^2 + d_sigma_t^2,  Cov(x_t, u_t) = alpha_t d_alpha_t s^2 + sigma_t d_sigma_t.
    Noise and data swapped in the call would move every one of them.
    """
    from npflow.core.paths import make_path

    n, m, s = 400_000, np.array([2.0, -1.0]), 0.5
    rng = np.random.default_rng(7)
    x_0, x_1, z = rng.standard_normal((n, 2)), m + s * rng.standard_normal((n, 2)), rng.standard_normal((n, 2))
    x_t, u_t = make_path(name, 0.2).sample(x_0, x_1, np.full(n, 0.3), z)
    var_x, var_u = alpha**2 * s**2 + sigma**2 + blur**2, d_alpha**2 * s**2 + d_sigma**2
    np.testing.assert_allclose(x_t.mean(axis=0), alpha * m, atol=5 * np.sqrt(var_x / n))
    np.testing.assert_allclose(u_t.mean(axis=0), d_alpha * m, atol=5 * np.sqrt(var_u / n))
    np.testing.assert_allclose(x_t.var(axis=0), var_x, rtol=5 * np.sqrt(2 / n))
    np.testing.assert_allclose(u_t.var(axis=0), var_u, rtol=5 * np.sqrt(2 / n))
    covariance = np.mean((x_t - x_t.mean(axis=0)) * (u_t - u_t.mean(axis=0)), axis=0)
    np.testing.assert_allclose(covariance, alpha * d_alpha * s**2 + sigma * d_sigma,
                               atol=5 * np.sqrt(var_x * var_u / n))

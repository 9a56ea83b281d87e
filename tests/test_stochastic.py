import math

import numpy as np
import pytest

from npflow.core.gmm import GaussianMixture
from npflow.core.metrics import cdist, energy_distance
from npflow.core.oracle import exact_velocity, marginal_at
from npflow.core.paths import ICFMPath, LinearPath, VPPath
from npflow.core.solvers import integrate
from npflow.diffusion.stochastic import ancestral_step, ddpm_generate, euler_maruyama_step, sde_generate

GMM_2D = GaussianMixture([[-3.0, 1.0], [2.0, -1.0]], std=[0.6, 1.2], weights=[0.3, 0.7])
N = 2000  # points per sample in the energy-distance checks
DIFFUSION = 2.0  # enough that an SDE without its score term is plain to see


def floor_bound(y):
    """4 times the energy distance expected between two independent samples of N points of
    the target, ``E|X - X'| (1 / N + 1 / N)`` (see ``energy_distance``), with E|X - X'| from y.
    About 0.014 here; two fresh draws land below it 98 times in 100 (measured: median 0.0025)."""
    mean_distance = cdist(y, y).sum() / (len(y) * (len(y) - 1))
    return 4 * mean_distance * 2 / N


def sde_without_the_score(f, x, path, steps, diffusion, rng):
    """The wrong SDE dx = v dt + g dW, whose marginals spread wider than p_t: a control."""
    times = np.linspace(0.0, 1.0, steps + 1).tolist()
    for t, t_next in zip(times[:-1], times[1:]):
        g, h = diffusion * path.sigma(t), t_next - t
        x = x + h * f(t, x) + g * math.sqrt(h) * rng.standard_normal(x.shape)
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("path", [LinearPath(0.1), VPPath()], ids=["linear", "vp"])
def test_no_diffusion_is_euler_to_the_bit(rng, path, dtype):
    exact = exact_velocity(GMM_2D, path=path)

    def f(t, x):  # in the points' dtype, as a trained float32 network's
        return exact(t, x).astype(x.dtype)

    x_0 = rng.standard_normal((50, 2)).astype(dtype)
    sde = sde_generate(f, x_0, path, steps=20, diffusion=0.0, rng=rng)
    euler = integrate(f, x_0, 0.0, 1.0, method="euler", steps=20)
    assert sde.x.dtype == euler.x.dtype == dtype
    assert sde.x.tobytes() == euler.x.tobytes() and sde.t.tobytes() == euler.t.tobytes()
    assert (sde.nfe, sde.method) == (euler.nfe, "euler-maruyama") == (20, "euler-maruyama")


def test_one_step_against_the_closed_form_score(rng):
    path, t, h, g = VPPath(), 0.3, 0.01, 0.7
    f = exact_velocity(GMM_2D, path=path)
    x, z = rng.standard_normal((20, 2)) * 2, rng.standard_normal((20, 2))
    expected = x + h * (f(t, x) + g**2 / 2 * marginal_at(GMM_2D, t, path=path).score(x)) + g * np.sqrt(h) * z
    np.testing.assert_allclose(euler_maruyama_step(f, path, g, t, x, h, z), expected, rtol=1e-12, atol=1e-12)


def test_each_step_has_g_equal_diffusion_times_sigma_t():
    """The trajectory, step by step from the same seed, with g(t_i) = diffusion * sigma_{t_i}
    (the last step too, noise included)."""
    path, f = VPPath(), exact_velocity(GMM_2D, path=VPPath())
    x_0 = np.random.default_rng(1).standard_normal((10, 2))
    trajectory = sde_generate(f, x_0, path, steps=4, diffusion=1.5, rng=np.random.default_rng(2))
    rng, x = np.random.default_rng(2), x_0
    for i, t in enumerate([0.0, 0.25, 0.5, 0.75]):
        x = euler_maruyama_step(f, path, 1.5 * np.cos(np.pi * t / 2), t, x, 0.25, rng.standard_normal(x.shape))
        np.testing.assert_allclose(trajectory.x[i + 1], x, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("path", [LinearPath(0.0), VPPath()], ids=["linear", "vp"])
def test_the_sde_with_the_exact_field_reproduces_the_target(rng, path):
    f = exact_velocity(GMM_2D, path=path)
    samples = sde_generate(f, rng.standard_normal((N, 2)), path, steps=500, diffusion=DIFFUSION, rng=rng).x[-1]
    y, fresh = GMM_2D.sample(N, rng), GMM_2D.sample(N, rng)
    bound = floor_bound(y)
    assert energy_distance(samples, y) < bound, (energy_distance(samples, y), energy_distance(fresh, y), bound)
    wrong = sde_without_the_score(f, rng.standard_normal((N, 2)), path, 500, DIFFUSION, rng)
    assert energy_distance(wrong, y) > bound  # the check sees the score term missing


def test_ddpm_with_the_exact_field_reproduces_the_target(rng):
    path = VPPath()
    f = exact_velocity(GMM_2D, path=path)
    trajectory = ddpm_generate(f, rng.standard_normal((N, 2)), path, steps=500, eta=1.0, rng=rng)
    y = GMM_2D.sample(N, rng)
    assert (trajectory.x.shape, trajectory.nfe, trajectory.method) == ((501, N, 2), 500, "ddpm")
    assert energy_distance(trajectory.x[-1], y) < floor_bound(y)
    assert energy_distance(1.1 * trajectory.x[-1], y) > floor_bound(y)  # a spread 10 % too wide is seen


@pytest.mark.parametrize("path", [LinearPath(0.0), VPPath()], ids=["linear", "vp"])
def test_ddim_converges_to_the_ode_at_first_order(rng, path):
    f = exact_velocity(GMM_2D, path=path)
    x_0 = rng.standard_normal((100, 2))
    exact = integrate(f, x_0, 0.0, 1.0, method="RK45", rtol=1e-10, atol=1e-10).x[-1]
    errors = [np.sqrt(np.mean((ddpm_generate(f, x_0, path, steps, eta=0.0, rng=rng).x[-1] - exact) ** 2))
              for steps in (100, 200, 400)]
    orders = np.log2(np.divide(errors[:-1], errors[1:]))
    assert np.all(np.abs(orders - 1) < 0.1), (errors, orders)
    assert errors[-1] < 0.01


def test_ddim_on_the_linear_path_is_euler(rng):
    """alpha_t and sigma_t are linear in t, so alpha_t x1_hat + sigma_t x0_hat is x_s + h v."""
    path = LinearPath(0.1)
    f = exact_velocity(GMM_2D, path=path)
    x_0 = rng.standard_normal((50, 2))
    ddim = ddpm_generate(f, x_0, path, steps=10, eta=0.0, rng=rng)
    np.testing.assert_allclose(ddim.x, integrate(f, x_0, 0.0, 1.0, method="euler", steps=10).x, rtol=1e-12, atol=1e-12)


def point_target_field(m, path):
    """The exact field of a target that is the single point m: u_t = d_alpha_t m + d_sigma_t x_0."""
    def f(t, x):
        return path.d_alpha(t) * m + path.d_sigma(t) * (x - path.alpha(t) * m) / path.sigma(t)

    return f


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_the_ancestral_step_keeps_each_point_on_its_path(rng, eta):
    """Towards a single point m the predictions are exact, so every step, however long, lands on
    the path's marginal N(alpha_t m, sigma_t^2 I); with eta = 0 each point stays on its own line."""
    path, m = VPPath(), np.array([2.0, -1.0])
    x_0 = rng.standard_normal((20000, 2))
    trajectory = ddpm_generate(point_target_field(m, path), x_0, path, steps=4, eta=eta, rng=rng)
    for t, x in zip(trajectory.t, trajectory.x):
        alpha_t, sigma_t = path.alpha(t), path.sigma(t)
        if eta == 0.0:
            np.testing.assert_allclose(x, alpha_t * m + sigma_t * x_0, atol=1e-12)
        if sigma_t > 1e-9:  # vp's sigma_1 is 6e-17: the end is checked below
            noise = (x - alpha_t * m) / sigma_t
            assert np.abs(noise.mean(axis=0)).max() < 4 / np.sqrt(len(x))  # mean 0
            assert np.abs(noise.var(axis=0) - 1).max() < 4 * np.sqrt(2 / len(x))  # variance 1, not 1 + c^2
    np.testing.assert_allclose(trajectory.x[-1], np.broadcast_to(m, x_0.shape), atol=1e-12)  # lands without noise


def test_eta_one_is_ddpm_posterior_step(rng):
    """The DDPM step of Ho et al. (2020), Eq. 6-7, in their notation: from the noisier time
    (their t, our s) to the cleaner one (their t - 1, our t), with alpha-bar = alpha^2 on vp."""
    path, s, t = VPPath(), 0.35, 0.4
    abar_now, abar_prev = path.alpha(s) ** 2, path.alpha(t) ** 2
    alpha_now = abar_now / abar_prev
    beta_now = 1 - alpha_now
    x_s, x1_hat, z = rng.standard_normal((3, 10, 2))
    x0_hat = (x_s - path.alpha(s) * x1_hat) / path.sigma(s)  # the noise the prediction implies
    mean = (np.sqrt(abar_prev) * beta_now / (1 - abar_now) * x1_hat
            + np.sqrt(alpha_now) * (1 - abar_prev) / (1 - abar_now) * x_s)
    beta_tilde = (1 - abar_prev) / (1 - abar_now) * beta_now
    np.testing.assert_allclose(ancestral_step(x0_hat, x1_hat, s, t, path, 1.0, z), mean + np.sqrt(beta_tilde) * z,
                               rtol=1e-12, atol=1e-12)


def test_one_step_from_noise_lands_on_the_mean(rng):
    """From t = 0 (alpha_0 = 0, no division by it) to t = 1 (sigma_1 = 0) in one step, every
    point lands on x1_hat(0, x) = E[x_1], whatever eta."""
    for path in (LinearPath(0.0), VPPath()):
        x = ddpm_generate(exact_velocity(GMM_2D, path=path), rng.standard_normal((5, 2)), path, 1, 0.7, rng=rng).x[-1]
        np.testing.assert_allclose(x, np.broadcast_to(GMM_2D.weights @ GMM_2D.means, x.shape), atol=1e-12)


def test_bad_input_is_named(rng):
    f, x_0 = exact_velocity(GMM_2D), np.zeros((3, 2))
    for arguments, message in [
            ({"diffusion": -1.0}, r"diffusion must be a finite number >= 0, got -1.0"),
            ({"diffusion": float("nan")}, r"diffusion must be a finite number >= 0, got nan"),
            ({"steps": 0}, r"steps must be a positive integer, got 0"),
            ({"rng": 3}, r"rng must be a numpy.random.Generator .*, got 3")]:
        with pytest.raises(ValueError, match=message):
            sde_generate(f, x_0, LinearPath(), **{"rng": rng, **arguments})
    with pytest.raises(ValueError, match=r"eta must be a finite number in \[0, 1\], got 1.5"):
        ddpm_generate(f, x_0, LinearPath(), eta=1.5, rng=rng)
    with pytest.raises(ValueError, match=r"x_0 must have shape \(n, d\)"):
        sde_generate(f, np.zeros(3), LinearPath(), rng=rng)
    with pytest.raises(ValueError, match=r"ICFMPath with blur 0.1"):
        ddpm_generate(f, x_0, ICFMPath(0.1), rng=rng)

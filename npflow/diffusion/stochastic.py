"""Stochastic sampling: an SDE with the flow's marginals, and the ancestral step of DDPM and DDIM.

Both samplers take a velocity field f(t, x) on an affine Gaussian path (``npflow.core.views``
turns a noise or data prediction into one), start from noise x_0 ~ N(0, I) at t = 0, take
``steps`` equal steps to t = 1, evaluate f once per step at the step's start (t < 1), and
return the ``Trajectory`` that ``npflow.integrate`` returns.

**The SDE.** From t = 0 to 1::

    dx = [v(t, x) + g(t)^2 / 2 * score(t, x)] dt + g(t) dW

has the same marginals p_t as the ODE dx = v dt, for any g. The density of dx = b dt + g dW
obeys the Fokker-Planck equation ``d_t p = -div(p b) + g^2 / 2 * lap(p)``. Put p = p_t and
b = v + g^2 / 2 * grad log p_t; since p_t grad log p_t = grad p_t::

    -div(p_t b) + g^2 / 2 * lap(p_t) = -div(p_t v) - g^2 / 2 * lap(p_t) + g^2 / 2 * lap(p_t) = -div(p_t v),

which is d_t p_t by the continuity equation (what makes v the velocity of p_t). So p_t solves
the SDE's equation too, from the same p_0: the noise g dW spreads the points exactly as fast
as the extra drift g^2 / 2 * score gathers them up the density.

**The diffusion scale.** npflow takes ``g(t) = diffusion * sigma_t``, the path's own noise
level times a number:

- it vanishes where the score blows up (sigma_t -> 0 at t = 1 on a path that ends on the
  data), and ``g^2 / 2 * score = -diffusion^2 sigma_t / 2 * x0_hat`` stays finite;
- the score pulls points together at a rate of at most 1 / sigma_t^2 (its x-derivative is
  (Cov[x_0 | x] - I) / sigma_t^2 >= -I / sigma_t^2), so over a step h the term g^2 / 2 * score
  pulls by at most h diffusion^2 / 2 of the distance, the same at every t: the explicit step
  stays stable up to the data end (it needs h diffusion^2 / 2 < 2);
- diffusion = 0 is the ODE, and the step is then Euler's.

DDPM's own SDE, the time reversal of its noising process, is ``g(t)^2 = 2 sigma_t^2
d/dt log(alpha_t / sigma_t)``: this form with a diffusion that depends on t, and that is
infinite at t = 0 (alpha_0 = 0). The ancestral step below with eta = 1 follows it.

**Euler-Maruyama** on the grid t_i = i / K, with h = 1 / K and fresh z_i ~ N(0, I)::

    x_{i+1} = x_i + h [v + g^2 / 2 * score](t_i, x_i) + g(t_i) sqrt(h) z_i

Its weak error (in the distribution of the samples) shrinks like h. The last step is a
step like the others and lands with its noise, of standard deviation
diffusion * sigma_{1-h} sqrt(h): on a path that ends on the data that is of order h^{3/2}
(9e-5 x diffusion at 500 steps on the linear path), and with sigma_min > 0 it is the
path's own width at the end, which p_1 has.

**The ancestral step** (DDPM, Ho et al., 2020, Eq. 6-7; DDIM, Song et al., 2021, Eq. 12), from
s = t_i to t = t_{i+1}, with the predictions x1_hat and x0_hat of f at (s, x_s)::

    x_t = alpha_t x1_hat + sigma_t (sqrt(1 - c^2) x0_hat + c z),      c = eta sqrt(1 - r^2),
    r   = (alpha_s sigma_t) / (sigma_s alpha_t)                          (in [0, 1] for s < t)

On one conditional path x_s = alpha_s x_1 + sigma_s x_0: were the predictions the true x_1
and x_0, then sqrt(1 - c^2) x_0 + c z ~ N(0, I) for any c in [0, 1], and x_t lands exactly
on that path's marginal N(alpha_t x_1, sigma_t^2 I). c says how much of the noise is drawn
afresh. eta = 0 keeps it all (DDIM: deterministic; as h -> 0 it follows the ODE dx = v dt,
and on the linear path, where alpha_t and sigma_t are linear in t, it is Euler's step exactly).
eta = 1 draws sigma_t^2 (1 - r^2) of its variance afresh, which is the variance of the
posterior q(x_t | x_s, x_1) of the noising process, DDPM's beta-tilde (a test checks it
against Ho et al.'s formulas). r is a ratio of square roots of signal-to-noise ratios; at
s = 0 it is 0 (no division by alpha_0), and where sigma_1 = 0 the last step lands on x1_hat
with no noise at all.
"""
import math

import numpy as np

from ..core.checks import check_points
from ..core.solvers import Trajectory, _CountedField
from ..core.views import data_to_noise, schedule, velocity_to_data, velocity_to_score

__all__ = ["euler_maruyama_step", "sde_generate", "ancestral_step", "ddpm_generate", "SAMPLERS"]


def euler_maruyama_step(f, path, g, t, x, h, z):
    """One Euler-Maruyama step of ``dx = [v + g^2 / 2 * score] dt + g dW`` (one evaluation of f).

    In full::

        x_next = x + h [v + g^2 / 2 * score] + g sqrt(h) z,      v = f(t, x), score from v

    Parameters
    ----------
    f : callable
        The velocity field ``f(t, x)``.
    path : AffinePath
    g : float
        The diffusion coefficient g(t) at the step's start.
    t, h : float
        The step's start and length.
    x, z : ndarray, shape (n, d)
        The points, and N(0, I) draws.

    Returns
    -------
    x_next : ndarray, shape (n, d)
    """
    v = f(t, x)
    # >>> exercise euler_maruyama_step: given v, its score (velocity_to_score), then a step h along v + g^2 / 2 * score, plus the noise g sqrt(h) z
    score = velocity_to_score(v, x, t, path)
    return x + h * (v + g**2 / 2 * score) + g * math.sqrt(h) * z
    # <<< exercise


def sde_generate(f, x_0, path, steps=100, diffusion=1.0, *, rng):
    """Generate by Euler-Maruyama on ``dx = [v + g^2 / 2 * score] dt + g dW``, g = diffusion * sigma_t.

    Parameters
    ----------
    f : callable
        The velocity field ``f(t, x)`` on ``path``.
    x_0 : ndarray, shape (n, d)
        Noise, N(0, I) draws.
    path : AffinePath
        The path f was trained on (without a blur).
    steps : int
        Number of equal steps from t = 0 to 1, one evaluation of f each.
    diffusion : float
        g(t) / sigma_t, >= 0. With 0 this is Euler on the ODE, to the bit.
    rng : numpy.random.Generator
        For the noise z of each step.

    Returns
    -------
    Trajectory
        ``.t`` of shape (steps + 1,), ``.x`` of shape (steps + 1, n, d), ``.nfe = steps``.

    Examples
    --------
    >>> from npflow.core.gmm import GaussianMixture
    >>> from npflow.core.oracle import exact_velocity
    >>> from npflow.core.paths import VPPath
    >>> rng = np.random.default_rng(0)
    >>> f = exact_velocity(GaussianMixture([[3.0]], std=0.5), path=VPPath())
    >>> x = sde_generate(f, rng.standard_normal((4000, 1)), VPPath(), steps=200, rng=rng).x[-1]
    >>> print(f"{x.mean():.2f} {x.std():.2f}")   # the target's mean 3 and std 0.5, to sampling error
    3.01 0.49
    """
    _check_positive_integer(steps, "steps")
    _check_number(diffusion, "diffusion", 0.0, math.inf)
    _check_rng(rng)
    field = _CountedField(f)

    def step(t, x, t_next):
        g = diffusion * schedule(path, t)[1]  # g(t) = diffusion * sigma_t
        return euler_maruyama_step(field, path, g, t, x, t_next - t, rng.standard_normal(x.shape, dtype=x.dtype))

    return _on_grid(step, check_points(x_0, "x_0"), steps, field, "euler-maruyama")


def ancestral_step(x0_hat, x1_hat, s, t, path, eta, z):
    """The ancestral step from s to t > s, given the predictions at (s, x_s)::

        x_t = alpha_t x1_hat + sigma_t (sqrt(1 - c^2) x0_hat + c z),
        c = eta sqrt(1 - r^2),      r = (alpha_s sigma_t) / (sigma_s alpha_t)

    eta = 0 is DDIM's deterministic step, eta = 1 DDPM's.

    Parameters
    ----------
    x0_hat, x1_hat : ndarray, shape (n, d)
        The noise and data predictions at (s, x_s).
    s, t : float
        0 <= s < t <= 1.
    path : AffinePath
    eta : float
        In [0, 1].
    z : ndarray, shape (n, d)
        N(0, I) draws.

    Returns
    -------
    x_t : ndarray, shape (n, d)
    """
    alpha_s, sigma_s, _, _ = schedule(path, s)
    alpha_t, sigma_t, _, _ = schedule(path, t)
    # >>> exercise ancestral_step: r and c as in the docstring, then x_t = alpha_t x1_hat + sigma_t (sqrt(1 - c^2) x0_hat + c z)
    r = (alpha_s * sigma_t) / (sigma_s * alpha_t)  # sqrt(SNR_s / SNR_t)
    c = eta * math.sqrt(1.0 - r**2)  # the share of fresh noise
    return alpha_t * x1_hat + sigma_t * (math.sqrt(1.0 - c**2) * x0_hat + c * z)
    # <<< exercise


def ddpm_generate(f, x_0, path, steps=100, eta=1.0, *, rng):
    """Generate by ancestral steps from t = 0 to 1: DDPM (eta = 1), DDIM (eta = 0) or between.

    Each step evaluates f once at (t_i, x_i), turns the velocity into the predictions
    ``x1_hat = velocity_to_data(v)`` and ``x0_hat = data_to_noise(x1_hat)``, and takes
    ``ancestral_step`` to t_{i+1}.

    Parameters
    ----------
    f, x_0, path, steps
        As for ``sde_generate``.
    eta : float
        In [0, 1]: 0 deterministic (DDIM), 1 DDPM's posterior noise.
    rng : numpy.random.Generator
        For the fresh noise z of each step.

    Returns
    -------
    Trajectory
        As ``sde_generate``'s.
    """
    _check_positive_integer(steps, "steps")
    _check_number(eta, "eta", 0.0, 1.0)
    _check_rng(rng)
    field = _CountedField(f)

    def step(s, x, t):
        x1_hat = velocity_to_data(field(s, x), x, s, path)
        x0_hat = data_to_noise(x1_hat, x, s, path)
        return ancestral_step(x0_hat, x1_hat, s, t, path, eta, rng.standard_normal(x.shape, dtype=x.dtype))

    return _on_grid(step, check_points(x_0, "x_0"), steps, field, "ddpm")


#: The samplers by the names ``npflow sample --solver`` takes, each ``(f, x_0, path, steps, level, *, rng)``
#: with its own level: ``diffusion`` (g / sigma_t) for Euler-Maruyama, ``eta`` for the ancestral step.
SAMPLERS = {"euler-maruyama": sde_generate, "ddpm": ddpm_generate}


def _on_grid(step, x_0, steps, field, method):
    """Take ``step(t_i, x_i, t_{i+1}) -> x_{i+1}`` on the grid t_i = i / steps, as ``integrate`` lays it."""
    times = np.linspace(0.0, 1.0, steps + 1).tolist()  # Python floats: float32 points stay float32
    points = [x_0]
    for i in range(steps):
        points.append(step(times[i], points[-1], times[i + 1]))
    return Trajectory(t=np.array(times), x=np.stack(points), nfe=field.nfe, method=method)


def _check_positive_integer(value, name):
    if not (isinstance(value, (int, np.integer)) and value > 0):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_number(value, name, low, high):
    if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value) and low <= value <= high):
        expected = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a finite number {expected}, got {value!r}")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), got {rng!r}")

"""Exact log-likelihoods by the reverse ODE (the instantaneous change of variables).

A flow dx/dt = v(t, x) carries p_0 = N(0, I) at t = 0 to the model p_1 at t = 1. Along one
trajectory the log-density changes at the rate minus the divergence of the field
(Chen et al., 2018, "Neural Ordinary Differential Equations", Theorem 1)::

    d/dt log p_t(x(t)) = -div v(t, x(t)),      div v = sum_i d v_i / d x_i.

Integrated from 0 to 1 and rearranged::

    log p_1(x_1) = log N(x(0); 0, I) - integral_0^1 div v(t, x(t)) dt.

**How it is computed, and the sign.** To score a data point x_1 we need x(0), the point it came
from, so we solve the *augmented* ODE backward, from t = 1 to t = 0::

    d/dt [x, l] = [v(t, x), div v(t, x)],      x(1) = x_1,  l(1) = 0.

Then ``l(0) = integral_1^0 div v dt = -integral_0^1 div v dt``, and

    log p_1(x_1) = log N(x(0); 0, I) + l(0).

A flow from another source p_0 (data-to-data transport) scores the same way, with log p_0(x(0))
in place of log N(x(0); 0, I), where p_0 has a known density.

A field that spreads points apart (div v > 0, like noise expanding into a wide target) makes
l(0) negative: the density at the data is lower than at the noise it came from.

**The divergence.** ``exact`` takes it from the Jacobian diagonal: one forward pass and d
reverse (vector-Jacobian) passes of autograd, one per coordinate, with e_i as the vector. In
2-D that is two passes and exact. (A run's MLP of two hidden layers has it in closed form, one
matrix product for every d: ``npflow.core.mlp_divergence``, which ``npflow logprob``,
``evaluate`` and ``plot --kind density`` use.) For large d, ``hutchinson`` estimates it by
``div v = E[eps^T (dv/dx) eps]`` for probes eps with E[eps eps^T] = I (Rademacher or
Gaussian): one reverse pass per probe, whatever d is. The probes are drawn once and held
fixed through a solve, so the ODE stays an ODE. The x-trajectory does not depend on the probes
and l is linear in the divergence, so the estimate of log p is unbiased (of p itself it is
not: E[exp] is not exp E); its noise shrinks as 1/sqrt(probes).
"""
import autograd
import numpy as np

from .checks import check_points
from .solvers import integrate

__all__ = ["divergence", "log_likelihood", "standard_normal_log_prob"]


def standard_normal_log_prob(z):
    """``log N(z; 0, I) = -(d/2) log(2 pi) - |z|^2 / 2``, for z of shape (n, d); returns (n,)."""
    d = z.shape[1]
    return -0.5 * d * np.log(2 * np.pi) - 0.5 * np.sum(z**2, axis=1)


def divergence(f, t, x, probes=None):
    """div f(t, x) for every point, exactly or by Hutchinson's estimator.

    Parameters
    ----------
    f : callable
        ``f(t, x)``, autograd-differentiable in x, each point's output depending only on its
        own input (true of every field in npflow). A field with a method
        ``f.velocity_and_divergence(t, x) -> (v, div)`` gives the exact divergence itself.
    t : float
    x : ndarray, shape (n, d)
    probes : ndarray of shape (K, n, d), optional
        Hutchinson probes eps. None gives the exact divergence.

    Returns
    -------
    v : ndarray, shape (n, d)
        f(t, x), which the forward pass computes anyway (from the field's own method, in its
        weights' dtype, where it has one).
    div : ndarray, shape (n,)

    Examples
    --------
    >>> v, div = divergence(lambda t, x: 3.0 * x, 0.0, np.ones((2, 2)))  # div(3x) = 3d
    >>> div
    array([6., 6.])
    """
    known = getattr(f, "velocity_and_divergence", None)
    if probes is None and known is not None:  # a field that knows its own (npflow.core.mlp_divergence)
        return known(t, x)
    vjp, v = autograd.make_vjp(lambda y: f(t, y))(x)  # one forward pass, kept for the reverse passes
    if probes is None:
        n, d = x.shape
        # >>> exercise divergence: div v = sum_j dv_j/dx_j, one vjp per coordinate j with the unit vector e_j
        # Row i of vjp(e_j) is grad_x of v_j at point i (points do not interact): take its j-th entry.
        div = sum(vjp(np.broadcast_to(np.eye(d)[j], (n, d)))[:, j] for j in range(d))
        # <<< exercise
    else:
        # >>> exercise hutchinson: div v is about the mean over the K probes eps of eps^T J eps, and vjp(eps) is eps^T J, one row per point
        div = np.mean([np.sum(vjp(eps) * eps, axis=1) for eps in probes], axis=0)  # eps^T J eps
        # <<< exercise
    return v, div


def log_likelihood(f, x, method="exact", solver="rk4", steps=100, rtol=1e-5, atol=1e-5, probes=1,
                   rng=None, noise="rademacher", log_p_0=standard_normal_log_prob):
    """log p_1(x) under the flow of f that carries p_0 = N(0, I) (or ``log_p_0``) at t = 0 to the model at t = 1.

    Solves the augmented ODE from t = 1 back to t = 0 (see the module docstring for the sign).

    Parameters
    ----------
    f : callable
        The field ``f(t, x)``, autograd-differentiable in x.
    x : ndarray, shape (n, d)
        Points to score.
    method : {"exact", "hutchinson"}
        How to take the divergence.
    solver, steps, rtol, atol
        As for ``npflow.integrate``.
    probes : int
        Hutchinson probes per evaluation (held fixed through the solve).
    rng : numpy.random.Generator
        Required for ``hutchinson``.
    noise : {"rademacher", "gaussian"}
        Distribution of the probes.
    log_p_0 : callable
        The source's log-density, ``(n, d) -> (n,)``; N(0, I) by default.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> # v = 0 leaves N(0, I) unchanged, so log p_1(0) = log N(0; 0, I) = -log(2 pi)
    >>> log_likelihood(lambda t, x: 0.0 * x, np.zeros((1, 2)), steps=2)
    array([-1.83787707])
    """
    x = check_points(x, "x")
    if method not in ("exact", "hutchinson"):
        raise ValueError(f"method must be 'exact' or 'hutchinson', got {method!r}")
    n, d = x.shape
    eps = None
    if method == "hutchinson":
        if rng is None:
            raise ValueError("method='hutchinson' needs rng, a numpy.random.Generator for the probes")
        if not (isinstance(probes, (int, np.integer)) and probes > 0):
            raise ValueError(f"probes must be a positive integer, got {probes!r}")
        if noise == "rademacher":
            eps = rng.choice([-1.0, 1.0], size=(probes, n, d))
        elif noise == "gaussian":
            eps = rng.standard_normal((probes, n, d))
        else:
            raise ValueError(f"noise must be 'rademacher' or 'gaussian', got {noise!r}")

    # >>> exercise log_likelihood: solve d/dt [x, l] = [v, div v] from [x, 0] at t = 1 back to t = 0 (integrate, solver and steps as given); log p_1(x) = log_p_0(x(0)) + l(0)
    def augmented(t, state):  # state = [x, l], shape (n, d + 1)
        v, div = divergence(f, t, state[:, :d], eps)
        return np.concatenate([v, div[:, None]], axis=1)

    start = np.concatenate([x, np.zeros((n, 1))], axis=1)  # x(1) = x, l(1) = 0
    end = integrate(augmented, start, 1.0, 0.0, method=solver, steps=steps, rtol=rtol, atol=atol).x[-1]
    x_0, l_0 = end[:, :d], end[:, d]
    return log_p_0(x_0) + l_0
    # <<< exercise

"""The exact flow-matching field of a Gaussian-mixture target: the oracle.

Flow matching trains v_theta to regress the conditional velocity u_t; the best it can do is
the *marginal* field ``u_t(x) = E[u_t | x_t = x]``. For a Gaussian-mixture target
``p_1 = sum_k w_k N(m_k, s_k^2 I)`` and any affine path ``x_t = alpha_t x_1 + sigma_t x_0``
(``npflow.core.paths``: linear with sigma_min, vp; icfm adds a blur b z), that field has a closed
form. Derivation, with u_t = d_alpha_t x_1 + d_sigma_t x_0:

1. Given component k, x_1 = m_k + s_k z' and x_t = alpha_t x_1 + sigma_t x_0 (+ b z) with
   z', x_0 (and z) ~ N(0, I) independent. So x_t | k is Gaussian::

       x_t | k  ~  N(alpha_t m_k, var_k(t) I),      var_k(t) = alpha_t^2 s_k^2 + sigma_t^2 (+ b^2).

   The marginal p_t is therefore the mixture ``sum_k w_k N(alpha_t m_k, var_k(t) I)``. (On
   the linear path alpha_t = t and sigma_t = 1 - (1 - sigma_min) t.)

2. The posterior over components at x is a softmax::

       P(k | x_t = x) = w_k N(x; alpha_t m_k, var_k I) / sum_j w_j N(x; alpha_t m_j, var_j I).

3. Given k, (u_t, x_t) are jointly Gaussian, with E[u_t | k] = d_alpha_t m_k and, per
   coordinate, Cov(u_t, x_t | k) = alpha_t d_alpha_t s_k^2 + sigma_t d_sigma_t (the blur does
   not move with t, so u_t does not see it). That covariance is half the time derivative of
   var_k, and conditioning a Gaussian is affine in x::

       E[u_t | x, k] = d_alpha_t m_k + (d_var_k / (2 var_k)) (x - alpha_t m_k),
       d_var_k / 2   = alpha_t d_alpha_t s_k^2 + sigma_t d_sigma_t.

   The mean moves at velocity d_alpha_t m_k, and the spread around it grows at the rate
   d/dt log sqrt(var_k): each component's Gaussian is carried exactly onto the next one.

4. The marginal field is the posterior average::

       u_t(x) = sum_k P(k | x) E[u_t | x, k].

The code below follows these four steps with the same names. It is written in autograd-safe
NumPy, so its divergence can be taken by autograd like the learned field's.

Two helpers measure a trained field against the oracle: ``exact_mixture`` says whether a
run's recipe is one whose exact field this is, and ``points_on_path`` draws the points
(t, x_t) where the two fields are compared.
"""
import autograd.numpy as np

from .gmm import GaussianMixture, component_log_densities, softmax
from .paths import LinearPath

__all__ = ["marginal_at", "exact_velocity", "points_on_path"]


def marginal_at(gmm, t, sigma_min=0.0, path=None):
    """The marginal p_t of the path at one time t: ``sum_k w_k N(alpha_t m_k, var_k(t) I)`` (step 1).

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1.
    t : float
        Time in [0, 1].
    sigma_min : float
        The linear path's width at t = 1, when ``path`` is not given.
    path : AffinePath, optional
        The path; the linear path with ``sigma_min`` by default.

    Returns
    -------
    GaussianMixture
        Its ``score`` is the exact score grad log p_t.

    Examples
    --------
    >>> p_0 = marginal_at(GaussianMixture([[4.0, 0.0]], std=2.0), 0.0)
    >>> p_0.means.tolist(), p_0.stds.tolist()   # at t = 0 every path starts from N(0, I)
    ([[0.0, 0.0]], [1.0])
    """
    path = _the_path(sigma_min, path)
    alpha_t, sigma_t = path.alpha(t), path.sigma(t)
    return GaussianMixture(alpha_t * gmm.means, np.sqrt(alpha_t**2 * gmm.stds**2 + sigma_t**2 + path.blur**2),
                           gmm.weights)


def _the_path(sigma_min, path):
    """``path``, or the linear path with ``sigma_min`` when it is None; not both."""
    if path is None:
        return LinearPath(sigma_min)
    if sigma_min != 0.0:
        raise ValueError(f"give sigma_min or a path, not both: sigma_min {sigma_min!r} with {type(path).__name__}")
    return path


def exact_velocity(gmm, sigma_min=0.0, path=None):
    """The exact marginal field ``u_t(x) = E[u_t | x_t = x]`` of an affine path towards ``gmm``.

    The exact field given a label, and guided, is ``npflow.guidance.exact.exact_guided_velocity``.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1 (data at t = 1).
    sigma_min : float
        The linear path's width at t = 1, in [0, 1), when ``path`` is not given.
    path : AffinePath, optional
        Any path of ``npflow.core.paths`` (``VPPath()``, ``ICFMPath(sigma)``, ...); the linear path
        with ``sigma_min`` by default, so ``exact_velocity(gmm, sigma_min)`` is the tutorial's.

    Returns
    -------
    f : callable
        ``f(t, x)`` with t a float or shape (n,), x of shape (n, d); returns shape (n, d).
        It has the same signature as a trained run's velocity, so every solver, sampler and
        likelihood in npflow accepts it.

    Examples
    --------
    >>> import numpy
    >>> f = exact_velocity(GaussianMixture([[4.0, 0.0]], std=1.0))
    >>> f(0.0, numpy.zeros((1, 2)))   # at t = 0 the noise heads for the mean
    array([[4., 0.]])
    """
    path = _the_path(sigma_min, path)
    m, s2, log_w = gmm.means, gmm.stds**2, np.log(gmm.weights)  # (K, d), (K,), (K,)

    def f(t, x):
        t = np.reshape(t, (-1, 1))  # (n, 1) or (1, 1)
        alpha_t, sigma_t = path.alpha(t), path.sigma(t)  # (n, 1)
        d_alpha_t, d_sigma_t = path.d_alpha(t), path.d_sigma(t)  # (n, 1), or numbers where constant
        # >>> exercise exact_velocity: steps 1 to 4 of the module docstring: var_k and d var_k / 2, the posterior P(k | x) by softmax, E[u_t | x, k], their posterior average
        var = alpha_t**2 * s2 + sigma_t**2 + path.blur**2  # (n, K): var_k(t), step 1
        half_d_var = alpha_t * d_alpha_t * s2 + sigma_t * d_sigma_t  # (n, K): d var_k / 2, step 3
        centres = alpha_t[:, :, None] * m  # (n, K, d): alpha_t m_k
        log_joint = component_log_densities(x, centres, var, log_w)  # (n, K)
        posterior = softmax(log_joint)  # (n, K): step 2
        mean_velocity = np.reshape(d_alpha_t, (-1, 1, 1)) * m  # (n, K, d) or (1, K, d): d_alpha_t m_k
        u_given_k = mean_velocity + (half_d_var / var)[:, :, None] * (x[:, None, :] - centres)  # (n, K, d): step 3
        return np.sum(posterior[:, :, None] * u_given_k, axis=1)  # (n, d): step 4
        # <<< exercise

    return f


def points_on_path(sample_data, path, n, rng):
    """n points (t, x_t) with t ~ U(0, 1) and x_t ~ p_t: where the field is trained, and so where
    its error is worth measuring.

    Drawn as a training batch is (``npflow.train.draw_batch``): t, then x_1, then x_0 ~ N(0, I).

    Parameters
    ----------
    sample_data : callable
        ``sample_data(n, rng) -> x_1``, shape (n, d).
    path : AffinePath
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    t : ndarray, shape (n,)
    x_t : ndarray, shape (n, d)
    """
    t = rng.random(n)  # (n,)
    x_1 = sample_data(n, rng)  # (n, d)
    x_0 = rng.standard_normal(x_1.shape)  # (n, d)
    x_t, _ = path.sample(x_0, x_1, t)
    return t, x_t

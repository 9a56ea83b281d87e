"""The exact flow-matching field of a Gaussian-mixture target: the oracle.

Flow matching trains v_theta to regress the conditional velocity u_t; the best it can do is
the *marginal* field ``u_t(x) = E[u_t | x_t = x]``. For a Gaussian-mixture target
``p_1 = sum_k w_k N(m_k, s_k^2 I)`` and the linear path with sigma_min, that field has a
closed form. Derivation, with ``sigma_t = 1 - (1 - sigma_min) t``:

1. Given component k, x_1 = m_k + s_k z and x_t = t x_1 + sigma_t x_0 with z, x_0 ~ N(0, I)
   independent. So x_t | k is Gaussian::

       x_t | k  ~  N(t m_k, var_k(t) I),      var_k(t) = t^2 s_k^2 + sigma_t^2.

   The marginal p_t is therefore the mixture ``sum_k w_k N(t m_k, var_k(t) I)``.

2. The posterior over components at x is a softmax::

       P(k | x_t = x) = w_k N(x; t m_k, var_k I) / sum_j w_j N(x; t m_j, var_j I).

3. Given k, (x_1, x_0, x_t) are jointly Gaussian, so the conditional means are affine in x::

       E[x_1 | x, k] = m_k + (t s_k^2 / var_k) (x - t m_k)
       E[x_0 | x, k] =       (sigma_t / var_k) (x - t m_k)

   and with u_t = x_1 - (1 - sigma_min) x_0,

       E[u_t | x, k] = m_k + (d_var_k / (2 var_k)) (x - t m_k),
       d_var_k / 2   = t s_k^2 - (1 - sigma_min) sigma_t        (half the time derivative of var_k).

   The mean moves at velocity m_k, and the spread around it grows at the rate
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

from .data import get_dataset
from .gmm import GaussianMixture, component_log_densities, softmax
from .paths import LinearPath

__all__ = ["exact_velocity", "marginal_at", "exact_mixture", "points_on_path"]


def marginal_at(gmm, t, sigma_min=0.0):
    """The marginal p_t of the path at one time t: ``sum_k w_k N(t m_k, (t^2 s_k^2 + sigma_t^2) I)``.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1.
    t : float
        Time in [0, 1].
    sigma_min : float

    Returns
    -------
    GaussianMixture

    Examples
    --------
    >>> p_0 = marginal_at(GaussianMixture([[4.0, 0.0]], std=2.0), 0.0)
    >>> p_0.means.tolist(), p_0.stds.tolist()   # at t = 0 every path starts from N(0, I)
    ([[0.0, 0.0]], [1.0])
    """
    sigma_t = LinearPath(sigma_min).sigma(t)
    return GaussianMixture(t * gmm.means, np.sqrt(t**2 * gmm.stds**2 + sigma_t**2), gmm.weights)


def exact_velocity(gmm, sigma_min=0.0):
    """The exact marginal field ``u_t(x) = E[u_t | x_t = x]`` of the linear path towards ``gmm``.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1 (data at t = 1).
    sigma_min : float
        The path's width at t = 1, in [0, 1).

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
    path = LinearPath(sigma_min)
    m, s2, log_w = gmm.means, gmm.stds**2, np.log(gmm.weights)  # (K, d), (K,), (K,)

    def f(t, x):
        t = np.reshape(t, (-1, 1))  # (n, 1) or (1, 1)
        sigma_t = path.sigma(t)
        var = t**2 * s2 + sigma_t**2  # (n, K): var_k(t), step 1
        half_d_var = t * s2 - (1.0 - sigma_min) * sigma_t  # (n, K): d var_k / 2, step 3
        centres = t[:, :, None] * m  # (n, K, d): t m_k
        log_joint = component_log_densities(x, centres, var, log_w)  # (n, K)
        posterior = softmax(log_joint)  # (n, K): step 2
        u_given_k = m + (half_d_var / var)[:, :, None] * (x[:, None, :] - centres)  # (n, K, d): step 3
        return np.sum(posterior[:, :, None] * u_given_k, axis=1)  # (n, d): step 4

    return f


def exact_mixture(config, required=True):
    """The Gaussian mixture behind ``config.dataset`` when the run's exact field is known, for the field error.

    ``exact_velocity`` derives it for a Gaussian-mixture target, the linear path, the source
    N(0, I) and the independent coupling; other recipes learn other fields.

    Parameters
    ----------
    config : TrainConfig
    required : bool
        What to do when the field is not known: raise (True) or return None (False).

    Returns
    -------
    GaussianMixture or None

    Raises
    ------
    ValueError
        Saying why the exact field is not the run's, if ``required``.
    """
    mixture = get_dataset(config.dataset).mixture
    if mixture is None:
        reason = f"the field error needs a dataset with a known exact field; {config.dataset!r} has none"
    elif (config.path, config.source, config.coupling) != ("linear", "gaussian", "independent"):
        reason = (f"the exact field is derived for the linear path from N(0, I) with independent pairs, not for "
                  f"path {config.path!r} from source {config.source!r} with coupling {config.coupling!r}")
    else:
        return mixture
    if required:
        raise ValueError(reason)
    return None


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

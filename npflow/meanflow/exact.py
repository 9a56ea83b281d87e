import numpy as np

from ..core.oracle import exact_velocity
from ..core.solvers import integrate

__all__ = ["exact_average_velocity"]


def exact_average_velocity(gmm, sigma_min=0.0, rtol=1e-10, atol=1e-10):
    """The exact average velocity of the linear path towards a Gaussian mixture, by (4).

    ``u(s, t, x) = (psi_{s->t}(x) - x) / (t - s)``, with psi the flow of ``exact_velocity(gmm,
    sigma_min)``, and ``u(t, t, x) = v(t, x)``; solved as (4) by DOP853 at tight tolerances.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1.
    sigma_min : float
        The path's width at t = 1, in [0, 1).
    rtol, atol : float
        Tolerances of the solve.

    Returns
    -------
    u : callable
        ``u(s, t, x)`` with s <= t floats or arrays of shape (n,) and x of shape (n, d); returns
        shape (n, d).

    Examples
    --------
    >>> from npflow.core.gmm import GaussianMixture
    >>> u = exact_average_velocity(GaussianMixture([[4.0, 0.0]], std=1.0))
    >>> u(0.0, 1.0, np.zeros((1, 2))).round(6)   # N(0, I) to N((4, 0), I): a shift, so u = (4, 0)
    array([[4., 0.]])
    """
    v = exact_velocity(gmm, sigma_min)

    def u(s, t, x):
        s, t = np.broadcast_to(s, len(x)), np.broadcast_to(t, len(x))  # (n,) each
        interval = np.reshape(t - s, (-1, 1))  # (n, 1)

        def dw_dlam(lam, w):  # (4): w is the average velocity so far, lam the share of the interval done
            return v(s + lam * interval[:, 0], x + interval * w)

        return integrate(dw_dlam, np.zeros_like(x), 0.0, 1.0, "DOP853", rtol=rtol, atol=atol).x[-1]

    return u

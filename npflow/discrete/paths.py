"""The mixture path: each token is its data x_1^i with probability kappa(t), else its source x_0^i.

    p_t(x_t^i | x_0, x_1) = kappa(t) delta(x_t^i, x_1^i) + (1 - kappa(t)) delta(x_t^i, x_0^i)

Tokens are independent given (x_0, x_1), so the path is drawn with one uniform per token.
"""
import numpy as np

__all__ = ["sample_path"]


def sample_path(x_0, x_1, t, scheduler, rng):
    """Draw x_t from the mixture path, one uniform U per token::

        U ~ U[0, 1)                           (n, D)
        x_t^i = x_0^i  if U < 1 - kappa(t)    (probability 1 - kappa(t))
                x_1^i  otherwise              (probability kappa(t))

    The comparison U < 1 - kappa(t) is flow_matching's (``MixtureDiscreteProbPath.sample``), so
    the same uniforms give the same x_t.

    Parameters
    ----------
    x_0, x_1 : ndarray of int, shape (n, D)
        Source and data tokens.
    t : ndarray, shape (n,)
        A time per sequence, in [0, 1].
    scheduler : Scheduler
    rng : numpy.random.Generator

    Returns
    -------
    x_t : ndarray of int64, shape (n, D)
    """
    # >>> exercise sample_path: one uniform per token; a token keeps x_0 with probability 1 - kappa(t), else takes x_1
    kappa = scheduler.kappa(np.asarray(t, dtype=float)).reshape(-1, 1)  # (n, 1): one kappa per sequence
    U = rng.random(np.shape(x_1))  # (n, D): one uniform per token
    at_source = U < 1.0 - kappa  # (n, D): True with probability 1 - kappa(t)
    return np.where(at_source, x_0, x_1).astype(np.int64)
    # <<< exercise

"""The exact conditional and guided fields of a Gaussian-mixture target, one label per component.

**The exact answer.** For a Gaussian-mixture target with one label per component, the target
given label k is component k alone, N(m_k, s_k^2 I), so the exact conditional field is the
exact field (``npflow.core.oracle``) of that one component, and without a label it is the exact
field of the whole mixture. The exact guided field follows from the formula above.
"""
import numpy as np

from ..core.gmm import GaussianMixture
from ..core.oracle import exact_velocity
from .conditional import guided_velocity
from .labels import NO_LABEL, label_inputs

__all__ = ["exact_conditional_velocity", "exact_guided_velocity"]


def _component(gmm, k):
    """Component k of ``gmm`` alone, with weight 1: the target given label k."""
    return GaussianMixture(gmm.means[k:k + 1], gmm.stds[k:k + 1])


def exact_conditional_velocity(gmm, sigma_min=0.0, path=None):
    """The exact conditional field of a Gaussian-mixture target, one label per component.

    Given label k the target is component k alone, so the field is that component's exact field;
    without a label it is the whole mixture's::

        u_t(x | y) = sum_k [y = k] u_t^(k)(x) + [y = no label] u_t(x)

    with u_t^(k) = ``exact_velocity`` of N(m_k, s_k^2 I) (weight 1) and u_t that of ``gmm``.
    The brackets are the label's one-hot, so each point gets its own label's field.

    Parameters
    ----------
    gmm : GaussianMixture
        The target p_1; label k is its k-th component.
    sigma_min : float
    path : AffinePath, optional
        Any path of ``npflow.core.paths``; the linear path with ``sigma_min`` by default (as ``exact_velocity``).

    Returns
    -------
    f : callable
        ``f(t, x, y) -> (n, d)``, t a float or shape (n,), x of shape (n, d), y of int of
        shape (n,) in 0 .. K - 1 or ``NO_LABEL``. Autograd-safe in x, like ``exact_velocity``.

    Examples
    --------
    >>> f = exact_conditional_velocity(GaussianMixture([[-4.0, 0.0], [4.0, 0.0]], std=1.0))
    >>> f(0.0, np.zeros((3, 2)), np.array([0, 1, NO_LABEL]))   # from noise to each mean; unlabelled: their average
    array([[-4.,  0.],
           [ 4.,  0.],
           [ 0.,  0.]])
    """
    K = len(gmm.weights)
    fields = [exact_velocity(_component(gmm, k), sigma_min, path) for k in range(K)]
    fields.append(exact_velocity(gmm, sigma_min, path))  # slot K: no label

    def f(t, x, y):
        one_hot = label_inputs(y, K, x.dtype)  # (n, K + 1): [y = k]
        present = np.flatnonzero(one_hot.any(axis=0))  # only the fields some point asks for are evaluated
        return sum(one_hot[:, k, None] * fields[k](t, x) for k in present)  # (n, d)

    return f


def exact_guided_velocity(gmm, sigma_min=0.0, label=NO_LABEL, guidance=0.0, path=None):
    """The exact guided field ``(1 + w) u_t(x | y) - w u_t(x)`` of a Gaussian-mixture target.

    ``guided_velocity`` applied to ``exact_conditional_velocity``. With ``label=NO_LABEL`` it is
    the unconditional exact field, whatever w.

    Parameters
    ----------
    gmm : GaussianMixture
    sigma_min : float
    label : int or ndarray of int, shape (n,)
        The label asked for (k-th component), one for all points or one per point.
    guidance : float
        w.
    path : AffinePath, optional
        The linear path with ``sigma_min`` by default.

    Returns
    -------
    f : callable
        ``f(t, x) -> (n, d)``.
    """
    return guided_velocity(exact_conditional_velocity(gmm, sigma_min, path), label, guidance)

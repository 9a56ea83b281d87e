"""What guidance does, measured class by class: where the samples land, and how far the field is from the exact one.

``class_measures`` says, for the samples asked for each class, the share that lands in it,
their spread and how far their centre sits from the mode; ``label_field_errors`` the mean
squared gap between a learned (or guided) field and the exact one, given each label.
"""
import numpy as np

from ..core.metrics import field_error, nearest_mode
from ..core.oracle import points_on_path
from ..core.paths import LinearPath
from .exact import _component

__all__ = ["class_measures", "label_field_errors"]


def class_measures(x, y, means):
    """Where the samples asked for each class land, against the modes of the classes.

    For each label k in y, with x_k the samples asked for k and c_k those of them nearest to
    m_k of all the modes::

        share_k  = |c_k| / |x_k|                         the share that lands in the asked class
        spread_k = sqrt(mean over coordinates of var c_k)  s_k for samples of N(m_k, s_k^2 I)
        shift_k  = |mean(c_k) - m_k|                       how far their centre sits from the mode

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Samples.
    y : ndarray of int, shape (n,)
        The label each sample was asked for.
    means : ndarray, shape (K, d)
        m_k, the mode of class k.

    Returns
    -------
    dict of ndarray, each of shape (number of labels in y,)
        ``label``, ``share``, ``spread`` and ``shift``; spread and shift are NaN for a class
        that fewer than 2 samples land in.
    """
    labels, nearest = np.unique(y), nearest_mode(x, means)  # (C,), (n,)
    rows = {"label": labels, "share": [], "spread": [], "shift": []}
    for k in labels:
        landed = x[(y == k) & (nearest == k)]  # c_k
        rows["share"].append(len(landed) / np.sum(y == k))
        enough = len(landed) > 1
        rows["spread"].append(np.sqrt(landed.var(axis=0, ddof=1).mean()) if enough else np.nan)
        rows["shift"].append(np.linalg.norm(landed.mean(axis=0) - means[k]) if enough else np.nan)
    return {name: np.asarray(values) for name, values in rows.items()}


def label_field_errors(f_learned, f_exact, gmm, labels, n, rng, path=None):
    """The field error of a conditional (or guided) field, per label.

    For each label k, the mean squared gap (``npflow.core.metrics.field_error``) between the two
    fields given k at n points (t, x_t) of component k's own path: t ~ U(0, 1), x_1 ~ N(m_k, s_k^2 I).

    Parameters
    ----------
    f_learned, f_exact : callable
        ``f_learned(k) -> f(t, x)``: the field given label k, e.g.
        ``lambda k: run.guided_velocity(k, w)`` and ``lambda k: exact_guided_velocity(gmm, 0.0, k, w)``.
    gmm : GaussianMixture
        The target; label k is its k-th component.
    labels : sequence of int
    n : int
        Points per label.
    rng : numpy.random.Generator
    path : AffinePath, optional
        The linear path with sigma_min 0 by default.

    Returns
    -------
    ndarray, shape (len(labels),)
    """
    path = LinearPath() if path is None else path
    return np.array([field_error(f_learned(k), f_exact(k), *points_on_path(_component(gmm, k).sample, path, n, rng))
                     for k in labels])

"""Isotropic Gaussian mixtures: targets whose density, score and flow are known exactly.

    p(x) = sum_k w_k N(x; m_k, s_k^2 I)

Written in autograd-safe NumPy, so that the exact flow built on it (``npflow.core.oracle``) can be
differentiated, e.g. for the divergence in a log-likelihood.
"""
import autograd.numpy as np
import numpy

__all__ = ["GaussianMixture", "component_log_densities", "logsumexp", "softmax"]


def logsumexp(a, axis, keepdims=False):
    """log(sum_k exp(a_k)) along ``axis``, without overflow or underflow.

    Subtracting the largest term first leaves every exponent <= 0 and at least one equal to 0,
    so the sum lies in [1, K]: ``log sum exp(a) = a_max + log sum exp(a - a_max)``.
    (Written here rather than imported from ``autograd.scipy``, which takes half a second to import.)
    """
    a_max = np.max(a, axis=axis, keepdims=True)
    result = a_max + np.log(np.sum(np.exp(a - a_max), axis=axis, keepdims=True))
    return result if keepdims else np.squeeze(result, axis=axis)


def component_log_densities(x, centres, variances, log_weights):
    """``log w_k + log N(x_i; c_k, var_k I)`` for every point i and component k.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    centres : ndarray, shape (K, d) or (n, K, d)
        Component means (per point, when they depend on a per-point time).
    variances : ndarray, shape (K,) or (n, K)
    log_weights : ndarray, shape (K,)

    Returns
    -------
    ndarray, shape (n, K)
        Summing ``exp`` over k gives the mixture density; a softmax over k gives the posterior
        probability of each component given x.
    """
    d = x.shape[1]
    deviation = x[:, None, :] - centres  # (n, K, d)
    squared = np.sum(deviation**2, axis=2)  # (n, K)
    return log_weights - 0.5 * d * np.log(2 * np.pi * variances) - squared / (2 * variances)


def softmax(log_joint):
    """Normalise rows of log joint densities into probabilities: P(k | x), shape (n, K)."""
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


class GaussianMixture:
    """A mixture of isotropic Gaussians N(m_k, s_k^2 I) with weights w_k.

    Parameters
    ----------
    means : array_like, shape (K, d)
    std : float or array_like of shape (K,)
        Standard deviation s_k of each component (positive).
    weights : array_like of shape (K,), optional
        Positive; normalised to sum to 1. Equal by default.

    Examples
    --------
    >>> gmm = GaussianMixture([[-4.0, 0.0], [4.0, 0.0]], std=1.0)
    >>> round(float(gmm.log_prob(numpy.array([[4.0, 0.0]]))[0]), 4)  # log(0.5 / (2 pi))
    -2.531
    """

    def __init__(self, means, std, weights=None):
        means = numpy.asarray(means, dtype=float)
        if means.ndim != 2 or means.shape[0] < 1 or not numpy.all(numpy.isfinite(means)):
            raise ValueError(f"means must be a finite array of shape (K, d), got shape {means.shape}")
        K = means.shape[0]
        std = numpy.asarray(std, dtype=float)
        if std.ndim == 0:
            std = numpy.full(K, float(std))
        if std.shape != (K,) or not numpy.all(numpy.isfinite(std) & (std > 0)):
            raise ValueError(f"std must be a positive number or {K} positive numbers, got {std!r}")
        weights = numpy.full(K, 1.0 / K) if weights is None else numpy.asarray(weights, dtype=float)
        if weights.shape != (K,) or not numpy.all(numpy.isfinite(weights) & (weights > 0)):
            raise ValueError(f"weights must be {K} positive numbers, got {weights!r}")
        self.means = means  # (K, d)
        self.stds = std  # (K,)
        self.weights = weights / weights.sum()  # (K,)
        # the cumulative weights, from which sample draws components; normalised again as
        # rng.choice normalises its p, so that the draws are rng.choice's to the bit
        self._cdf = numpy.cumsum(self.weights)  # (K,)
        self._cdf /= self._cdf[-1]

    @property
    def dim(self):
        """Dimension d."""
        return self.means.shape[1]

    def __repr__(self):
        return f"GaussianMixture(means={self.means.tolist()}, std={self.stds.tolist()}, weights={self.weights.tolist()})"

    def sample(self, n, rng, labels=False):
        """Draw n points: a component k with probability w_k, then m_k + s_k * N(0, I).

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator
        labels : bool
            Also return each point's component k, its label. The points are the same bits either way.

        Returns
        -------
        x : ndarray, shape (n, d)
        k : ndarray of int, shape (n,)
            Only with ``labels=True``.
        """
        # k ~ Categorical(w) by inverting the CDF: the first k whose cumulative weight exceeds a
        # uniform draw. It is what rng.choice(K, size=n, p=w) does, to the bit, without the
        # checks that make rng.choice cost more than the rest of a training batch.
        k = self._cdf.searchsorted(rng.random(n), side="right")  # (n,)
        x = self.means[k] + self.stds[k, None] * rng.standard_normal((n, self.dim))
        return (x, k) if labels else x

    def _log_joint(self, x):
        """log w_k + log N(x; m_k, s_k^2 I), shape (n, K)."""
        return component_log_densities(x, self.means, self.stds**2, np.log(self.weights))

    def log_prob(self, x):
        """log p(x) by logsumexp over components (stable far from every mode).

        Parameters
        ----------
        x : ndarray, shape (n, d)

        Returns
        -------
        ndarray, shape (n,)
        """
        return logsumexp(self._log_joint(x), axis=1)

    def posterior(self, x):
        """P(k | x), a softmax of the log joint over components, shape (n, K)."""
        return softmax(self._log_joint(x))

    def score(self, x):
        """The score, grad_x log p(x) = sum_k P(k | x) (m_k - x) / s_k^2.

        Parameters
        ----------
        x : ndarray, shape (n, d)

        Returns
        -------
        ndarray, shape (n, d)
        """
        deviation = self.means[None, :, :] - x[:, None, :]  # (n, K, d)
        return np.sum((self.posterior(x) / self.stds**2)[:, :, None] * deviation, axis=1)

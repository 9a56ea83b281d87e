"""Measuring generated images as image models are measured, in NumPy.

**Frechet distance** (Heusel et al., 2017, the "FID" with Inception features; here in the
features of ``npflow.images.classifier``). Fit a Gaussian N(mu, Sigma) to each set of features; the
Frechet (2-Wasserstein) distance between two Gaussians is (Dowson and Landau, 1982)::

    FD = |mu_a - mu_b|^2 + tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^(1/2))

0 for identical Gaussians. Two finite samples of one distribution score above 0 (the
estimate is biased upward, more so for fewer images), so an FD is read beside its *floor*:
the train split against the test split, two sets of real digits.

**Memorization.** A model that copies its training images would score a perfect FD. So for
each generated image, the Euclidean distance (in pixels 0..16) to its nearest training image,
beside the same distance for each test image: real digits the model never saw set the scale
of "near". Copies would sit at distance 0.

**Gaussian baselines.** A likelihood means little alone. Two Gaussians fit to the (dequantized)
train split by maximum likelihood give the bits per dimension to beat on the test split:
independent pixels (a diagonal covariance) and a full covariance, which knows how pixels
move together but nothing of strokes.
"""
import numpy as np

from ..core.metrics import cdist
from .pixels import bits_per_dim

__all__ = ["gaussian_frechet_distance", "frechet_distance", "nearest_distances", "gaussian_log_density",
           "gaussian_baselines"]


def gaussian_frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """``FD = |mu_a - mu_b|^2 + tr(Sigma_a + Sigma_b - 2 (Sigma_a Sigma_b)^(1/2))``.

    The trace of a matrix square root is the sum of the square roots of its eigenvalues, so
    tr (Sigma_a Sigma_b)^(1/2) = sum_i sqrt(lambda_i) over the eigenvalues lambda_i of
    Sigma_a Sigma_b (as torchmetrics computes it). They are those of the symmetric
    Sigma_a^(1/2) Sigma_b Sigma_a^(1/2), so real and non-negative; rounding can leave them
    slightly negative or complex, and only their real part above 0 is kept. (Going through
    ``scipy.linalg.sqrtm`` gives the same number, but warns whenever the product is
    singular, as it is whenever one feature is dead, always 0, in both sets.)

    Parameters
    ----------
    mean_a, mean_b : ndarray, shape (k,)
    cov_a, cov_b : ndarray, shape (k, k)
        Symmetric positive semi-definite.

    Returns
    -------
    float

    Examples
    --------
    >>> # N(0, 4) and N(3, 1) in 1-D: 3^2 + (2 - 1)^2
    >>> round(gaussian_frechet_distance(np.zeros(1), np.array([[4.0]]), np.array([3.0]), np.eye(1)), 12)
    10.0
    """
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b)  # (k,), those of Sigma_a Sigma_b
    trace_of_root = np.sum(np.sqrt(np.clip(eigenvalues.real, 0.0, None)))  # tr (Sigma_a Sigma_b)^(1/2)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_of_root)


def frechet_distance(features_a, features_b):
    """The Frechet distance of two sets of features, each fit by its mean and covariance.

    The covariances are the unbiased sample covariances (divided by n - 1), as FID takes them.

    Parameters
    ----------
    features_a : ndarray, shape (n_a, k)
    features_b : ndarray, shape (n_b, k)

    Returns
    -------
    float
    """
    fits = [(np.mean(f, axis=0), np.cov(f, rowvar=False)) for f in (features_a, features_b)]
    return gaussian_frechet_distance(*fits[0], *fits[1])


def nearest_distances(images, reference):
    """Each image's Euclidean distance to its nearest image in ``reference``.

    Parameters
    ----------
    images : ndarray, shape (n, 64)
    reference : ndarray, shape (m, 64)
        E.g. the training images.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> nearest_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 1.0], [3.0, 0.0]]))
    array([1., 4.])
    """
    return np.min(cdist(images, reference), axis=1)


def gaussian_log_density(x_fit, x, full=True):
    """log N(x; mu, Sigma) with mu and Sigma the maximum-likelihood fit to ``x_fit``.

    ``log N(x; mu, Sigma) = -(d/2) log(2 pi) - (1/2) log det Sigma - (1/2) |L^-1 (x - mu)|^2``,
    with Sigma = L L^T its Cholesky factor (so log det Sigma = 2 sum log diag L).

    Parameters
    ----------
    x_fit : ndarray, shape (m, d)
        Points to fit mu and Sigma to (Sigma divided by m, the maximum-likelihood estimate).
    x : ndarray, shape (n, d)
        Points to score.
    full : bool
        A full covariance; False keeps only its diagonal (independent coordinates).

    Returns
    -------
    ndarray, shape (n,)
    """
    mu = np.mean(x_fit, axis=0)
    cov = np.cov(x_fit, rowvar=False, bias=True)
    if not full:
        cov = np.diag(np.diag(cov))
    L = np.linalg.cholesky(cov)  # (d, d), lower triangular
    z = np.linalg.solve(L, (x - mu).T)  # (d, n): L^-1 (x - mu)
    d = x.shape[1]
    return -0.5 * d * np.log(2 * np.pi) - np.sum(np.log(np.diag(L))) - 0.5 * np.sum(z**2, axis=0)


def gaussian_baselines(x_train, x_test):
    """Test-split bits per dimension of the two Gaussians fit to the train split.

    Parameters
    ----------
    x_train, x_test : ndarray, shape (n, 64)
        Dequantized images in model units, ``digits.to_model(pixels, rng)``.

    Returns
    -------
    dict
        ``{"independent pixels": bits, "full covariance": bits}``, each the mean over the
        test images of ``digits.bits_per_dim``.
    """
    return {name: float(np.mean(bits_per_dim(gaussian_log_density(x_train, x_test, full))))
            for name, full in (("independent pixels", False), ("full covariance", True))}

"""Sample-quality metrics: how close are generated points to the target distribution?

All of them compare two finite samples, so all of them carry sampling noise; compare models
with the same sample sizes and, for a claim, several seeds.
"""
import numpy as np

__all__ = ["energy_distance", "field_error", "nearest_mode", "mode_fractions", "mode_stds", "wasserstein2", "mmd_rbf",
           "mode_coverage", "straightness", "kinetic_energy", "paired_difference", "DIFFERENCE_RULE"]


def cdist(x, y):
    """Euclidean distances between every row of x (n, d) and of y (m, d), shape (n, m).

    scipy's ``cdist``, imported on first use: scipy.spatial takes a fifth of a second to import.
    """
    from scipy.spatial.distance import cdist as scipy_cdist

    return scipy_cdist(x, y)


def energy_distance(x, y):
    """Squared energy distance between two samples (Szekely & Rizzo, 2013).

    ``D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'|``, with ``|.|`` the Euclidean norm.

    D^2 >= 0, and it is 0 only when the two distributions are equal. The expectations are
    averages over all pairs, the diagonal included (a V-statistic): this is exactly the energy
    distance between the two empirical distributions, the square of what
    ``scipy.stats.energy_distance`` returns for 1-D samples. It is biased upwards by about
    ``E|X - X'| / n + E|Y - Y'| / m``; for 4,000 points from the tutorial's target, about 0.002.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    y : ndarray, shape (m, d)

    Returns
    -------
    float

    Examples
    --------
    >>> energy_distance(np.zeros((1, 1)), np.ones((1, 1)))  # 2 * 1 - 0 - 0
    2.0
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have shapes (n, d) and (m, d), got {x.shape} and {y.shape}")
    return float(2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean())


def nearest_mode(x, means):
    """Index of the nearest mode centre for each point.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    means : ndarray, shape (K, d)

    Returns
    -------
    ndarray of int, shape (n,)
    """
    return np.argmin(cdist(x, means), axis=1)


def mode_fractions(x, means):
    """Fraction of the points nearest to each mode centre, shape (K,); it sums to 1.

    For the tutorial's two equal Gaussians both fractions should be near 0.5; a sampler that
    favours one mode shows up here first.
    """
    return np.bincount(nearest_mode(x, means), minlength=len(means)) / len(x)


def mode_stds(x, means):
    """Standard deviation of each coordinate within each mode, shape (K, d).

    Points are assigned to their nearest centre. The tutorial's modes have unit std; a field that
    pulls too hard towards the centres gives smaller values. A mode with fewer than two points
    gets NaN.
    """
    labels = nearest_mode(x, means)
    return np.array([x[labels == k].std(axis=0, ddof=1) if np.sum(labels == k) > 1
                     else np.full(x.shape[1], np.nan) for k in range(len(means))])


def field_error(f_learned, f_exact, t, x_t):
    """Mean squared gap between two fields at points on the path.

    ``E = mean over i and coordinates of (f_learned(t_i, x_i) - f_exact(t_i, x_i))^2``, with
    (t_i, x_i) drawn as in training (t ~ U(0, 1), x_t ~ p_t), so it weighs the field where the
    flow goes. It uses the same mean as the CFM loss; for a learned field the CFM loss equals
    this error plus a constant (the variance of u_t given x_t), which is why the loss plateaus
    well above 0 while the field error keeps falling.

    Parameters
    ----------
    f_learned, f_exact : callable
        Fields ``f(t, x)`` accepting a time per point.
    t : ndarray, shape (n,)
    x_t : ndarray, shape (n, d)

    Returns
    -------
    float
    """
    return float(np.mean((f_learned(t, x_t) - f_exact(t, x_t)) ** 2))


def wasserstein2(x, y):
    """Exact 2-Wasserstein distance between two samples of equal size.

    ``W2 = sqrt(min over pairings pi of (1/n) sum_i |x_i - y_pi(i)|^2)``: between two empirical
    distributions of n equal-weight points the optimal transport plan is a permutation, found
    exactly by ``scipy.optimize.linear_sum_assignment`` on the squared distances in O(n^3).
    Biased upwards for finite n (two samples of the same distribution are not at distance 0:
    it shrinks like n^(-1/d)), so compare models at equal n.

    Parameters
    ----------
    x, y : ndarray, shape (n, d)

    Returns
    -------
    float

    Examples
    --------
    >>> wasserstein2(np.array([[0.0], [1.0]]), np.array([[1.0], [3.0]]))  # pairs 0-1 and 1-3
    1.5811388300841898
    """
    from scipy.optimize import linear_sum_assignment

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape (n, d), got {x.shape} and {y.shape}")
    cost = cdist(x, y) ** 2  # (n, n) squared distances
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))


def mmd_rbf(x, y, bandwidth=1.0):
    """Squared maximum mean discrepancy with the Gaussian kernel ``k(a, b) = exp(-|a - b|^2 / (2 h^2))``.

    ``MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)``, the unbiased estimate (the
    diagonal terms k(x_i, x_i) = 1 are left out of the first two means), so it can be slightly
    negative when the two distributions are equal. It sees differences at the scale h: too small
    a bandwidth and every sample looks different, too large and nothing does.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    y : ndarray, shape (m, d)
    bandwidth : float
        h.

    Returns
    -------
    float
    """
    def kernel(a, b):
        return np.exp(-cdist(a, b) ** 2 / (2 * bandwidth**2))

    n, m = len(x), len(y)
    k_xx = (kernel(x, x).sum() - n) / (n * (n - 1))  # without the n diagonal ones
    k_yy = (kernel(y, y).sum() - m) / (m * (m - 1))
    return float(k_xx + k_yy - 2 * kernel(x, y).mean())


def mode_coverage(x, means, min_share=0.25):
    """How many modes receive samples, and how evenly.

    A mode counts as covered when it gets at least ``min_share / K`` of the points (a quarter
    of its fair share, by default). Balance is the ratio of the smallest share to the largest,
    among all modes (1 is perfectly even, 0 means a mode is missed).

    Returns
    -------
    covered : int
        Number of covered modes, out of K.
    balance : float
    """
    fractions = mode_fractions(x, means)
    return int(np.sum(fractions >= min_share / len(means))), float(fractions.min() / fractions.max())


def straightness(trajectory):
    """Mean squared deviation of the velocity from the straight line, along a trajectory.

    ``S = (1 / T) sum_k h_k mean_i |v_ik - c_i|^2``, a mean over time and points, with the step
    velocity ``v_ik = (x_{k+1} - x_k) / h_k``, the step length ``h_k = t_{k+1} - t_k``, the chord
    ``c_i = (x_end - x_start) / T`` and ``T = t_end - t_start``. Each step counts for the time it
    covers, so the short steps an adaptive solver takes where the field turns fast do not count
    more than the long ones.

    0 exactly when every path is a straight line travelled at constant speed, the case in which
    one Euler step is exact. (Rectified flow and OT couplings lower it.)

    Parameters
    ----------
    trajectory : Trajectory
        With ``.t`` of shape (k,) and ``.x`` of shape (k, n, d), e.g. from ``npflow.generate``.

    Returns
    -------
    float
    """
    t, x = trajectory.t, trajectory.x
    chord = (x[-1] - x[0]) / (t[-1] - t[0])  # (n, d), the straight line's velocity
    return _time_mean(trajectory, np.sum((_step_velocities(trajectory) - chord) ** 2, axis=2))


def kinetic_energy(trajectory):
    """Kinetic energy of the paths: ``E = (1 / T) sum_k h_k mean_i |v_ik|^2 / 2``, names as in ``straightness``.

    The mean over time and points of ``|dx/dt|^2 / 2``, with dx/dt taken between the recorded
    points. It is the cost optimal transport minimises: in unit time, E >= W2(p_start, p_end)^2 / 2
    (Benamou and Brenier, 2000), with equality only for straight paths at constant speed that
    pair the points optimally. Between the recorded samples it holds exactly:
    ``kinetic_energy(trajectory) >= wasserstein2(x[0], x[-1]) ** 2 / 2``.

    Parameters
    ----------
    trajectory : Trajectory
        With ``.t`` of shape (k,) and ``.x`` of shape (k, n, d).

    Returns
    -------
    float

    Examples
    --------
    >>> from npflow.core.solvers import Trajectory
    >>> t = np.linspace(0.0, 1.0, 5)
    >>> kinetic_energy(Trajectory(t, t[:, None, None] * np.array([[[3.0, 4.0]]]), 0, "rk4"))  # |(3, 4)|^2 / 2
    12.5
    """
    return 0.5 * _time_mean(trajectory, np.sum(_step_velocities(trajectory) ** 2, axis=2))


#: The rule by which a comparison over seeds is stated as a difference (``paired_difference``), in words.
DIFFERENCE_RULE = ("A difference is stated where the mean per-seed difference exceeds twice its standard error "
                   "and every seed agrees on its sign; otherwise \"no difference beyond the noise\".")


def paired_difference(a, b):
    """Compare two figures measured over the same seeds: is a - b a difference beyond the noise?

    ``a`` and ``b`` have shape (seeds,), entry i of both from seed i (the same first weights, the
    same noise), so that the per-seed differences cancel what the seed does to both. Their mean is
    stated as a difference only where it exceeds twice its standard error (the differences' sd /
    sqrt(seeds)) and every seed agrees on its sign (``DIFFERENCE_RULE``).

    Returns
    -------
    (mean, stderr, sign) : (float, float, int)
        The mean difference, its standard error, and -1 (a below b) or +1 (a above b) beyond the
        noise, 0 otherwise. With fewer than 2 seeds there is no standard error: nan and 0.
    """
    differences = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean = float(differences.mean())
    if len(differences) < 2:
        return mean, float("nan"), 0
    error = float(differences.std(ddof=1) / np.sqrt(len(differences)))
    agree = np.all(differences < 0) or np.all(differences > 0)
    return mean, error, int(np.sign(mean)) if agree and abs(mean) > 2 * error else 0


def _step_velocities(trajectory):
    """(x_{k+1} - x_k) / (t_{k+1} - t_k) for every step and point, shape (k - 1, n, d)."""
    return np.diff(trajectory.x, axis=0) / np.diff(trajectory.t)[:, None, None]


def _time_mean(trajectory, per_step):
    """``(1 / T) sum_k h_k mean_i a_ki``: the mean over time and points of ``a = per_step``, shape (k - 1, n)."""
    t = trajectory.t
    return float(np.sum(np.diff(t) * per_step.mean(axis=1)) / (t[-1] - t[0]))

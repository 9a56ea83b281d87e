"""The conditional probability path: how one noise point x_0 travels to one data point x_1.

npflow's one time convention: **t = 0 is noise, t = 1 is data.**

The tutorial's path (Lipman et al., 2023, "Flow Matching for Generative Modeling", Eq. 20-21,
with the time convention above) is a straight line whose width shrinks to sigma_min::

    mu_t    = t * x_1
    sigma_t = 1 - (1 - sigma_min) * t
    x_t     = mu_t + sigma_t * x_0,        x_0 ~ N(0, I)    (the tutorial calls x_0 "eps")

In the vocabulary of facebookresearch/flow_matching this is the schedule alpha_t = t,
sigma_t as above, with x_t = alpha_t * x_1 + sigma_t * x_0. The target velocity is the time
derivative of x_t for fixed (x_0, x_1), and it can be written three equal ways::

    u_t = d_alpha_t * x_1 + d_sigma_t * x_0 = x_1 - (1 - sigma_min) * x_0  (from x_0)
        = (d_sigma_t / sigma_t) * (x_t - mu_t) + d_mu_t                   (the tutorial's form)
        = (x_1 - (1 - sigma_min) * x_t) / sigma_t                         (from x_t)

The last form needs only x_t and x_1; it is the one to average over x_1 to get the marginal
field E[u_t | x_t = x].

Every path here is such a schedule (alpha_t, sigma_t) with alpha_0 = 0 and sigma_0 = 1 (pure
noise at t = 0); ``AffinePath`` does the sampling once for all of them, and a path class only
says its schedule. ``VPPath`` is the variance-preserving cosine schedule of diffusion models,
alpha_t = sin(pi t / 2), sigma_t = cos(pi t / 2), for which alpha_t^2 + sigma_t^2 = 1.

``ICFMPath`` is the independent CFM path of TorchCFM (Tong et al., 2023): the straight line
between x_0 and x_1 blurred by a constant sigma, with fresh noise z ~ N(0, I)::

    x_t = t * x_1 + (1 - t) * x_0 + sigma * z,       u_t = x_1 - x_0

It is the schedule alpha_t = t, sigma_t = 1 - t plus a blur ``sigma * z`` that does not move
with t, so it adds nothing to u_t. (In a ``TrainConfig`` this sigma is ``sigma_min``: for the
linear path the width at t = 1, for icfm the width everywhere.) Unlike the tutorial's path it
never narrows to a point, and x_0 need not be Gaussian: it joins any source to any target
(with sigma = 0 it is the straight line of rectified flow).
"""
import numpy as np

__all__ = ["AffinePath", "LinearPath", "VPPath", "ICFMPath", "PATHS", "make_path"]


class AffinePath:
    """A conditional path x_t = alpha_t x_1 + sigma_t x_0; subclasses give the schedule.

    Subclasses define ``alpha(t)``, ``sigma(t)``, ``d_alpha(t)`` and ``d_sigma(t)``, each an array
    shaped like t or a number where it does not depend on t (both broadcast alike). A path with
    ``blur > 0`` (icfm) also adds ``blur * z`` to x_t, with z ~ N(0, I) drawn per point.
    """

    #: Standard deviation of a blur added to x_t that does not move with t; 0 for most paths.
    blur = 0.0

    def sample(self, x_0, x_1, t, z=None):
        """A point on the path and its target velocity.

        ``x_t = alpha_t * x_1 + sigma_t * x_0 (+ blur * z)`` and
        ``u_t = d_alpha_t * x_1 + d_sigma_t * x_0``.

        The arguments come in the order of flow_matching's ``path.sample(x_0, x_1, t)`` and
        torchcfm's ``(x0, x1, t)``: noise (or source), data, time.

        Parameters
        ----------
        x_0 : ndarray, shape (n, d)
            Source points: N(0, I) draws, or points of a source dataset.
        x_1 : ndarray, shape (n, d)
            Data points.
        t : ndarray, shape (n,)
            Times in [0, 1].
        z : ndarray, shape (n, d), optional
            N(0, I) draws for the blur; needed only when ``blur > 0``.

        Returns
        -------
        x_t : ndarray, shape (n, d)
        u_t : ndarray, shape (n, d)
        """
        # >>> exercise path: x_t = alpha_t x_1 + sigma_t x_0, u_t = d_alpha_t x_1 + d_sigma_t x_0, t per row (no return)
        t = np.reshape(t, (-1, 1))  # (n, 1): one time per row
        x_t = self.alpha(t) * x_1 + self.sigma(t) * x_0
        u_t = self.d_alpha(t) * x_1 + self.d_sigma(t) * x_0
        # <<< exercise
        if self.blur:
            if z is None:
                raise ValueError(f"{type(self).__name__} with blur {self.blur} needs z, N(0, I) draws")
            x_t = x_t + self.blur * z  # constant in t, so u_t does not change
        return x_t, u_t

    def velocity_from_x_t(self, x_t, x_1, t):
        """The target velocity written through x_t, with x_0 = (x_t - alpha_t x_1) / sigma_t:

        ``u_t = d_alpha_t * x_1 + d_sigma_t * (x_t - alpha_t * x_1) / sigma_t``  (for t < 1).

        Only for paths without a blur: with it, x_t and x_1 do not determine x_0.

        Parameters
        ----------
        x_t, x_1 : ndarray, shape (n, d)
        t : float or ndarray of shape (n,)

        Returns
        -------
        u_t : ndarray, shape (n, d)
        """
        if self.blur:
            raise ValueError(f"{type(self).__name__} blurs x_t, so x_t and x_1 do not determine u_t")
        t = np.reshape(t, (-1, 1))  # (n, 1) or (1, 1)
        # >>> exercise velocity_from_x_t: x_0 from x_t = alpha_t x_1 + sigma_t x_0, then u_t = d_alpha_t x_1 + d_sigma_t x_0; t is (n, 1) already
        return self.d_alpha(t) * x_1 + self.d_sigma(t) * (x_t - self.alpha(t) * x_1) / self.sigma(t)
        # <<< exercise


class LinearPath(AffinePath):
    """The tutorial's linear conditional path with minimum width ``sigma_min`` in [0, 1).

    Parameters
    ----------
    sigma_min : float
        Width of the path at t = 1. 0 gives straight lines that end exactly on x_1.

    Examples
    --------
    >>> path = LinearPath(sigma_min=0.0)
    >>> x_t, u_t = path.sample(x_0=np.array([[1.0, 1.0]]), x_1=np.array([[4.0, 0.0]]), t=np.array([0.25]))
    >>> x_t, u_t
    (array([[1.75, 0.75]]), array([[ 3., -1.]]))
    """

    def __init__(self, sigma_min=0.0):
        if not 0.0 <= sigma_min < 1.0:
            raise ValueError(f"sigma_min must be in [0, 1), got {sigma_min!r}")
        self.sigma_min = float(sigma_min)

    def alpha(self, t):
        """alpha_t = t, the weight of x_1."""
        return t

    def sigma(self, t):
        """sigma_t = 1 - (1 - sigma_min) * t, the weight of x_0."""
        return 1.0 - (1.0 - self.sigma_min) * t

    def d_alpha(self, t):
        """d alpha_t / dt = 1, the same for every t (a number, which broadcasts like t)."""
        return 1.0

    def d_sigma(self, t):
        """d sigma_t / dt = -(1 - sigma_min), the same for every t."""
        return -(1.0 - self.sigma_min)


class VPPath(AffinePath):
    """The variance-preserving cosine path: alpha_t = sin(pi t / 2), sigma_t = cos(pi t / 2).

    x_t keeps unit variance all the way when x_1 has it; the path ends exactly on x_1.

    Examples
    --------
    >>> x_t, u_t = VPPath().sample(x_0=np.array([[5.0]]), x_1=np.array([[2.0]]), t=np.array([1.0]))
    >>> bool(np.allclose(x_t, 2.0) and np.allclose(u_t, -np.pi / 2 * 5.0))
    True
    """

    def alpha(self, t):
        """alpha_t = sin(pi t / 2)."""
        return np.sin(np.pi * t / 2)

    def sigma(self, t):
        """sigma_t = cos(pi t / 2)."""
        return np.cos(np.pi * t / 2)

    def d_alpha(self, t):
        """d alpha_t / dt = (pi / 2) cos(pi t / 2)."""
        return np.pi / 2 * np.cos(np.pi * t / 2)

    def d_sigma(self, t):
        """d sigma_t / dt = -(pi / 2) sin(pi t / 2)."""
        return -np.pi / 2 * np.sin(np.pi * t / 2)


class ICFMPath(LinearPath):
    """The independent CFM path: x_t = t x_1 + (1 - t) x_0 + sigma z, u_t = x_1 - x_0.

    The tutorial's linear path with sigma_min = 0 (alpha_t = t, sigma_t = 1 - t), blurred by a
    constant ``sigma`` along its whole length.

    Parameters
    ----------
    sigma : float
        Standard deviation of the blur, >= 0. With 0 it is the straight line of rectified flow.

    Examples
    --------
    >>> path = ICFMPath(sigma=0.1)
    >>> x_t, u_t = path.sample(x_0=np.array([[2.0]]), x_1=np.array([[4.0]]), t=np.array([0.5]), z=np.array([[1.0]]))
    >>> x_t, u_t
    (array([[3.1]]), array([[2.]]))
    """

    def __init__(self, sigma=0.0):
        if not (np.isfinite(sigma) and sigma >= 0.0):
            raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
        super().__init__(sigma_min=0.0)
        self.blur = float(sigma)


#: Path names for ``TrainConfig.path`` and ``--path``.
PATHS = ("linear", "icfm", "vp")


def make_path(name, sigma_min=0.0):
    """The path of a given name: ``"linear"`` (the tutorial's, with sigma_min), ``"icfm"`` (a
    constant blur sigma_min around the straight line) or ``"vp"`` (sigma_min does not apply)."""
    if name == "linear":
        return LinearPath(sigma_min)
    if name == "icfm":
        return ICFMPath(sigma_min)
    if name == "vp":
        return VPPath()
    raise ValueError(f"path must be one of {', '.join(PATHS)}, got {name!r}")

"""Four views of one field: the velocity, the noise prediction, the data prediction and the score.

On an affine Gaussian path ``x_t = alpha_t x_1 + sigma_t x_0`` with x_0 ~ N(0, I) independent
of the data x_1, a model can learn any of four functions of (t, x)::

    v(t, x)      = E[u_t | x_t = x]       the velocity (flow matching)
    x0_hat(t, x) = E[x_0 | x_t = x]       the noise prediction (DDPM's epsilon)
    x1_hat(t, x) = E[x_1 | x_t = x]       the data prediction
    score(t, x)  = grad_x log p_t(x)      the score (score matching)

They are one field seen four ways. Derivation:

1. Average ``x_t = alpha_t x_1 + sigma_t x_0`` over the pairs (x_0, x_1) that put x_t at x.
   x_t itself is then x, so::

       x = alpha_t x1_hat + sigma_t x0_hat                                            (1)

2. Average the conditional velocity ``u_t = d_alpha_t x_1 + d_sigma_t x_0`` (``npflow.core.paths``)
   the same way::

       v = d_alpha_t x1_hat + d_sigma_t x0_hat                                        (2)

3. Tweedie's formula. ``p_t(x) = E_{x_1} N(x; alpha_t x_1, sigma_t^2 I)``, and the gradient
   of each Gaussian is ``-(x - alpha_t x_1) / sigma_t^2`` times itself, that is ``-x_0 / sigma_t``
   times itself for the noise x_0 = (x - alpha_t x_1) / sigma_t that carries x_1 to x. Divided
   by p_t(x), the average over x_1 becomes the average over the posterior of x_1 given x::

       score = -x0_hat / sigma_t                                                      (3)

(1) and (2) are two linear equations in (x0_hat, x1_hat) with the determinant
``D_t = alpha_t d_sigma_t - sigma_t d_alpha_t`` (-1 on the linear path for any sigma_min,
-pi/2 on vp: never 0), so any one view gives all the others::

    x0_hat = (alpha_t v - d_alpha_t x) / D_t          x1_hat = (d_sigma_t x - sigma_t v) / D_t
    x1_hat = (x - sigma_t x0_hat) / alpha_t           x0_hat = (x - alpha_t x1_hat) / sigma_t
    v      = d_alpha_t x1_hat + d_sigma_t x0_hat      x0_hat = -sigma_t score

**Where they are singular.** Dividing by alpha_t fails at t = 0, on every path (alpha_0 = 0):
there x_t *is* the noise, so x0_hat = x whatever the data, and a noise prediction or a score
carries nothing about x1_hat or v. Dividing by sigma_t fails at t = 1 on a path that ends on
the data (linear with sigma_min = 0, vp): there x1_hat = x, and the score is the data's own
(infinite for a dataset of points). These are losses of information, not rounding problems.
Near such an end (not at it) the division multiplies the error of a learned f by 1 / alpha_t
or 1 / sigma_t: a noise prediction 0.01 off at t = 0.01 on the linear path gives a velocity
about 1 off.

**What npflow does there.** Each conversion evaluates its formula as written, and raises a
``ValueError`` naming t where its divisor is zero up to rounding, ``|alpha_t|`` or ``|sigma_t|``
below ``ZERO = 1e-12`` (vp's sigma_1 = cos(pi / 2) is 6e-17 in floating point). It does not
clip t or invent a limit. From a velocity, the samplers of ``npflow.diffusion.stochastic`` never need a
singular conversion: x1_hat is finite for every t, and x0_hat and the score for every t < 1,
where they evaluate f.

A *trained* noise prediction is the hard case, measured in ``examples/diffusion_vs_flow.py``
(docs/chapters/diffusion.md). Its own error is about flat in t, but turned into a velocity it is multiplied
by D_t / alpha_t: on vp and two_gaussians, a noise error of 0.14 (root mean square) at
t = 0.001 became a velocity error of 138, and the ODE from t = 0 carries that into every
sample. So a run that predicts the noise reads its network only from t = ``MARGIN`` on, and
below it holds the data prediction it made there (``velocity_from_prediction(...,
margin=MARGIN)``, which ``Run.velocity`` uses); a data prediction holds its x0_hat above
1 - ``MARGIN`` the same way. The field is then finite on all of [0, 1], so every solver,
sampler and likelihood takes it as it takes a velocity. The margin costs a *perfect* noise
predictor something too: below it the held view is not exact. ``MARGIN`` is the largest margin
with which the exact noise predictor of two_gaussians and of eight_gaussians, on the vp path,
keeps its E[log p] within 0.005 nats of the exact field's and its samples' spread within 0.5 %
(``tests/test_views.py``). Measured (2,000 points, RK4 with 400 steps), the gap in E[log p] and
in spread is 0.018 nats and 4.1 % at a margin of 0.1, 0.002 and 1.3 % at 0.05, and 0.0002 and
0.2 % at 0.02.

**Names.** ``X_to_Y(value, x_t, t, path)`` converts values at points; the names are those of
facebookresearch/flow_matching's ``AffineProbPath`` (``velocity_to_epsilon`` and the rest)
with "noise" for epsilon and "data" for target. ``Y_from_X(f, path)`` converts a whole field
``f(t, x) -> (n, d)`` and returns one. A path with a blur (icfm) is not of the form above (its
x_t holds noise that u_t never sees), so the conversions refuse it.

x enters every formula only through + - * /, so a converted field can be differentiated by
autograd (e.g. for the divergence in a log-likelihood).
"""
import numpy as np

__all__ = ["ZERO", "MARGIN", "PREDICTIONS", "schedule", "velocity_to_score", "velocity_to_data", "data_to_noise",
           "noise_to_data", "noise_to_velocity", "data_to_velocity", "score_to_velocity",
           "score_from_velocity", "velocity_from_score", "velocity_from_prediction", "prediction_target"]

#: A divisor alpha_t or sigma_t below this in absolute value is zero up to rounding.
ZERO = 1e-12
#: Below t = MARGIN a noise prediction, above 1 - MARGIN a data prediction, holds the other view (see above).
MARGIN = 0.02
#: What a network can be trained to predict: ``--predict`` in the CLI.
PREDICTIONS = ("velocity", "noise", "data")


def schedule(path, t):
    """The path's ``alpha_t, sigma_t, d_alpha_t, d_sigma_t`` at t, shaped to multiply points.

    Parameters
    ----------
    path : AffinePath
        Without a blur.
    t : float or ndarray of shape (n,)

    Returns
    -------
    alpha_t, sigma_t, d_alpha_t, d_sigma_t : float, or ndarray of shape (n, 1)
        Python floats for one time t, so that float32 points stay float32.
    """
    if path.blur:
        raise ValueError(f"{type(path).__name__} with blur {path.blur} is not x_t = alpha_t x_1 + sigma_t x_0; "
                         f"the views of its field do not convert into one another")
    if np.ndim(t) == 0:
        return tuple(float(value(t)) for value in (path.alpha, path.sigma, path.d_alpha, path.d_sigma))
    t = np.reshape(t, (-1, 1))  # (n, 1): one time per point
    return path.alpha(t), path.sigma(t), path.d_alpha(t), path.d_sigma(t)


def _nonzero(divisor, name, t, what):
    """Return ``divisor`` (alpha_t or sigma_t at t), or raise ``ValueError`` where it is zero up to rounding."""
    small = np.abs(divisor) < ZERO  # a bool, or shape (n, 1) like the times
    if np.any(small):
        t_bad = np.reshape(t, np.shape(small))[small][0] if np.ndim(small) else t
        raise ValueError(f"{what} divides by {name}, which is 0 at t = {float(t_bad):g}; "
                         f"evaluate it only where {name} > 0")
    return divisor


def velocity_to_score(v, x_t, t, path):
    """The score from the velocity: ``score = -x0_hat / sigma_t``, with (1) and (2) solved for x0_hat::

        x0_hat = (alpha_t v - d_alpha_t x_t) / (alpha_t d_sigma_t - sigma_t d_alpha_t)

    Singular where sigma_t = 0 (t = 1 on a path that ends on the data).

    Parameters
    ----------
    v, x_t : ndarray, shape (n, d)
        The velocity at the points x_t.
    t : float or ndarray of shape (n,)
    path : AffinePath

    Returns
    -------
    score : ndarray, shape (n, d)
    """
    alpha_t, sigma_t, d_alpha_t, d_sigma_t = schedule(path, t)
    _nonzero(sigma_t, "sigma_t", t, "the score")
    # >>> exercise velocity_to_score: solve x_t = alpha_t x1_hat + sigma_t x0_hat and v = d_alpha_t x1_hat + d_sigma_t x0_hat for x0_hat; the score is -x0_hat / sigma_t
    x0_hat = (alpha_t * v - d_alpha_t * x_t) / (alpha_t * d_sigma_t - sigma_t * d_alpha_t)
    return -x0_hat / sigma_t
    # <<< exercise


def velocity_to_data(v, x_t, t, path):
    """The data prediction from the velocity: ``x1_hat = (d_sigma_t x_t - sigma_t v) / D_t``.

    D_t = alpha_t d_sigma_t - sigma_t d_alpha_t is never 0 on npflow's paths, so this holds
    at every t, both ends included. Arguments as for ``velocity_to_score``; x1_hat has shape (n, d).
    """
    alpha_t, sigma_t, d_alpha_t, d_sigma_t = schedule(path, t)
    return (d_sigma_t * x_t - sigma_t * v) / (alpha_t * d_sigma_t - sigma_t * d_alpha_t)


def data_to_noise(x1_hat, x_t, t, path):
    """The noise prediction from the data prediction, by (1): ``x0_hat = (x_t - alpha_t x1_hat) / sigma_t``.

    Singular where sigma_t = 0. Shapes as in ``velocity_to_score``.
    """
    alpha_t, sigma_t, _, _ = schedule(path, t)
    return (x_t - alpha_t * x1_hat) / _nonzero(sigma_t, "sigma_t", t, "the noise from a data prediction")


def noise_to_data(x0_hat, x_t, t, path):
    """The data prediction from the noise prediction, by (1): ``x1_hat = (x_t - sigma_t x0_hat) / alpha_t``.

    Singular where alpha_t = 0 (t = 0, every path). Shapes as in ``velocity_to_score``.
    """
    alpha_t, sigma_t, _, _ = schedule(path, t)
    return (x_t - sigma_t * x0_hat) / _nonzero(alpha_t, "alpha_t", t, "the data from a noise prediction")


def noise_to_velocity(x0_hat, x_t, t, path):
    """The velocity from the noise prediction, with x1_hat from ``noise_to_data`` (singular at alpha_t = 0).

    By (2)::

        v = d_alpha_t (x_t - sigma_t x0_hat) / alpha_t + d_sigma_t x0_hat
    """
    _, _, d_alpha_t, d_sigma_t = schedule(path, t)
    return d_alpha_t * noise_to_data(x0_hat, x_t, t, path) + d_sigma_t * x0_hat


def data_to_velocity(x1_hat, x_t, t, path):
    """The velocity from the data prediction, with x0_hat from ``data_to_noise`` (singular at sigma_t = 0).

    By (2)::

        v = d_alpha_t x1_hat + d_sigma_t (x_t - alpha_t x1_hat) / sigma_t
    """
    _, _, d_alpha_t, d_sigma_t = schedule(path, t)
    return d_alpha_t * x1_hat + d_sigma_t * data_to_noise(x1_hat, x_t, t, path)


def score_to_velocity(score, x_t, t, path):
    """The velocity from the score, through the noise prediction x0_hat = -sigma_t score (3).

    Singular where alpha_t = 0 (t = 0): there the score of p_0 = N(0, I) is -x_t, the same for
    every target, and says nothing of the velocity.
    """
    _, sigma_t, _, _ = schedule(path, t)
    return noise_to_velocity(-sigma_t * score, x_t, t, path)


def score_from_velocity(f, path):
    """The score field ``score(t, x) = grad_x log p_t(x)`` of a velocity field f on ``path``.

    Parameters
    ----------
    f : callable
        ``f(t, x) -> v``, x and v of shape (n, d); t a float or shape (n,).
    path : AffinePath

    Returns
    -------
    callable
        ``score(t, x)``, shape (n, d). It raises ``ValueError`` where sigma_t = 0.

    Examples
    --------
    >>> from npflow.core.gmm import GaussianMixture
    >>> from npflow.core.oracle import exact_velocity, marginal_at
    >>> from npflow.core.paths import LinearPath
    >>> gmm, x = GaussianMixture([[2.0]], std=0.5), np.array([[0.0]])
    >>> score = score_from_velocity(exact_velocity(gmm), LinearPath())
    >>> print(score(0.5, x), marginal_at(gmm, 0.5).score(x))  # p_0.5 = N(1, 0.3125): (1 - 0) / 0.3125
    [[3.2]] [[3.2]]
    """
    def score(t, x):
        return velocity_to_score(f(t, x), x, t, path)

    return score


def velocity_from_score(score, path):
    """The velocity field of a score field on ``path``: ``v = score_to_velocity(score(t, x), x, t, path)``.

    The returned ``v(t, x)`` raises ``ValueError`` at t = 0 (alpha_0 = 0). Shapes as in
    ``score_from_velocity``.
    """
    def velocity(t, x):
        return score_to_velocity(score(t, x), x, t, path)

    return velocity


def velocity_from_prediction(f, path, predict, margin=0.0):
    """The velocity field of a network that predicts ``predict`` on ``path``.

    With ``margin`` m > 0, the conversion never divides by an alpha_t or sigma_t near 0. A
    noise prediction says nothing of x1_hat at t = 0, so below t = m it holds the data
    prediction it made at m, and takes the rest of the velocity from it by (1) and (2) at t::

        x1_hat(t, x) = noise_to_data(f(m, x), x, m)   for t < m,     v = data_to_velocity(x1_hat, x, t)

    A data prediction likewise holds its x0_hat above t = 1 - m. Near the end the held view
    changes slowly (x1_hat tends to E[x_1] as t -> 0; x0_hat is a smooth function of x at t =
    1) and the other view is exact (x0_hat -> x at t = 0, x1_hat -> x at t = 1), so the field
    is off by O(m) on an interval of length m. ``Run.velocity`` uses ``MARGIN``.

    Parameters
    ----------
    f : callable
        ``f(t, x)``, shape (n, d): the velocity, the noise x0_hat or the data x1_hat.
    path : AffinePath
    predict : str
        ``"velocity"`` (f is returned as it is), ``"noise"`` (singular at t = 0) or ``"data"``
        (singular at t = 1 on a path that ends on the data).
    margin : float
        In [0, 1/2). With 0, the conversion is evaluated at every t, and raises ``ValueError``
        at the singular end.

    Returns
    -------
    callable
        ``v(t, x)``, shape (n, d).
    """
    _check_prediction(predict)
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin!r}")
    if predict == "velocity":
        return f

    def velocity(t, x):
        if predict == "noise":
            t_read = np.maximum(t, margin)  # the network is read at t_read >= margin
            x0_hat = f(t_read, x)
            held = data_to_velocity(noise_to_data(x0_hat, x, t_read, path), x, np.minimum(t, margin), path)
            return _choose(np.less(t, margin), held, noise_to_velocity(x0_hat, x, t_read, path))
        t_read = np.minimum(t, 1.0 - margin)  # the network is read at t_read <= 1 - margin
        x1_hat = f(t_read, x)
        held = noise_to_velocity(data_to_noise(x1_hat, x, t_read, path), x, np.maximum(t, 1.0 - margin), path)
        return _choose(np.greater(t, 1.0 - margin), held, data_to_velocity(x1_hat, x, t_read, path))

    return velocity


def prediction_target(predict, x_0, x_1, u_t):
    """What a network that predicts ``predict`` regresses on: u_t, x_0 or x_1.

    A mean squared error is least at the conditional mean of its target given the input, so
    regressing on u_t, x_0 or x_1 at x_t learns v = E[u_t | x_t], x0_hat = E[x_0 | x_t] or
    x1_hat = E[x_1 | x_t]: three views of one field, trained each by its own loss. With
    ``"noise"`` and the vp path this is DDPM's epsilon loss, with t ~ U(0, 1) for DDPM's
    uniform step index.

    Parameters
    ----------
    predict : str
        One of ``PREDICTIONS``.
    x_0, x_1, u_t : ndarray, shape (n, d)
        The batch's noise, data and conditional velocity.

    Returns
    -------
    ndarray, shape (n, d)
    """
    _check_prediction(predict)
    return {"velocity": u_t, "noise": x_0, "data": x_1}[predict]


def _check_prediction(predict):
    if predict not in PREDICTIONS:
        raise ValueError(f"predict must be one of {', '.join(PREDICTIONS)}, got {predict!r}")


def _choose(held_here, held, direct):
    """``held`` where ``held_here``, else ``direct``: one time picks one; a time per point (shape (n,)) picks rows.

    Rows are picked by multiplying with the mask, not by index assignment, so autograd can
    differentiate through it; both are finite.
    """
    if np.ndim(held_here) == 0:
        return held if held_here else direct
    held_here = np.reshape(held_here, (-1, 1))  # (n, 1)
    return held_here * held + ~held_here * direct

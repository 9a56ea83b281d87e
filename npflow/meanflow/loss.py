"""The MeanFlow target and loss, and the draw of the intervals (s, t): the paper's training recipe as options.

Geng, Deng, Bai, Kolter and He (2025), "Mean Flows for One-step Generative Modeling" (arXiv:2505.13447),
trains with a recipe chosen by its ablations (its Table 1). The recipe has three parts, each an option here
(``npflow.models.meanflow.MeanFlowOptions``); each is off or at npflow's own choice by default:

- **adaptive loss weighting** (``meanflow_loss``, ``adaptive_weights``): each point's squared
  error ||e_i||^2 (summed over coordinates) is weighted by w_i = 1 / (||e_i||^2 + c)^p, a
  constant to the gradient. With p = 1 a point's loss is about 1 whatever its error, so the
  points whose target is far off (the noisy conditional v_s) pull no harder than the rest;
  p = 0 is the plain squared error.
- **logit-normal times** (``draw_times``): the two times are sigmoid(N(mean, std)) rather than
  uniform, which draws the middle of [0, 1] more often than its ends.
- **the share of pairs with s = t** (``draw_times``): those pairs are flow matching's.

**The paper's time, mapped.** The paper runs time with data at 0 and noise at 1; npflow's time
is tau = 1 - tau_paper (``npflow.meanflow.average``). Since 1 - sigmoid(z) = sigmoid(-z), a time
drawn as sigmoid(N(mu, sigma)) in the paper's time is sigmoid(N(-mu, sigma)) in npflow's: the
paper's (mu, sigma) = (-0.4, 1.0) is npflow's (mean, std) = (0.4, 1.0), which leans towards the
data (at 1 here). Sorting the two draws gives the paper's r <= t_paper, which is npflow's s <= t.
"""
import autograd
import numpy as np
from autograd.tracer import getval

from ..core.backprop import backward, forward
from ..core.mlp import sigmoid
from ..core.primitives import mean_squared_error
from .average import average_velocity, average_velocity_jvp, network_input

__all__ = ["meanflow_target", "adaptive_weights", "meanflow_loss", "meanflow_loss_and_grad",
           "meanflow_loss_and_grad_by_hand", "TIME_DISTRIBUTIONS", "draw_times"]


def meanflow_target(params, s, t, x_s, v_s, activation="relu"):
    """The MeanFlow target (3): ``u_tgt = v_s + (t - s) * (d_s u_theta + (grad_x u_theta) v_s)``.

    Parameters
    ----------
    params : list of (W, b)
        Plain arrays (the target's gradient is stopped).
    s, t : ndarray, shape (n,)
        Start and end of each point's interval, s <= t.
    x_s : ndarray, shape (n, d)
        Points on the conditional path at time s.
    v_s : ndarray, shape (n, d)
        The conditional velocity at x_s.
    activation : str

    Returns
    -------
    u_tgt : ndarray, shape (n, d)
    """
    # >>> exercise meanflow_target: du/ds along the path is the JVP with tangent (1, 0, v_s) on (s, t, x); u_tgt = v_s + (t - s) du/ds
    _, du_ds = average_velocity_jvp(params, s, t, x_s, 1.0, 0.0, v_s, activation)  # (n, d): the total derivative (2)
    interval = np.reshape(t - s, (-1, 1))  # (n, 1): t - s for each point
    return v_s + interval * du_ds
    # <<< exercise


def adaptive_weights(squared_errors, power, eps):
    """The adaptive loss weights: ``w_i = 1 / (||e_i||^2 + c)^p``, the paper's adaptive loss weighting.

    Parameters
    ----------
    squared_errors : ndarray, shape (n,)
        ||e_i||^2, each point's squared error summed over its coordinates; plain arrays (the
        weights are a constant to the gradient).
    power : float
        p >= 0. p = 0 gives w = 1, the plain squared error; the paper's best is p = 1.
    eps : float
        c > 0, which keeps the weight finite where the error is 0; the paper's is 1e-3.

    Returns
    -------
    w : ndarray, shape (n,)

    Examples
    --------
    >>> adaptive_weights(np.array([0.0, 1.0, 3.0]), power=1.0, eps=1.0)
    array([1.  , 0.5 , 0.25])
    """
    return 1 / (squared_errors + eps) ** power


def meanflow_loss(params, s, t, x_s, v_s, activation="relu", weight_power=0.0, weight_eps=1e-3):
    """The MeanFlow loss: ``L = (1 / (n d)) sum_i w_i ||u_theta - stop_gradient(u_tgt)||^2``, w_i a constant weight.

    Point by point::

        e_i = u_theta(s_i, t_i, x_s,i) - stop_gradient(u_tgt,i)          (d,)
        w_i = stop_gradient(1 / (||e_i||^2 + c)^p)                        (``adaptive_weights``)
        L = (1 / (n d)) sum_i w_i ||e_i||^2

    the mean over points and coordinates of w_i e_ij^2. With p = 0 (w = 1) it is the mean
    squared error, as flow matching's loss. The paper's loss is d times this (its mean is over
    points only): a constant factor, which Adam's step does not see. With p = 1 each point's
    term w_i ||e_i||^2 = ||e_i||^2 / (||e_i||^2 + c) is close to 1 wherever ||e_i||^2 >> c, so
    the loss a run logs sits just under 1 / d: compare losses only at the same p.

    Both the target and the weights are computed from ``getval``, the plain arrays under
    autograd's boxes, so autograd sees them as constants: the gradient stops there. A constant
    weight goes inside the square, w_i ||e_i||^2 = ||sqrt(w_i) u_theta,i - sqrt(w_i) u_tgt,i||^2,
    so L is the mean squared error of the outputs and the target scaled by sqrt(w_i): one
    autograd node (``npflow.core.primitives.mean_squared_error``), as flow matching's loss is.

    Parameters
    ----------
    params : list of (W, b)
    s, t : ndarray, shape (n,)
    x_s : ndarray, shape (n, d)
    v_s : ndarray, shape (n, d)
    activation : str
    weight_power, weight_eps : float
        p >= 0 and c > 0 of the weights; p = 0 turns the weighting off.

    Returns
    -------
    loss : float
    """
    u_tgt = meanflow_target(getval(params), s, t, x_s, v_s, activation)  # (n, d), a constant to autograd
    u = average_velocity(params, s, t, x_s, activation)  # (n, d)
    squared_errors = np.sum((getval(u) - u_tgt) ** 2, axis=1)  # (n,): ||e_i||^2
    root_w = np.sqrt(adaptive_weights(squared_errors, weight_power, weight_eps))[:, None]  # (n, 1), a constant
    return mean_squared_error(root_w * u, root_w * u_tgt)  # (1 / (n d)) sum_i w_i ||e_i||^2


#: (params, s, t, x_s, v_s, activation, weight_power, weight_eps) -> (loss, dloss/dparams), by reverse-mode autograd.
meanflow_loss_and_grad = autograd.value_and_grad(meanflow_loss)


def meanflow_loss_and_grad_by_hand(params, s, t, x_s, v_s, activation="relu", weight_power=0.0, weight_eps=1e-3):
    """The MeanFlow loss and its gradient with no autograd: a drop-in for ``meanflow_loss_and_grad``.

    Both halves are the chain rule by hand. The target comes first, by the forward chain rule
    (``meanflow_target``); to the gradient it is a constant, and so are the weights w_i. What
    is left is a weighted squared error against a fixed target, whose derivative with respect
    to the network's output is, for L = (1 / (n d)) sum_i w_i ||e_i||^2::

        dL/du_i = 2 w_i e_i / (n d)

    and the network's backward pass (``npflow.core.backprop.backward``) on the input
    ``[s, t - s, x_s]`` carries it to the weights. ``npflow train --objective meanflow --grad backprop``
    trains with it.

    Parameters and returns as for ``meanflow_loss_and_grad``.
    """
    u_tgt = meanflow_target(params, s, t, x_s, v_s, activation)  # (n, d)
    u, cache = forward(params, network_input(s, t, x_s), activation)  # (n, d)
    error = u - u_tgt  # (n, d)
    squared_errors = np.sum(error**2, axis=1)  # (n,): ||e_i||^2
    w = adaptive_weights(squared_errors, weight_power, weight_eps)  # (n,)
    loss = np.sum(w * squared_errors) / error.size
    d_u = 2 * w[:, None] * error / error.size  # (n, d): dL/du
    return loss, backward(params, cache, d_u, activation)


#: How the two times of an interval are drawn, before they are sorted (``draw_times``).
TIME_DISTRIBUTIONS = ("uniform", "logit_normal")


def draw_times(n, rng, share_equal=0.5, times="uniform", mean=0.4, std=1.0):
    """Draw n intervals (s, t): two times in order, then t = s for a share of them.

    The two times of each interval, in npflow's time (noise at 0, data at 1), are::

        uniform:       tau ~ U(0, 1)
        logit_normal:  tau = sigmoid(mean + std * z),  z ~ N(0, 1)

    and ``s, t = sorted(tau, tau')``; then exactly ``round(share_equal * n)`` pairs, at random
    places, get t = s (flow matching). Uniform times, sorted, put s most often near 0 and t
    near 1, where a one-step jump starts and lands; logit-normal ones draw the middle more often.
    The paper's logit-normal (mu, sigma) = (-0.4, 1.0), in its time (data at 0), is
    (mean, std) = (0.4, 1.0) here, since 1 - sigmoid(z) = sigmoid(-z) (module docstring).

    **The draws**, in this order from ``rng``: the two times, ``rng.random((2, n))`` (uniform) or
    ``rng.standard_normal((2, n))`` (logit-normal); then ``rng.permutation(n)``, which places the
    pairs with s = t. The same generator state gives the same intervals.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator
    share_equal : float
        In [0, 1]. The paper's best on ImageNet is 0.75 (with no pairs s = t there was no usable
        one-step model).
    times : str
        ``"uniform"`` or ``"logit_normal"`` (``TIME_DISTRIBUTIONS``).
    mean, std : float
        The logit-normal's mean and std (std > 0), in npflow's time; unused for uniform times.

    Returns
    -------
    s, t : ndarray, shape (n,)
        0 <= s <= t <= 1.

    Examples
    --------
    >>> s, t = draw_times(8, np.random.default_rng(0), share_equal=0.5)
    >>> int(np.sum(s == t)), bool(np.all(s <= t))
    (4, True)
    """
    if not 0.0 <= share_equal <= 1.0:
        raise ValueError(f"share_equal must be in [0, 1], got {share_equal!r}")
    if times not in TIME_DISTRIBUTIONS:
        raise ValueError(f"times must be one of {', '.join(TIME_DISTRIBUTIONS)}, got {times!r}")
    if times == "uniform":
        draws = rng.random((2, n))  # (2, n)
    else:
        draws = sigmoid(mean + std * rng.standard_normal((2, n)))  # (2, n): tau = sigmoid(mean + std z)
    s, t = np.sort(draws, axis=0)  # (n,) each, s <= t
    equal = rng.permutation(n) < round(share_equal * n)  # (n,): exactly that many True, at random places
    return s, np.where(equal, s, t)

import autograd
import numpy as np
from autograd.tracer import getval

from ..core.backprop import squared_error_and_grad
from ..core.primitives import mean_squared_error
from .average import average_velocity, average_velocity_jvp, network_input

__all__ = ["meanflow_target", "meanflow_loss", "meanflow_loss_and_grad", "meanflow_loss_and_grad_by_hand", "draw_times"]


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


def meanflow_loss(params, s, t, x_s, v_s, activation="relu"):
    """The MeanFlow loss: ``L = mean((u_theta(s, t, x_s) - stop_gradient(u_tgt))^2)`` over points and coordinates.

    The target is computed from ``getval(params)``, the plain arrays under autograd's boxes, so
    autograd sees it as a constant: the gradient stops there.

    Parameters
    ----------
    params : list of (W, b)
    s, t : ndarray, shape (n,)
    x_s : ndarray, shape (n, d)
    v_s : ndarray, shape (n, d)
    activation : str

    Returns
    -------
    loss : float
    """
    u_tgt = meanflow_target(getval(params), s, t, x_s, v_s, activation)  # (n, d), a constant to autograd
    u = average_velocity(params, s, t, x_s, activation)  # (n, d)
    return mean_squared_error(u, u_tgt)


#: (params, s, t, x_s, v_s, activation) -> (loss, dloss/dparams), by reverse-mode autograd.
meanflow_loss_and_grad = autograd.value_and_grad(meanflow_loss)


def meanflow_loss_and_grad_by_hand(params, s, t, x_s, v_s, activation="relu"):
    """The MeanFlow loss and its gradient with no autograd: a drop-in for ``meanflow_loss_and_grad``.

    Both halves are the chain rule by hand. The target comes first, by the forward chain rule
    (``meanflow_target``); to the gradient it is a constant, so what is left is a squared error
    against a fixed target, whose backward pass is the CFM loss's on the input ``[s, t - s, x_s]``
    (``npflow.core.backprop.squared_error_and_grad``). ``npflow train --objective meanflow --grad backprop``
    trains with it.

    Parameters and returns as for ``meanflow_loss_and_grad``.
    """
    u_tgt = meanflow_target(params, s, t, x_s, v_s, activation)  # (n, d)
    return squared_error_and_grad(params, network_input(s, t, x_s), u_tgt, activation)


def draw_times(n, rng, share_equal=0.5):
    """Draw n intervals (s, t): two uniform times in order, then t = s for a share of them.

    ``s, t = sorted(U(0, 1), U(0, 1))``; then exactly ``round(share_equal * n)`` pairs, at random
    places, get t = s (flow matching). The times are uniform, not the paper's logit-normal (which
    draws the middle more often): sorted, s falls most often near 0 and t near 1, where a
    one-step jump starts and lands.

    The share: the paper's best on ImageNet was 75 % (all pairs with s = t, plain flow matching,
    gave no usable one-step model). On eight_gaussians (128-128 ReLU, 3,000 Adam steps of batch
    256, weights averaged with decay 0.999) half and half did better for one step: W2 to fresh
    data 0.53 against 0.56 (mean of 5 seeds, lower for each), for 0.33 against 0.31 after
    8 steps. A two-dimensional field is learned quickly, so more of each batch can go to the
    intervals.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator
    share_equal : float
        In [0, 1].

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
    s, t = np.sort(rng.random((2, n)), axis=0)  # (n,) each, s <= t
    equal = rng.permutation(n) < round(share_equal * n)  # (n,): exactly that many True, at random places
    return s, np.where(equal, s, t)

"""One training step: the conditional flow matching (CFM) loss, its gradient, and the optimizer's step.

One step, as in the tutorial::

    t   ~ U(0, 1)            (n,)       a time per point
    x_1 ~ p_data             (n, d)     data
    x_0 ~ N(0, I)            (n, d)     noise (the tutorial's eps), or a source dataset
    x_0, x_1 = coupling(x_0, x_1)       (the tutorial's is independent: keep them as drawn)
    z   ~ N(0, I)            (n, d)     only for a path with a blur (icfm)
    x_t, u_t = path.sample(x_0, x_1, t, z)
    L(theta) = mean over points and coordinates of (v_theta(t, x_t) - u_t)^2
    theta <- Adam(theta, dL/dtheta)

Noise, data and time travel together in that order, ``(x_0, x_1, t)``: a batch, the path's
``sample`` and ``training_step`` all take them so, as flow_matching and torchcfm do.

The gradient dL/dtheta comes from ``autograd.value_and_grad``, which traces ``cfm_loss``
(written in autograd-safe NumPy, see ``npflow.core.mlp``) and runs it backward.
"""
import math

import autograd
import numpy as np

from .mlp import velocity
from .optim import tree_flatten
from .primitives import mean_squared_error
from .views import prediction_target

__all__ = ["TrainingDiverged", "cfm_loss", "loss_and_grad", "draw_batch", "training_step", "scheduled_lr", "ema_decay",
           "ema_update"]


class TrainingDiverged(FloatingPointError):
    """The loss or its gradient stopped being finite; the parameters were not updated with it."""


def cfm_loss(params, t, x_t, u_t, activation="relu"):
    """The CFM loss: ``L = mean((v_theta(t, x_t) - u_t)^2)`` over points and coordinates.

    Parameters
    ----------
    params : list of (W, b)
    t : ndarray, shape (n,)
    x_t, u_t : ndarray, shape (n, d)
    activation : str

    Returns
    -------
    loss : float
    """
    v_t = velocity(params, t, x_t, activation)  # (n, d)
    return mean_squared_error(v_t, u_t)


#: (params, t, x_t, u_t, activation) -> (loss, dloss/dparams), by reverse-mode autograd.
loss_and_grad = autograd.value_and_grad(cfm_loss)


def draw_batch(sample_data, n, rng, sample_source=None):
    """One training batch (x_0, x_1, t), drawn in the tutorial's order: t ~ U(0, 1), x_1 ~ p_data, x_0 ~ p_0.

    Parameters
    ----------
    sample_data : callable
        ``sample_data(n, rng) -> x_1``, shape (n, d).
    n : int
    rng : numpy.random.Generator
    sample_source : callable, optional
        ``sample_source(n, rng) -> x_0``; None for N(0, I).

    Returns
    -------
    x_0 : ndarray, shape (n, d)
        Noise (or source points).
    x_1 : ndarray, shape (n, d)
        Data.
    t : ndarray, shape (n,)
        Times.
    """
    t = rng.random(n)  # (n,)
    x_1 = sample_data(n, rng)  # (n, d)
    x_0 = rng.standard_normal(x_1.shape) if sample_source is None else sample_source(n, rng)  # (n, d)
    return x_0, x_1, t


def training_step(params, optimizer, path, x_0, x_1, t, activation="relu", gradient=loss_and_grad, z=None,
                  predict="velocity"):
    """One step of flow matching: build the batch on the path, take the gradient, update.

    Parameters
    ----------
    params : list of (W, b)
    optimizer : Adam or SGD
    path : AffinePath
        E.g. ``LinearPath`` or ``VPPath``.
    x_0, x_1, t : ndarray, shapes (n, d), (n, d) and (n,)
        A batch of noise (or source points), data and times, as ``draw_batch`` returns it.
    activation : str
    gradient : callable
        ``gradient(params, t, x_t, u_t, activation) -> (loss, grads)``: autograd's
        ``loss_and_grad`` here, or ``npflow.core.backprop.loss_and_grad``.
    z : ndarray, shape (n, d), optional
        N(0, I) draws for the path's blur, for a path with ``blur > 0`` (icfm).
    predict : str
        What the network learns: ``"velocity"`` regresses on u_t, ``"noise"`` on x_0 and
        ``"data"`` on x_1 (``npflow.core.views.prediction_target``).

    Returns
    -------
    params : list of (W, b)
        Updated parameters.
    loss : float
        The loss before the update.

    Raises
    ------
    TrainingDiverged
        If the loss or any gradient is NaN or infinite (checked before the update).
    """
    # >>> exercise training_step: x_t and u_t by path.sample (z too), the target (prediction_target: u_t for a velocity), the loss and its gradient, one optimizer step
    x_t, u_t = path.sample(x_0, x_1, t, z)
    target = prediction_target(predict, x_0, x_1, u_t)  # u_t, unless the network predicts the noise or the data
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # non-finite results are checked below
        loss, grads = gradient(params, t, x_t, target, activation)
    if not np.isfinite(loss):
        raise TrainingDiverged(f"the loss is {float(loss)}")
    if not np.isfinite(tree_flatten(grads)).all():  # one test on every entry at once, not one per array
        raise TrainingDiverged(f"the gradient is not finite (loss {float(loss):.4g})")
    return optimizer.step(params, grads), float(loss)
    # <<< exercise


def scheduled_lr(config, step):
    """The learning rate at ``step`` (from 0): constant, or ``lr * (1 + cos(pi * step / steps)) / 2``."""
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * step / config.steps))
    return config.lr


def ema_decay(decay, step):
    """The moving average's decay at ``step`` (from 0): ``min(decay, (1 + step) / (10 + step))``.

    It starts low and rises to ``decay``, so that early on the average follows the weights
    instead of staying near their random start (with decay 0.999, a fixed decay would need
    some thousands of steps to forget theta_0).
    """
    return min(decay, (1 + step) / (10 + step))


def ema_update(ema, params, decay):
    """One step of the weights' moving average: ``ema <- decay * ema + (1 - decay) * theta``."""
    return [(decay * W_ema + (1 - decay) * W, decay * b_ema + (1 - decay) * b)
            for (W_ema, b_ema), (W, b) in zip(ema, params)]

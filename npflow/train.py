"""Training: the conditional flow matching (CFM) loss, its gradient, and the loop.

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
(written in autograd-safe NumPy, see ``npflow.mlp``) and runs it backward.

A ``Run`` holds the whole state of training (parameters, Adam's moments, the random
generator, the losses), so training can stop at any step and continue later to the same bits:
``train(config, resume=run)``. Ctrl-C is held until the current step ends, then raises
``TrainingInterrupted`` carrying that state; a non-finite loss or gradient raises
``TrainingDiverged`` before it can reach the parameters.
"""
import math
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Optional

import autograd
import numpy as np

from . import backprop
from .couplings import coupling_for, draw_pairs, load_pairs
from .data import get_dataset, get_source
from .metrics import field_error
from .mlp import velocity
from .optim import tree_flatten
from .oracle import exact_mixture, exact_velocity, points_on_path
from .paths import LinearPath, make_path
from .plumbing.interrupts import interrupts_between_steps
from .plumbing.progress import Progress
from .primitives import mean_squared_error
from .run import Run, TrainConfig, learned_field, start_run
from .views import prediction_target

__all__ = ["TrainingInterrupted", "TrainingDiverged", "mean_squared_error", "cfm_loss", "draw_batch", "batch_sampler",
           "training_step", "scheduled_lr", "ema_decay", "ema_update", "train"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training between two steps; ``.run`` is the state after the last whole step."""

    def __init__(self, run):
        super().__init__(f"training interrupted at step {run.step} of {run.config.steps}")
        self.run = run


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


def batch_sampler(config):
    """How a run draws its batches: a function ``draw(n, rng) -> (x_0, x_1, t)``, coupled as ``config`` says.

    With ``coupling="pairs"``, t ~ U(0, 1) and then whole pairs from the table in
    ``config.pairs_file``; otherwise ``draw_batch`` from the dataset and the source, re-paired by
    the coupling (independent: as drawn; ot: by optimal transport). The arrays come in
    ``config.dtype``; the draws are the same for every dtype. A conditional run's batches carry
    their labels too, ``(x_0, x_1, t, y)`` (``npflow.guidance.labelled_batch_sampler``).
    """
    if config.conditional:
        from .guidance import labelled_batch_sampler  # imported here: guidance needs this module

        return labelled_batch_sampler(config)
    if config.coupling == "pairs":
        table = load_pairs(config.pairs_file)

        def coupled(n, rng):
            t = rng.random(n)
            x_0, x_1 = draw_pairs(*table, n, rng)
            return x_0, x_1, t
    else:
        dataset = get_dataset(config.dataset)
        sample_data, sample_source = dataset.sample, get_source(config.source, dataset.dim).sample
        pair = coupling_for(config.coupling, config.ot_reg)

        def coupled(n, rng):
            x_0, x_1, t = draw_batch(sample_data, n, rng, sample_source)
            x_0, x_1 = pair(x_0, x_1, rng)
            return x_0, x_1, t

    def draw(n, rng):
        return tuple(a.astype(config.dtype, copy=False) for a in coupled(n, rng))

    return draw


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
        ``loss_and_grad`` here, or ``npflow.backprop.loss_and_grad``.
    z : ndarray, shape (n, d), optional
        N(0, I) draws for the path's blur, for a path with ``blur > 0`` (icfm).
    predict : str
        What the network learns: ``"velocity"`` regresses on u_t, ``"noise"`` on x_0 and
        ``"data"`` on x_1 (``npflow.views.prediction_target``).

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


def _blur_draw(path, shape, rng, dtype):
    """z ~ N(0, I) of ``shape`` for the path's blur (icfm), drawn after the batch; None for a path without one."""
    return rng.standard_normal(shape).astype(dtype, copy=False) if path.blur else None


def _field_error_probe(config, every, n=2000):
    """``probe(step, field_params)``: the field error every ``every`` steps and at the last, else None.

    The error (``npflow.metrics.field_error``) is the mean squared gap between the field of
    ``field_params`` and the exact one, on n fixed path points drawn from their own generator,
    ``default_rng([seed, 1])``, so logging changes no training bit. With ``every`` 0 it never
    measures, and the recipe may be any; otherwise it must have an exact field (``exact_mixture``).
    """
    if not every:
        return lambda step, field_params: None
    mixture = exact_mixture(config)
    t, x_t = points_on_path(mixture.sample, LinearPath(config.sigma_min), n, np.random.default_rng([config.seed, 1]))
    f_exact = exact_velocity(mixture, config.sigma_min)

    def probe(step, field_params):
        if (step + 1) % every and step + 1 != config.steps:
            return None
        return field_error(learned_field(config, field_params), f_exact, t, x_t)

    return probe


def _objective(config):
    """``objective(t, rng) -> (t, gradient)``: the times and the gradient a step passes to ``training_step``.

    For flow matching, the batch's t and the CFM loss's gradient (by autograd or by hand); for
    MeanFlow, starts s drawn with their ends e, and its loss given them (``npflow.meanflow.meanflow_objective``).
    """
    if config.objective == "meanflow":
        from .meanflow import meanflow_objective  # here, not at the top: npflow.meanflow builds on this module

        return meanflow_objective(config.grad, config.dtype)
    if config.network == "resnet":
        from .resnet_run import resnet_gradient  # here: npflow.resnet_run builds on npflow.guidance, which needs this module

        gradient = resnet_gradient(config.grad)
    else:
        gradient = backprop.loss_and_grad if config.grad == "backprop" else loss_and_grad
    return lambda t, rng: (t, gradient)


@contextmanager
def _naming_the_step(step, lr):
    """Re-raise a ``TrainingDiverged`` with the step (counted from 1), the learning rate and the likely cause."""
    try:
        yield
    except TrainingDiverged as error:
        raise TrainingDiverged(
            f"training diverged at step {step + 1}: {error}, with lr {lr:g}. Likely cause: a learning rate too large "
            "for this model (try a smaller --lr) or data with very large values") from None


def _run_to_continue(config, resume):
    """The run that training starts from and the recipe it follows: a new run of ``config``, or ``resume``.

    A resumed run keeps its recipe; only ``steps`` may differ, and not fall below the steps taken.
    """
    if resume is None:
        config = TrainConfig() if config is None else config
        return start_run(config), config
    config = resume.config if config is None else config
    if replace(config, steps=resume.config.steps) != resume.config:
        raise ValueError("a resumed run keeps its recipe; only steps may change (pass "
                         "dataclasses.replace(run.config, steps=...), which also names the run's own data files)")
    if config.steps < resume.step:
        raise ValueError(f"steps must be at least the {resume.step} steps the run has taken, got {config.steps}")
    if resume.optimizer is None or resume.rng is None:
        raise ValueError("this run has no optimizer or generator state, so it cannot be resumed")
    return resume, config


def train(config=None, *, resume=None, callback: Optional[Callable] = None, log_every=1000, stream=sys.stderr,
          field_error_every=0, checkpoint: Optional[Callable] = None, checkpoint_every=0):
    """Train a vector field by conditional flow matching.

    Every step is the algorithm of the module's docstring: draw a batch (x_0, x_1, t) and
    couple it, then ``training_step``: sample the path, the loss and its gradient, an Adam
    step. (With ``config.objective="meanflow"`` the times are MeanFlow's intervals and the loss
    its own, see ``npflow.meanflow.meanflow_objective``; the step is the same.) Around it, what
    a long run needs, each a named piece: the learning-rate schedule, the moving average of the
    weights (EMA), the callback, the field-error probe, the progress line, checkpoints, and
    Ctrl-C held until the step ends.

    Every random draw comes, in a fixed order, from ``numpy.random.default_rng(config.seed)``:
    first the initial parameters, then per step t, x_1 and x_0 (the tutorial's order; with
    ``coupling="pairs"``, t and the rows of the table), then the path's blur z for a path
    that has one (icfm), and last, for MeanFlow, the intervals (s, e). The same config therefore
    gives bit-identical parameters on one machine, and so does a run that was stopped and resumed.

    Parameters
    ----------
    config : TrainConfig, optional
        The recipe. Defaults to the tutorial's, ``TrainConfig()``, or, when resuming, to the run's.
    resume : Run, optional
        Continue this run (from ``train``, ``TrainingInterrupted.run`` or ``npflow.load_run``)
        up to ``config.steps``. Only ``steps`` may differ from the run's own config.
    callback : callable, optional
        ``callback(step, loss, params)`` after every step (step counts from 0), to look inside.
    log_every : int
        Print progress every this many steps (0 for never).
    stream : file-like or None
        Where progress goes; None for silence.
    field_error_every : int
        Every this many steps (and at the end), measure the mean squared gap between the
        learned field and the exact one (``npflow.metrics.field_error``) on 2,000 fixed path
        points. Needs a dataset with an exact field (a Gaussian mixture). 0 for never.
    checkpoint : callable, optional
        ``checkpoint(run)`` every ``checkpoint_every`` steps with the state so far, e.g. to
        save it with ``npflow.plumbing.io.save_checkpoint``.
    checkpoint_every : int

    Returns
    -------
    Run

    Raises
    ------
    TrainingInterrupted
        On Ctrl-C, after the step in progress; its ``.run`` can be resumed.
    TrainingDiverged
        When the loss or a gradient is NaN or infinite; the message names the step and the lr.

    Examples
    --------
    >>> run = train(TrainConfig(steps=3, hidden=(8,)), stream=None)
    >>> run.losses.shape
    (3,)
    >>> train(TrainConfig(steps=5, hidden=(8,)), resume=run, stream=None).step
    5
    """
    from .guidance import labelled_gradient  # imported here: guidance needs this module

    run, config = _run_to_continue(config, resume)
    draw, path = batch_sampler(config), make_path(config.path, config.sigma_min)
    num_classes = config.num_classes  # K of a conditional run, whose labels enter through the gradient; else 0
    objective = _objective(config)
    probe = _field_error_probe(config, field_error_every)
    progress = Progress(run.step, config.steps, log_every, stream)
    params, optimizer, rng, ema = run.params, run.optimizer, run.rng, run.ema
    losses = np.empty(config.steps)
    losses[:run.step] = run.losses
    field_errors, extra = [tuple(row) for row in run.field_errors], ""

    def state(done):  # the run after `done` steps: to return, to checkpoint, or to resume after Ctrl-C
        return Run(params, config, losses[:done].copy(), np.array(field_errors).reshape(-1, 2), optimizer, rng, ema)

    with interrupts_between_steps() as interrupted:
        for step in range(run.step, config.steps):
            if interrupted():
                raise TrainingInterrupted(state(step))
            x_0, x_1, t, *y = draw(config.batch_size, rng)  # a batch, coupled; a conditional run's has labels y too
            z = _blur_draw(path, x_1.shape, rng, config.dtype)
            t, gradient = objective(t, rng)  # MeanFlow: t becomes the starts s, and the gradient holds the ends e
            optimizer.lr = scheduled_lr(config, step)
            step_gradient = labelled_gradient(config.grad, *y, num_classes, config.network) if y else gradient
            with _naming_the_step(step, config.lr):
                params, losses[step] = training_step(params, optimizer, path, x_0, x_1, t, config.activation,
                                                     step_gradient, z, config.predict)
            if ema is not None:
                ema = ema_update(ema, params, ema_decay(config.ema, step))
            if callback is not None:
                callback(step, losses[step], params)
            error = probe(step, params if ema is None else ema)
            if error is not None:
                field_errors.append((step + 1, error))
                extra = f"  field error {error:.4f}"
            progress(step, losses[step], extra)
            if checkpoint is not None and checkpoint_every and (step + 1) % checkpoint_every == 0:
                checkpoint(state(step + 1))
    return state(config.steps)

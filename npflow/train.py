"""Training: the conditional flow matching (CFM) loss, its gradient, and the loop.

One step, as in the seed tutorial::

    t   ~ U(0, 1)            (n,)       a time per point
    x_1 ~ p_data             (n, d)     data
    x_0 ~ N(0, I)            (n, d)     noise (the seed's eps), or a source dataset
    x_0, x_1 = coupling(x_0, x_1)       (the seed's is independent: keep them as drawn)
    z   ~ N(0, I)            (n, d)     only for a path with a blur (icfm)
    x_t, u_t = path.sample(x_1, t, x_0, z)
    L(theta) = mean over points and coordinates of (v_theta(t, x_t) - u_t)^2
    theta <- Adam(theta, dL/dtheta)

The gradient dL/dtheta comes from ``autograd.value_and_grad``, which traces ``cfm_loss``
(written in autograd-safe NumPy, see ``npflow.mlp``) and runs it backward.

A ``Run`` holds the whole state of training (parameters, Adam's moments, the random
generator, the losses), so training can stop at any step and continue later to the same bits:
``train(config, resume=run)``. Ctrl-C is held until the current step ends, then raises
``TrainingInterrupted`` carrying that state; a non-finite loss or gradient raises
``TrainingDiverged`` before it can reach the parameters.
"""
import math
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Optional

import autograd
import autograd.numpy as np
import numpy

from . import backprop
from .couplings import COUPLINGS, draw_pairs, load_pairs
from .data import get_dataset
from .metrics import field_error
from .mlp import velocity
from .optim import tree_flatten
from .oracle import exact_velocity
from .paths import LinearPath, make_path
from .primitives import mean_squared_error
from .run import Run, TrainConfig, start_run

__all__ = ["TrainingInterrupted", "TrainingDiverged", "mean_squared_error", "cfm_loss", "draw_batch", "batch_sampler",
           "points_on_path", "training_step",
           "scheduled_lr", "ema_decay", "ema_update", "train"]


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
    """Draw one training batch, in the seed's order: t ~ U(0, 1), then x_1 ~ p_data, then x_0 ~ p_0.

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
    t : ndarray, shape (n,)
    x_1 : ndarray, shape (n, d)
    x_0 : ndarray, shape (n, d)
    """
    t = rng.random(n)
    x_1 = sample_data(n, rng)
    x_0 = rng.standard_normal(x_1.shape) if sample_source is None else sample_source(n, rng)
    return t, x_1, x_0


def batch_sampler(config):
    """How a run draws its batches: a function ``draw(n, rng) -> (t, x_1, x_0)``, coupled as ``config`` says.

    With ``coupling="pairs"``, t ~ U(0, 1) and then whole pairs from the table in
    ``config.pairs_file``; otherwise ``draw_batch`` from the dataset and the source, re-paired by
    the coupling (independent: as drawn; ot: by optimal transport).
    """
    if config.coupling == "pairs":
        table = load_pairs(config.pairs_file)

        def draw(n, rng):
            t = rng.random(n)
            x_0, x_1 = draw_pairs(*table, n, rng)
            return t, x_1, x_0
    else:
        sample_data, sample_source = get_dataset(config.dataset).sample, config.source_distribution.sample
        pair = COUPLINGS[config.coupling]

        def draw(n, rng):
            t, x_1, x_0 = draw_batch(sample_data, n, rng, sample_source)
            x_0, x_1 = pair(x_0, x_1)
            return t, x_1, x_0
    return draw


def points_on_path(sample_data, path, n, rng):
    """n points (t, x_t) with t ~ U(0, 1) and x_t ~ p_t: where the field is trained, and so where
    its error is worth measuring. Drawn as a training batch is.

    Returns
    -------
    t : ndarray, shape (n,)
    x_t : ndarray, shape (n, d)
    """
    t, x_1, x_0 = draw_batch(sample_data, n, rng)
    return t, path.sample(x_1, t, x_0)[0]


def training_step(params, optimizer, path, x_1, t, x_0, activation="relu", gradient=loss_and_grad, z=None):
    """One step of flow matching: build the batch on the path, take the gradient, update.

    Parameters
    ----------
    params : list of (W, b)
    optimizer : Adam or SGD
    path : AffinePath
        E.g. ``LinearPath`` or ``VPPath``.
    x_1 : ndarray, shape (n, d)
        Data.
    t : ndarray, shape (n,)
        Times.
    x_0 : ndarray, shape (n, d)
        Noise (or source points).
    activation : str
    gradient : callable
        ``gradient(params, t, x_t, u_t, activation) -> (loss, grads)``: autograd's
        ``loss_and_grad`` here, or ``npflow.backprop.loss_and_grad``.
    z : ndarray, shape (n, d), optional
        N(0, I) draws for the path's blur, for a path with ``blur > 0`` (icfm).

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
    # >>> exercise training_step: x_t and u_t by path.sample (z too), the loss and its gradient, one optimizer step
    x_t, u_t = path.sample(x_1, t, x_0, z)
    with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):  # non-finite results are checked below
        loss, grads = gradient(params, t, x_t, u_t, activation)
    if not numpy.isfinite(loss):
        raise TrainingDiverged(f"the loss is {float(loss)}")
    if not numpy.isfinite(tree_flatten(grads)).all():  # one test on every entry at once, not one per array
        raise TrainingDiverged(f"the gradient is not finite (loss {float(loss):.4g})")
    return optimizer.step(params, grads), float(loss)
    # <<< exercise


class _Progress:
    """Prints 'step, loss, steps/s, ETA' every ``every`` steps and at the end."""

    def __init__(self, first, total, every, stream):
        self.first, self.total, self.every, self.stream = first, total, every, stream
        self.start = time.perf_counter()

    def __call__(self, step, loss, extra=""):
        done = step + 1
        if self.stream is None or not self.every or (done % self.every and done != self.total):
            return
        rate = (done - self.first) / max(time.perf_counter() - self.start, 1e-9)
        eta = (self.total - done) / rate
        width = len(str(self.total))
        print(f"step {done:>{width}}/{self.total}  loss {loss:.4f}{extra}  {rate:,.0f} steps/s  ETA {eta:.0f}s",
              file=self.stream, flush=True)


@contextmanager
def _interrupts_between_steps():
    """Hold Ctrl-C (SIGINT) until the current step has ended, so training stops in a whole state.

    Yields a function that tells whether Ctrl-C was pressed. A second Ctrl-C interrupts at once.
    Signal handlers can only be set in the main thread; elsewhere Ctrl-C is left as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pressed = []

    def handler(signum, frame):
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


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


def exact_mixture(config, required=True):
    """The Gaussian mixture behind ``config.dataset`` when the run's exact field is known, for the field error.

    ``npflow.exact_velocity`` derives it for a Gaussian-mixture target, the linear path, the
    source N(0, I) and the independent coupling; other recipes learn other fields. Otherwise
    raise ``ValueError`` saying why, or return None if not ``required``.
    """
    mixture = get_dataset(config.dataset).mixture
    if mixture is None:
        reason = f"the field error needs a dataset with a known exact field; {config.dataset!r} has none"
    elif (config.path, config.source, config.coupling) != ("linear", "gaussian", "independent"):
        reason = (f"the exact field is derived for the linear path from N(0, I) with independent pairs, not for "
                  f"path {config.path!r} from source {config.source!r} with coupling {config.coupling!r}")
    else:
        return mixture
    if required:
        raise ValueError(reason)
    return None


def _field_error_probe(config, n=2000):
    """A fixed set of path points (t, x_t) and the exact field, for logging the field error.

    Drawn from its own generator, ``default_rng([seed, 1])``, so logging changes no training bit.
    """
    mixture = exact_mixture(config)
    t, x_t = points_on_path(mixture.sample, LinearPath(config.sigma_min), n, numpy.random.default_rng([config.seed, 1]))
    return t, x_t, exact_velocity(mixture, config.sigma_min)


def train(config=None, *, resume=None, callback: Optional[Callable] = None, log_every=1000, stream=sys.stderr,
          field_error_every=0, checkpoint: Optional[Callable] = None, checkpoint_every=0):
    """Train a vector field by conditional flow matching.

    Every random draw comes, in a fixed order, from ``numpy.random.default_rng(config.seed)``:
    first the initial parameters, then per step t, x_1 and x_0 (the seed's order; with
    ``coupling="pairs"``, t and the rows of the table), and last the path's blur z for a path
    that has one (icfm). The same
    config therefore gives bit-identical parameters on one machine, and so does a run that was
    stopped and resumed.

    Parameters
    ----------
    config : TrainConfig, optional
        The recipe. Defaults to the seed's, ``TrainConfig()``, or, when resuming, to the run's.
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
    run = start_run(config or TrainConfig()) if resume is None else resume
    config = run.config if config is None else config
    if resume is not None:
        if replace(config, steps=run.config.steps) != run.config:
            raise ValueError("a resumed run keeps its recipe; only steps may change (pass "
                             "dataclasses.replace(run.config, steps=...), which also names the run's own data files)")
        if config.steps < run.step:
            raise ValueError(f"steps must be at least the {run.step} steps the run has taken, got {config.steps}")
        if run.optimizer is None or run.rng is None:
            raise ValueError("this run has no optimizer or generator state, so it cannot be resumed")
    probe = _field_error_probe(config) if field_error_every else None
    draw = batch_sampler(config)
    path = make_path(config.path, config.sigma_min)
    gradient = backprop.loss_and_grad if config.grad == "backprop" else loss_and_grad
    params, optimizer, rng, ema = run.params, run.optimizer, run.rng, run.ema
    losses = numpy.empty(config.steps)
    losses[:run.step] = run.losses
    field_errors, extra = [tuple(row) for row in run.field_errors], ""

    def state(done):
        return Run(params, config, losses[:done].copy(), numpy.array(field_errors).reshape(-1, 2), optimizer, rng, ema)

    progress = _Progress(run.step, config.steps, log_every, stream)
    with _interrupts_between_steps() as interrupted:
        for step in range(run.step, config.steps):
            if interrupted():
                raise TrainingInterrupted(state(step))
            t, x_1, x_0 = (a.astype(config.dtype, copy=False) for a in draw(config.batch_size, rng))
            z = rng.standard_normal(x_1.shape).astype(config.dtype, copy=False) if path.blur else None
            optimizer.lr = scheduled_lr(config, step)
            try:
                params, losses[step] = training_step(params, optimizer, path, x_1, t, x_0, config.activation, gradient,
                                                     z)
            except TrainingDiverged as error:
                raise TrainingDiverged(
                    f"training diverged at step {step + 1}: {error}, with lr {config.lr:g}. Likely cause: a "
                    "learning rate too large for this model (try a smaller --lr) or data with very large values"
                ) from None
            if ema is not None:
                ema = ema_update(ema, params, ema_decay(config.ema, step))
            if callback is not None:
                callback(step, losses[step], params)
            if probe is not None and ((step + 1) % field_error_every == 0 or step + 1 == config.steps):
                t_probe, x_probe, f_exact = probe
                error = field_error(Run(params, config, losses, ema=ema).velocity, f_exact, t_probe, x_probe)
                field_errors.append((step + 1, error))
                extra = f"  field error {error:.4f}"
            progress(step, losses[step], extra)
            if checkpoint is not None and checkpoint_every and (step + 1) % checkpoint_every == 0:
                checkpoint(state(step + 1))
    return state(config.steps)

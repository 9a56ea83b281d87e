"""The training loop: a run's steps, one after another, with what a long run needs around them.

Each step is the algorithm of ``npflow.core.training``: draw a batch (x_0, x_1, t), sample
the path, the loss and its gradient, an optimizer step. The run's objective (``npflow.models``)
says how the batch is drawn and what the loss is; the loop never asks its name.

A ``Run`` holds the whole state of training (parameters, Adam's moments, the random
generator, the losses), so training can stop at any step and continue later to the same bits:
``train(config, resume=run)``. Ctrl-C is held until the current step ends, then raises
``TrainingInterrupted`` carrying that state; a non-finite loss or gradient raises
``TrainingDiverged`` before it can reach the parameters. The loop reaches the rest of the tool
only through narrow hooks: a ``callback`` after each step, a ``checkpoint`` every few, and the
progress line.
"""
import sys
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Optional

import numpy as np

from ..core.paths import make_path
from ..core.training import TrainingDiverged, ema_decay, ema_update, scheduled_lr, training_step
from ..models import objective_of
from .config import TrainConfig
from .field_error import field_error_probe
from .interrupts import interrupts_between_steps
from .progress import Progress
from .run import Run, start_run

__all__ = ["TrainingInterrupted", "train"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training between two steps; ``.run`` is the state after the last whole step."""

    def __init__(self, run):
        super().__init__(f"training interrupted at step {run.step} of {run.config.steps}")
        self.run = run


def _blur_draw(path, shape, rng, dtype):
    """z ~ N(0, I) of ``shape`` for the path's blur (icfm), drawn after the batch; None for a path without one."""
    return rng.standard_normal(shape).astype(dtype, copy=False) if path.blur else None


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
    step. The run's objective (``npflow.models``) draws the batch and says the times and the
    gradient: for MeanFlow the times are its intervals' starts and the loss its own; the step
    is the same. An objective whose batch is not a point on an affine path (discrete tokens)
    brings its whole step instead (``Objective.train_step``), in the same frame. Around it, what
    a long run needs, each a named piece: the learning-rate schedule, the moving average of the
    weights (EMA), the callback, the field-error probe, the progress line, checkpoints, and
    Ctrl-C held until the step ends.

    Every random draw comes, in a fixed order, from ``numpy.random.default_rng(config.seed)``:
    first the initial parameters, then per step t, x_1 and x_0 (the tutorial's order; with
    ``coupling="pairs"``, t and the rows of the table), then the path's blur z for a path
    that has one (icfm), and last, for MeanFlow, the intervals (s, t). The same config therefore
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
        learned field and the exact one (``npflow.core.metrics.field_error``) on 2,000 fixed path
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
    run, config = _run_to_continue(config, resume)
    objective = objective_of(config)
    take_step = _stepper(config, objective) if objective.train_step is None else _own_stepper(config, objective)
    probe = field_error_probe(config, field_error_every)
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
            params, losses[step] = take_step(params, optimizer, rng, step)
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


def _stepper(config, objective):
    """``take_step(params, optimizer, rng, step) -> (params, loss)``: one step of the module docstring's algorithm.

    The objective draws the batch (with its labels, if it learns classes) and says the times and
    the gradient; then the path's blur z, and ``training_step``.
    """
    draw, gradients = objective.batches(config), objective.gradients(config)
    path, predict = make_path(config.path, config.sigma_min), objective.predict(config)

    def take_step(params, optimizer, rng, step):
        x_0, x_1, t, *labels = draw(config.batch_size, rng)  # a batch, coupled; a conditional run's has labels
        z = _blur_draw(path, x_1.shape, rng, config.dtype)
        t, gradient = gradients(t, rng, *labels)  # MeanFlow: t becomes the starts s, and the gradient holds the ends
        optimizer.lr = scheduled_lr(config, step)
        with _naming_the_step(step, config.lr):
            return training_step(params, optimizer, path, x_0, x_1, t, config.activation, gradient, z, predict)

    return take_step


def _own_stepper(config, objective):
    """``take_step(params, optimizer, rng, step) -> (params, loss)``: the objective's own whole step
    (``Objective.train_step``), at the scheduled learning rate, a divergence named as ``_stepper``'s is."""
    own_step = objective.train_step(config)

    def take_step(params, optimizer, rng, step):
        optimizer.lr = scheduled_lr(config, step)
        with _naming_the_step(step, config.lr):
            return own_step(params, optimizer, rng)

    return take_step

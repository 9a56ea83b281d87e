"""Training: the conditional flow matching (CFM) loss, its gradient, and the loop.

One step, as in the seed tutorial::

    t   ~ U(0, 1)            (n,)       a time per point
    x_1 ~ p_data             (n, d)     data
    x_0 ~ N(0, I)            (n, d)     noise (the seed's eps)
    x_t, u_t = path.sample(x_1, t, x_0)
    L(theta) = mean over points and coordinates of (v_theta(t, x_t) - u_t)^2
    theta <- Adam(theta, dL/dtheta)

The gradient dL/dtheta comes from ``autograd.value_and_grad``, which traces ``cfm_loss``
(written in autograd-safe NumPy, see ``npflow.mlp``) and runs it backward.
"""
import math
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import autograd
import autograd.numpy as np
import numpy

from .data import get_dataset
from .metrics import field_error
from .mlp import ACTIVATIONS, init_mlp, layer_sizes, velocity
from .optim import Adam
from .paths import LinearPath

__all__ = ["TrainConfig", "Run", "cfm_loss", "draw_batch", "training_step", "train"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. The defaults are the seed tutorial's.

    Attributes
    ----------
    dataset : str
        A key of ``npflow.data.DATASETS``.
    steps : int
        Number of Adam steps.
    batch_size : int
    lr : float
        Adam's learning rate.
    hidden : tuple of int
        Hidden layer widths.
    activation : str
        A key of ``npflow.mlp.ACTIVATIONS``.
    sigma_min : float
        Width of the conditional path at t = 1, in [0, 1).
    seed : int
        Seed of the one ``numpy.random.Generator`` behind every draw.
    """

    dataset: str = "two_gaussians"
    steps: int = 10_000
    batch_size: int = 128
    lr: float = 1e-3
    hidden: tuple = (128, 128)
    activation: str = "relu"
    sigma_min: float = 0.0
    seed: int = 42

    def __post_init__(self):
        get_dataset(self.dataset)  # raises for an unknown name
        for name in ("steps", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, (int, numpy.integer)) and value > 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite positive number, got {self.lr!r}")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if not self.hidden or not all(isinstance(w, (int, numpy.integer)) and w > 0 for w in self.hidden):
            raise ValueError(f"hidden must be one or more positive integer widths, got {self.hidden!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; expected one of: {', '.join(ACTIVATIONS)}")
        LinearPath(self.sigma_min)  # raises unless 0 <= sigma_min < 1
        if not (isinstance(self.seed, (int, numpy.integer)) and self.seed >= 0):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def dim(self):
        """Dimension d of the data."""
        return get_dataset(self.dataset).dim

    @property
    def layer_sizes(self):
        """``[1 + d, *hidden, d]``."""
        return layer_sizes(self.dim, self.hidden)

    def to_dict(self):
        """A JSON-ready dict (``hidden`` as a list)."""
        return {**asdict(self), "hidden": list(self.hidden)}


@dataclass
class Run:
    """A trained field: what ``train`` returns and ``npflow.load_run`` reads back.

    Attributes
    ----------
    params : list of (W, b)
        The field's parameters.
    config : TrainConfig
        The recipe that trained them.
    losses : ndarray, shape (steps,)
        The loss at every step.
    field_errors : ndarray of shape (m, 2), or None
        Rows (step, field error against the exact field), when they were logged.
    """

    params: list
    config: TrainConfig
    losses: numpy.ndarray
    field_errors: Optional[numpy.ndarray] = None

    @property
    def dim(self):
        """Dimension d of the data."""
        return self.config.dim

    def velocity(self, t, x):
        """The learned field v_theta(t, x): t a float or shape (n,), x of shape (n, d); returns (n, d)."""
        if np.ndim(x) != 2 or np.shape(x)[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {np.shape(x)}")
        return velocity(self.params, t, x, self.config.activation)


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
    return np.mean((v_t - u_t) ** 2)


#: (params, t, x_t, u_t, activation) -> (loss, dloss/dparams), by reverse-mode autograd.
loss_and_grad = autograd.value_and_grad(cfm_loss)


def draw_batch(sample_data, n, rng):
    """Draw one training batch, in the seed's order: t ~ U(0, 1), then x_1 ~ p_data, then x_0 ~ N(0, I).

    Returns
    -------
    t : ndarray, shape (n,)
    x_1 : ndarray, shape (n, d)
    x_0 : ndarray, shape (n, d)
    """
    t = rng.random(n)
    x_1 = sample_data(n, rng)
    x_0 = rng.standard_normal(x_1.shape)
    return t, x_1, x_0


def training_step(params, optimizer, path, x_1, t, x_0, activation="relu"):
    """One step of flow matching: build the batch on the path, take the gradient, update.

    Parameters
    ----------
    params : list of (W, b)
    optimizer : Adam or SGD
    path : LinearPath
    x_1 : ndarray, shape (n, d)
        Data.
    t : ndarray, shape (n,)
        Times.
    x_0 : ndarray, shape (n, d)
        Noise.
    activation : str

    Returns
    -------
    params : list of (W, b)
        Updated parameters.
    loss : float
        The loss before the update.
    """
    x_t, u_t = path.sample(x_1, t, x_0)
    loss, grads = loss_and_grad(params, t, x_t, u_t, activation)
    return optimizer.step(params, grads), float(loss)


class _Progress:
    """Prints 'step, loss, steps/s, ETA' every ``every`` steps and at the end."""

    def __init__(self, total, every, stream):
        self.total, self.every, self.stream = total, every, stream
        self.start = time.perf_counter()

    def __call__(self, step, loss, extra=""):
        done = step + 1
        if self.stream is None or not self.every or (done % self.every and done != self.total):
            return
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        eta = (self.total - done) / rate
        width = len(str(self.total))
        print(f"step {done:>{width}}/{self.total}  loss {loss:.4f}{extra}  {rate:,.0f} steps/s  ETA {eta:.0f}s",
              file=self.stream, flush=True)


def _field_error_probe(config, n=2000):
    """A fixed set of path points (t, x_t) and the exact field, for logging the field error.

    Drawn from its own generator, ``default_rng([seed, 1])``, so logging changes no training bit.
    """
    from .oracle import exact_velocity  # only needed when logging

    mixture = get_dataset(config.dataset).mixture
    if mixture is None:
        raise ValueError(f"the field error needs a dataset with a known exact field; {config.dataset!r} has none")
    t, x_1, x_0 = draw_batch(mixture.sample, n, numpy.random.default_rng([config.seed, 1]))
    x_t, _ = LinearPath(config.sigma_min).sample(x_1, t, x_0)
    return t, x_t, exact_velocity(mixture, config.sigma_min)


def train(config=None, callback: Optional[Callable] = None, log_every=1000, stream=sys.stderr, field_error_every=0):
    """Train a vector field by conditional flow matching.

    Every random draw comes, in a fixed order, from ``numpy.random.default_rng(config.seed)``:
    first the initial parameters, then per step t, x_1 and x_0 (the seed's order). The same
    config therefore gives bit-identical parameters on one machine.

    Parameters
    ----------
    config : TrainConfig, optional
        Defaults to the seed's recipe, ``TrainConfig()``.
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

    Returns
    -------
    Run

    Examples
    --------
    >>> result = train(TrainConfig(steps=3, hidden=(8,)), stream=None)
    >>> result.losses.shape
    (3,)
    """
    config = TrainConfig() if config is None else config
    probe = _field_error_probe(config) if field_error_every else None
    rng = numpy.random.default_rng(config.seed)
    sample_data = get_dataset(config.dataset).sample
    path = LinearPath(config.sigma_min)
    params = init_mlp(config.layer_sizes, rng)
    optimizer = Adam(lr=config.lr)
    losses, field_errors, extra = numpy.empty(config.steps), [], ""
    progress = _Progress(config.steps, log_every, stream)
    for step in range(config.steps):
        t, x_1, x_0 = draw_batch(sample_data, config.batch_size, rng)
        params, losses[step] = training_step(params, optimizer, path, x_1, t, x_0, config.activation)
        if callback is not None:
            callback(step, losses[step], params)
        if probe is not None and ((step + 1) % field_error_every == 0 or step + 1 == config.steps):
            t_probe, x_probe, f_exact = probe
            error = field_error(Run(params, config, losses).velocity, f_exact, t_probe, x_probe)
            field_errors.append((step + 1, error))
            extra = f"  field error {error:.4f}"
        progress(step, losses[step], extra)
    return Run(params=params, config=config, losses=losses,
               field_errors=numpy.array(field_errors) if probe is not None else None)

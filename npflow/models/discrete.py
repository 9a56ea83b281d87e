"""Discrete flow matching, as a registered objective: sequences of tokens that jump from a source to the data.

A run learns the factorized posterior p_theta(x_1^i | x_t) (``npflow.discrete.posterior``) of a
dataset of tokens (``Dataset.vocabulary`` V > 0, ``Dataset.tokens``): the grids, the digits as
64 pixels over 17 values, or a file of whole numbers. Its source is one of its own
(``TrainConfig.source`` ``"mask"`` or ``"uniform"``, ``npflow.discrete.sources``). One training step::

    x_1 ~ data tokens, x_0 ~ source, t ~ U(0, 1)        (n, D), (n, D), (n,)
    x_t ~ mixture path: x_1^i w.p. kappa(t), else x_0^i  (n, D)
    L = - mean log p_theta(x_1^i | x_t)                  (over every token, or the masked ones)
    theta <- Adam(theta, dL/dtheta)

and a run samples by the jump process of ``npflow.discrete.sampling`` with its posterior, in
``--steps`` steps: integer tokens, shape (n, D). It has no velocity field and no likelihood.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from ..core.backprop import backward, forward
from ..core.optim import tree_flatten
from ..core.solvers import Trajectory
from ..core.training import TrainingDiverged
from ..data.datasets import get_dataset
from ..discrete.paths import sample_path
from ..discrete.posterior import cross_entropy_and_grad, features, init_posterior, one_hot, posterior_probs
from ..discrete.sampling import STEPS, sample_tokens
from ..discrete.schedulers import scheduler_named
from ..discrete.sources import SOURCES, draw_source, states
from .registry import Objective, register

__all__ = ["DiscreteOptions", "DISCRETE", "token_shape", "cross_entropy_and_grad_by_hand", "posterior_of",
           "sample_run", "check_no_solver"]

#: The schedulers the command line offers (``npflow.discrete.schedulers.scheduler_named`` takes any t^k, k >= 1).
SCHEDULERS = ("linear", "t^2", "t^3")


@dataclass(frozen=True)
class DiscreteOptions:
    """The settings of discrete flow matching's own.

    Attributes
    ----------
    scheduler : str
        kappa(t): ``"linear"`` (kappa = t) or ``"t^k"`` (``npflow.discrete.schedulers``).
    masked_only : bool
        Average the cross-entropy over the tokens still MASK in x_t (a masked source only): the
        others show their data already.
    transition : str
        How a sampling step turns the probability velocity into the next token's law:
        ``"euler"``, ``"exponential"`` or ``"flow_matching"`` (``npflow.discrete.velocity``).
    warmup : float
        Steps over which the learning rate rises linearly from lr / warmup to the schedule's; 0 for none.
    """

    scheduler: str = field(default="linear", metadata={"choices": SCHEDULERS, "help": (
        "with --objective discrete: kappa(t), the probability that a token shows its data at time t")})
    masked_only: bool = field(default=False, metadata={"flag": True, "help": (
        "with --objective discrete --source mask: the cross-entropy of the tokens still masked in x_t only")})
    transition: str = field(default="euler", metadata={"choices": STEPS, "help": (
        "with --objective discrete: a sampling step's law from the probability velocity: Euler's (clipped), "
        "1 - exp(-h rate), or flow_matching's")})
    warmup: float = field(default=0.0, metadata={"metavar": "STEPS", "number": "non_negative", "help": (
        "with --objective discrete: raise the learning rate linearly over the first STEPS steps; 0 is off")})


def token_shape(config):
    """(D, V, S): tokens per sequence, the data's vocabulary and the symbols of x_t; a ValueError for data without
    tokens."""
    dataset = get_dataset(config.dataset)
    if not dataset.vocabulary:
        raise ValueError(f"objective 'discrete' learns tokens, and dataset {config.dataset!r} has none: give a grid "
                         "(grid_eight_gaussians, grid_checkerboard), digits, or a file of whole numbers >= 0")
    return dataset.dim, dataset.vocabulary, states(config.source, dataset.vocabulary)


def cross_entropy_and_grad_by_hand(params, t, x_t, x_1, V, S, activation="relu", masked_only=False):
    """``npflow.discrete.posterior.cross_entropy_and_grad`` by the chain rule by hand (``npflow.core.backprop``).

    With w the tokens averaged (all, or the masked ones) and m = max(sum w, 1)::

        L = - sum_{n, i} w_ni log softmax(logits_ni)[x_1^i] / m
        dL/dlogits_ni = w_ni (softmax(logits_ni) - onehot(x_1^i)) / m      (n, D, V)

    then ``backward`` through the MLP. The same numbers as autograd's, to rounding, and faster.
    """
    n, D = np.shape(x_t)
    W_first = params[0][0]
    logits, cache = forward(params, features(t, x_t, S).astype(W_first.dtype, copy=False), activation)
    logits = logits.reshape(n, D, V)
    log_p = logits - logsumexp(logits, axis=-1, keepdims=True)  # (n, D, V)
    target = one_hot(x_1, V)  # (n, D, V)
    weights = (np.asarray(x_t) == V) if masked_only else np.ones((n, D))  # (n, D)
    m = max(float(weights.sum()), 1.0)
    loss = -float(np.sum(np.sum(log_p * target, axis=-1) * weights)) / m
    d_logits = (np.exp(log_p) - target) * (weights[:, :, None] / m)  # (n, D, V)
    return loss, backward(params, cache, d_logits.reshape(n, D * V).astype(W_first.dtype, copy=False), activation)


def _train_step(config):
    """``step(params, optimizer, rng) -> (params, loss)``: the module docstring's step; draws x_1, x_0, t, then
    the path's uniforms, from ``rng`` in that order."""
    D, V, S = token_shape(config)
    options, tokens = config.options, get_dataset(config.dataset).tokens
    scheduler = scheduler_named(options.scheduler)
    gradient = cross_entropy_and_grad_by_hand if config.grad == "backprop" else cross_entropy_and_grad

    def step(params, optimizer, rng):
        n = config.batch_size
        x_1 = tokens(n, rng)  # (n, D)
        x_0 = draw_source(config.source, n, D, V, rng)  # (n, D)
        t = rng.random(n)  # (n,)
        x_t = sample_path(x_0, x_1, t, scheduler, rng)  # (n, D)
        with np.errstate(all="ignore"):  # a NaN or an inf is refused by _finite, before any update
            loss, grads = _finite(*gradient(params, t.astype(config.dtype), x_t, x_1, V, S, config.activation,
                                            options.masked_only))
        if options.warmup:  # the loop set the schedule's lr; the warm-up scales it over the first steps
            optimizer.lr *= min(1.0, (optimizer.step_count + 1) / options.warmup)
        return optimizer.step(params, [(W.astype(config.dtype), b.astype(config.dtype)) for W, b in grads]), float(loss)

    return step


def _finite(loss, grads):
    """The cross-entropy and its gradient, or ``TrainingDiverged`` in one line if either is not finite."""
    finite_loss = bool(np.isfinite(loss))
    if finite_loss and np.isfinite(tree_flatten(grads)).all():
        return loss, grads
    what = "the gradient of the cross-entropy is not finite" if finite_loss else "the cross-entropy is not finite"
    raise TrainingDiverged(f"{what} (cross-entropy {float(loss):.4g})")


def posterior_of(config, params):
    """``posterior(t, x_t) -> p_1`` (n, D, V): the run's p_theta(x_1^i | x_t), as the sampler takes it."""
    D, V, S = token_shape(config)
    return lambda t, x_t: posterior_probs(params, t, x_t, V, S, config.activation)


def sample_run(config, params, x_0, steps, rng, keep=False):
    """The jump process of a run (its recipe ``config``, its weights ``params``) from the tokens x_0 (n, D) in
    ``steps`` steps: ``npflow.discrete.sampling.sample_tokens`` with the run's posterior, scheduler and transition."""
    return sample_tokens(posterior_of(config, params), x_0, steps, scheduler_named(config.options.scheduler), rng,
                         token_shape(config)[2], config.options.transition, keep=keep)


def _sample(run, x_0, solver, steps, rng):
    """The jump process from the tokens x_0 (n, D) in ``steps`` steps, with the run's posterior; a Trajectory of
    x_0 and the tokens at t = 1 (x of shape (2, n, D), int64)."""
    check_no_solver(solver)
    if rng is None:
        raise ValueError("a discrete run's sampler draws its jumps: give it a numpy.random.Generator")
    tokens = sample_run(run.config, run.field_params, x_0, steps, rng)
    return Trajectory(np.array([0.0, 1.0]), np.stack([np.asarray(x_0, dtype=np.int64), tokens.x]), tokens.nfe,
                      tokens.method)


def check_no_solver(solver):
    """Refuse a solver named for a discrete run, which samples by its own jumps (``solver`` None)."""
    if solver is not None:
        raise ValueError(f"a discrete run samples by the jumps of its tokens; leave out --solver (got {solver!r})")


def _check(config):
    """The options, the source and what else of the recipe a run of tokens takes."""
    options = config.options
    if config.source not in SOURCES:
        raise ValueError(f"objective 'discrete' starts from a source of tokens, {' or '.join(SOURCES)}; got source "
                         f"{config.source!r}")
    scheduler_named(options.scheduler)  # raises for an unknown name
    if options.transition not in STEPS:
        raise ValueError(f"transition must be one of {', '.join(STEPS)}, got {options.transition!r}")
    if not isinstance(options.masked_only, bool):
        raise ValueError(f"masked_only must be True or False, got {options.masked_only!r}")
    if options.masked_only and config.source != "mask":
        raise ValueError("masked_only averages over the masked tokens: it needs source 'mask'")
    if not (isinstance(options.warmup, (int, float)) and np.isfinite(options.warmup) and options.warmup >= 0):
        raise ValueError(f"warmup must be a number of steps >= 0, got {options.warmup!r}")
    if config.network != "mlp" or config.coupling != "independent":
        raise ValueError("objective 'discrete' learns its posterior on the MLP (network 'mlp') from independent pairs "
                         f"(coupling 'independent'); got network {config.network!r}, coupling {config.coupling!r}")


def _no_field(config, params=None):
    raise ValueError("a discrete run moves tokens by jumps: it has no velocity field (npflow sample runs its jumps)")


def _sizes(config):
    D, V, S = token_shape(config)
    return [1 + D * S, *config.hidden, D * V]


DISCRETE = register(Objective(
    name="discrete", summary="discrete flow matching: the posterior of tokens, which jump from a masked or uniform "
                             "source",
    options=DiscreteOptions, check=_check, sizes=_sizes,
    init=lambda config, rng: init_posterior(*token_shape(config), config.hidden, rng),
    batches=_no_field, gradients=_no_field, output=_no_field, velocity=_no_field,
    predict=lambda config: "data", labelled=lambda config: False,
    sample=_sample, solver="jumps", likelihood=False, train_step=_train_step, sources=SOURCES,
    draw_source=lambda config, n, rng: draw_source(config.source, n, *token_shape(config)[:2], rng),
    dim=lambda config, params: token_shape(config)[0]))

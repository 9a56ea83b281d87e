"""MeanFlow, as a registered objective: the average velocity over an interval, sampled in a few jumps.

A MeanFlow step draws its batch as flow matching does, then the intervals (s, t), and regresses
the network on the MeanFlow target (``npflow.meanflow``). Its network is the MLP on
[s, t - s, x]; the field the samplers see is u(t, t, x) = v(t, x), but such a run samples by its
jumps, and has no likelihood (the density of a jump's output would need the log-determinant of
the jump's Jacobian).
"""
import math
from dataclasses import dataclass, field

from ..core.mlp import init_mlp
from ..meanflow.average import average_velocity, instantaneous_velocity, meanflow_sizes
from ..meanflow.jumps import JUMPS, sample_by_jumps
from ..meanflow.loss import TIME_DISTRIBUTIONS, draw_times, meanflow_loss_and_grad, meanflow_loss_and_grad_by_hand
from .batches import batch_sampler
from .registry import Objective, register

__all__ = ["MeanFlowOptions", "PAPER_RECIPE", "MEANFLOW", "meanflow_objective"]


@dataclass(frozen=True)
class MeanFlowOptions:
    """The settings of MeanFlow's own: the intervals' draw and the loss's weights (``npflow.meanflow.loss``).

    The defaults are uniform times, half the pairs with s = t and no weighting. The paper's
    recipe is ``PAPER_RECIPE``: 0.75 of the pairs with s = t, logit-normal times with the
    paper's (-0.4, 1.0) in npflow's time, (0.4, 1.0), and weights with p = 1, c = 1e-3.

    Attributes
    ----------
    share_equal : float
        The share of a batch's intervals with s = t, in [0, 1]: those pairs are flow matching's.
    times : str
        How the two times are drawn before they are sorted: ``"uniform"``, tau ~ U(0, 1), or
        ``"logit_normal"``, tau = sigmoid(time_mean + time_std * z) with z ~ N(0, 1).
    time_mean, time_std : float
        The logit-normal's mean and std (std > 0), in npflow's time (noise at 0, data at 1).
    weight_power, weight_eps : float
        p >= 0 and c > 0 of the adaptive weights w_i = 1 / (||e_i||^2 + c)^p; p = 0 is the plain
        squared error.
    """

    share_equal: float = field(default=0.5, metadata={"metavar": "SHARE", "number": "probability", "help": (
        "with --objective meanflow: the share of a batch's intervals with s = t (plain flow matching)")})
    times: str = field(default="uniform", metadata={"choices": TIME_DISTRIBUTIONS, "help": (
        "with --objective meanflow: how the two times of an interval are drawn, uniform or "
        "sigmoid(N(--time-mean, --time-std))")})
    time_mean: float = field(default=0.4, metadata={"metavar": "MEAN", "help": (
        "with --times logit_normal: the mean of the normal, in npflow's time (data at 1); the paper's "
        "-0.4, in its time, is 0.4 here")})
    time_std: float = field(default=1.0, metadata={"metavar": "STD", "number": "positive", "help": (
        "with --times logit_normal: the std of the normal")})
    weight_power: float = field(default=0.0, metadata={"metavar": "P", "number": "non_negative", "help": (
        "with --objective meanflow: weight each point's squared error e by 1 / (e + --weight-eps)^P, "
        "a constant to the gradient; 0 is off, the paper's is 1")})
    weight_eps: float = field(default=1e-3, metadata={"metavar": "C", "number": "positive", "help": (
        "with --weight-power: the constant c of the weights")})


#: The paper's training recipe (Geng et al. 2025, its Table 1), as MeanFlow's options.
PAPER_RECIPE = MeanFlowOptions(share_equal=0.75, times="logit_normal", time_mean=0.4, time_std=1.0,
                               weight_power=1.0, weight_eps=1e-3)


def meanflow_objective(grad="autograd", dtype="float64", options=MeanFlowOptions()):
    """What MeanFlow changes in a training step of ``npflow.train``: the times, and the loss.

    ``npflow.core.training.training_step`` samples the path at the times it is given and then calls
    ``gradient(params, t, x_t, u_t, activation)``. A MeanFlow step gives it the starts s, so that
    (x_t, u_t) are (x_s, v_s), and a gradient ``gradient(params, s, x_s, v_s, activation)`` of the
    MeanFlow loss with the ends t and the weights' (p, c) bound in. The rest of the step (the
    path, the checks for NaN, the optimizer) is flow matching's.

    Parameters
    ----------
    grad : str
        ``"autograd"`` (``meanflow_loss_and_grad``) or ``"backprop"`` (``meanflow_loss_and_grad_by_hand``).
    dtype : str
        The dtype of the times, as of the batches.
    options : MeanFlowOptions
        The intervals' draw (``draw_times``) and the loss's weights.

    Returns
    -------
    callable
        ``objective(batch_t, rng) -> (s, gradient)``. The batch's own times ``batch_t`` (from
        ``npflow.core.training.draw_batch``) give only their count n: (s, t) are drawn from ``rng``
        by ``draw_times``, after the batch.
    """
    loss_and_grad = meanflow_loss_and_grad_by_hand if grad == "backprop" else meanflow_loss_and_grad

    def objective(batch_t, rng):
        s, t = (times.astype(dtype) for times in draw_times(len(batch_t), rng, options.share_equal, options.times,
                                                            options.time_mean, options.time_std))  # (n,) each

        def gradient(params, s, x_s, v_s, activation):  # training_step's order (params, t, x_t, u_t, activation)
            return loss_and_grad(params, s, t, x_s, v_s, activation, options.weight_power, options.weight_eps)

        return s, gradient

    return objective


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(config):
    options = config.options
    if not (_is_number(options.share_equal) and 0.0 <= options.share_equal <= 1.0):
        raise ValueError(f"share_equal must be a share in [0, 1], got {options.share_equal!r}")
    if options.times not in TIME_DISTRIBUTIONS:
        raise ValueError(f"times must be one of {', '.join(TIME_DISTRIBUTIONS)}, got {options.times!r}")
    for name, valid, expected in [("time_mean", _is_number, "a finite number"),
                                  ("time_std", lambda x: _is_number(x) and x > 0, "a finite number > 0"),
                                  ("weight_power", lambda x: _is_number(x) and x >= 0, "a finite number >= 0"),
                                  ("weight_eps", lambda x: _is_number(x) and x > 0, "a finite number > 0")]:
        if not valid(getattr(options, name)):
            raise ValueError(f"{name} must be {expected}, got {getattr(options, name)!r}")
    if config.network != "mlp":
        raise ValueError(f"network {config.network!r} learns a velocity by flow matching (objective 'cfm'); "
                         "objective 'meanflow' learns on the MLP (network 'mlp')")


def _average(config, params):
    """``u(s, t, x)``: the run's average velocity."""
    return lambda s, t, x: average_velocity(params, s, t, x, config.activation)


def _sample(run, x_0, solver, steps, rng):
    """The run's jumps of its average velocity (``sample_by_jumps``); they draw nothing from ``rng``."""
    return sample_by_jumps(run.average_velocity, x_0, solver, steps)


MEANFLOW = register(Objective(
    name="meanflow", summary="MeanFlow's average velocity over an interval, which samples in a few jumps, even one",
    options=MeanFlowOptions, check=_check,
    sizes=lambda config: meanflow_sizes(config.dim, config.hidden),
    init=lambda config, rng: init_mlp(meanflow_sizes(config.dim, config.hidden), rng),
    batches=batch_sampler,
    gradients=lambda config: meanflow_objective(config.grad, config.dtype, config.options),
    output=lambda config, params: lambda t, x: instantaneous_velocity(params, t, x, config.activation),
    velocity=lambda config, params: lambda t, x: instantaneous_velocity(params, t, x, config.activation),
    predict=lambda config: "velocity", labelled=lambda config: False,
    average=_average,
    sample=_sample,
    solver=JUMPS, likelihood=False))

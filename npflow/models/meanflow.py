"""MeanFlow, as a registered objective: the average velocity over an interval, sampled in a few jumps.

A MeanFlow step draws its batch as flow matching does, then the intervals (s, t), and regresses
the network on the MeanFlow target (``npflow.meanflow``). Its network is the MLP on
[s, t - s, x]; the field the samplers see is u(t, t, x) = v(t, x), but such a run samples by its
jumps, and has no likelihood (the density of a jump's output would need the log-determinant of
the jump's Jacobian).
"""
from dataclasses import dataclass, field

from ..core.mlp import init_mlp
from ..meanflow.average import average_velocity, instantaneous_velocity, meanflow_sizes
from ..meanflow.jumps import JUMPS, sample_by_jumps
from ..meanflow.loss import draw_times, meanflow_loss_and_grad, meanflow_loss_and_grad_by_hand
from .batches import batch_sampler
from .registry import Objective, register

__all__ = ["MeanFlowOptions", "MEANFLOW", "meanflow_objective"]


@dataclass(frozen=True)
class MeanFlowOptions:
    """The settings of MeanFlow's own.

    Attributes
    ----------
    share_equal : float
        The share of a batch's intervals with s = t, in [0, 1]: those pairs are flow matching's
        (``npflow.meanflow.loss.draw_times``).
    """

    share_equal: float = field(default=0.5, metadata={"metavar": "SHARE", "help": (
        "with --objective meanflow: the share of a batch's intervals with s = t (plain flow matching)")})


def meanflow_objective(grad="autograd", dtype="float64", share_equal=0.5):
    """What MeanFlow changes in a training step of ``npflow.train``: the times, and the loss.

    ``npflow.core.training.training_step`` samples the path at the times it is given and then calls
    ``gradient(params, t, x_t, u_t, activation)``. A MeanFlow step gives it the starts s, so that
    (x_t, u_t) are (x_s, v_s), and a gradient ``gradient(params, s, x_s, v_s, activation)`` of the
    MeanFlow loss with the ends t bound in. The rest of the step (the path, the checks for NaN,
    the optimizer) is flow matching's.

    Parameters
    ----------
    grad : str
        ``"autograd"`` (``meanflow_loss_and_grad``) or ``"backprop"`` (``meanflow_loss_and_grad_by_hand``).
    dtype : str
        The dtype of the times, as of the batches.
    share_equal : float
        The share of pairs with s = t, as for ``draw_times``.

    Returns
    -------
    callable
        ``objective(batch_t, rng) -> (s, gradient)``. The batch's own times ``batch_t`` (from
        ``npflow.core.training.draw_batch``) give only their count n: (s, t) are drawn from ``rng``
        by ``draw_times``, after the batch.
    """
    loss_and_grad = meanflow_loss_and_grad_by_hand if grad == "backprop" else meanflow_loss_and_grad

    def objective(batch_t, rng):
        s, t = (times.astype(dtype) for times in draw_times(len(batch_t), rng, share_equal))  # (n,) each

        def gradient(params, s, x_s, v_s, activation):  # training_step's order (params, t, x_t, u_t, activation)
            return loss_and_grad(params, s, t, x_s, v_s, activation)

        return s, gradient

    return objective


def _check(config):
    share = config.options.share_equal
    if not (isinstance(share, (int, float)) and 0.0 <= share <= 1.0):
        raise ValueError(f"share_equal must be a share in [0, 1], got {share!r}")
    if config.network != "mlp":
        raise ValueError(f"network {config.network!r} learns a velocity by flow matching (objective 'cfm'); "
                         "objective 'meanflow' learns on the MLP (network 'mlp')")


def _average(config, params):
    """``u(s, t, x)``: the run's average velocity."""
    return lambda s, t, x: average_velocity(params, s, t, x, config.activation)


MEANFLOW = register(Objective(
    name="meanflow", summary="MeanFlow's average velocity over an interval, which samples in a few jumps, even one",
    options=MeanFlowOptions, check=_check,
    sizes=lambda config: meanflow_sizes(config.dim, config.hidden),
    init=lambda config, rng: init_mlp(meanflow_sizes(config.dim, config.hidden), rng),
    batches=batch_sampler,
    gradients=lambda config: meanflow_objective(config.grad, config.dtype, config.options.share_equal),
    output=lambda config, params: lambda t, x: instantaneous_velocity(params, t, x, config.activation),
    velocity=lambda config, params: lambda t, x: instantaneous_velocity(params, t, x, config.activation),
    predict=lambda config: "velocity", labelled=lambda config: False,
    average=_average,
    sample=sample_by_jumps,
    solver=JUMPS, likelihood=False))

"""The field a run's likelihood integrates: its velocity, carrying its exact divergence where a closed form exists."""
from .run import Run

__all__ = ["scoring_field"]


def scoring_field(run, dtype="float64"):
    """The field the likelihood of ``run`` integrates: ``run.velocity``, knowing its divergence where it can.

    Where the run's objective has a closed form for the divergence of its field (the tutorial's
    unconditional MLP of two hidden layers, predicting the velocity:
    ``npflow.core.mlp_divergence``), the field carries ``velocity_and_divergence``, that form of
    its weights in ``dtype``, which ``npflow.core.likelihood.divergence`` takes for the exact
    divergence. Any other run's field, and anything that is not a ``Run``, is ``run.velocity``
    itself, scored by autograd in its own precision.

    Parameters
    ----------
    run : npflow.Run
    dtype : str or numpy dtype
        The network's arithmetic in the closed form.

    Returns
    -------
    f : callable
        ``f(t, x) -> (n, d)``.
    """
    if not isinstance(run, Run) or run.objective.divergence is None:
        return run.velocity
    weights = [(W.astype(dtype), b.astype(dtype)) for W, b in run.field_params]  # the moving average if any
    closed_form = run.objective.divergence(run.config, weights)
    if closed_form is None:
        return run.velocity

    def f(t, x):  # run.velocity, as a function that can carry the closed form
        return run.velocity(t, x)

    f.velocity_and_divergence = closed_form
    return f

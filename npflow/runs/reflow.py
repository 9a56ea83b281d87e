"""Reflow: straighten a trained flow by training a new one on the pairs it makes.

Rectified flow (Liu, Gong and Liu, 2023, "Flow Straight and Fast: Learning to Generate and
Transfer Data with Rectified Flow"). A trained flow carries each source point x_0 to one point
x_1, the end of its ODE trajectory::

    x_0 ~ p_0,        x_1 = x_0 + integral from 0 to 1 of v_theta(t, x(t)) dt

These pairs are a coupling of p_0 and the model's p_1 that is no longer random: trajectories of
an ODE never cross, so the straight lines between its pairs cross far less than the lines
between independent pairs do. A new field trained on those lines (the linear path with
sigma_min = 0, coupling ``"pairs"``)::

    x_t = t * x_1 + (1 - t) * x_0,        u_t = x_1 - x_0

has paths that are nearly straight, so a few Euler steps, even one, land close to where the
exact solution of the first flow would. The price: the new flow learns the first flow's
samples, errors included, and the pairs must be computed accurately (an adaptive solver with a
tight tolerance by default), or the solver's error is learned too.
"""
import numpy as np

from ..core.checks import count_non_finite_rows
from ..core.sampling import generate
from .config import TrainConfig

__all__ = ["reflow_pairs", "reflow_config"]


def reflow_pairs(run, n, rng, solver="RK45", steps=100, rtol=1e-6, atol=1e-6):
    """Draw n source points and carry each through the run's flow: the pairs to reflow on.

    Parameters
    ----------
    run : Run
        The trained flow; it samples with its moving average, if it keeps one.
    n : int
        Number of pairs.
    rng : numpy.random.Generator
        Draws the source points x_0.
    solver, steps, rtol, atol
        As for ``npflow.integrate``; tight by default, so the pairs are the flow's, not the solver's.

    Returns
    -------
    x_0 : ndarray, shape (n, d)
        Source points.
    x_1 : ndarray, shape (n, d)
        Where the flow takes them at t = 1.

    Raises
    ------
    ValueError
        If the flow carries some point to NaN or infinity.
    """
    # >>> exercise reflow_pair: x_0 from the run's source with rng; x_1 where the run's flow carries x_0 at t = 1 (generate, solver arguments as given)
    x_0 = run.config.source_distribution.sample(n, rng)
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite ends are checked below, with one message
        x_1 = generate(run.velocity, x_0, solver, steps=steps, rtol=rtol, atol=atol).x[-1]
    # <<< exercise
    lost = count_non_finite_rows(x_1)
    if lost:
        raise ValueError(f"the flow carried {lost} of {n} source points to NaN or infinity; "
                         "its run cannot make pairs to reflow on")
    return x_0, x_1


def reflow_config(config, pairs_file, **changes):
    """The recipe of a reflow: ``config`` trained on the straight lines between the pairs in ``pairs_file``.

    That is coupling ``"pairs"``, the linear path, sigma_min = 0 and a network that predicts
    the velocity. Everything else of the first run's recipe is kept (its dataset, to evaluate
    against, and its source, to sample from); ``changes`` override any field, e.g. ``steps=3000``.

    Returns
    -------
    TrainConfig
    """
    return TrainConfig.from_settings({**config.to_dict(), "coupling": "pairs", "pairs_file": pairs_file,
                                      "path": "linear", "sigma_min": 0.0, "predict": "velocity", **changes})

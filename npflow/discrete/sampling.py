"""Sampling: the jump process from x_0 at t = 0 to the data at t = 1, in N steps of h = 1 / N.

At t_k = k h, for k = 0 .. N - 1, every token is redrawn from the step's probabilities::

    p_1 = posterior(t_k, x)                         (n, D, V)   p(x_1^i | x_{t_k})
    u   = probability_velocity(p_1, x, t_k)         (n, D, S)
    x  ~ step(x, u, h)                              (n, D)      Euler, exponential or flow_matching's

and the last step, from t = 1 - h, draws x_1^i ~ p_1 itself, as flow_matching's solver does: the
rates c = kappa'/(1 - kappa) blow up at t = 1, and every token must end on a data symbol (with a
masked source none may stay MASK). For kappa = t the Euler step from t = 1 - h *is* that draw,
since it jumps with probability h kappa'(t) / (1 - kappa(t)) = h / h = 1 to a posterior draw.
"""
from typing import NamedTuple

import numpy as np

from .velocity import (draw_tokens, euler_probabilities, exponential_probabilities, flow_matching_probabilities,
                       padded, probability_velocity)

__all__ = ["STEPS", "Tokens", "step_probabilities", "sample_tokens"]

#: The steps of the jump process by name (``npflow.discrete.velocity``).
STEPS = ("euler", "exponential", "flow_matching")


class Tokens(NamedTuple):
    """The sampler's output.

    Attributes
    ----------
    x : ndarray of int64
        The final tokens, (n, D); with ``keep=True`` every state, (steps + 1, n, D).
    t : ndarray, shape (steps + 1,)
        The times t_k = k / steps.
    nfe : int
        Posterior evaluations, one per step.
    method : str
        E.g. ``"euler, 64 steps"``.
    """
    x: np.ndarray
    t: np.ndarray
    nfe: int
    method: str


def step_probabilities(p_1, x_t, t, h, scheduler, S, step="euler"):
    """The probabilities (n, D, S) of the tokens after one step of length h from (t, x_t).

    A posterior draw, ``p_1`` padded to S symbols, when t + h reaches 1 (the last step).

    Parameters
    ----------
    p_1 : ndarray, shape (n, D, V)
        The posterior at (t, x_t).
    x_t : ndarray of int, shape (n, D)
    t, h : float
    scheduler : Scheduler
    S : int
    step : str
        One of ``STEPS``.
    """
    check_step(step)
    if t + h >= 1.0 - 1e-12:
        return padded(p_1, S)
    if step == "flow_matching":
        return flow_matching_probabilities(p_1, x_t, t, h, scheduler, S)
    u = probability_velocity(p_1, x_t, t, scheduler, S)
    if step == "euler":
        return euler_probabilities(x_t, u, h, S)
    return exponential_probabilities(x_t, u, h, S)


def sample_tokens(posterior, x_0, steps, scheduler, rng, S, step="euler", keep=False):
    """Run the jump process from x_0 at t = 0 to t = 1 in ``steps`` steps of h = 1 / steps.

    Parameters
    ----------
    posterior : callable
        ``posterior(t, x_t) -> p_1`` of shape (n, D, V), t a float.
    x_0 : ndarray of int, shape (n, D)
    steps : int
        At least 1.
    scheduler : Scheduler
    rng : numpy.random.Generator
    S : int
        Symbols per token.
    step : str
        One of ``STEPS``.
    keep : bool
        Keep every state, not only the last.

    Returns
    -------
    Tokens
    """
    check_step(step)
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    h = 1.0 / steps
    times = np.arange(steps + 1) * h
    x = np.asarray(x_0, dtype=np.int64)
    states = [x]
    for t in times[:-1]:
        p_1 = posterior(float(t), x)  # (n, D, V)
        x = draw_tokens(step_probabilities(p_1, x, float(t), h, scheduler, S, step), rng)  # (n, D)
        states.append(x)
    return Tokens(np.stack(states) if keep else x, times, int(steps), f"{step}, {steps} steps")


def check_step(step):
    """A ValueError unless ``step`` is one of ``STEPS``."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}: expected one of {', '.join(STEPS)}")

"""The mixture path's scheduler kappa(t): the probability that a token shows its data at time t.

kappa is increasing, kappa(0) = 0 (every token at the source) and kappa(1) = 1 (every token at
the data). ``polynomial(k)`` is kappa(t) = t^k, flow_matching's ``PolynomialConvexScheduler(n=k)``
(its alpha_t is kappa, its sigma_t is 1 - kappa); k = 1 is the linear scheduler.
"""
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Scheduler", "polynomial", "scheduler_named"]


@dataclass(frozen=True)
class Scheduler:
    """kappa(t) and its derivative kappa'(t), vectorised over t.

    Attributes
    ----------
    name : str
        ``"linear"`` or ``"t^k"``; ``scheduler_named(name)`` gives it back.
    kappa : callable
        ``kappa(t)``, t a float or an ndarray; same shape out.
    d_kappa : callable
        ``d_kappa(t) = kappa'(t)``.
    """
    name: str
    kappa: Callable
    d_kappa: Callable


def polynomial(k=1.0):
    """kappa(t) = t^k and kappa'(t) = k t^(k-1); k = 1 is ``linear``.

    Parameters
    ----------
    k : float
        At least 1: below it kappa'(0) = k 0^(k - 1) is infinite, and so is the sampler's first rate.

    Examples
    --------
    >>> float(polynomial(2.0).kappa(0.5)), float(polynomial(2.0).d_kappa(0.5))
    (0.25, 1.0)
    """
    k = float(k)
    if not 1.0 <= k < np.inf:
        raise ValueError(f"the scheduler's power k must be a number >= 1, got {k}")
    name = "linear" if k == 1.0 else f"t^{k:g}"
    return Scheduler(name, lambda t: np.asarray(t, dtype=float) ** k,
                     lambda t: k * np.asarray(t, dtype=float) ** (k - 1.0))


def scheduler_named(name):
    """The scheduler of a name: ``"linear"`` (kappa = t) or ``"t^k"`` with k >= 1, e.g. ``"t^2"``."""
    match = re.fullmatch(r"t\^([0-9]*\.?[0-9]+)", str(name))
    if name == "linear":
        return polynomial(1.0)
    if match is None or not float(match.group(1)) >= 1:
        raise ValueError(f"unknown scheduler {name!r}: expected 'linear' or 't^k' with k >= 1, e.g. 't^2'")
    return polynomial(float(match.group(1)))

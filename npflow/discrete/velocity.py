"""The probability velocity of the jump process, and one step of it: Euler, exponential, or a posterior draw.

Each token jumps, independently of the others given x_t, at the rates of the probability velocity
(Gat et al. 2024)::

    u_t(y | x_t) = kappa'(t) / (1 - kappa(t)) [p(x_1^i = y | x_t) - delta(y, x_t^i)]     (n, D, S)

for y over the S symbols (p padded with zeros at MASK). Off its diagonal, u_t(y | x_t) >= 0 is the
rate of jumping from x_t^i to y; on it, u_t(x_t^i | x_t) = - (the rate of leaving), so each token's
row sums to zero. A step of length h replaces the token by a draw from (n, D, S) probabilities:

- **Euler** (``euler_probabilities``): delta(y, x_t^i) + h u_t(y | x_t), the first-order step.
- **Exponential** (``exponential_probabilities``): leave x_t^i with probability 1 - exp(-h lambda),
  lambda = sum_{y != x_t^i} u_t(y | x_t), and land on y in proportion to u_t(y | x_t): the law of
  the *first* jump out of x_t^i with the rates frozen at time t, and nothing after it.
- **flow_matching's** (``flow_matching_probabilities``): ``MixtureDiscreteEulerSolver`` first draws
  X_1^i ~ p(. | x_t), then jumps to it with probability 1 - exp(-h c), c = kappa'/(1 - kappa)
  (the rate of the *conditional* velocity towards X_1^i). Over its draw of X_1^i that is:
  with probability q = 1 - exp(-h c), a fresh draw from the posterior, else stay. This is the
  exact law of the chain over the step with its rates frozen at time t: they are Q(y -> z) =
  c p(z | x_t) from any y, so exp(h Q) = exp(-h c) I + (1 - exp(-h c)) 1 p^T. The exponential
  step follows only the first jump: where p(x_t^i | x_t) > 0 (a uniform source) the two leave
  x_t^i with probabilities (1 - exp(-h c)) (1 - p) and 1 - exp(-h c (1 - p)), equal to first
  order in h. With a masked source p(MASK) = 0, the landing state is never left within the
  step, and they agree.

For kappa = t, the Euler step is the same mixture with q = h c = h / (1 - t), which is exactly the
conditional path's own probability of jumping from x_0 to x_1 between t and t + h, (kappa(t + h) -
kappa(t)) / (1 - kappa(t)). So the Euler step with kappa = t is "freeze the posterior at t, then run
the exact path for h", and at t = 1 - h (q = 1) it lands exactly on a draw from the posterior.
flow_matching's q = 1 - exp(-h c) < h c under-jumps, because it freezes c = kappa'/(1 - kappa)
at the start of the step while c grows over it, by a relative hc / 2 + O((hc)^2), and hc =
h / (1 - t) is not small near t = 1: at t = 1 - j h it is 1 / j, so at t = 1 - 2h flow_matching's
step jumps with probability 0.39 where the path jumps with 0.5.

Why that costs a uniform source and not a masked one. A masked token that failed to jump is still
visibly MASK, and the next step's posterior treats it as exactly what it is: the under-jump only
delays the unmasking. A uniform-source token that failed to jump looks like any other token; the
posterior weighs it as a revealed data token with the path's odds kappa(t), which overstates them
once the chain lags behind the path.

What the exact law (``npflow.discrete.exact.exact_law``) measures, eight Gaussians on 32 x 32,
kappa = t, the last step a posterior draw for all three (TV to the table, N = 16, 32, 64, 128, 256):

- masked source: N TV = 0.44473 for Euler at every N, TV(p_1, p_1^(1) x p_1^(2)) to 1e-9; the
  exponential and flow_matching's steps coincide there, N TV = 0.4516 at N = 16 down to 0.4452
  at N = 256 (order 1.005);
- uniform source, Euler: TV 0.0335 .. 0.0021, 0.0083 at N = 64, order 0.995;
- uniform, exponential: 0.0396 .. 0.0027, order 0.964;
- uniform, flow_matching's: 0.0457 .. 0.0052, order 0.780 (N TV 0.73, 0.84, 0.98, 1.15, 1.34).

Followed step by step, N TV(law at t_k, p_{t_k}) is the same at N = 64 and 256 up to t = 0.75 for
both steps (0.35 for Euler, 0.61 for flow_matching's): the bulk is first order. At t = 1 - 8h,
1 - 4h, 1 - 2h and 1 - h (the next step's hc is 1/8, 1/4, 1/2, 1), Euler's is 0.45, 0.47, 0.49,
0.50 and flow_matching's 1.10, 1.25, 1.39, 1.52 (N = 256): its excess piles up over the last
steps, at every N, which is why its N TV grows with N and its fitted order is below 1.
"""
import numpy as np

from .posterior import one_hot

__all__ = ["probability_velocity", "jump_rate", "euler_probabilities", "exponential_probabilities",
           "flow_matching_probabilities", "draw_tokens", "padded"]


def padded(p_1, S):
    """p_1 (n, D, V) padded with zeros to S symbols, (n, D, S): the posterior puts no mass on MASK."""
    return np.concatenate([p_1, np.zeros(p_1.shape[:-1] + (S - p_1.shape[-1],))], axis=-1)


def jump_rate(t, scheduler):
    """c(t) = kappa'(t) / (1 - kappa(t)), shape (n, 1, 1) for t of shape (n,) (or (1, 1, 1) for a float)."""
    t = np.asarray(t, dtype=float).reshape(-1, 1, 1)
    return scheduler.d_kappa(t) / (1.0 - scheduler.kappa(t))


def probability_velocity(p_1, x_t, t, scheduler, S):
    """u_t(y | x_t) = kappa'(t) / (1 - kappa(t)) [p(x_1^i = y | x_t) - delta(y, x_t^i)], shape (n, D, S).

    Parameters
    ----------
    p_1 : ndarray, shape (n, D, V)
        The posterior p(x_1^i = v | x_t); padded with zeros to S symbols.
    x_t : ndarray of int, shape (n, D)
    t : float or ndarray of shape (n,)
        In [0, 1).
    scheduler : Scheduler
    S : int

    Returns
    -------
    u : ndarray, shape (n, D, S)
        Rows (over y) sum to zero; u >= 0 off the diagonal y = x_t^i.
    """
    # >>> exercise probability_velocity: u = kappa'(t) / (1 - kappa(t)) * (p_1 padded to S symbols - onehot(x_t))
    c = jump_rate(t, scheduler)  # (n, 1, 1): kappa'(t) / (1 - kappa(t))
    return c * (padded(p_1, S) - one_hot(x_t, S))
    # <<< exercise


def euler_probabilities(x_t, u, h, S):
    """The Euler step's probabilities: delta(y, x_t^i) + h u_t(y | x_t), clipped at 0 and renormalised.

    The rows of u sum to zero, so delta + h u sums to one; its off-diagonal entries h u >= 0 too.
    Only the diagonal, 1 - h lambda with lambda the rate of leaving, can go negative: the step is a
    probability only for h lambda <= 1. Clipping it at 0 (never jump *less* than surely) and
    renormalising keeps it one for any h, and changes nothing when h is small enough. (With
    kappa = t and any posterior, h lambda <= h / (1 - t) <= 1 on the grid t = k h, so it never
    clips there.)

    Parameters
    ----------
    x_t : ndarray of int, shape (n, D)
    u : ndarray, shape (n, D, S)
        The probability velocity at x_t.
    h : float
        Step length.
    S : int

    Returns
    -------
    ndarray, shape (n, D, S)
        Non-negative, rows summing to 1.
    """
    # >>> exercise euler_probabilities: delta(y, x_t) + h u, clipped at zero, then divided by its row sum
    p = np.clip(one_hot(x_t, S) + h * u, 0.0, None)  # (n, D, S): never below zero
    return p / np.sum(p, axis=-1, keepdims=True)  # rows sum to one again
    # <<< exercise


def exponential_probabilities(x_t, u, h, S):
    """The exponential step: leave x_t^i with probability 1 - exp(-h lambda), to y in proportion to u(y).

    lambda = sum_{y != x_t^i} u_t(y | x_t) is the rate of leaving; with rates frozen over the step,
    the time to the first jump is exponential(lambda), and the step takes that jump and no other
    (the exact law of the frozen chain is ``flow_matching_probabilities``)::

        P(y) = (1 - exp(-h lambda)) u(y) / lambda    for y != x_t^i
        P(x_t^i) = exp(-h lambda)

    Always a probability, for any h. A token with lambda = 0 stays.

    Parameters
    ----------
    x_t : ndarray of int, shape (n, D)
    u : ndarray, shape (n, D, S)
    h : float
    S : int

    Returns
    -------
    ndarray, shape (n, D, S)
    """
    stay = one_hot(x_t, S)  # (n, D, S)
    rates = np.where(stay > 0, 0.0, np.clip(u, 0.0, None))  # (n, D, S): u off the diagonal
    lam = np.sum(rates, axis=-1, keepdims=True)  # (n, D, 1): the rate of leaving
    leave = -np.expm1(-h * lam)  # (n, D, 1): 1 - exp(-h lambda), accurate for small h lambda
    where = np.divide(rates, lam, out=np.zeros_like(rates), where=lam > 0)  # (n, D, S): where it lands
    return (1.0 - leave) * stay + leave * where


def flow_matching_probabilities(p_1, x_t, t, h, scheduler, S):
    """flow_matching's step over its draw of X_1^i: a posterior draw with probability q, else stay.

    ``MixtureDiscreteEulerSolver`` draws X_1^i ~ p(. | x_t), and jumps to it when X_1^i != x_t^i
    with probability q = 1 - exp(-h c), c = kappa'(t) / (1 - kappa(t))::

        P(y) = q p(x_1^i = y | x_t) + (1 - q) delta(y, x_t^i)

    Parameters
    ----------
    p_1 : ndarray, shape (n, D, V)
    x_t : ndarray of int, shape (n, D)
    t : float or ndarray of shape (n,)
    h : float
    scheduler : Scheduler
    S : int

    Returns
    -------
    ndarray, shape (n, D, S)
    """
    q = -np.expm1(-h * jump_rate(t, scheduler))  # (n, 1, 1): 1 - exp(-h c)
    return q * padded(p_1, S) + (1.0 - q) * one_hot(x_t, S)


def draw_tokens(probabilities, rng, rows=None):
    """One token per row of ``probabilities``, by the inverse CDF: the first y with CDF(y) > U.

    One uniform U ~ U[0, 1) per token, scaled by the row's total, so that rows summing to 1 only up
    to rounding are drawn from as they are.

    Parameters
    ----------
    probabilities : ndarray, shape (m, D, S)
        Non-negative rows, each summing to 1 (up to rounding).
    rng : numpy.random.Generator
    rows : ndarray of int, shape (n,), optional
        The row of ``probabilities`` each of n sequences draws from; by default row k for sequence k (n = m).

    Returns
    -------
    ndarray of int64, shape (n, D)
    """
    cdf = np.cumsum(probabilities, axis=-1)  # (m, D, S)
    cdf = cdf if rows is None else cdf[rows]  # (n, D, S)
    U = rng.random(cdf.shape[:-1])[..., None] * cdf[..., -1:]  # (n, D, 1)
    # the number of symbols whose CDF is <= U; the last CDF is the total, which U stays below
    return np.sum(cdf[..., :-1] <= U, axis=-1).astype(np.int64)

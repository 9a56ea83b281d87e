"""The exact oracle: the posterior of a data table, its sampler, and (D = 2) the exact law of its output.

A data distribution over a small state space is a table: ``support`` (m, D), the states with
mass, and ``weights`` (m,), their probabilities. Given x_1, the mixture path draws each token
independently, so::

    P(x_t^i | x_1^i) = kappa(t) delta(x_t^i, x_1^i) + (1 - kappa(t)) P_0(x_t^i)
    P(x_1 | x_t)    ∝ p(x_1) prod_i P(x_t^i | x_1^i)          over the m states x_1 of the support

with P_0 = delta(., MASK) for a masked source and 1 / V for a uniform one; the per-token
posterior p(x_1^i = v | x_t) sums P(x_1 | x_t) over the states whose i-th token is v. The
sampler run with it has no learning error: what is left is the error of its steps alone.
"""
import numpy as np

from .posterior import one_hot
from .sampling import step_probabilities
from .sources import states

__all__ = ["CHUNK", "table_support", "empirical_support", "token_likelihood", "exact_posterior", "grid_posterior",
           "exact_sampler", "exact_law"]

#: The most entries of a (rows, m) array ``exact_sampler`` makes at once: 2^22, 32 MB in float64.
CHUNK = 2 ** 22


def table_support(probs):
    """The (support, weights) of a full table ``probs`` of shape (V,) * D: its cells with mass > 0.

    Returns
    -------
    support : ndarray of int64, shape (m, D)
    weights : ndarray, shape (m,)
        Summing to 1.
    """
    probs = np.asarray(probs, dtype=float)
    support = np.argwhere(probs > 0).astype(np.int64)  # (m, D), in C order
    weights = probs[tuple(support.T)]
    return support, weights / weights.sum()


def empirical_support(x):
    """The (support, weights) of data tokens x (n, D): its distinct rows and their frequencies."""
    support, counts = np.unique(np.asarray(x, dtype=np.int64), axis=0, return_counts=True)
    return support, counts / counts.sum()


def exact_posterior(support, weights, t, x_t, scheduler, source, V):
    """The exact per-token posterior p(x_1^i = v | x_t) of the table, shape (n, D, V).

    Computed in logs, log P(x_1 | x_t) = log p(x_1) + sum_i log P(x_t^i | x_1^i) - log Z, so that
    long sequences (D = 64) do not underflow. A state x_t that no data state can reach (it has
    probability zero on the path) gets the uniform posterior 1 / V: the sampler stays defined
    there, and no mass goes through it.

    Parameters
    ----------
    support : ndarray of int, shape (m, D)
    weights : ndarray, shape (m,)
    t : float
        In [0, 1).
    x_t : ndarray of int, shape (n, D)
    scheduler : Scheduler
    source : str
        ``"mask"`` or ``"uniform"``.
    V : int

    Returns
    -------
    p_1 : ndarray, shape (n, D, V)
    """
    with np.errstate(divide="ignore"):
        log_token = np.log(token_likelihood(t, scheduler, source, V))  # (S, V)
        log_joint = np.log(weights)[None, :] + sum(  # (n, m): log p(x_1) + sum_i log P(x_t^i | x_1^i)
            log_token[x_t[:, i]][:, support[:, i]] for i in range(support.shape[1]))
    top = np.max(log_joint, axis=1, keepdims=True)  # (n, 1)
    reachable = np.isfinite(top[:, 0])  # (n,)
    joint = np.exp(log_joint - np.where(reachable[:, None], top, 0.0))  # (n, m), largest 1 where reachable
    posterior = joint / np.where(reachable, joint.sum(axis=1), 1.0)[:, None]  # (n, m): P(x_1 | x_t)
    # (n, D, V): p(x_1^i = v | x_t), the posterior's mass on the states whose token i is v
    p_1 = np.stack([posterior @ one_hot(support[:, i], V) for i in range(support.shape[1])], axis=1)
    p_1[~reachable] = 1.0 / V
    return p_1


def token_likelihood(t, scheduler, source, V):
    """P(x_t^i = s | x_1^i = v) = kappa(t) delta(s, v) + (1 - kappa(t)) P_0(s), shape (S, V)."""
    kappa = float(scheduler.kappa(t))
    S = states(source, V)
    p_0 = np.eye(S)[V] if source == "mask" else np.full(S, 1.0 / V)  # (S,): P_0(s)
    return kappa * np.eye(S, V) + (1.0 - kappa) * p_0[:, None]


def grid_posterior(probs, t, scheduler, source):
    """``exact_posterior`` of a (V, V) table at every one of the S x S states, shape (S, S, 2, V).

    For D = 2 the sum over the support is two matrix products. With l = ``token_likelihood``
    (S, V) and the table P (V, V)::

        p(x_1^1 = v | a, b) ∝ l[a, v] sum_w P[v, w] l[b, w] = l[a, v] (P l^T)[v, b]
        p(x_1^2 = w | a, b) ∝ l[b, w] sum_v l[a, v] P[v, w] = l[b, w] (l P)[a, w]

    An unreachable state (all zero) gets the uniform posterior 1 / V, as in ``exact_posterior``.
    """
    V = probs.shape[0]
    l = token_likelihood(t, scheduler, source, V)  # (S, V)
    first = l[:, None, :] * (probs @ l.T).T[None, :, :]  # (S, S, V): [a, b, v]
    second = l[None, :, :] * (l @ probs)[:, None, :]  # (S, S, V): [a, b, w]
    p_1 = np.stack([first, second], axis=2)  # (S, S, 2, V), unnormalised
    total = p_1.sum(axis=-1, keepdims=True)
    return np.divide(p_1, total, out=np.full_like(p_1, 1.0 / V), where=total > 0)


def exact_sampler(support, weights, scheduler, source, V):
    """``posterior(t, x_t) -> p_1`` of the table, for ``npflow.discrete.sampling.sample_tokens``.

    For D = 2 it looks each state up in ``grid_posterior`` (all S^2 states for the cost of two
    matrix products); for longer sequences it runs ``exact_posterior`` on ``CHUNK // m`` rows at a
    time, so that its (rows, m) arrays stay small for any n.
    """
    support, weights = np.asarray(support, dtype=np.int64), np.asarray(weights, dtype=float)
    if support.shape[1] == 2:
        table = np.zeros((V, V))
        table[support[:, 0], support[:, 1]] = weights

        def posterior(t, x_t):
            x_t = np.asarray(x_t)
            return grid_posterior(table, t, scheduler, source)[x_t[:, 0], x_t[:, 1]]
    else:
        rows = max(1, CHUNK // len(support))

        def posterior(t, x_t):
            x_t = np.asarray(x_t)
            return np.concatenate([exact_posterior(support, weights, t, x_t[start:start + rows], scheduler, source,
                                                   V) for start in range(0, max(len(x_t), 1), rows)])

    return posterior


def exact_law(probs, steps, scheduler, source, step="euler"):
    """The exact law of the exact-posterior sampler's output, for D = 2, shape (V, V).

    The distribution pi over the S x S states is carried through the sampler's steps with no
    sampling noise. From state (a, b) the two tokens move independently, by the step's
    probabilities T^1[(a, b), a'] and T^2[(a, b), b'], so::

        pi'(a', b') = sum_{a, b} pi(a, b) T^1[(a, b), a'] T^2[(a, b), b']

    for all S^2 states at once, with the posterior of ``grid_posterior`` (``exact_posterior``'s,
    by two matrix products). The last step is a posterior draw, so no mass is left on MASK.

    Parameters
    ----------
    probs : ndarray, shape (V, V)
        The data table, summing to 1.
    steps : int
    scheduler : Scheduler
    source : str
    step : str
        One of ``npflow.discrete.sampling.STEPS``.

    Returns
    -------
    ndarray, shape (V, V)
        Sums to 1.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[0] != probs.shape[1]:
        raise ValueError(f"exact_law needs a table of shape (V, V), got {probs.shape}")
    V, S = probs.shape[0], states(source, probs.shape[0])
    grid = np.stack(np.meshgrid(np.arange(S), np.arange(S), indexing="ij"), axis=-1).reshape(-1, 2)  # (S^2, 2)
    pi = np.zeros((S, S))
    if source == "mask":
        pi[V, V] = 1.0
    else:
        pi[:, :] = 1.0 / S ** 2
    h = 1.0 / steps
    for t in np.arange(steps) * h:
        p_1 = grid_posterior(probs, float(t), scheduler, source).reshape(S * S, 2, V)  # (S^2, 2, V)
        T = step_probabilities(p_1, grid, float(t), h, scheduler, S, step)  # (S^2, 2, S)
        pi = np.einsum("s,si,sj->ij", pi.reshape(-1), T[:, 0, :], T[:, 1, :])
    return pi[:V, :V]

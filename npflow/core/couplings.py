"""Couplings: which noise point x_0 is paired with which data point x_1 in a training batch.

The seed draws x_0 and x_1 independently (``independent``). The paths between independent pairs
cross each other, so the marginal field has to average over crossing directions, and its
trajectories curve. Pairing the batch by optimal transport (``ot``, Tong et al., 2023,
"Improving and generalizing flow-based generative models with minibatch optimal transport")
pairs each noise point with a nearby data point: paths cross less, and the learned flow is
straighter, so fewer solver steps are needed.

``sinkhorn`` is the entropic variant of the same idea (TorchCFM's ``sinkhorn`` plan sampler):
the plan that minimises ``<P, C> - eps H(P)`` is no longer a permutation but a blurred one,
found by Sinkhorn's iterations, and each x_0 is paired with an x_1 drawn from its row of the plan.
``reg`` sets the blur relative to the batch's mean squared distance: 0 is ``ot``, and a large
``reg`` gives back ``independent`` (the plan tends to the uniform 1 / n^2).

A fourth coupling, ``pairs``, does not re-pair a batch: it draws whole pairs (x_0, x_1) from a
fixed table, such as the one ``npflow.runs.reflow`` makes by carrying noise through a trained flow.
The table is an ``.npz`` file with arrays ``x_0`` and ``x_1`` of equal shape (N, d)
(``load_pairs``).

Every coupling that re-pairs a batch is a function ``pair(x_0, x_1, rng) -> (x_0, x_1)``
(``coupling_for`` gives it by name); x_0 keeps its order, and x_1 is re-chosen for it.

References for Sinkhorn: G. Peyré and M. Cuturi (2019), "Computational Optimal Transport",
Section 4.2 (Sinkhorn's algorithm) and Section 4.4 (the log domain); B. Schmitzer (2019),
"Stabilized sparse scaling algorithms for entropy regularized transport problems" (folding the
scalings into the potentials, and eps-scaling).
"""
import functools

import numpy as np

__all__ = ["OT_REG", "squared_distances", "independent", "ot", "sinkhorn_potentials", "sinkhorn", "pairing_cost",
           "COUPLINGS", "COUPLING_NAMES", "coupling_for"]

#: ``sinkhorn``'s default blur: eps = OT_REG * (the batch's mean squared distance).
OT_REG = 0.05


def squared_distances(x_0, x_1):
    """The cost matrix ``C_ij = |x_0[i] - x_1[j]|^2 = |x_0[i]|^2 + |x_1[j]|^2 - 2 x_0[i] . x_1[j]``.

    The expansion costs one matrix product instead of an (n, m, d) array of differences.

    Parameters
    ----------
    x_0 : ndarray, shape (n, d)
    x_1 : ndarray, shape (m, d)

    Returns
    -------
    ndarray, shape (n, m)
    """
    # >>> exercise squared_distances: C_ij = |x_0[i]|^2 + |x_1[j]|^2 - 2 x_0[i] . x_1[j], all (n, m) entries with one matrix product
    return np.sum(x_0 ** 2, axis=1)[:, None] + np.sum(x_1 ** 2, axis=1)[None, :] - 2 * x_0 @ x_1.T
    # <<< exercise


def independent(x_0, x_1, rng=None):
    """Keep the pairs as drawn: (x_0[i], x_1[i]). (``rng`` is not used; every coupling takes one.)"""
    return x_0, x_1


def ot(x_0, x_1, rng=None):
    """Re-pair the batch by exact optimal transport for the squared distance.

    Among all n! ways of pairing the n noise points with the n data points, choose the one that
    minimises ``sum_i |x_0[i] - x_1[pi(i)]|^2``, by ``scipy.optimize.linear_sum_assignment``
    (a shortest augmenting path algorithm, O(n^3) at worst). x_0 keeps its order; x_1 is
    permuted. ``rng`` is not used.

    Adding a constant to a row or a column of the cost adds the same amount to every pairing's
    total, so it changes no choice, but it changes how much searching the solver does. From
    C_ij - g_j, with g the column potentials of a rough entropic plan (``sinkhorn_potentials``
    at eps = mean(C) / 32, rows within 10 %), each noise point's cheapest data point is already
    about its partner, and the solver is three to four times faster at batch 256, Sinkhorn
    included (measured in ``benchmarks/bench.py``). Computing C in float32, dropping its row
    terms, ordering the rows and subtracting the row potentials too each changed the time by
    less than 10 %, so none is done.

    Parameters
    ----------
    x_0, x_1 : ndarray, shape (n, d)

    Returns
    -------
    x_0, x_1 : ndarray, shape (n, d)
    """
    from scipy.optimize import linear_sum_assignment

    cost = squared_distances(x_0, x_1)  # (n, n)
    _, g = sinkhorn_potentials(cost, epsilon=np.mean(cost) / 32, tol=0.1)
    _, pi = linear_sum_assignment(cost - g[None, :])  # x_0[i] goes with x_1[pi[i]]
    return x_0, x_1[pi]


def sinkhorn_potentials(cost, epsilon, tol=1e-2, max_iterations=1000):
    """Potentials f, g of the entropic optimal transport plan between two uniform batches.

    The plan ``P`` minimises ``<P, C> - eps H(P)`` among the n x m matrices with rows summing to
    1/n and columns to 1/m (H is the entropy); it has the form

        P_ij = exp((f_i + g_j - C_ij) / eps),

    and Sinkhorn's iterations (``_fit_potentials``) fit f to the rows and g to the columns in
    turn, from zero potentials (the scalings u = v = 1 of Sinkhorn's algorithm). They take a
    few dozen iterations for eps >= mean(C) / 32 and ever more below (about 500 at mean(C) / 500
    on eight Gaussians, batch 256), so a smaller eps is reached by halving from mean(C) / 32,
    each time from the potentials of the last (eps-scaling, Schmitzer 2019): about 150
    iterations in all for the same case. The first eps is also at least max(C) / 500, so that
    no entry of the first K = exp(-C / eps) comes near underflow.

    Parameters
    ----------
    cost : ndarray, shape (n, m)
        C >= 0, e.g. ``squared_distances(x_0, x_1)``.
    epsilon : float
        eps > 0, in the units of the cost.
    tol : float
        Stop once every row sums to 1/n within this relative error (the columns are then exact).
    max_iterations : int
        Stop here, over all the halvings, even if the rows are not yet within ``tol``.

    Returns
    -------
    f : ndarray, shape (n,)
    g : ndarray, shape (m,)
    """
    f, g, _ = _sinkhorn(cost, epsilon, tol, max_iterations)
    return f, g


def _sinkhorn(cost, epsilon, tol, max_iterations):
    """``sinkhorn_potentials``'s f, g, and the same plan as (K, u, v): ``P = diag(u) K diag(v)``."""
    first = max(np.mean(cost) / 32, np.max(cost) / 500)  # the largest eps the halvings start from
    halvings = max(0, int(np.ceil(np.log2(first / epsilon))))
    f, g = np.zeros(cost.shape[0]), np.zeros(cost.shape[1])
    for eps in epsilon * 2.0 ** np.arange(halvings, -1, -1):
        f, g, plan, iterations = _fit_potentials(cost, f, g, eps, tol, max_iterations)
        max_iterations -= iterations
    return f, g, plan


def _fit_potentials(cost, f, g, epsilon, tol, max_iterations):
    """Sinkhorn's iterations at one eps, from the potentials f, g; returns the new f, g, the plan as (K, u, v) and
    the iterations used.

    In the scalings u, v of the plan ``diag(u) K diag(v)``, ``K_ij = exp((f_i + g_j - C_ij) / eps)``,
    an iteration is Sinkhorn's (Peyré and Cuturi, Section 4.2)

        u = (1/n) / (K v),   v = (1/m) / (K^T u):

    two matrix-vector products and no exponential. For a small eps u and v soon leave the range
    of floating point, so they are folded into the potentials, ``f += eps log u`` and
    ``g += eps log v``, and K is recomputed, whenever they leave [1e-30, 1e30] (the log domain:
    Peyré and Cuturi, Section 4.4; Schmitzer 2019). K then holds the plan itself, whose entries
    are at most 1, so it cannot overflow. The new f, g fold in the last u, v, and the plan is
    returned unfolded too, so that whoever needs its entries has them without one more exponential.
    """
    n, m = cost.shape
    u, v = np.ones(n), np.ones(m)
    for iteration in range(1, max(max_iterations, 1) + 1):
        if iteration == 1 or not (1e-30 < min(u.min(), v.min()) and max(u.max(), v.max()) < 1e30):
            f, g = f + epsilon * np.log(u), g + epsilon * np.log(v)  # fold the scalings into the potentials
            u, v = np.ones(n), np.ones(m)
            K = np.exp((f[:, None] + g[None, :] - cost) / epsilon)  # (n, m) the plan so far
        # >>> exercise sinkhorn_update: keep the old u in u_before; u = (1/n) / (K v) fits the rows, then v = (1/m) / (K^T u) the columns
        u_before, u = u, (1 / n) / (K @ v)  # rows now sum to 1/n
        v = (1 / m) / (K.T @ u)  # columns now sum to 1/m
        # <<< exercise
        if np.max(np.abs(u_before / u - 1)) <= tol:  # the row sums before this update, relative to 1/n
            break
    return f + epsilon * np.log(u), g + epsilon * np.log(v), (K, u, v), iteration


def sinkhorn(x_0, x_1, rng, reg=OT_REG):
    """Re-pair the batch by entropic optimal transport: each x_0[i] gets an x_1 drawn from row i of the plan.

    With the cost ``C = squared_distances(x_0, x_1)`` and ``eps = reg * mean(C)``, the plan P of
    ``sinkhorn_potentials`` is computed, and for each i a partner j is drawn with probability
    ``P_ij / sum_j P_ij``. Every x_0 is used once, as drawn; the data points follow the plan's
    columns, uniform to Sinkhorn's tolerance, so some come twice and some not at all. Drawing,
    rather than rounding the plan to a permutation, keeps the blur the regularisation asks for
    (rounding would need an assignment solve, the cost of ``ot`` this coupling avoids), as
    TorchCFM's entropic sampler does; TorchCFM draws n pairs from the whole plan, this draws one
    partner per noise point, which uses every noise point and gives the same pairs in
    distribution. As reg -> 0 the draws become ``ot``'s permutation.

    Why eps relative to the mean cost: the same reg then means the same blur (and about the same
    number of iterations) for data at any scale and in any dimension, where an absolute eps of
    0.05 is all but exact OT on eight Gaussians (mean cost about 18) and a wide blur on data of
    unit scale. The default, 0.05, came out of 2,000 steps at batch 256 on eight Gaussians and
    moons: one Euler step then landed at W2 0.56 and 0.37 from the data, against 0.61 and 0.35
    for ``ot`` and 3.7 and 2.4 for ``independent``; at reg 0.1 moons' rose to 0.42, at 0.2 to 0.57.

    Parameters
    ----------
    x_0, x_1 : ndarray, shape (n, d)
    rng : numpy.random.Generator
        Draws the partners: n uniform numbers.
    reg : float
        eps relative to the mean squared distance, > 0.

    Returns
    -------
    x_0, x_1 : ndarray, shape (n, d)
    """
    cost = squared_distances(x_0, x_1)  # (n, n)
    epsilon = reg * np.mean(cost)
    _, _, (K, _, v) = _sinkhorn(cost, epsilon, tol=0.05, max_iterations=1000)  # rows within 5 %: x_1 at 1/n +- 5 %
    return x_0, x_1[_draw_from_rows(K * v, rng)]  # row i of the plan is u_i K_ij v_j, and u_i changes no draw


def _draw_from_rows(plan, rng):
    """For each row i a column j, drawn with probability ``plan[i, j] / sum_j plan[i, j]``. Shape (n,).

    By the inverse of the cumulative sum of the whole plan, row after row: row i holds the
    stretch (mass before it, mass up to its end], and a uniform point in that stretch lands on
    column j with the probability asked for. One binary search per row, where comparing every
    row's cumulative sums with its point would take two passes over the matrix.
    """
    n, m = plan.shape
    mass = np.cumsum(plan)  # (n m,) the plan's entries summed row after row
    row_end = mass[m - 1::m]  # (n,)
    row_start = np.concatenate([[0.0], row_end[:-1]])  # (n,)
    drawn = row_start + (1 - rng.random(n)) * (row_end - row_start)  # (n,) in (row_start, row_end]
    j = np.searchsorted(mass, drawn) - m * np.arange(n)  # (n,) the first entry whose cumulative mass reaches it
    return np.clip(j, 0, m - 1)  # against rounding at a row's ends


def pairing_cost(x_0, x_1):
    """Mean squared distance of the pairs as given: ``mean_i |x_0[i] - x_1[i]|^2``."""
    return float(np.mean(np.sum((x_0 - x_1) ** 2, axis=1)))


#: Couplings that re-pair a batch drawn independently, by name: ``pair(x_0, x_1, rng)``.
COUPLINGS = {"independent": independent, "ot": ot, "sinkhorn": sinkhorn}

#: Every coupling ``TrainConfig.coupling`` accepts: those above, and ``pairs`` from a table.
COUPLING_NAMES = (*COUPLINGS, "pairs")


def coupling_for(name, ot_reg=OT_REG):
    """The function ``pair(x_0, x_1, rng) -> (x_0, x_1)`` of the coupling ``name`` in ``COUPLINGS``.

    ``ot_reg`` is ``sinkhorn``'s ``reg``; the other couplings have none.
    """
    return functools.partial(sinkhorn, reg=ot_reg) if name == "sinkhorn" else COUPLINGS[name]

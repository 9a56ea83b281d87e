"""Couplings: which noise point x_0 is paired with which data point x_1 in a training batch.

The seed draws x_0 and x_1 independently (``independent``). The paths between independent pairs
cross each other, so the marginal field has to average over crossing directions, and its
trajectories curve. Pairing the batch by optimal transport (``ot``, Tong et al., 2023,
"Improving and generalizing flow-based generative models with minibatch optimal transport")
pairs each noise point with a nearby data point: paths cross less, and the learned flow is
straighter, so fewer solver steps are needed.
"""
import numpy as np

__all__ = ["COUPLINGS", "independent", "ot", "pairing_cost"]


def independent(x_0, x_1):
    """Keep the pairs as drawn: (x_0[i], x_1[i])."""
    return x_0, x_1


def ot(x_0, x_1):
    """Re-pair the batch by exact optimal transport for the squared distance.

    Among all n! ways of pairing the n noise points with the n data points, choose the one that
    minimises ``sum_i |x_0[i] - x_1[pi(i)]|^2``, by ``scipy.optimize.linear_sum_assignment``
    (the Hungarian algorithm, O(n^3)). x_0 keeps its order; x_1 is permuted.

    Parameters
    ----------
    x_0, x_1 : ndarray, shape (n, d)

    Returns
    -------
    x_0, x_1 : ndarray, shape (n, d)
    """
    from scipy.optimize import linear_sum_assignment

    cost = np.sum((x_0[:, None, :] - x_1[None, :, :]) ** 2, axis=2)  # (n, n) squared distances
    _, pi = linear_sum_assignment(cost)  # x_0[i] goes with x_1[pi[i]]
    return x_0, x_1[pi]


def pairing_cost(x_0, x_1):
    """Mean squared distance of the pairs as given: ``mean_i |x_0[i] - x_1[i]|^2``."""
    return float(np.mean(np.sum((x_0 - x_1) ** 2, axis=1)))


#: Couplings by name.
COUPLINGS = {"independent": independent, "ot": ot}

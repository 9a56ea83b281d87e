"""Couplings: which noise point x_0 is paired with which data point x_1 in a training batch.

The seed draws x_0 and x_1 independently (``independent``). The paths between independent pairs
cross each other, so the marginal field has to average over crossing directions, and its
trajectories curve. Pairing the batch by optimal transport (``ot``, Tong et al., 2023,
"Improving and generalizing flow-based generative models with minibatch optimal transport")
pairs each noise point with a nearby data point: paths cross less, and the learned flow is
straighter, so fewer solver steps are needed.

A third coupling, ``pairs``, does not re-pair a batch: it draws whole pairs (x_0, x_1) from a
fixed table, such as the one ``npflow.reflow`` makes by carrying noise through a trained flow.
The table is an ``.npz`` file with arrays ``x_0`` and ``x_1`` of equal shape (N, d)
(``load_pairs``).
"""
import numpy as np

from .plumbing.files import read_archive

__all__ = ["COUPLINGS", "COUPLING_NAMES", "independent", "ot", "pairing_cost", "load_pairs", "draw_pairs"]


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


def load_pairs(path):
    """Read a table of pairs: an ``.npz`` file with float arrays ``x_0`` and ``x_1`` of shape (N, d), N >= 2.

    Returns
    -------
    x_0, x_1 : ndarray, shape (N, d)

    Raises
    ------
    ValueError
        One line naming the file, if it is missing, unreadable or not such a table.
    """
    arrays = read_archive(path, "pairs")  # never unpickles
    if not {"x_0", "x_1"} <= set(arrays):
        raise ValueError(f"pairs file {path!r} must hold arrays named x_0 and x_1, got {sorted(arrays)}")
    x_0, x_1 = arrays["x_0"], arrays["x_1"]
    if x_0.dtype.kind != "f" or x_1.dtype.kind != "f" or x_0.ndim != 2 or x_0.shape != x_1.shape or len(x_0) < 2:
        raise ValueError(f"pairs file {path!r} must hold x_0 and x_1 as float arrays of one shape (N, d) with N >= 2, "
                         f"got {x_0.dtype} {x_0.shape} and {x_1.dtype} {x_1.shape}")
    if not (np.all(np.isfinite(x_0)) and np.all(np.isfinite(x_1))):
        raise ValueError(f"pairs file {path!r} has NaN or infinite values")
    return x_0, x_1


def draw_pairs(x_0, x_1, n, rng):
    """n pairs drawn whole from the table (x_0, x_1), uniformly with replacement. Returns x_0, x_1 of shape (n, d)."""
    i = rng.integers(0, len(x_0), n)  # (n,) rows of the table
    return x_0[i], x_1[i]


#: Couplings that re-pair a batch drawn independently, by name.
COUPLINGS = {"independent": independent, "ot": ot}

#: Every coupling ``TrainConfig.coupling`` accepts: those above, and ``pairs`` from a table.
COUPLING_NAMES = (*COUPLINGS, "pairs")

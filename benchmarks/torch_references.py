"""PyTorch references beyond the tutorial's own loop, for benchmarks only (torch is no dependency).

- ``wide_train_steps``: the tutorial's training loop on a wider network and d-dimensional data
  drawn from a fixed table (the digits network: 64-d, width 512).
- ``flow_matching_log_likelihood``: flow_matching's ``ODESolver.compute_likelihood`` (exact
  divergence, classical RK4) on the tutorial's model holding npflow's weights, moved across by
  ``npflow.plumbing.torch_bridge``.
"""
import math

import torch

from npflow.plumbing.torch_bridge import to_state_dict
from tutorial_torch import VectorField, torch_train_steps


def wide_train_steps(steps, data, batch_size=256, hidden=(512, 512)):
    """The tutorial's loop (``torch_train_steps``) on a wider network, x_1 drawn from the rows of ``data`` (n, d)."""
    table = torch.from_numpy(data).float()

    def sample_rows(batch_size):
        return table[torch.randint(0, len(table), (batch_size,))]

    return torch_train_steps(steps, batch_size, hidden, dim=table.shape[1], sample_data=sample_rows)


def flow_matching_log_likelihood(params, x, steps=100):
    """A function returning log p(x) under the tutorial's model with npflow's ``params``, by flow_matching.

    ``ODESolver.compute_likelihood`` integrates x from t = 1 back to t = 0 with RK4 of step
    1 / ``steps``, the divergence exact (one backward pass per dimension), and adds
    log N(x_0; 0, I): npflow's ``log_likelihood(..., method="exact", solver="rk4", steps=steps)``.
    """
    from flow_matching.solver import ODESolver

    model = VectorField(hidden=tuple(W.shape[1] for W, _ in params[:-1]))
    model.load_state_dict({key: torch.from_numpy(value).float() for key, value in to_state_dict(params).items()})
    model.eval()
    solver = ODESolver(velocity_model=lambda x, t: model(t.expand(x.shape[0]), x))
    x_1 = torch.from_numpy(x).float()

    def log_p_0(x_0):
        return -0.5 * (x_0 ** 2).sum(dim=1) - x_0.shape[1] / 2 * math.log(2 * math.pi)

    def run():
        _, log_p = solver.compute_likelihood(x_1=x_1, log_p0=log_p_0, step_size=1 / steps, method="rk4",
                                             exact_divergence=True)
        return log_p.numpy()

    return run

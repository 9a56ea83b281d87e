"""PyTorch references beyond the tutorial's own loop, for benchmarks only (torch is no dependency).

- ``wide_train_steps``: the tutorial's training loop on a wider network and d-dimensional data
  drawn from a fixed table (the digits network: 64-d, width 512).
- ``DigitsResNet``, ``digits_train_steps`` and ``digits_field``: the digits recipe's network
  (``npflow.images.resnet``: time features, residual blocks, SiLU) in PyTorch, trained by the
  tutorial's loop or holding npflow's weights.
- ``flow_matching_log_likelihood``: flow_matching's ``ODESolver.compute_likelihood`` (exact
  divergence, classical RK4) on the tutorial's model holding npflow's weights, moved across by
  ``npflow.plumbing.torch_bridge``.
"""
import math

import torch
from torch import nn
from tutorial_torch import VectorField, torch_train_steps

from npflow.images.resnet import TIME_FREQUENCIES
from npflow.plumbing.torch_bridge import to_state_dict


def wide_train_steps(steps, data, batch_size=256, hidden=(512, 512)):
    """The tutorial's loop (``torch_train_steps``) on a wider network, x_1 drawn from the rows of ``data`` (n, d)."""
    table = torch.from_numpy(data).float()

    def sample_rows(batch_size):
        return table[torch.randint(0, len(table), (batch_size,))]

    return torch_train_steps(steps, batch_size, hidden, dim=table.shape[1], sample_data=sample_rows)


class DigitsResNet(nn.Module):
    """``npflow.images.resnet`` (unconditional) in PyTorch.

    h = [phi(t), x] W_in + b_in, then h += block(h) for each block, then v = act(h) W_out + b_out.
    """

    def __init__(self, dim=64, width=256, blocks=2):
        super().__init__()
        self.register_buffer("frequencies", torch.from_numpy(TIME_FREQUENCIES).float())
        self.input = nn.Linear(2 * len(TIME_FREQUENCIES) + dim, width)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
                                    for _ in range(blocks))
        self.output = nn.Linear(width, dim)

    def forward(self, t, x):
        angles = t.reshape(-1, 1).expand(x.shape[0], 1) * self.frequencies  # (n, F)
        h = self.input(torch.cat([torch.sin(angles), torch.cos(angles), x], dim=1))
        for block in self.blocks:
            h = h + block(h)
        return self.output(nn.functional.silu(h))


def digits_train_steps(steps, data, batch_size=256, width=256, blocks=2):
    """The tutorial's loop (``torch_train_steps``) on ``DigitsResNet``, x_1 drawn from the rows of ``data`` (n, 64),
    with the digits recipe's cosine schedule and moving average of the weights."""
    table = torch.from_numpy(data).float()

    def sample_rows(batch_size):
        return table[torch.randint(0, len(table), (batch_size,))]

    return torch_train_steps(steps, batch_size, dim=table.shape[1], sample_data=sample_rows,
                             model=lambda: DigitsResNet(table.shape[1], width, blocks), recipe=True)


def digits_field(flat_params):
    """A ``DigitsResNet`` holding the weights of an unconditional npflow resnet run (``Run.params``, flat
    ``[(W, b), ...]``), and its field ``f(t, x)`` for torchdiffeq."""
    first, *inner, last = flat_params
    model = DigitsResNet(first[0].shape[0] - 2 * len(TIME_FREQUENCIES), first[0].shape[1], len(inner) // 2)
    linears = [model.input, *(layer for block in model.blocks for layer in block[::2]), model.output]
    with torch.no_grad():
        for linear, (W, b) in zip(linears, flat_params):
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))

    def field(t, x):
        return model(torch.as_tensor(t, dtype=x.dtype).expand(x.size(0)), x)

    return field


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

"""The PyTorch tutorial's model and training loop, for benchmarks only (torch is no dependency).

The tutorial's own code, statement for statement: its ``VectorField`` module, its
``sample_target_data`` and ``sample_conditional_path`` (sigma_min = 0), and its training loop
(``model.train()``, the mean squared error, ``torch.optim.Adam`` at lr 1e-3, the loss read every
1,000 steps). Only the width and the batch size are parameters, for the benchmark's sweep, and
the loop reads the loss without printing it, as npflow's progress is silenced too.
"""
import torch
from torch import nn, optim


class VectorField(nn.Module):
    """The tutorial's network: an MLP on [t, x] (widths ``hidden``, 128 and 128 in the tutorial; x in R^dim)."""

    def __init__(self, hidden=(128, 128), dim=2):
        super().__init__()
        sizes = [dim + 1, *hidden, dim]
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])

    def forward(self, t, x):
        t_input = t.unsqueeze(-1).expand(x.size(0), 1)
        inp = torch.cat([t_input, x], dim=1)
        return self.net(inp)


def sample_conditional_path(x1, t, sigma_min=0.0):
    t = t.view(-1, 1)
    mu_t = t * x1
    sigma_t = (1 - t) + t * sigma_min
    eps = torch.randn_like(x1)
    x_t = mu_t + sigma_t * eps
    dot_mu_t = x1
    dot_sigma_t = -1.0 + sigma_min
    term1 = (dot_sigma_t / sigma_t) * (x_t - mu_t)
    term2 = dot_mu_t
    u_true = term1 + term2
    return x_t, u_true


def sample_target_data(batch_size):
    comp = torch.randint(0, 2, (batch_size, 1))
    centers = torch.tensor([[-4.0, 0.0], [4.0, 0.0]])
    center = centers[comp.view(-1)]
    return center + torch.randn(batch_size, 2)


def torch_model(hidden=(128, 128), params=None):
    """The tutorial's model and its field ``f(t, x)`` for an ODE solver (t a number or a tensor).

    With ``params``, npflow's weights are copied in (npflow's W is the transpose of ``weight``).
    """
    model = VectorField(hidden)
    if params is not None:
        with torch.no_grad():
            for linear, (W, b) in zip(model.net[::2], params):
                linear.weight.copy_(torch.from_numpy(W.T))
                linear.bias.copy_(torch.from_numpy(b))

    def field(t, x):
        return model(torch.as_tensor(t, dtype=x.dtype).expand(x.size(0)), x)

    return model, field


def torch_train_steps(steps, batch_size=128, hidden=(128, 128), dim=2, sample_data=sample_target_data, model=None,
                      recipe=False):
    """A function that runs ``steps`` steps of the tutorial's training loop (a fresh model each call).

    ``dim`` and ``sample_data(batch_size)`` replace the tutorial's 2-D target, and ``model()``
    (a new module) the tutorial's network, for wider benchmarks. ``recipe`` adds what npflow's
    fast and digits recipes do besides: a cosine learning-rate schedule and a moving average of
    the weights with decay 0.999, as PyTorch users write them (``CosineAnnealingLR``, and
    ``torch._foreach_lerp_`` as ``torch.optim.swa_utils.get_ema_multi_avg_fn`` does).
    """

    def run():
        device = torch.device("cpu")
        model_now = VectorField(hidden, dim) if model is None else model()
        model_now = model_now.to(device)
        optimizer = optim.Adam(model_now.parameters(), lr=1e-3)
        weights = list(model_now.parameters())
        if recipe:
            schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
            average = [weight.detach().clone() for weight in weights]
        for step in range(steps):
            model_now.train()
            t = torch.rand(batch_size, device=device)
            x1 = sample_data(batch_size).to(device)
            x_t, u_true = sample_conditional_path(x1, t)
            u_pred = model_now(t, x_t)
            loss = ((u_pred - u_true) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if recipe:
                schedule.step()
                with torch.no_grad():
                    torch._foreach_lerp_(average, weights, 1 - 0.999)  # average += (1 - decay) (weight - average)
            if step % 1000 == 0:
                loss.item()  # the tutorial prints this value here

    return run

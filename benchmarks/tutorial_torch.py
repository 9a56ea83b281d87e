"""The PyTorch tutorial's model and training loop, for benchmarks only (torch is no dependency).

Written after the tutorial's code: an MLP on [t, x] with ReLU, the linear path with
sigma_min = 0, the mean squared CFM loss and ``torch.optim.Adam`` at lr 1e-3.
"""
import torch


def torch_model(hidden=(128, 128), params=None):
    """The tutorial's VectorField: an MLP on [t, x]. With ``params``, npflow's weights are copied in."""
    sizes = [3, *hidden, 2]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    if params is not None:
        with torch.no_grad():
            for linear, (W, b) in zip(net[::2], params):
                linear.weight.copy_(torch.from_numpy(W.T))
                linear.bias.copy_(torch.from_numpy(b))

    def field(t, x):
        t_column = t.reshape(-1, 1).expand(x.shape[0], 1) if torch.is_tensor(t) else torch.full((x.shape[0], 1), t)
        return net(torch.cat([t_column, x], dim=1))

    return net, field


def torch_train_steps(steps, batch_size=128, hidden=(128, 128)):
    net, field = torch_model(hidden)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    centres = torch.tensor([[-4.0, 0.0], [4.0, 0.0]])

    def run():
        for _ in range(steps):
            t = torch.rand(batch_size)
            x_1 = centres[torch.randint(0, 2, (batch_size,))] + torch.randn(batch_size, 2)
            x_0 = torch.randn_like(x_1)
            x_t = t[:, None] * x_1 + (1 - t[:, None]) * x_0
            loss = ((field(t, x_t) - (x_1 - x_0)) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return run

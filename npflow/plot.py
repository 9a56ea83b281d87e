"""Figures. Each function returns a ``matplotlib.figure.Figure``; save it with ``fig.savefig``.

The figures are built without ``pyplot``, so they need no display and leave no global state;
matplotlib is imported only when a figure is drawn, which keeps ``import npflow`` and the CLI
quick to start.
"""
import numpy as np

__all__ = ["samples", "loss"]


def _figure(ncols, width=4.0, height=4.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def samples(target, generated, title=None):
    """Scatter generated samples over the target, one panel per sampler.

    Parameters
    ----------
    target : ndarray, shape (m, 2)
        Points from the target distribution, drawn in grey behind each panel.
    generated : dict of str to ndarray of shape (n, 2)
        Panel title -> samples.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _figure(len(generated), width=4.5, height=3.2)
    limits = np.quantile(target, [0.0, 1.0], axis=0) + np.array([[-1.0], [1.0]])  # (2, 2): low/high per axis
    for ax, (name, x) in zip(axes, generated.items()):
        ax.scatter(target[:, 0], target[:, 1], s=2, c="0.75", label="target")
        ax.scatter(x[:, 0], x[:, 1], s=2, c="C0", label="generated")
        ax.set(title=name, xlim=limits[:, 0], ylim=limits[:, 1], aspect="equal")
    axes[0].legend(loc="upper left", markerscale=4)
    if title:
        fig.suptitle(title)
    return fig


def loss(losses, window=100):
    """The training loss per step, raw and smoothed by a moving average of ``window`` steps.

    Parameters
    ----------
    losses : ndarray, shape (steps,)
    window : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = _figure(1, width=6.0, height=3.5)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, c="0.8", lw=0.5, label="per step")
    window = max(1, min(window, len(losses)))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")  # (steps - window + 1,)
    ax.plot(steps[window - 1:], smooth, c="C0", label=f"mean of {window}")
    ax.set(xlabel="step", ylabel="CFM loss", yscale="log")
    ax.legend()
    return fig

"""Figures of curves: the training loss against steps, and a quality measure against the number of
field evaluations (NFE). Each function returns a ``matplotlib.figure.Figure``.

Built from the parts of ``npflow.plumbing.plot_parts``; ``npflow.plumbing.plot`` names them too.
"""
import numpy as np

from .plot_parts import figure, plain_log_ticks

__all__ = ["loss", "against_nfe", "MAX_CURVES"]

#: At most this many curves share an NFE panel: beyond it the lines cross too often to follow.
MAX_CURVES = 4


def loss(losses, window=100, field_errors=None):
    """The training loss per step, raw and smoothed by a moving average of ``window`` steps.

    Parameters
    ----------
    losses : ndarray, shape (steps,)
    window : int
    field_errors : ndarray of shape (m, 2), optional
        Rows (step, field error), drawn on a second axis when given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if len(losses) == 0:
        raise ValueError("there is no loss to draw: the run has taken no training steps")
    fig, axes = figure(1, width=7.0, height=4.2)
    ax = axes[0, 0]
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, c="0.8", lw=0.5, label="loss per step")
    window = max(1, min(window, len(losses)))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")  # (steps - window + 1,)
    ax.plot(steps[window - 1:], smooth, c="C0", label=f"loss, mean of {window}")
    ax.set(xlabel="step", ylabel="CFM loss", yscale="log")
    plain_log_ticks(ax.yaxis)
    if field_errors is not None and len(field_errors):
        twin = ax.twinx()
        twin.plot(field_errors[:, 0], field_errors[:, 1], c="C3", marker="o", ms=3, label="field error")
        twin.set(ylabel="field error (vs exact)", yscale="log")
        plain_log_ticks(twin.yaxis)
    fig.legend(loc="outside upper center", ncols=3, frameon=False)  # above the axes: it covers no curve
    return fig


def _curve(ax, label, points, colour):
    """One curve of ``against_nfe``: (nfe, values) or (nfe, values, spread), the spread as a band around it."""
    nfe, values = np.asarray(points[0], dtype=float), np.asarray(points[1], dtype=float)
    ax.plot(nfe, values, marker="o", ms=4, lw=1.5, color=colour, label=label)
    if len(points) > 2:
        spread = np.asarray(points[2], dtype=float)
        ax.fill_between(nfe, np.maximum(values - spread, values * 0.05), values + spread, color=colour, alpha=0.2,
                        lw=0)


def against_nfe(panels, floor=None, ylabel="energy distance to fresh data", title=None, max_columns=3):
    """A quality measure against the number of field evaluations (NFE), a few labelled curves a panel, on log axes.

    Each panel compares at most ``MAX_CURVES`` curves (more are refused: split them over more
    panels), has its own legend, and shares both axes with the others, so that panels compare
    by eye; a curve keeps its colour in every panel. A curve with a spread (over seeds, say) is drawn with a band of +- that spread.

    Parameters
    ----------
    panels : dict of str to dict of str to tuple
        Panel title -> {curve label -> (nfe, values) or (nfe, values, spread)}, each a sequence.
    floor : float or dict of str to float, optional
        The measure's floor (e.g. between two fresh draws of the data), a dotted grey line in every
        panel, or per panel title.
    ylabel, title : str
    max_columns : int
        Panels a row; more go on the next.

    Returns
    -------
    matplotlib.figure.Figure
    """
    crowded = [name for name, curves in panels.items() if len(curves) > MAX_CURVES]
    if crowded:
        raise ValueError(f"panel {crowded[0]!r} has {len(panels[crowded[0]])} curves; an NFE panel takes at most "
                         f"{MAX_CURVES}: split them over more panels")
    ncols = min(len(panels), max_columns)
    nrows = -(-len(panels) // ncols)
    fig, axes = figure(ncols, nrows, width=4.3, height=3.4)
    for ax in axes.flat:
        ax.sharex(axes.flat[0])
        ax.sharey(axes.flat[0])
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    labels = list(dict.fromkeys(label for curves in panels.values() for label in curves))
    colours = {label: f"C{j % 10}" for j, label in enumerate(labels)}  # a curve's colour is the same in every panel
    for ax, (name, curves) in zip(axes.flat, panels.items()):
        for label, points in curves.items():
            _curve(ax, label, points, colours[label])
        level = floor.get(name) if isinstance(floor, dict) else floor
        if level is not None:
            ax.axhline(level, color="0.5", lw=1, ls=":", label="floor: two fresh draws")
        ax.set(title=name, xscale="log", yscale="log", xlabel="NFE", ylabel=ylabel)
        ax.legend(fontsize="small", frameon=False, loc="upper right")
        if len(panels) == ncols * nrows:  # a full grid: the tick labels of the outer panels say it all
            ax.label_outer()
    plain_log_ticks(axes.flat[0].xaxis)
    plain_log_ticks(axes.flat[0].yaxis)
    if title:
        fig.suptitle(title)
    return fig

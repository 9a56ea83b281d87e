"""Figures of 2-D points and fields. Each function returns a ``matplotlib.figure.Figure``; save it
with ``save`` (fit for a slide: 150 dpi and 800 px at least) or ``fig.savefig``.

Samples against the target, the paths of the ODE, the vector field as arrows, a density as a
heat map, histograms of x_t over time, a GIF of the flow, and the samples of a guided field per
guidance weight. Every scatter sizes its markers by the number of points (``marker_style``),
draws the target as contour lines above the points rather than a cloud beneath them
(``target_contour``), and says what its colours mean (a legend or a colour bar). A figure of a
quick run says so on itself: ``mark_quick(fig, args.quick)``.

The parts these figures share are in ``npflow.plumbing.plot_parts``, the curves (the loss,
quality against NFE) in ``plot_curves``, and the digits in ``plot_images``; the names a script
needs are here too, so that ``from npflow.plumbing import plot`` is enough.
"""
import numpy as np

from .plot_curves import against_nfe, loss
from .plot_parts import (QUICK_NOTE, SLIDE_DPI, STILL_FORMATS, bounds_around, class_legend, colour_bar, figure, grid,
                         label_colours, mark_quick, marker_style, plain_log_ticks, save, slide_panels, target_contour,
                         wrapped_panels, write_gif)

__all__ = ["STILL_FORMATS", "SLIDE_DPI", "QUICK_NOTE", "figure", "save", "mark_quick", "marker_style", "write_gif",
           "bounds_around", "samples", "trajectories", "field", "density", "loss", "against_nfe", "plain_log_ticks",
           "time_slices", "animation", "guidance", "weight_title"]

#: At most this many panels side by side; more go on further rows, so that each stays large enough to read.
MAX_COLUMNS = 3


def samples(target, generated, title=None, target_log_p=None):
    """Generated samples, one panel per sampler, with the target's contour lines over them.

    The target is drawn as the lines around 50 % and 90 % of its mass (its exact density's with
    ``target_log_p``, else a smoothed histogram of ``target``), so that it hides no sample. The
    panels run three to a row.

    Parameters
    ----------
    target : ndarray, shape (m, 2)
        Points from the target distribution: they set the frame, and the contour lines without ``target_log_p``.
    generated : dict of str to ndarray of shape (n, 2)
        Panel title -> samples.
    title : str, optional
    target_log_p : callable, optional
        The target's log-density, ``log_p(points) -> (m,)``, where it is known.

    Returns
    -------
    matplotlib.figure.Figure
    """
    box = bounds_around(target)
    fig, axes = wrapped_panels(len(generated), box, max_columns=MAX_COLUMNS)
    for ax, (name, x) in zip(axes.flat, generated.items()):
        ax.scatter(x[:, 0], x[:, 1], c="C0", **marker_style(len(x)), label=f"generated ({len(x)} points)")
        line = target_contour(ax, box, target, target_log_p)
        ax.set(title=name, xlim=box[:, 0], ylim=box[:, 1], aspect="equal")
    points = axes.flat[0].get_legend_handles_labels()[0]
    fig.legend(handles=[*points, line], loc="outside lower center", ncols=2, markerscale=2, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def trajectories(trajectory, n_paths=200, target=None, target_log_p=None):
    """Paths of the ODE from noise (t = 0) to data (t = 1), coloured by time (the colour bar).

    Parameters
    ----------
    trajectory : Trajectory
        From ``npflow.generate`` (``.t`` of shape (k,), ``.x`` of shape (k, n, 2)).
    n_paths : int
        How many of the n paths to draw.
    target : ndarray of shape (m, 2), optional
        A draw of the target, drawn as contour lines over the paths' ends.
    target_log_p : callable, optional
        The target's log-density, for its exact contour lines instead.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.collections import LineCollection

    x = trajectory.x[:, :n_paths]  # (k, paths, 2)
    box = bounds_around(x.reshape(-1, 2), margin=0.5)
    fig, axes = slide_panels(1, 1, box, width=6.5)
    ax = axes[0, 0]
    segments = np.stack([x[:-1], x[1:]], axis=2)  # (k - 1, paths, 2 ends, 2)
    times = np.repeat((trajectory.t[:-1] + trajectory.t[1:]) / 2, x.shape[1])  # time of each segment
    lines = LineCollection(segments.reshape(-1, 2, 2), array=times, cmap="viridis", linewidths=0.6,
                           alpha=marker_style(x.shape[1])["alpha"] ** 0.5)
    ax.add_collection(lines)
    style = {**marker_style(4 * x.shape[1]), "alpha": 1.0}  # the ends: smaller than a scatter of as many
    ax.scatter(x[0, :, 0], x[0, :, 1], c="k", **style, label="start (t = 0)")
    ax.scatter(x[-1, :, 0], x[-1, :, 1], c="C3", **style, label="end (t = 1)")
    handles = ax.get_legend_handles_labels()[0]
    if target is not None or target_log_p is not None:
        handles.append(target_contour(ax, box, target, target_log_p))
    ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal",
           title=f"{x.shape[1]} paths from t = {trajectory.t[0]:g} to t = {trajectory.t[-1]:g}")
    colour_bar(fig, lines, ax, "t").solids.set_alpha(1.0)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, markerscale=3, frameon=False)
    return fig


def _at_time(trajectory, t):
    """The step of a trajectory nearest to time t: its time and its points, shape (n, 2)."""
    k = int(np.argmin(np.abs(trajectory.t - t)))
    return trajectory.t[k], trajectory.x[k]


def _arrows(limits, resolution):
    """The grid of the field's arrows: ``resolution`` across, as many down as keep it square; the points
    (m, 2) and their spacing."""
    xs = np.linspace(limits[0, 0], limits[1, 0], resolution)
    spacing = xs[1] - xs[0]
    ys = np.arange(limits[0, 1] + spacing / 2, limits[1, 1], spacing)  # the same spacing down as across
    xx, yy = np.meshgrid(xs, ys)
    return np.column_stack([xx.ravel(), yy.ravel()]), spacing


def field(f, times=(0.0, 0.5, 1.0), limits=((-7.0, -4.0), (7.0, 4.0)), resolution=21, exact=None,
          trajectory=None):
    """Arrows of the vector field v(t, x) on a grid, one panel per time: direction by the arrow, speed by its colour.

    Every arrow has the same length, so that its direction reads everywhere, where the field is
    slow as well as where it is fast. Its colour is the speed |v|, on one scale for every panel
    (the colour bar), which ends at the 95th percentile of all the speeds drawn, so that a few
    fast corners do not wash out the rest (faster arrows take the top colour).

    Parameters
    ----------
    f : callable
        The field ``f(t, x)``.
    times : sequence of float
    limits : array_like, shape (2, 2)
        ((x_low, y_low), (x_high, y_high)).
    resolution : int
        Arrows across; as many down as keep the grid square.
    exact : callable, optional
        The exact field, drawn in a second row for comparison.
    trajectory : Trajectory, optional
        Points flowing along the field (``npflow.generate``): the points x_t nearest each time
        are drawn in grey behind its arrows, to show where the field matters.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap, Normalize

    rows = {"learned": f} if exact is None else {"learned": f, "exact": exact}
    limits = np.asarray(limits, dtype=float)
    fig, axes = slide_panels(len(times), len(rows), limits)
    points, spacing = _arrows(limits, resolution)
    v = {(name, t): g(t, points) for name, g in rows.items() for t in times}  # each (m, 2)
    speeds = {key: np.hypot(*velocity.T) for key, velocity in v.items()}  # each (m,)
    colours = Normalize(0.0, np.quantile(np.concatenate(list(speeds.values())), 0.95))
    cmap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.9, 256)))  # no pale yellow on white
    for row, name in zip(axes, rows):
        for ax, t in zip(row, times):
            if trajectory is not None:
                x_t = _at_time(trajectory, t)[1]
                ax.scatter(x_t[:, 0], x_t[:, 1], c="0.75", zorder=0, **marker_style(len(x_t)))
            direction = v[name, t] / np.maximum(speeds[name, t], 1e-12)[:, None]  # unit arrows
            arrows = ax.quiver(points[:, 0], points[:, 1], direction[:, 0], direction[:, 1], speeds[name, t],
                               cmap=cmap, norm=colours, angles="xy", scale_units="xy", scale=1 / (0.75 * spacing),
                               width=0.004, headwidth=4, pivot="mid")
            ax.set(title=f"{name}, t = {t:g}", xlim=limits[:, 0], ylim=limits[:, 1], aspect="equal")
        colour_bar(fig, arrows, row[-1], "speed |v|", extend="max")  # one per row, as tall as its panels
    if trajectory is not None:
        fig.supxlabel("grey: the points x_t flowing along the field at each time", fontsize="medium")
    return fig


def density(log_p, limits, resolution=80, target_log_p=None):
    """A heat map of a density from its log, e.g. a model's by ``npflow.log_likelihood``.

    With the target beside it (a side panel), both panels share one colour scale, so that equal
    colours are equal densities.

    Parameters
    ----------
    log_p : callable
        ``log_p(points) -> ndarray of shape (m,)`` for points of shape (m, 2).
    limits : array_like, shape (2, 2)
    resolution : int
        Grid points per side (resolution**2 evaluations).
    target_log_p : callable, optional
        The target's log-density, drawn beside it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import Normalize

    panels = {"model": log_p} if target_log_p is None else {"model": log_p, "target": target_log_p}
    limits = np.asarray(limits, dtype=float)
    fig, axes = slide_panels(len(panels), 1, limits, width=4.5 * len(panels))
    xs, ys, points = grid(limits, resolution)
    p = {name: np.exp(g(points)).reshape(resolution, resolution) for name, g in panels.items()}
    scale = Normalize(0.0, max(values.max() for values in p.values()))
    for ax, name in zip(axes[0], panels):
        image = ax.pcolormesh(xs, ys, p[name], cmap="magma", norm=scale, shading="auto")
        ax.set(title=f"{name} density", aspect="equal")
    colour_bar(fig, image, axes[0, -1], "density")  # one scale: one bar
    return fig


def time_slices(trajectory, times=(0.0, 0.25, 0.5, 0.75, 1.0), bins=None):
    """Histograms of x_t at several times along a trajectory: noise turning into data.

    Every panel counts on one colour scale, the colour bar's (points per bin), so that equal
    colours are equal counts at every time.

    Parameters
    ----------
    trajectory : Trajectory
        With many points (``.x`` of shape (k, n, 2)); each time is matched to the nearest step.
    times : sequence of float
    bins : int, optional
        Bins per side; if None, about sqrt(n) / 1.5 (10 to 60), so that a bin holds a few points.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import Normalize

    box = bounds_around(trajectory.x.reshape(-1, 2), margin=0.2)
    bins = bins or int(np.clip(np.sqrt(trajectory.x.shape[1]) / 1.5, 10, 60))
    slices = [_at_time(trajectory, t) for t in times]
    counts = [np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=box.T)[0] for _, x in slices]
    scale = Normalize(0, max(c.max() for c in counts))
    fig, axes = wrapped_panels(len(times), box, panel_width=4.2, max_columns=MAX_COLUMNS)
    for ax, (t_k, x) in zip(axes.flat, slices):
        image = ax.hist2d(x[:, 0], x[:, 1], bins=bins, range=box.T, cmap="Blues", norm=scale)[3]
        ax.set(title=f"x_t at t = {t_k:.2f}", aspect="equal")
    colour_bar(fig, image, axes[0, -1], "points per bin")
    return fig


def animation(trajectory, path, frames=40, n_points=1000, fps=12, quick=False):
    """Write a GIF of the points moving along the flow (the target's contour lines over them), and return its figure.

    Parameters
    ----------
    trajectory : Trajectory
    path : str or path
        Where to write the GIF (matplotlib's Pillow writer), 800 px on its long side.
    frames : int
        Frames, spread evenly over the trajectory's steps.
    n_points : int
    fps : int
    quick : bool
        Mark every frame with ``QUICK_NOTE`` (``mark_quick``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = trajectory.x[:, :n_points]  # (k, n, 2)
    box = bounds_around(x.reshape(-1, 2), margin=0.5)
    fig, axes = slide_panels(1, 1, box, width=6.0)
    ax = axes[0, 0]
    target_contour(ax, box, x[-1])  # where the points end up: the samples' own contour at t = 1
    ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal")
    dots = ax.scatter(x[0, :, 0], x[0, :, 1], c="C0", **marker_style(x.shape[1]))
    mark_quick(fig, quick)
    steps = np.linspace(0, len(trajectory.t) - 1, frames).round().astype(int)

    def draw(k):
        dots.set_offsets(x[k])
        ax.set_title(f"t = {trajectory.t[k]:.2f}   (lines: where the points end, at t = 1)")
        return (dots,)

    write_gif(fig, draw, steps, path, fps)
    return fig


def guidance(target, rows, y, means=None, target_log_p=None):
    """Samples of a guided field, one panel per guidance weight w, coloured by the label each was asked for.

    The legend maps each colour to its class; the target is drawn as contour lines over the
    samples, and a black cross marks each class's mode.

    Parameters
    ----------
    target : ndarray, shape (m, 2)
        Points from the target: its contour lines in every panel, without ``target_log_p``.
    rows : dict of str to dict of float to ndarray of shape (n, 2)
        Row name (e.g. "learned", "exact") -> {w: samples of the field guided with w}.
    y : ndarray of int, shape (n,)
        The label each sample was asked for (the same in every panel).
    means : ndarray of shape (K, 2), optional
        The modes of the classes, marked with a black cross.
    target_log_p : callable, optional
        The target's log-density, for its exact contour lines.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    weights = list(next(iter(rows.values())))
    box = bounds_around(np.concatenate([target, *(x for row in rows.values() for x in row.values())]), margin=0.3)
    fig, axes = slide_panels(len(weights), len(rows), box, width=2.6 * len(weights))
    colours = label_colours(int(y.max()) + 1 if means is None else len(means))
    for panels, (row, samples) in zip(axes, rows.items()):
        for ax, w in zip(panels, weights):
            ax.scatter(samples[w][:, 0], samples[w][:, 1], c=colours[y], rasterized=True, **marker_style(len(y)))
            line = target_contour(ax, box, target, target_log_p)
            if means is not None:
                ax.scatter(means[:, 0], means[:, 1], s=25, c="k", marker="x", linewidths=1.0, zorder=5)
            ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal", xticks=[], yticks=[], title=weight_title(w))
        panels[0].set_ylabel(row, fontsize="large")
    fig.suptitle("guided field v_w = (1 + w) v(t, x, y) - w v(t, x, no label), one panel per w")
    modes = [Line2D([], [], ls="", marker="x", ms=6, color="k", label="its mode")] if means is not None else []
    class_legend(fig, colours, extra=[*modes, line])
    return fig


def weight_title(w):
    """A panel's title for guidance weight w, naming the two fields it can be: "w = -1 (unconditional)"."""
    names = {-1.0: "unconditional", 0.0: "conditional"}
    return f"w = {w:g}" + (f" ({names[w]})" if w in names else "")

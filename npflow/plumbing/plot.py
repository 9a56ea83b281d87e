"""Figures of 2-D points and fields. Each function returns a ``matplotlib.figure.Figure``; save it with
``fig.savefig``.

Samples over the target, the paths of the ODE, the vector field as arrows, a density as a heat
map, the training loss, histograms of x_t over time, a GIF of the flow, and the samples of a
guided field per guidance weight. ``npflow.plumbing.plot_images`` draws images (the digits) as
grids with the panels made here.

The figures are built without ``pyplot``, so they need no display and leave no global state.
matplotlib is imported inside the functions that draw, not at the top: importing it takes
about 0.6 s, and every ``npflow`` command, even ``--help``, imports this module.
"""
import numpy as np

__all__ = ["STILL_FORMATS", "figure", "write_gif", "bounds_around", "samples", "trajectories", "field", "density",
           "loss", "plain_log_ticks", "time_slices", "animation", "guidance", "weight_title"]

#: The file names a still figure can be saved under: matplotlib chooses the format by the suffix.
STILL_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".eps", ".ps")


def figure(ncols, nrows=1, width=4.0, height=4.0):
    """A figure of ``nrows`` x ``ncols`` panels of ``width`` x ``height`` inches each, and its axes, shape (nrows, ncols)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def bounds_around(points, margin=1.0):
    """Axis limits around the points, shape (2, 2): rows low/high, columns x/y."""
    return np.quantile(points, [0.0, 1.0], axis=0) + np.array([[-margin], [margin]])


def _grid(limits, resolution):
    """A resolution x resolution grid over the limits: the axes (2 arrays) and the points, shape (r*r, 2)."""
    xs = np.linspace(limits[0, 0], limits[1, 0], resolution)
    ys = np.linspace(limits[0, 1], limits[1, 1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([xx.ravel(), yy.ravel()])


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
    box = bounds_around(target)
    fig, axes = _slide_panels(len(generated), 1, box, width=4.5 * len(generated))
    for ax, (name, x) in zip(axes[0], generated.items()):
        ax.scatter(target[:, 0], target[:, 1], s=2, c="0.75", label="target")
        ax.scatter(x[:, 0], x[:, 1], s=2, c="C0", label="generated")
        ax.set(title=name, xlim=box[:, 0], ylim=box[:, 1], aspect="equal")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=2, markerscale=4,
               frameon=False)  # below the panels, off the points
    if title:
        fig.suptitle(title)
    return fig


def trajectories(trajectory, n_paths=200, target=None):
    """Paths of the ODE from noise (t = 0) to data (t = 1), coloured by time.

    Parameters
    ----------
    trajectory : Trajectory
        From ``npflow.generate`` (``.t`` of shape (k,), ``.x`` of shape (k, n, 2)).
    n_paths : int
        How many of the n paths to draw.
    target : ndarray of shape (m, 2), optional
        Drawn in grey underneath.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.collections import LineCollection

    x = trajectory.x[:, :n_paths]  # (k, paths, 2)
    box = bounds_around(x.reshape(-1, 2), margin=0.5)
    fig, axes = _slide_panels(1, 1, box, width=6.0)
    ax = axes[0, 0]
    if target is not None:
        ax.scatter(target[:, 0], target[:, 1], s=2, c="0.85", zorder=0)
    segments = np.stack([x[:-1], x[1:]], axis=2)  # (k - 1, paths, 2 ends, 2)
    times = np.repeat((trajectory.t[:-1] + trajectory.t[1:]) / 2, x.shape[1])  # time of each segment
    lines = LineCollection(segments.reshape(-1, 2, 2), array=times, cmap="viridis", linewidths=0.6)
    ax.add_collection(lines)
    ax.scatter(x[0, :, 0], x[0, :, 1], s=4, c="k", label="start")
    ax.scatter(x[-1, :, 0], x[-1, :, 1], s=4, c="C3", label="end")
    ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal",
           title=f"{x.shape[1]} paths from t = {trajectory.t[0]:g} to t = {trajectory.t[-1]:g}")
    _colour_bar(fig, lines, ax, "t")
    fig.legend(loc="outside lower center", ncols=2, markerscale=3, frameon=False)  # off the paths
    return fig


def _at_time(trajectory, t):
    """The step of a trajectory nearest to time t: its time and its points, shape (n, 2)."""
    k = int(np.argmin(np.abs(trajectory.t - t)))
    return trajectory.t[k], trajectory.x[k]


def _slide_panels(ncols, nrows, limits, width=12.5):
    """Figure and axes for ``nrows`` x ``ncols`` panels of the region ``limits`` that fill a slide's width.

    Each panel has the region's own aspect, so that no panel space is left empty around it.
    """
    extent = np.ptp(np.asarray(limits, dtype=float), axis=0)  # (width, height) of the region
    panel = width / ncols
    return figure(ncols, nrows, width=panel + 0.25, height=panel * extent[1] / extent[0] + 0.45)


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
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib import colormaps

    rows = {"learned": f} if exact is None else {"learned": f, "exact": exact}
    limits = np.asarray(limits, dtype=float)
    fig, axes = _slide_panels(len(times), len(rows), limits)
    xs = np.linspace(limits[0, 0], limits[1, 0], resolution)
    spacing = xs[1] - xs[0]
    ys = np.arange(limits[0, 1] + spacing / 2, limits[1, 1], spacing)  # the same spacing down as across
    xx, yy = np.meshgrid(xs, ys)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    v = {(name, t): g(t, points) for name, g in rows.items() for t in times}  # each (m, 2)
    speeds = {key: np.hypot(*velocity.T) for key, velocity in v.items()}  # each (m,)
    colours = Normalize(0.0, np.quantile(np.concatenate(list(speeds.values())), 0.95))
    cmap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.9, 256)))  # no pale yellow on white
    for row, name in zip(axes, rows):
        for ax, t in zip(row, times):
            if trajectory is not None:
                x_t = _at_time(trajectory, t)[1]
                ax.scatter(x_t[:, 0], x_t[:, 1], s=1, c="0.8", zorder=0)
            direction = v[name, t] / np.maximum(speeds[name, t], 1e-12)[:, None]  # unit arrows
            arrows = ax.quiver(points[:, 0], points[:, 1], direction[:, 0], direction[:, 1], speeds[name, t],
                               cmap=cmap, norm=colours, angles="xy", scale_units="xy", scale=1 / (0.75 * spacing),
                               width=0.004, headwidth=4, pivot="mid")
            ax.set(title=f"{name}, t = {t:g}", xlim=limits[:, 0], ylim=limits[:, 1], aspect="equal")
        _colour_bar(fig, arrows, row[-1], "speed |v|", extend="max")  # one per row, as tall as its panels
    return fig


def _colour_bar(fig, mappable, ax, label, **options):
    """A colour bar just right of ``ax``, exactly as tall as it."""
    return fig.colorbar(mappable, cax=ax.inset_axes([1.04, 0.0, 0.04, 1.0]), label=label, **options)


def density(log_p, limits, resolution=80, target_log_p=None):
    """A heat map of a density from its log, e.g. a model's by ``npflow.log_likelihood``.

    With the target beside it, both panels share one colour scale, so that equal colours are
    equal densities.

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
    fig, axes = _slide_panels(len(panels), 1, limits, width=4.5 * len(panels))
    xs, ys, points = _grid(limits, resolution)
    p = {name: np.exp(g(points)).reshape(resolution, resolution) for name, g in panels.items()}
    scale = Normalize(0.0, max(values.max() for values in p.values()))
    for ax, name in zip(axes[0], panels):
        image = ax.pcolormesh(xs, ys, p[name], cmap="magma", norm=scale, shading="auto")
        ax.set(title=f"{name} density", aspect="equal")
    _colour_bar(fig, image, axes[0, -1], "density")  # one scale: one bar
    return fig


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
    fig, axes = figure(1, width=6.0, height=3.5)
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


def plain_log_ticks(axis):
    """Label a log axis in plain numbers (6, 0.05), not matplotlib's 6x10^0: each power of ten, and over a
    range of few decades also 2 and 5 times one (over less than one decade, 3, 4, 6 and 8 times too)."""
    from matplotlib.ticker import FuncFormatter

    def label(value, position):
        low, high = sorted(axis.get_view_interval())
        decades = np.log10(high / low) if low > 0 else np.inf
        mantissa = round(value / 10 ** np.floor(np.log10(value) + 1e-9), 6)  # 6 for 0.06
        shown = (1,) if decades > 3 else (1, 2, 5) if decades > 1 else (1, 2, 3, 4, 5, 6, 8)
        return f"{value:g}" if mantissa in shown else ""

    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(FuncFormatter(label))


def time_slices(trajectory, times=(0.0, 0.25, 0.5, 0.75, 1.0), bins=None):
    """Histograms of x_t at several times along a trajectory: noise turning into data.

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
    box = bounds_around(trajectory.x.reshape(-1, 2), margin=0.2)
    bins = bins or int(np.clip(np.sqrt(trajectory.x.shape[1]) / 1.5, 10, 60))
    fig, axes = _slide_panels(len(times), 1, box)
    for ax, t in zip(axes[0], times):
        t_k, x = _at_time(trajectory, t)
        ax.hist2d(x[:, 0], x[:, 1], bins=bins, range=box.T, cmap="Blues")
        ax.set(title=f"x_t at t = {t_k:.2f}", aspect="equal")
    return fig


def animation(trajectory, path, frames=40, n_points=1000, fps=12):
    """Write a GIF of the points moving along the flow, and return its figure.

    Parameters
    ----------
    trajectory : Trajectory
    path : str or path
        Where to write the GIF (matplotlib's Pillow writer).
    frames : int
        Frames, spread evenly over the trajectory's steps.
    n_points : int
    fps : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = figure(1, width=4.5, height=4.0)
    ax = axes[0, 0]
    x = trajectory.x[:, :n_points]  # (k, n, 2)
    box = bounds_around(x.reshape(-1, 2), margin=0.5)
    ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal")
    dots = ax.scatter(x[0, :, 0], x[0, :, 1], s=3)
    steps = np.linspace(0, len(trajectory.t) - 1, frames).round().astype(int)

    def draw(k):
        dots.set_offsets(x[k])
        ax.set_title(f"t = {trajectory.t[k]:.2f}")
        return (dots,)

    write_gif(fig, draw, steps, path, fps)
    return fig


def write_gif(fig, draw, frames, path, fps):
    """Write a GIF of ``fig`` to ``path``: ``draw(k)`` updates it to frame k, for each k of ``frames``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    draw : callable
        ``draw(k) -> tuple of Artist``: the artists it changed.
    frames : sequence of int
    path : str or path
        Where to write the GIF (matplotlib's Pillow writer).
    fps : int
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    FuncAnimation(fig, draw, frames=frames, blit=False).save(path, writer=PillowWriter(fps=fps))


def guidance(target, rows, y, means=None):
    """Samples of a guided field, one panel per guidance weight w, coloured by the label each was asked for.

    Parameters
    ----------
    target : ndarray, shape (m, 2)
        Points from the target, drawn in grey behind every panel.
    rows : dict of str to dict of float to ndarray of shape (n, 2)
        Row name (e.g. "learned", "exact") -> {w: samples of the field guided with w}.
    y : ndarray of int, shape (n,)
        The label each sample was asked for (the same in every panel).
    means : ndarray of shape (K, 2), optional
        The modes of the classes, marked with a black cross.

    Returns
    -------
    matplotlib.figure.Figure
    """
    weights = list(next(iter(rows.values())))
    fig, axes = figure(len(weights), nrows=len(rows), width=2.6, height=2.7)
    box = bounds_around(np.concatenate([target, *(x for row in rows.values() for x in row.values())]), margin=0.3)
    colours = _label_colours(int(y.max()) + 1 if means is None else len(means))
    for panels, (row, samples) in zip(axes, rows.items()):
        for ax, w in zip(panels, weights):
            ax.scatter(target[:, 0], target[:, 1], s=1, c="0.85", rasterized=True)
            ax.scatter(samples[w][:, 0], samples[w][:, 1], s=1.5, c=colours[y], rasterized=True)
            if means is not None:
                ax.scatter(means[:, 0], means[:, 1], s=25, c="k", marker="x", linewidths=1.0)
            ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal", xticks=[], yticks=[],
                   title=weight_title(w))
        panels[0].set_ylabel(row, fontsize="large")
    fig.suptitle("v_w = (1 + w) v(t, x, y) - w v(t, x, no label); colour: the label asked for")
    return fig


def weight_title(w):
    """A panel's title for guidance weight w, naming the two fields it can be: "w = -1 (unconditional)"."""
    names = {-1.0: "unconditional", 0.0: "conditional"}
    return f"w = {w:g}" + (f" ({names[w]})" if w in names else "")


def _label_colours(num_classes):
    """One RGBA colour per class, shape (K, 4): matplotlib's tab10, or a sweep of viridis beyond 10 classes."""
    from matplotlib import colormaps

    if num_classes <= 10:
        return colormaps["tab10"](np.arange(num_classes))
    return colormaps["viridis"](np.linspace(0.0, 1.0, num_classes))



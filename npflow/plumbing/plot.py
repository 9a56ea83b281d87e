"""Figures. Each function returns a ``matplotlib.figure.Figure``; save it with ``fig.savefig``.

The figures are built without ``pyplot``, so they need no display and leave no global state;
matplotlib is imported only when a figure is drawn, which keeps ``import npflow`` and the CLI
quick to start. All of them draw 2-D data.
"""
import numpy as np

__all__ = ["STILL_FORMATS", "bounds_around", "samples", "trajectories", "field", "density", "loss", "time_slices",
           "animation"]

#: The file names a still figure can be saved under: matplotlib chooses the format by the suffix.
STILL_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".eps", ".ps")


def _figure(ncols, nrows=1, width=4.0, height=4.0):
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
    fig, axes = _figure(len(generated), width=4.5, height=3.2)
    box = bounds_around(target)
    for ax, (name, x) in zip(axes[0], generated.items()):
        ax.scatter(target[:, 0], target[:, 1], s=2, c="0.75", label="target")
        ax.scatter(x[:, 0], x[:, 1], s=2, c="C0", label="generated")
        ax.set(title=name, xlim=box[:, 0], ylim=box[:, 1], aspect="equal")
    axes[0, 0].legend(loc="upper left", markerscale=4)
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

    fig, axes = _figure(1, width=6.0, height=4.5)
    ax = axes[0, 0]
    x = trajectory.x[:, :n_paths]  # (k, paths, 2)
    if target is not None:
        ax.scatter(target[:, 0], target[:, 1], s=2, c="0.85", zorder=0)
    segments = np.stack([x[:-1], x[1:]], axis=2)  # (k - 1, paths, 2 ends, 2)
    times = np.repeat((trajectory.t[:-1] + trajectory.t[1:]) / 2, x.shape[1])  # time of each segment
    lines = LineCollection(segments.reshape(-1, 2, 2), array=times, cmap="viridis", linewidths=0.6)
    ax.add_collection(lines)
    ax.scatter(x[0, :, 0], x[0, :, 1], s=4, c="k", label="start")
    ax.scatter(x[-1, :, 0], x[-1, :, 1], s=4, c="C3", label="end")
    box = bounds_around(x.reshape(-1, 2), margin=0.5)
    ax.set(xlim=box[:, 0], ylim=box[:, 1], aspect="equal",
           title=f"{x.shape[1]} paths from t = {trajectory.t[0]:g} to t = {trajectory.t[-1]:g}")
    fig.colorbar(lines, ax=ax, label="t")
    ax.legend(loc="upper left", markerscale=3)
    return fig


def field(f, times=(0.0, 0.25, 0.5, 0.75, 1.0), limits=((-7.0, -4.0), (7.0, 4.0)), resolution=17, exact=None):
    """Arrows of the vector field v(t, x) on a grid, one panel per time.

    Parameters
    ----------
    f : callable
        The field ``f(t, x)``.
    times : sequence of float
    limits : array_like, shape (2, 2)
        ((x_low, y_low), (x_high, y_high)).
    resolution : int
        Arrows per side.
    exact : callable, optional
        The exact field, drawn in a second row for comparison.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = {"learned": f} if exact is None else {"learned": f, "exact": exact}
    fig, axes = _figure(len(times), nrows=len(rows), width=3.2, height=2.1)
    limits = np.asarray(limits, dtype=float)
    xs, ys, points = _grid(limits, resolution)
    v = {(name, t): g(t, points) for name, g in rows.items() for t in times}  # each (r*r, 2)
    # One arrow scale and one colour scale for every panel, so that lengths compare across them:
    # the fastest arrow anywhere is one grid spacing long.
    top_speed = max(np.hypot(*velocity.T).max() for velocity in v.values())
    spacing = (limits[1, 0] - limits[0, 0]) / (resolution - 1)
    for row, name in zip(axes, rows):
        for ax, t in zip(row, times):
            u = v[name, t]
            ax.quiver(points[:, 0], points[:, 1], u[:, 0], u[:, 1], np.hypot(*u.T), cmap="viridis",
                      clim=(0, top_speed), angles="xy", scale_units="xy", scale=top_speed / spacing)
            ax.set(title=f"{name}, t = {t:g}", aspect="equal")
    fig.suptitle(f"v(t, x); the longest arrow is |v| = {top_speed:.2f}")
    return fig


def density(log_p, limits, resolution=80, target_log_p=None):
    """A heat map of a density from its log, e.g. a model's by ``npflow.log_likelihood``.

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
    panels = {"model": log_p} if target_log_p is None else {"model": log_p, "target": target_log_p}
    fig, axes = _figure(len(panels), width=4.5, height=3.5)
    xs, ys, points = _grid(np.asarray(limits, dtype=float), resolution)
    for ax, (name, g) in zip(axes[0], panels.items()):
        p = np.exp(g(points)).reshape(resolution, resolution)
        image = ax.pcolormesh(xs, ys, p, cmap="magma", shading="auto")
        ax.set(title=f"{name} density", aspect="equal")
        fig.colorbar(image, ax=ax)
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
    fig, axes = _figure(1, width=6.0, height=3.5)
    ax = axes[0, 0]
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, c="0.8", lw=0.5, label="per step")
    window = max(1, min(window, len(losses)))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")  # (steps - window + 1,)
    ax.plot(steps[window - 1:], smooth, c="C0", label=f"mean of {window}")
    ax.set(xlabel="step", ylabel="CFM loss", yscale="log")
    ax.legend(loc="upper left")
    if field_errors is not None and len(field_errors):
        twin = ax.twinx()
        twin.plot(field_errors[:, 0], field_errors[:, 1], c="C3", marker="o", ms=3, label="field error")
        twin.set(ylabel="field error (vs exact)", yscale="log")
        twin.legend(loc="upper right")
    return fig


def time_slices(trajectory, times=(0.0, 0.25, 0.5, 0.75, 1.0), bins=60):
    """Histograms of x_t at several times along a trajectory: noise turning into data.

    Parameters
    ----------
    trajectory : Trajectory
        With many points (``.x`` of shape (k, n, 2)); each time is matched to the nearest step.
    times : sequence of float
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _figure(len(times), width=3.0, height=3.0)
    box = bounds_around(trajectory.x.reshape(-1, 2), margin=0.2)
    for ax, t in zip(axes[0], times):
        k = int(np.argmin(np.abs(trajectory.t - t)))
        x = trajectory.x[k]
        ax.hist2d(x[:, 0], x[:, 1], bins=bins, range=box.T, cmap="Blues")
        ax.set(title=f"x_t at t = {trajectory.t[k]:.2f}", aspect="equal")
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
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, axes = _figure(1, width=4.5, height=4.0)
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

    FuncAnimation(fig, draw, frames=steps, blit=False).save(path, writer=PillowWriter(fps=fps))
    return fig

"""Figures of images: grids of 8x8 digits, side by side per guidance weight, and a GIF of a grid in time.

Each function returns a ``matplotlib.figure.Figure`` (the GIF's after writing it), built from
the parts of ``npflow.plumbing.plot_parts``. An image is a row of side * side pixels in
row-major order, 0..levels - 1, drawn from white (0) to black. Every grid can say what it shows
above it (``title``: e.g. its guidance weight w) and what its rows are (``row_label``: e.g.
"class asked for", written beside the rows' names).
"""
import numpy as np

from .plot_parts import figure, mark_quick, write_gif

__all__ = ["times_to_show", "image_grid", "image_grids", "image_animation"]


def times_to_show(t, count):
    """Indices of the recorded times ``t`` nearest to ``count`` even steps from t[0] to t[-1], each once, in order.

    Fewer than ``count`` when fewer were recorded (3 solver steps give 4 times at most).
    """
    nearest = np.abs(t[:, None] - np.linspace(t[0], t[-1], count)).argmin(axis=0)
    return np.unique(nearest)


def image_grid(rows, side=8, levels=17, titles=None, title=None, row_label=None):
    """Images in a grid, one row of panels per entry of ``rows``: e.g. a row of samples per class.

    Parameters
    ----------
    rows : dict of str to ndarray of shape (m, side * side)
        Each row's name (written at its left) and its images, pixels 0..levels - 1 in row-major order.
    side : int
        Images are side x side pixels.
    levels : int
        Pixel values 0..levels - 1, drawn from white (0) to black.
    titles : sequence of str, optional
        One per column, written above the top row (e.g. the time of each column).
    title : str, optional
        Above the grid: what it shows, e.g. "samples, w = 1".
    row_label : str, optional
        What the rows' names are, written left of them, e.g. "class asked for".

    Returns
    -------
    matplotlib.figure.Figure
    """
    ncols = max(len(images) for images in rows.values())
    fig, axes = figure(ncols, len(rows), width=0.8, height=0.8)
    _draw_images(axes, rows, side, levels, titles)
    _label(fig, title, row_label)
    return fig


def _label(fig, title, row_label):
    """Write a grid's title above it and its rows' label left of it, each where given."""
    if title:
        fig.suptitle(title)
    if row_label:
        fig.supylabel(row_label, fontsize="medium")


def image_grids(grids, side=8, levels=17, title=None, row_label=None):
    """Image grids side by side under their titles: e.g. a grid of samples per guidance weight.

    Parameters
    ----------
    grids : dict of str to dict
        Each grid's title and its rows, as ``image_grid`` takes them (the same shape in every grid).
    side, levels, title, row_label :
        As for ``image_grid``; ``title`` above all the grids.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # lazily, as in npflow.plumbing.plot: it is slow to import

    first = next(iter(grids.values()))
    nrows, ncols = len(first), max(len(images) for images in first.values())
    fig = Figure(figsize=(0.8 * ncols * len(grids) + 0.3, 0.8 * nrows + 0.4), layout="constrained")
    for subfig, (name, rows) in zip(np.atleast_1d(fig.subfigures(1, len(grids))), grids.items()):
        _draw_images(subfig.subplots(nrows, ncols, squeeze=False), rows, side, levels)
        subfig.suptitle(name)
    _label(fig, title, row_label)
    return fig


def image_animation(frames, times, path, names=None, side=8, levels=17, frame_count=40, fps=12, title=None,
                    row_label=None, quick=False):
    """Write a GIF of an image grid changing over time (images from noise to data), and return its figure.

    The grid is drawn as one mosaic image (the images with a white pixel between them), so
    that a frame redraws one picture, not one per panel.

    Parameters
    ----------
    frames : ndarray, shape (k, rows, columns, side * side)
        The grid at each of k times, pixels 0..levels - 1.
    times : ndarray, shape (k,)
    path : str or path
        Where to write the GIF (matplotlib's Pillow writer).
    names : sequence of str, optional
        Each row's name.
    side, levels : int
        As for ``image_grid``.
    frame_count : int
        At most this many frames, spread evenly over the k times.
    fps : int
    title : str, optional
        What the grid shows, written before each frame's time t (e.g. "w = 1").
    row_label : str, optional
        As for ``image_grid``.
    quick : bool
        Mark every frame with the quick-mode note (``plot_parts.mark_quick``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    k, rows, columns = frames.shape[:3]
    names = names or [str(i + 1) for i in range(rows)]
    fig, axes = figure(1, width=0.45 * columns + 0.6, height=0.45 * rows + 0.4)
    ax = axes[0, 0]
    picture = ax.imshow(_mosaic(frames[0], side), cmap="gray_r", vmin=0, vmax=levels - 1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks((side + 1) * np.arange(rows) + side / 2, names)
    ax.set_ylabel(row_label or "")
    mark_quick(fig, quick)
    shown = np.unique(np.linspace(0, k - 1, frame_count).round().astype(int))

    def draw(j):
        picture.set_data(_mosaic(frames[j], side))
        ax.set_title((f"{title}, " if title else "") + f"t = {times[j]:.2f}")
        return (picture,)

    write_gif(fig, draw, shown, path, fps)
    return fig


def _mosaic(grid, side):
    """Images of shape (rows, columns, side * side) as one array, shape (rows (side + 1) - 1, columns (side + 1) - 1),
    with a NaN (drawn white) line between neighbours."""
    rows, columns = grid.shape[:2]
    padded = np.full((rows, side + 1, columns, side + 1), np.nan)
    padded[:, :side, :, :side] = grid.reshape(rows, columns, side, side).transpose(0, 2, 1, 3)
    return padded.reshape(rows * (side + 1), columns * (side + 1))[:-1, :-1]


def _draw_images(axes, rows, side, levels, titles=None):
    """Fill a grid of axes, shape (len(rows), columns), with the images of ``rows`` (see ``image_grid``)."""
    for ax_row, (name, images) in zip(axes, rows.items()):
        for j, ax in enumerate(ax_row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(images):
                ax.imshow(images[j].reshape(side, side), cmap="gray_r", vmin=0, vmax=levels - 1,
                          interpolation="nearest")
            else:
                ax.set_axis_off()
        ax_row[0].set_ylabel(name, rotation=0, ha="right", va="center")
    for ax, title in zip(axes[0], titles or ()):
        ax.set_title(title, fontsize="small")

"""The parts every figure shares: panels sized for a slide, markers scaled to the number of points,
the target as contour lines, a legend of classes, colour bars, the quick-mode note, and saving.

The figures themselves are in ``npflow.plumbing.plot`` (points and fields), ``plot_curves``
(curves against steps or NFE) and ``plot_images`` (the digits). They are built without
``pyplot``, so they need no display and leave no global state. matplotlib is imported inside the
functions that draw, not at the top: importing it takes about 0.6 s, and every ``npflow``
command, even ``--help``, imports these modules.
"""
import numpy as np

__all__ = ["STILL_FORMATS", "SLIDE_DPI", "SLIDE_PIXELS", "QUICK_NOTE", "figure", "slide_panels", "wrapped_panels",
           "bounds_around", "grid", "marker_style", "target_contour", "class_legend", "label_colours", "colour_bar",
           "mark_quick", "save", "write_gif", "slide_dpi", "plain_log_ticks"]

#: The file names a still figure can be saved under: matplotlib chooses the format by the suffix.
STILL_FORMATS = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".eps", ".ps")
#: A raster figure is written at this many dots per inch at least...
SLIDE_DPI = 150
#: ...and at least this many pixels on its long side, so that it stays sharp on a projected slide.
SLIDE_PIXELS = 800
#: What a figure of a quick run says on itself: its models are too small to conclude anything.
QUICK_NOTE = "quick: too small to conclude"


def figure(ncols, nrows=1, width=4.0, height=4.0):
    """A figure of ``nrows`` x ``ncols`` panels of ``width`` x ``height`` inches each, and its axes, shape (nrows, ncols)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def slide_panels(ncols, nrows, limits, width=12.5):
    """Figure and axes for ``nrows`` x ``ncols`` panels of the region ``limits`` that fill a slide's width.

    Each panel has the region's own aspect, so that no panel space is left empty around it.
    """
    extent = np.ptp(np.asarray(limits, dtype=float), axis=0)  # (width, height) of the region
    panel = width / ncols
    return figure(ncols, nrows, width=panel + 0.25, height=panel * extent[1] / extent[0] + 0.45)


def wrapped_panels(count, limits, panel_width=4.5, max_columns=3):
    """Figure and axes for ``count`` panels of the region ``limits``, at most ``max_columns`` a row, each
    ``panel_width`` inches wide (at least 6.5 inches in all); the axes past ``count`` are hidden."""
    ncols = min(count, max_columns)
    nrows = -(-count // ncols)
    fig, axes = slide_panels(ncols, nrows, limits, width=max(panel_width * ncols, 6.5))
    for ax in axes.flat[count:]:
        ax.set_axis_off()
    return fig, axes


def bounds_around(points, margin=1.0):
    """Axis limits around the points, shape (2, 2): rows low/high, columns x/y."""
    return np.quantile(points, [0.0, 1.0], axis=0) + np.array([[-margin], [margin]])


def grid(limits, resolution):
    """A resolution x resolution grid over the limits: the axes (2 arrays) and the points, shape (r*r, 2)."""
    xs = np.linspace(limits[0, 0], limits[1, 0], resolution)
    ys = np.linspace(limits[0, 1], limits[1, 1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([xx.ravel(), yy.ravel()])


def marker_style(n):
    """The size and opacity of the markers of a scatter of n points, as ``scatter`` takes them.

    The rule: size s = 4000 / n points^2, kept between 1.5 and 36, and opacity alpha = sqrt(400 / n),
    kept between 0.15 and 1. A hundred points are large and solid (s = 36, alpha = 1); a thousand
    are small and see-through (s = 4, alpha = 0.63); ten thousand are dots that show where they
    pile up by how dark they get (s = 1.5, alpha = 0.2), instead of one blot that hides it.
    """
    n = max(int(n), 1)
    return {"s": float(np.clip(4000.0 / n, 1.5, 36.0)), "alpha": float(np.clip(np.sqrt(400.0 / n), 0.15, 1.0)),
            "linewidths": 0}


def _smoothed_histogram(points, limits, bins):
    """A density from a draw: a 2-D histogram of ``bins`` x ``bins`` over the limits, blurred three times by
    [1, 2, 1] / 4. Returns the bins' centres across and down, and the counts, shape (bins down, bins across)."""
    edges = [np.linspace(limits[0, j], limits[1, j], bins + 1) for j in range(2)]
    counts = np.histogram2d(points[:, 0], points[:, 1], bins=edges)[0].T  # rows: y, as contour takes them
    kernel = np.array([0.25, 0.5, 0.25])
    for _ in range(3):
        counts = np.apply_along_axis(np.convolve, 0, counts, kernel, mode="same")
        counts = np.apply_along_axis(np.convolve, 1, counts, kernel, mode="same")
    return *((e[:-1] + e[1:]) / 2 for e in edges), counts


def _mass_levels(density, masses):
    """The density levels whose upper sets hold the fractions ``masses`` of the total (on a grid), increasing."""
    values = np.sort(density.ravel())[::-1]
    held = np.cumsum(values) / values.sum()
    return np.sort([values[min(np.searchsorted(held, m), len(values) - 1)] for m in masses])


def target_contour(ax, limits, target=None, log_p=None, masses=(0.5, 0.9)):
    """Draw the target as contour lines over a panel: the lines that hold 50 % and 90 % of its mass.

    Each line encloses the densest region that holds that share of the target's mass (a broad,
    light component may have no 50 % line of its own). The lines are drawn above the samples
    and hide none of them. With ``log_p`` they are the
    target's exact density's; otherwise those of a 2-D histogram of the target's draw ``target``
    (m, 2), about sqrt(m) bins a side (20 to 80), blurred a little. Returns a legend handle that
    names them.
    """
    from matplotlib.lines import Line2D

    limits = np.asarray(limits, dtype=float)
    if log_p is not None:
        xs, ys, points = grid(limits, 120)
        density = np.exp(log_p(points)).reshape(120, 120)
    else:
        target = np.asarray(target)
        xs, ys, density = _smoothed_histogram(target, limits, int(np.clip(np.sqrt(len(target)), 20, 80)))
    levels = _mass_levels(density, masses)
    ax.contour(xs, ys, density, levels=np.unique(levels), colors="k", linewidths=1.0, zorder=4)
    label = "target: its densest " + " and ".join(f"{m:.0%}" for m in masses)
    return Line2D([], [], color="k", lw=1.0, label=label)


def label_colours(num_classes):
    """One RGBA colour per class, shape (K, 4): matplotlib's tab10, or a sweep of viridis beyond 10 classes."""
    from matplotlib import colormaps

    if num_classes <= 10:
        return colormaps["tab10"](np.arange(num_classes))
    return colormaps["viridis"](np.linspace(0.0, 1.0, num_classes))


def class_legend(fig, colours, extra=(), title="class asked for"):
    """A legend below the panels that maps each colour to its class (0, 1, ...), with ``extra`` handles after them."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", ms=7, color=c, label=str(k)) for k, c in enumerate(colours)]
    return fig.legend(handles=[*handles, *extra], loc="outside lower center", ncols=len(handles) + len(extra),
                      title=title, frameon=False, handletextpad=0.3, columnspacing=1.2)


def colour_bar(fig, mappable, ax, label, **options):
    """A colour bar just right of ``ax``, exactly as tall as it."""
    return fig.colorbar(mappable, cax=ax.inset_axes([1.04, 0.0, 0.04, 1.0]), label=label, **options)


def mark_quick(fig, quick=True, note=QUICK_NOTE):
    """Write ``note`` in red above everything else on the figure when ``quick``, and return the figure.

    For the figures of a quick run (``--quick``): a small model trained briefly draws a figure
    that looks like a full one, and this says on the figure itself that it is not. The figure
    grows by a strip at its top for the note, so that it covers nothing: what sat at its top
    (the title, a legend above the panels) moves down with the rest.
    """
    if not quick:
        return fig
    strip = 0.4  # inches
    height = fig.get_figheight()
    fig.draw_without_rendering()  # lay it out as it is, to find what sits at its top
    on_top = sorted((artist for artist in [*fig.texts, *fig.legends] if _at_the_top(fig, artist)),
                    key=lambda artist: -artist.get_window_extent().y1)  # from the top down
    fig.set_figheight(height + strip)
    below = height / (height + strip)  # the figure as it was lies below this, in figure coordinates
    for artist in on_top:  # (the layout would draw them at the very top, over the note): stack them under it
        extent = artist.get_window_extent().height / fig.dpi / (height + strip) + 0.04 / (height + strip)
        if artist in fig.legends:
            artist.set_bbox_to_anchor((0.0, 0.0, 1.0, below), transform=fig.transFigure)
        elif artist.get_text() == fig.get_suptitle():
            fig.suptitle(artist.get_text(), y=below, va="top")  # placed by hand now, not by the layout
        else:
            artist.set(y=below, va="top")
        below -= extent
    if fig.get_layout_engine() is not None:  # the panels, in what is left below
        fig.get_layout_engine().set(rect=(0.0, 0.0, 1.0, below))
    else:
        fig.subplots_adjust(top=below * fig.subplotpars.top)
    fig.text(0.01, 1 - 0.5 * strip / (height + strip), note, ha="left", va="center", color="C3",
             fontsize="large", fontweight="bold")
    return fig


def _at_the_top(fig, artist):
    """Whether ``artist`` (a text or a legend of ``fig``, laid out) is shown and reaches into the figure's top 5 %."""
    shown = artist.get_visible() and (not hasattr(artist, "get_text") or artist.get_text())
    return bool(shown) and artist.get_window_extent().y1 > 0.95 * fig.bbox.height


def slide_dpi(fig, dpi=SLIDE_DPI, pixels=SLIDE_PIXELS):
    """The dots per inch that give ``fig`` at least ``pixels`` on its long side, and at least ``dpi``."""
    return max(dpi, int(np.ceil(pixels / max(fig.get_size_inches()))))


def save(fig, path, dpi=SLIDE_DPI, format=None):
    """Save a figure fit for a slide: a raster at least ``dpi`` and ``SLIDE_PIXELS`` on its long side; .svg, .pdf, .eps
    and .ps as vectors (matplotlib chooses the format by the suffix of ``path``, or by ``format``)."""
    fig.savefig(path, dpi=slide_dpi(fig, dpi), format=format)


def write_gif(fig, draw, frames, path, fps, dpi=None):
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
    dpi : float, optional
        Dots per inch; by default what gives ``SLIDE_PIXELS`` on the long side (GIFs stay modest: no more).
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    dpi = dpi or int(np.ceil(SLIDE_PIXELS / max(fig.get_size_inches())))
    FuncAnimation(fig, draw, frames=frames, blit=False).save(path, writer=PillowWriter(fps=fps), dpi=dpi)


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

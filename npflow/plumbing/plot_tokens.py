"""Figures of a run of tokens (``npflow plot`` of a discrete run): its samples, its tokens unmasking, a GIF, the loss.

A run of pairs of tokens (D = 2, the grids) is drawn as histograms over the V x V cells, beside
the data's table; over time, over the S x S states, whose last row and column (for a masked
source) are MASK. A run of the digits (``Dataset.to_pixels``) is drawn as images, a masked
pixel left blank. Each figure is ``draw(run, args, out) -> Figure`` (None where it wrote ``out``
itself, the GIF), for ``npflow.plumbing.displays``.
"""
import numpy as np

from ..data.datasets import get_dataset
from ..discrete.metrics import histogram
from ..models.discrete import check_no_solver, sample_run, token_shape
from .chunks import source_draws
from .plot_curves import loss
from .plot_images import image_animation, image_grid, times_to_show
from .plot_parts import colour_bar, figure, mark_quick, write_gif

__all__ = ["FIGURES", "heat_maps", "tokens_over_time"]

#: Times a trajectory figure shows, from the source (t = 0) to the data (t = 1).
COLUMNS = 6


def tokens_over_time(run, args, n):
    """n sequences of the run's jump process in --steps steps from its source, every state kept: ``Tokens`` with x
    of shape (steps + 1, n, D), drawn from the generator of --seed."""
    check_no_solver(args.solver)
    rng = np.random.default_rng(args.seed)
    run, x_0 = source_draws(run, n, rng, args.dtype)
    return sample_run(run.config, run.field_params, x_0, args.solver_steps, rng, keep=True)


def heat_maps(tables, title=None, mask=None, top=None):
    """Tables over the cells of pairs of tokens as heat maps side by side, on one colour scale.

    Parameters
    ----------
    tables : dict of str to ndarray of shape (m, m)
        Panel title -> probabilities (row: the first token, column: the second).
    title : str, optional
    mask : int, optional
        The index of MASK among the states, marked on the axes.
    top : float, optional
        The probability of the brightest colour (larger ones saturate); the largest entry if None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = figure(len(tables), width=3.6, height=3.4)
    top = max(float(table.max()) for table in tables.values()) if top is None else top
    for ax, (name, table) in zip(axes[0], tables.items()):
        image = ax.imshow(table, cmap="viridis", vmin=0.0, vmax=top, origin="lower", interpolation="nearest")
        ax.set(title=name, xlabel="second token", ylabel="first token")
        if mask is not None:
            ax.set_xticks([0, mask], ["0", "MASK"])
            ax.set_yticks([0, mask], ["0", "MASK"])
    colour_bar(fig, image, axes[0, -1], "probability")
    if title:
        fig.suptitle(title)
    return fig


def _grid_or_images(run, kind):
    """Whether the run's data are images (drawn as images), or pairs of tokens; a ValueError for other data."""
    dataset = get_dataset(run.config.dataset)
    if dataset.to_pixels is None and dataset.dim != 2:
        raise ValueError(f"--kind {kind} draws pairs of tokens (D = 2) or images, and this run's data has D = "
                         f"{dataset.dim}; npflow sample and evaluate take any D")
    return dataset.to_pixels is not None


def _states(tokens, S):
    """The histograms over S x S states of each kept time: shape (k, S, S)."""
    return np.stack([histogram(x, S) for x in tokens.x])


def _shown(pixels, V):
    """Pixels as image_grid draws them: a MASK (= V) as NaN, drawn blank."""
    return np.where(pixels == V, np.nan, pixels.astype(float))


def _samples(run, args, out):
    D, V, S = token_shape(run.config)
    if _grid_or_images(run, "samples"):
        tokens = tokens_over_time(run, args, 100)
        return image_grid({str(row + 1): images for row, images in enumerate(tokens.x[-1].reshape(10, 10, D))},
                          title=f"samples, {tokens.method}", row_label="draw")
    tokens = tokens_over_time(run, args, args.n)
    return heat_maps({"the data (its table)": get_dataset(run.config.dataset).table,
                      f"{args.n} samples, {tokens.method}": histogram(tokens.x[-1], V)})


def _trajectories(run, args, out):
    D, V, S = token_shape(run.config)
    mask = V if run.config.source == "mask" else None
    if _grid_or_images(run, "trajectories"):
        tokens = tokens_over_time(run, args, 8)
        k = times_to_show(tokens.t, 9)
        strips = _shown(tokens.x[k], V).transpose(1, 0, 2)  # (rows, columns, D)
        return image_grid({str(row + 1): strip for row, strip in enumerate(strips)},
                          titles=[f"t = {t:.2f}" for t in tokens.t[k]], row_label="draw",
                          title="from the source (t = 0; masked pixels blank) to digits (t = 1)")
    tokens = tokens_over_time(run, args, args.n)
    k = times_to_show(tokens.t, COLUMNS)
    states = _states(tokens, S)
    masked = [f", {np.mean(tokens.x[j] == V):.0%} masked" if mask is not None else "" for j in k]
    return heat_maps({f"t = {tokens.t[j]:.2f}{note}": states[j] for j, note in zip(k, masked)}, mask=mask,
                     top=float(states[-1].max()), title=f"{args.n} sequences over the states, from the source to the "
                     f"data ({tokens.method}; colours saturate at the largest cell at t = 1)")


def _animation(run, args, out):
    D, V, S = token_shape(run.config)
    if _grid_or_images(run, "animation"):
        tokens = tokens_over_time(run, args, 100)
        frames = _shown(tokens.x, V).reshape(len(tokens.t), 10, 10, D)
        image_animation(frames, tokens.t, out, title="masked pixels blank", row_label="draw", quick=args.quick)
        return None
    tokens = tokens_over_time(run, args, args.n)
    states = _states(tokens, S)
    fig = heat_maps({"": states[0]}, mask=V if run.config.source == "mask" else None, top=float(states[-1].max()))
    mark_quick(fig, args.quick)
    ax = fig.axes[0]
    picture = ax.images[0]

    def draw(j):
        picture.set_data(states[j])
        ax.set_title(f"{args.n} sequences, t = {tokens.t[j]:.2f}")
        return (picture,)

    write_gif(fig, draw, np.unique(np.linspace(0, len(tokens.t) - 1, 40).round().astype(int)), out, fps=8)
    return None


def _loss(run, args, out):
    return loss(run.losses)


#: ``npflow plot --kind`` for a discrete run: the function that draws each figure.
FIGURES = {"samples": _samples, "trajectories": _trajectories, "animation": _animation, "loss": _loss}

"""``npflow plot``: draw one figure of a trained run.

``FIGURES`` are the figures of a 2-D run (``npflow.plumbing.plot``), ``IMAGE_FIGURES`` those of
a run of images, drawn as grids (``npflow.plumbing.plot_images``), and a run whose objective
registers a display draws that display's own (``npflow.plumbing.displays``); each is a function
``(run, args, out) -> Figure``, or None where it wrote ``out`` itself (a GIF).
"""
import numpy as np

from ..core.oracle import exact_velocity
from ..data.datasets import get_dataset
from ..diffusion.stochastic import SAMPLERS
from ..guidance.exact import exact_guided_velocity
from ..guidance.labels import equal_shares
from ..plumbing import plot, plot_images
from ..plumbing.chapter_displays import DISPLAYS, display_of, figure_kinds
from ..plumbing.chunks import log_likelihood_in_chunks
from ..plumbing.labels import GUIDANCE_WEIGHTS, add_label_options, asked_classes, asked_field
from ..plumbing.outputs import atomic_file
from ..runs.field_error import exact_mixture
from ..runs.scoring import scoring_field
from .checks import check_flow_fits, check_out, read_run, rows, source_log_prob
from .options import (add_flow_options, add_out, command, dtype, flow_ode, sampler_options, solver_options,
                      source_points)

__all__ = ["add_parser", "FIGURES", "IMAGE_FIGURES"]


def add_parser(commands):
    """``npflow plot`` and its options."""
    parser = command(commands, _plot)
    add_flow_options(parser, n=1000, points="points to sample and draw", draws="the source and target draws")
    parser.add_argument("--kind", required=True, choices=list(dict.fromkeys([*FIGURES, *figure_kinds()])),
                        help="which figure")
    add_out(parser, "FILE", "where to write it (.png at 150 dpi and 800 px at least, .svg, .pdf; .gif for --kind "
                            "animation)")
    parser.add_argument("--quick", action="store_true",
                        help=f"write '{plot.QUICK_NOTE}' on the figure: for a run trained too briefly to judge by")
    add_label_options(parser)


def _plot(args):
    """Draw a figure of a trained run.

    Draw one figure of a 2-D run: samples over the target, ODE trajectories, the vector field
    (beside the exact one where known), the density by the reverse ODE, the loss, histograms of
    x_t over time, or a GIF of the flow. With --label (a conditional run), the field guided towards
    those classes; --kind guidance draws a row of panels, one per guidance weight. A run of the
    digits draws grids of images: samples (a row per class of a conditional run), trajectories (a
    digit a row, from noise to digit), a grid per guidance weight, the GIF of the grid, and the loss.
    """
    run = read_run(args.run_dir, args)
    # --kind density casts the network alone (scoring_field): its ODE state stays float64
    run = run if args.kind == "density" else run.astype(dtype(args))
    sampler_options(run, args)  # refuse a bad sampler before any work
    figures = _figures_of(run, args)
    if (args.kind == "animation") != args.out.lower().endswith(".gif"):
        raise ValueError("--kind animation writes a .gif, and only it does; got --out " + repr(args.out))
    check_out(args, (".gif",) if args.kind == "animation" else plot.STILL_FORMATS)
    check_flow_fits(run, args, args.n, paths=1)
    with atomic_file(args.out) as tmp:
        figure = figures[args.kind](run, args, tmp)
        if figure is not None:  # None: the figure wrote its file itself (the GIF)
            plot.save(plot.mark_quick(figure, args.quick), tmp)  # by its suffix, kept
    print(f"{args.kind} written to {args.out}")


def _figures_of(run, args):
    """The figures the run draws, ``--kind`` -> draw: its objective's display's, or those of images or of 2-D points;
    a ValueError in one line if ``--kind`` is not among them."""
    display = display_of(run.config)
    if display is not None:
        if args.kind not in display.figures:
            raise ValueError(f"--kind {args.kind} is not drawn for a run of objective {run.config.objective!r}; it "
                             f"draws --kind {', '.join(display.figures)}")
        return display.figures
    if args.kind not in FIGURES:  # a kind only displays draw
        raise ValueError(f"--kind {args.kind} is drawn for a run of objective "
                         f"{' or '.join(repr(name) for name, own in DISPLAYS.items() if args.kind in own.figures)}, "
                         f"and this run's objective is {run.config.objective!r}")
    images = get_dataset(run.config.dataset).to_pixels is not None  # drawn as grids of images
    figures = IMAGE_FIGURES if images else FIGURES
    if args.kind not in figures or (run.dim != 2 and not images and args.kind != "loss"):
        raise ValueError(f"--kind {args.kind} draws 2-D data, and this run's data has d = {run.dim}"
                         + (f" (a run of the digits draws --kind {', '.join(IMAGE_FIGURES)})" if images else ""))
    return figures


# --- plot, for a 2-D run -------------------------------------------------------------------------

def _draws(run, args):
    """n points x_0 from the run's source (in --dtype), then n fresh target points, from the generator of --seed."""
    rng = np.random.default_rng(args.seed)
    return source_points(run, args, args.n, rng), get_dataset(run.config.dataset).sample(args.n, rng)


def _flow(run, args):
    """The flow from the source's draws, as the run samples (by the command's solver, a stochastic one's noise
    from --seed too; the field --label asks for), and the target's draws."""
    x_0, target = _draws(run, args)
    field, y = asked_field(run, args, args.n)
    if y is None:
        rng = np.random.default_rng([args.seed, 1])  # apart from the draws, which _limits repeats
        return run.sample(x_0, args.solver, rng=rng, **sampler_options(run, args)), target
    return flow_ode(field, x_0, args), target


def _limits(run, args):
    """Axis limits around the target's draws, shape (2, 2)."""
    return plot.bounds_around(_draws(run, args)[1], margin=1.5)


def _target_log_p(run):
    """The run's target's log-density where it is known (its contour lines are then exact), else None."""
    return get_dataset(run.config.dataset).log_prob


def _plot_samples(run, args, out):
    trajectory, target = _flow(run, args)
    return plot.samples(target, {f"{trajectory.method}, NFE {trajectory.nfe}": trajectory.x[-1]},
                        target_log_p=_target_log_p(run))


def _plot_trajectories(run, args, out):
    trajectory, target = _flow(run, args)
    return plot.trajectories(trajectory, target=target, target_log_p=_target_log_p(run))


def _plot_field(run, args, out):
    field, y = asked_field(run, args)
    mixture = exact_mixture(run.config, required=False)
    if mixture is None:
        exact = None
    elif y is None:
        exact = exact_velocity(mixture, run.config.sigma_min)
    else:
        exact = exact_guided_velocity(mixture, run.config.sigma_min, label=y, guidance=args.guidance or 0.0)
    trajectory, target = _flow(run, args)  # the points flowing along the field, drawn behind its arrows
    return plot.field(field, limits=plot.bounds_around(target, margin=1.5), exact=exact, trajectory=trajectory)


def _plot_density(run, args, out):
    log_p_0 = source_log_prob(run.config, "--kind density")  # first: refuse before any work
    if args.solver in SAMPLERS:
        raise ValueError(f"--kind density solves the reverse ODE; give an ODE solver, not --solver {args.solver}")

    field, y = asked_field(run, args)
    field = scoring_field(run, args.dtype) if y is None else field

    def log_p(points):  # the model's, by the reverse ODE
        return log_likelihood_in_chunks(field, points, rows(run), solver=args.solver or "rk4", log_p_0=log_p_0,
                                        **solver_options(args))

    return plot.density(log_p, _limits(run, args), resolution=50,
                        target_log_p=get_dataset(run.config.dataset).log_prob)


def _plot_loss(run, args, out):
    return plot.loss(run.losses, field_errors=run.field_errors)


def _plot_time_slices(run, args, out):
    return plot.time_slices(_flow(run, args)[0])


def _plot_animation(run, args, out):
    plot.animation(_flow(run, args)[0], out, quick=args.quick)  # writes the GIF itself


def _check_guidance_kind(run, args):
    """Refuse --kind guidance for a run without labels, or with --guidance (it draws every weight)."""
    if not run.config.num_classes:
        raise ValueError("--kind guidance needs a conditional run (npflow train --conditional)")
    if args.guidance is not None:
        raise ValueError(f"--kind guidance draws w = {', '.join(f'{w:g}' for w in GUIDANCE_WEIGHTS)}; drop --guidance")


def _plot_guidance(run, args, out):
    _check_guidance_kind(run, args)
    classes = asked_classes(run, args)
    y = equal_shares(np.arange(run.config.num_classes) if classes is None else classes, args.n)
    (x_0, target), config = _draws(run, args), run.config
    fields = {"learned": lambda w: run.guided_velocity(y, w)}
    mixture = exact_mixture(config, required=False)
    if mixture is not None:
        fields["exact"] = lambda w: exact_guided_velocity(mixture, config.sigma_min, label=y, guidance=w)
    rows_of_samples = {name: {w: flow_ode(f(w), x_0, args).x[-1] for w in GUIDANCE_WEIGHTS}
                       for name, f in fields.items()}
    return plot.guidance(target, rows_of_samples, y, means=get_dataset(config.dataset).means,
                         target_log_p=_target_log_p(run))


#: ``npflow plot --kind``: the function that draws each figure, ``(run, args, out) -> Figure`` (None if it wrote out).
FIGURES = {"samples": _plot_samples, "trajectories": _plot_trajectories, "field": _plot_field,
           "density": _plot_density, "loss": _plot_loss, "time_slices": _plot_time_slices,
           "animation": _plot_animation, "guidance": _plot_guidance}


# --- plot, for a run of images (the digits) ------------------------------------------------------

def _image_flow(run, args, columns, guidance=None):
    """Flow a grid of images: ``columns`` images (at most --n) a row; a row per class asked for by --label
    (every class without it) for a conditional run, guided by ``guidance`` (--guidance if None), or ten
    rows for an unconditional one. Returns each row's name and the trajectory, x of shape (k, rows * columns, d).
    """
    columns = min(columns, args.n)
    classes = asked_classes(run, args)  # refuses --label for a run without labels
    if not run.config.num_classes:
        names = [str(i + 1) for i in range(10)]
        x_0 = source_points(run, args, len(names) * columns, np.random.default_rng(args.seed))
        return names, run.sample(x_0, args.solver, **solver_options(args))
    classes = np.arange(run.config.num_classes) if classes is None else classes
    x_0 = source_points(run, args, len(classes) * columns, np.random.default_rng(args.seed))
    w = (args.guidance or 0.0) if guidance is None else guidance
    return [str(k) for k in classes], flow_ode(run.guided_velocity(np.repeat(classes, columns), w), x_0, args)


def _pixels(run, x):
    """Points x in the run's model units as the dataset's pixels (``Dataset.to_pixels``)."""
    return get_dataset(run.config.dataset).to_pixels(x)


def _pixel_rows(run, names, x):
    """Points x of shape (rows * columns, d), in pixels, as the rows ``plot_images.image_grid`` takes."""
    return dict(zip(names, _pixels(run, x).reshape(len(names), -1, x.shape[-1])))


def _grid_labels(run, args, what):
    """A digit grid's title, ``what`` and the guidance weight it was drawn at (or that the run has no classes),
    and the label of its rows: {"title": ..., "row_label": ...} as ``plot_images`` takes them."""
    if not run.config.num_classes:
        return {"title": f"{what}, unconditional run (no classes)", "row_label": "draw"}
    return {"title": f"{what}, {plot.weight_title(args.guidance or 0.0)}", "row_label": "class asked for"}


def _image_samples(run, args, out):
    names, trajectory = _image_flow(run, args, columns=10)
    return plot_images.image_grid(_pixel_rows(run, names, trajectory.x[-1]), **_grid_labels(run, args, "samples"))


def _image_trajectories(run, args, out, columns=11):
    """One image a row, from noise (t = 0) to the image (t = 1), at ``columns`` times (fewer if fewer were recorded)."""
    names, trajectory = _image_flow(run, args, columns=1)
    k = plot_images.times_to_show(trajectory.t, columns)
    strips = _pixels(run, trajectory.x[k]).transpose(1, 0, 2)  # (rows, columns, d)
    return plot_images.image_grid(dict(zip(names, strips)), titles=[f"t = {t:.1f}" for t in trajectory.t[k]],
                                  **_grid_labels(run, args, "from noise (t = 0) to digit (t = 1)"))


def _image_animation(run, args, out):
    names, trajectory = _image_flow(run, args, columns=10)
    frames = _pixels(run, trajectory.x).reshape(len(trajectory.t), len(names), -1, trajectory.x.shape[-1])
    labels = _grid_labels(run, args, "samples")
    labels["title"] = labels["title"].removeprefix("samples, ")
    plot_images.image_animation(frames, trajectory.t, out, names=names, quick=args.quick, **labels)  # writes the GIF


def _image_guidance(run, args, out, columns=4):
    """A grid of images (a row per class, ``columns`` a row) for each guidance weight."""
    _check_guidance_kind(run, args)
    grids = {}
    for w in GUIDANCE_WEIGHTS:
        names, trajectory = _image_flow(run, args, columns, guidance=w)
        grids[plot.weight_title(w)] = _pixel_rows(run, names, trajectory.x[-1])
    return plot_images.image_grids(grids, title="samples per guidance weight w: "
                                   "v_w = (1 + w) v(t, x, y) - w v(t, x, no label)", row_label="class asked for")


#: ``npflow plot --kind`` for a run of images: each figure drawn as a grid of images.
IMAGE_FIGURES = {"samples": _image_samples, "trajectories": _image_trajectories,
                 "guidance": _image_guidance, "animation": _image_animation, "loss": _plot_loss}

"""``npflow sample``: generate samples from a trained run, as it samples or guided towards labels."""
import sys
import time

import numpy as np

from ..data.datasets import get_dataset
from ..diffusion.stochastic import SAMPLERS
from ..plumbing.chunks import sample_in_chunks
from ..plumbing.labels import add_label_options, asked_field, save_labelled
from ..plumbing.outputs import save_array
from ..plumbing.progress import ChunkProgress
from .checks import check_flow_fits, check_out, read_run, rows
from .options import add_flow_options, add_out, command, dtype, flow_ode, sampler_options, source_points

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow sample`` and its options."""
    parser = command(commands, _sample)
    add_flow_options(parser, n=1024, points="number of samples", draws="the source draws")
    add_label_options(parser)
    add_out(parser, "FILE.npy", "where to save the samples (with --label: FILE.npz, the samples x and their labels y)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines (shown on stderr for work of over 2 s)")


def _sample(args):
    """Generate samples from a trained run.

    Draw x_0 from the run's source (noise, N(0, I), unless it was trained from another) and
    integrate dx/dt = v_theta(t, x) from t=0 to t=1; for a MeanFlow run, take K jumps
    x <- x + (t - s) u_theta(s, t, x) (--steps 1: one network evaluation); or run a stochastic
    sampler from t=0: the SDE with the same marginals (euler-maruyama) or DDPM's ancestral step
    (ddpm), with noise from the same seed; or run the objective's own sampler, which may give
    integer tokens. Saves an array of shape (n, d), integer tokens as they are. With --label (a conditional run), the field is guided towards the asked
    classes, and the .npz saved holds x (n, d), the samples, and y (n,), the label each was asked for.
    Work of over 2 s shows its progress on stderr; an --n whose arrays would not fit in memory is
    refused with the largest --n that would.
    """
    run = read_run(args.run_dir, args).astype(dtype(args))
    y = asked_field(run, args, args.n)[1]  # the label of each point, None without --label
    if y is not None and not args.out.lower().endswith(".npz"):
        raise ValueError(f"--label saves the samples with their labels, as an .npz of x and y; got --out {args.out!r}")
    check_out(args, (".npy",) if y is None else (".npz",))
    pixels_of = get_dataset(run.config.dataset).to_pixels
    check_flow_fits(run, args, args.n, copies=3 if pixels_of is None else 5)  # to_pixels: a copy and a temporary
    options = sampler_options(run, args)
    if y is not None and args.solver in SAMPLERS:
        raise ValueError(f"--label samples a guided field by an ODE solver, not by --solver {args.solver}")
    rng = np.random.default_rng(args.seed)
    x_0 = source_points(run, args, args.n, rng)
    start = time.perf_counter()
    progress = ChunkProgress("sample", args.n, None if args.quiet else sys.stderr)
    x_1, trajectory = sample_in_chunks(_chunk_sampler(run, args, y, options, rng), x_0, rows(run), progress)
    seconds = time.perf_counter() - start
    if pixels_of is not None and x_1.dtype.kind == "f":  # model units back to the dataset's own; tokens are its own
        x_1 = pixels_of(x_1)
    if y is None:
        save_array(args.out, x_1, force=args.force)
    else:
        save_labelled(args.out, x_1, y, force=args.force)
    print(f"{args.n} samples by {trajectory.method}: NFE {trajectory.nfe}, {seconds:.3f} s; saved to {args.out}")


def _chunk_sampler(run, args, y, options, rng):
    """``sample(x_0, chunk) -> Trajectory``: the run's own sampling of some of the points (a stochastic sampler's
    noise from ``rng``), or, with --label, the ODE of the field guided towards each point's label."""
    if y is None:
        return lambda x_0, chunk: run.sample(x_0, args.solver, rng=rng, **options)
    return lambda x_0, chunk: flow_ode(run.guided_velocity(y[chunk], args.guidance or 0.0), x_0, args)

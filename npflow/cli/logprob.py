"""``npflow logprob``: the log-likelihood of points under a trained run, by the reverse ODE."""
import sys
import time

import numpy as np

from ..images.pixels import bits_per_dim
from ..plumbing.chunks import log_likelihood_in_chunks
from ..plumbing.io import load_points
from ..plumbing.outputs import save_array
from ..plumbing.progress import ChunkProgress
from ..runs.scoring import scoring_field
from .checks import check_flow_fits, check_near_data, check_out, in_model_units, read_run, rows, source_log_prob
from .options import (add_dtype, add_out, add_run_dir, add_seed, add_solver_arguments, command, positive_int,
                      solver_options)

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow logprob`` and its options."""
    parser = command(commands, _logprob)
    add_run_dir(parser)
    parser.add_argument("--points", required=True, metavar="FILE",
                        help="points to score: a .npy array of shape (n, d), or a .csv file, one point per line")
    parser.add_argument("--units", choices=["model", "pixels"], default="model",
                        help="the points' units: the model's own, or, for a run on images (digits), pixels 0..16, "
                             "each dequantized by noise from --seed and scaled to the model's [-1, 1), and scored "
                             "in bits per dimension too [%(default)s]")
    parser.add_argument("--method", choices=["exact", "hutchinson"], default="exact",
                        help="exact divergence (d autograd passes; one matrix product for an MLP of two hidden "
                             "layers) or Hutchinson's estimate [%(default)s]")
    parser.add_argument("--probes", type=positive_int, default=1, help="Hutchinson probes [%(default)s]")
    add_solver_arguments(parser)
    add_seed(parser, "the pixels' dequantization (--units pixels), then the Hutchinson probes")
    add_dtype(parser, "arithmetic of the network in the exact divergence of an MLP run of two hidden layers, whose "
                      "sums stay float64: float32 is about twice as fast; on the tutorial's recipe it moved log p by "
                      "a median of 1e-7 nats (at most 1.2e-3, where RK4's own error is 1.6e-3 at the median), and "
                      "by under 1e-6 with silu or tanh")
    add_out(parser, "FILE.npy", "where to save log p, shape (n,)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines (shown on stderr for work of over 2 s)")


def _logprob(args):
    """Log-likelihood of points under a trained run.

    Score points by the reverse ODE: integrate [x, div v] from t=1 back to t=0 and return
    log p_0(x(0)) - integral of div v, with p_0 the run's source (N(0, I), or a Gaussian
    mixture; others have no known density). Saves an array of shape (n,), log p of the points in
    the model's units. Points far outside the run's data (more than 6 times its typical distance
    from its centre) are refused, as in other units; a run on images takes pixels with --units
    pixels. Work of over 2 s shows its progress on stderr.
    """
    run = read_run(args.run_dir, args)
    log_p_0 = source_log_prob(run.config, "the likelihood")
    check_out(args, (".npy",), inputs=[args.points])
    rng = np.random.default_rng(args.seed)
    points = in_model_units(run, load_points(args.points, run.dim), args.units, rng)
    check_near_data(run, points)
    check_flow_fits(run, args, len(points))
    start = time.perf_counter()
    progress = ChunkProgress("logprob", len(points), None if args.quiet else sys.stderr)
    log_p = log_likelihood_in_chunks(scoring_field(run, args.dtype), points, rows(run), progress, method=args.method,
                                     solver=args.solver, probes=args.probes, rng=rng, log_p_0=log_p_0,
                                     **solver_options(args))
    seconds = time.perf_counter() - start
    save_array(args.out, log_p, force=args.force)
    bits = f", {bits_per_dim(log_p, run.dim).mean():.4f} bits/dim of the pixels" if args.units == "pixels" else ""
    print(f"log p of {len(points)} points ({args.method}, {args.solver}): mean {log_p.mean():.4f} nats{bits}, "
          f"{seconds:.3f} s; saved to {args.out}")

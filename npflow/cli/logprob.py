"""``npflow logprob``: the log-likelihood of points under a trained run, by the reverse ODE."""
import time

import numpy as np

from ..plumbing.chunks import log_likelihood_in_chunks
from ..plumbing.io import load_points
from ..plumbing.outputs import save_array
from ..runs.scoring import scoring_field
from .checks import check_flow_fits, check_out, read_run, rows, source_log_prob
from .options import (add_dtype, add_out, add_run_dir, add_seed, add_solver_arguments, command, positive_int,
                      solver_options)

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow logprob`` and its options."""
    parser = command(commands, _logprob)
    add_run_dir(parser)
    parser.add_argument("--points", required=True, metavar="FILE",
                        help="points to score: a .npy array of shape (n, d), or a .csv file, one point per line")
    parser.add_argument("--method", choices=["exact", "hutchinson"], default="exact",
                        help="exact divergence (d autograd passes; one matrix product for an MLP of two hidden "
                             "layers) or Hutchinson's estimate [%(default)s]")
    parser.add_argument("--probes", type=positive_int, default=1, help="Hutchinson probes [%(default)s]")
    add_solver_arguments(parser)
    add_seed(parser, "the Hutchinson probes")
    add_dtype(parser, "arithmetic of the network in the exact divergence of an MLP run of two hidden layers, whose "
                      "sums stay float64: float32 is about twice as fast; on the tutorial's recipe it moved log p by "
                      "a median of 1e-7 nats (at most 1.2e-3, where RK4's own error is 1.6e-3 at the median), and "
                      "by under 1e-6 with silu or tanh")
    add_out(parser, "FILE.npy", "where to save log p, shape (n,)")


def _logprob(args):
    """Log-likelihood of points under a trained run.

    Score points by the reverse ODE: integrate [x, div v] from t=1 back to t=0 and return
    log p_0(x(0)) - integral of div v, with p_0 the run's source (N(0, I), or a Gaussian
    mixture; others have no known density). Saves an array of shape (n,).
    """
    run = read_run(args.run_dir, args)
    log_p_0 = source_log_prob(run.config, "the likelihood")
    check_out(args, (".npy",), inputs=[args.points])
    points = load_points(args.points, run.dim)
    check_flow_fits(run, args, len(points))
    start = time.perf_counter()
    log_p = log_likelihood_in_chunks(scoring_field(run, args.dtype), points, rows(run), method=args.method,
                                     solver=args.solver, probes=args.probes, rng=np.random.default_rng(args.seed),
                                     log_p_0=log_p_0, **solver_options(args))
    seconds = time.perf_counter() - start
    save_array(args.out, log_p, force=args.force)
    print(f"log p of {len(points)} points ({args.method}, {args.solver}): mean {log_p.mean():.4f} nats, "
          f"{seconds:.3f} s; saved to {args.out}")

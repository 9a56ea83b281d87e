"""``npflow reflow``: straighten a trained flow by training a new run on the pairs it makes (rectified flow)."""
import os
import sys
import tempfile
import time

import numpy as np

from ..plumbing.io import load_run, save_pairs
from ..plumbing.outputs import CONFIG_FILE, check_not_an_input, check_output_path
from ..runs.reflow import reflow_config, reflow_pairs
from ..runs.run import start_run
from .checks import check_flow_fits, check_training_fits, read_run
from .options import (add_run_dir, add_solver_arguments, add_training_output, at_least_two, command, non_negative_int,
                      positive_int, solver_options)
from .train import create_run, train_in

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow reflow`` and its options."""
    parser = command(commands, _reflow)
    add_run_dir(parser)
    parser.add_argument("--out", required=True, metavar="NEW_RUN", help="run directory to create")
    parser.add_argument("--pairs", type=at_least_two, default=10_000, metavar="N", help="pairs to make [%(default)s]")
    parser.add_argument("--steps", type=positive_int, help="training steps [RUN_DIR's]")
    parser.add_argument("--seed", type=non_negative_int, help="seed of the pairs and of the new run [RUN_DIR's]")
    add_solver_arguments(parser, solver="RK45", tolerance=1e-6, title="solver that makes the pairs",
                         steps_flag="--solver-steps")
    add_training_output(parser, out="NEW_RUN")


def _reflow(args):
    """Straighten a trained flow: train a new one on the pairs it makes.

    Rectified flow's reflow: draw N source points x_0, carry each through RUN_DIR's flow to x_1
    with a tight solver, and train a new run on the straight lines between these fixed pairs
    (coupling 'pairs', linear path, sigma_min 0). The rest of the recipe is RUN_DIR's. Its paths
    are straighter, so few Euler steps suffice.
    """
    first = read_run(args.run_dir, args)
    reflow_config(first.config, "pairs.npz")  # refuses a recipe reflow cannot keep (a conditional one) before any work
    check_not_an_input(args.out, [args.run_dir])  # not the run it reads, nor inside a run
    if first.objective.sample is not None:
        raise ValueError(f"{args.run_dir!r} is a MeanFlow run, which samples by jumps; reflow straightens a flow's ODE")
    check_output_path(args.out, args.force, marker=CONFIG_FILE)  # refuse before any work
    check_flow_fits(first, args, args.pairs, paths=1)  # reflow_pairs keeps the trajectory of all the pairs
    seed = first.config.seed if args.seed is None else args.seed
    if not args.quiet:
        print(f"making {args.pairs} pairs with {args.solver} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    x_0, x_1 = reflow_pairs(first, args.pairs, np.random.default_rng([seed, 2]), args.solver, **solver_options(args))
    if not args.quiet:
        print(f"made {args.pairs} pairs in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:  # the new run keeps its own copy, pairs.npz
        pairs_file = os.path.join(scratch, "pairs.npz")
        save_pairs(pairs_file, x_0, x_1)
        config = reflow_config(first.config, pairs_file, steps=args.steps or first.config.steps, seed=seed)
        check_training_fits(config)
        lock = create_run(args.out, start_run(config), args.force)
    run = load_run(args.out)
    return train_in(args.out, run, run.config, args, lock, created=True)

"""The ``npflow`` command line: ``train``, ``reflow``, ``sample``, ``logprob``, ``evaluate``, ``plot``, ``export``
and ``demo``.

Bad input gets one line on stderr that names the value and what was expected, and exit
status 2; nothing is written. Ctrl-C exits with 130 and leaves no half-written output; during
training it first saves a checkpoint to resume from. A diverging training run exits with 1.
"""
import argparse
import math
import os
import sys
import time

from .. import __version__

__all__ = ["main"]


# --- argument types: each returns the parsed value or raises with what was expected --------

def _number(convert, accept, expected):
    """An argparse ``type`` that converts text and checks it, or says what was expected."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # argparse names the type in some messages
    return parse


positive_int = _number(int, lambda value: value > 0, "a positive integer")
at_least_two = _number(int, lambda value: value >= 2, "an integer >= 2")
non_negative_int = _number(int, lambda value: value >= 0, "a non-negative integer")
positive_float = _number(float, lambda value: math.isfinite(value) and value > 0, "a finite positive number")
unit_interval = _number(float, lambda value: 0.0 <= value < 1.0, "a number in [0, 1)")
ema_decay = _number(float, lambda value: 0.0 <= value < 1.0, "a decay in [0, 1) such as 0.999")
hidden_widths = _number(lambda text: tuple(int(part) for part in text.split(",")),
                        lambda widths: min(widths) > 0, "comma-separated positive layer widths such as 128,128")


def solver_name(text):
    """A solver name, in any letter case (``rk45`` is ``RK45``)."""
    from ..solvers import METHODS

    by_lower = {name.lower(): name for name in METHODS}
    if text.lower() not in by_lower:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(METHODS)}, got {text!r}")
    return by_lower[text.lower()]


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: what was wrong, and where to read more."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_run_dir(parser):
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by 'npflow train'")


def _add_solver_arguments(parser, solver="rk4", tolerance=1e-5, title="solver", steps_flag="--steps"):
    group = parser.add_argument_group(title)
    group.add_argument("--solver", type=solver_name, default=solver,
                       help=f"euler, midpoint, heun, rk4 (fixed step, with {steps_flag}) or a solve_ivp method: "
                            f"RK45, RK23, DOP853, Radau, BDF, LSODA (adaptive, with --rtol/--atol) [{solver}]")
    group.add_argument(steps_flag, dest="solver_steps", type=positive_int, default=100, metavar="K",
                       help="fixed steps from t=0 to t=1 [100]")
    group.add_argument("--rtol", type=positive_float, default=tolerance, help=f"relative tolerance [{tolerance:g}]")
    group.add_argument("--atol", type=positive_float, default=tolerance, help=f"absolute tolerance [{tolerance:g}]")


def _add_training_output(parser, out="RUN_DIR"):
    """The options of a command that trains into ``out``: replace it, how often to checkpoint, and quiet."""
    parser.add_argument("--force", action="store_true", help=f"replace {out} if it is an existing run")
    parser.add_argument("--checkpoint-every", type=non_negative_int, default=1000, metavar="K",
                        help="save a checkpoint every K steps [1000; 0: only at the end or on Ctrl-C]")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def build_parser():
    from ..couplings import COUPLING_NAMES
    from ..data import DATASETS
    from ..mlp import ACTIVATIONS
    from ..paths import PATHS
    from .plot import KINDS
    from ..run import RECIPES

    parser = OneLineErrorParser(prog="npflow", description="Flow matching in NumPy: train a vector field, sample "
                                                           "from it, and see every step. Noise is at t=0, data at t=1.")
    parser.add_argument("--version", action="version", version=f"npflow {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser, required=True)

    train = commands.add_parser("train", help="train a vector field by conditional flow matching",
                                description="Train v_theta(t, x) with the CFM loss and Adam, and write a run "
                                            "directory, checkpointed as it goes. The defaults are the seed "
                                            "tutorial's recipe. Ctrl-C saves a checkpoint; --resume continues "
                                            "it to the same bits as an uninterrupted run.")
    # Recipe options default to None so that --resume can tell which were given; TrainConfig fills the rest.
    recipe = train.add_argument_group("recipe (fixed for a run; with --resume only --steps may be given)")
    recipe.add_argument("--dataset", metavar="NAME|FILE",
                        help=f"target data: one of {', '.join(sorted(DATASETS))}, or a .npy or .csv file of "
                             "shape (n, d), any d, whose rows are drawn with replacement [two_gaussians]")
    recipe.add_argument("--source", metavar="gaussian|NAME|FILE",
                        help="where the flow starts at t=0: N(0, I), or a dataset like --dataset for "
                             "data-to-data transport [gaussian]")
    recipe.add_argument("--steps", type=positive_int, help="total Adam steps [10000]")
    recipe.add_argument("--batch-size", type=positive_int, help="points per step [128]")
    recipe.add_argument("--lr", type=positive_float, help="Adam learning rate [1e-3]")
    recipe.add_argument("--hidden", type=hidden_widths, help="hidden widths [128,128]")
    recipe.add_argument("--activation", choices=list(ACTIVATIONS), help="relu, silu or tanh [relu]")
    recipe.add_argument("--sigma-min", type=unit_interval,
                        help="path width, in [0, 1): at t=1 for --path linear, everywhere for icfm [0.0]")
    recipe.add_argument("--seed", type=non_negative_int, help="random seed [42]")
    recipe.add_argument("--grad", choices=["autograd", "backprop"],
                        help="gradient by autograd, or by the hand-written chain rule (faster) [autograd]")
    recipe.add_argument("--lr-schedule", choices=["constant", "cosine"], help="learning-rate schedule [constant]")
    recipe.add_argument("--ema", type=ema_decay, metavar="DECAY",
                        help="keep a moving average of the weights with this decay and sample with it [0: off]")
    recipe.add_argument("--dtype", choices=["float64", "float32"],
                        help="precision of the weights and batches; float32 is about twice as fast [float64]")
    recipe.add_argument("--coupling", choices=COUPLING_NAMES,
                        help="pair noise and data in a batch independently, by optimal transport, or take "
                             "whole pairs from --pairs-file [independent]")
    recipe.add_argument("--pairs-file", metavar="FILE.npz",
                        help="with --coupling pairs: arrays x_0 and x_1 of shape (N, d), e.g. from 'npflow reflow'")
    recipe.add_argument("--path", choices=PATHS,
                        help="conditional path: the seed's linear one, icfm (the straight line blurred by a "
                             "constant --sigma-min), or variance-preserving cosine [linear]")
    recipe.add_argument("--recipe", choices=sorted(RECIPES),
                        help="start from a named recipe, then apply the options above: 'seed' (the tutorial's, "
                             "the default) or 'fast' (backprop, float32, cosine lr 2e-3, EMA 0.999, batch 256)")
    where = train.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="RUN_DIR", help="run directory to create")
    where.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    _add_training_output(train)
    train.add_argument("--field-error-every", type=non_negative_int, default=0, metavar="K",
                       help="every K steps, log the mean squared gap to the exact field (Gaussian-mixture "
                            "datasets only) [0: never]")
    train.set_defaults(handler=_train)

    reflow = commands.add_parser("reflow", help="straighten a trained flow: train a new one on the pairs it makes",
                                 description="Rectified flow's reflow: draw N source points x_0, carry each "
                                             "through RUN_DIR's flow to x_1 with a tight solver, and train a new "
                                             "run on the straight lines between these fixed pairs (coupling "
                                             "'pairs', linear path, sigma_min 0). The rest of the recipe is "
                                             "RUN_DIR's. Its paths are straighter, so few Euler steps suffice.")
    _add_run_dir(reflow)
    reflow.add_argument("--out", required=True, metavar="NEW_RUN", help="run directory to create")
    reflow.add_argument("--pairs", type=at_least_two, default=10_000, metavar="N", help="pairs to make [10000]")
    reflow.add_argument("--steps", type=positive_int, help="training steps [RUN_DIR's]")
    reflow.add_argument("--seed", type=non_negative_int, help="seed of the pairs and of the new run [RUN_DIR's]")
    _add_solver_arguments(reflow, solver="RK45", tolerance=1e-6, title="solver that makes the pairs",
                          steps_flag="--solver-steps")
    _add_training_output(reflow, out="NEW_RUN")
    reflow.set_defaults(handler=_reflow)

    sample = commands.add_parser("sample", help="generate samples from a trained run",
                                 description="Draw x_0 from the run's source (noise, N(0, I), unless it was "
                                             "trained from another) and integrate dx/dt = v_theta(t, x) from "
                                             "t=0 to t=1. Saves an array of shape (n, d).")
    _add_run_dir(sample)
    sample.add_argument("--n", type=positive_int, default=1024, help="number of samples [1024]")
    _add_solver_arguments(sample)
    sample.add_argument("--seed", type=non_negative_int, default=0, help="seed of the source draws [0]")
    sample.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="arithmetic of the fixed-step solvers; float32 is about twice as fast [float64]")
    sample.add_argument("--out", required=True, metavar="FILE.npy", help="where to save the samples")
    sample.add_argument("--force", action="store_true", help="replace FILE.npy if it exists")
    sample.set_defaults(handler=_sample)

    logprob = commands.add_parser("logprob", help="log-likelihood of points under a trained run",
                                  description="Score points by the reverse ODE: integrate [x, div v] from t=1 "
                                              "back to t=0 and return log p_0(x(0)) - integral of div v, with "
                                              "p_0 = N(0, I) (or the run's Gaussian-mixture source). Saves an "
                                              "array of shape (n,).")
    _add_run_dir(logprob)
    logprob.add_argument("--points", required=True, metavar="FILE.npy", help="points to score, shape (n, d)")
    logprob.add_argument("--out", required=True, metavar="FILE.npy", help="where to save log p, shape (n,)")
    logprob.add_argument("--method", choices=["exact", "hutchinson"], default="exact",
                         help="exact divergence (d autograd passes) or Hutchinson's estimate [exact]")
    logprob.add_argument("--probes", type=positive_int, default=1, help="Hutchinson probes [1]")
    _add_solver_arguments(logprob)
    logprob.add_argument("--seed", type=non_negative_int, default=0, help="seed of the Hutchinson probes [0]")
    logprob.add_argument("--force", action="store_true", help="replace FILE.npy if it exists")
    logprob.set_defaults(handler=_logprob)

    evaluate = commands.add_parser("evaluate", help="NLL, KL, field error and sample distances of a run",
                                   description="Measure a run against fresh target samples: NLL by the reverse "
                                               "ODE where the source's density is known; KL(target || model) "
                                               "where the target is a Gaussian mixture; the field error where "
                                               "the exact field is the run's (linear path, N(0, I), independent "
                                               "pairs); energy distance, W2 and MMD of samples; mode coverage "
                                               "where the target has modes; straightness and NFE of the "
                                               "sampling paths.")
    _add_run_dir(evaluate)
    evaluate.add_argument("--n", type=positive_int, default=2000, help="target points and samples [2000]")
    _add_solver_arguments(evaluate)
    evaluate.add_argument("--seed", type=non_negative_int, default=0, help="seed of the evaluation draws [0]")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(handler=_evaluate)

    plot = commands.add_parser("plot", help="draw a figure of a trained run",
                               description="Draw one figure of a 2-D run: samples over the target, ODE "
                                           "trajectories, the vector field (beside the exact one where known), "
                                           "the density by the reverse ODE, the loss, histograms of x_t over "
                                           "time, or a GIF of the flow.")
    _add_run_dir(plot)
    plot.add_argument("--kind", required=True, choices=KINDS, help="which figure")
    plot.add_argument("--out", required=True, metavar="FILE",
                      help="where to write it (.png, .svg, .pdf; .gif for --kind animation)")
    plot.add_argument("--n", type=positive_int, default=1000, help="points to sample and draw [1000]")
    _add_solver_arguments(plot)
    plot.add_argument("--seed", type=non_negative_int, default=0, help="seed of the source and target draws [0]")
    plot.add_argument("--force", action="store_true", help="replace FILE if it exists")
    plot.set_defaults(handler=_plot)

    export = commands.add_parser("export", help="save a run's weights in the PyTorch tutorial's state_dict layout",
                                 description="Write the weights the run samples with (its moving average, if "
                                             "it keeps one) as an .npz with the keys of the tutorial's "
                                             "VectorField.state_dict(): net.0.weight (fan_out, fan_in), "
                                             "net.0.bias, net.2.weight, ... See npflow/torch_bridge.py for the "
                                             "lines that load it in PyTorch.")
    _add_run_dir(export)
    export.add_argument("--out", required=True, metavar="FILE.npz", help="where to write the weights")
    export.add_argument("--force", action="store_true", help="replace FILE.npz if it exists")
    export.set_defaults(handler=_export)

    demo = commands.add_parser("demo", help="the seed tutorial end to end: train, sample three ways, measure, plot",
                               description="Train the seed's recipe, sample with RK4 and RK45 and with the "
                                           "tutorial's own (wrong) sampler, print energy distance, mode "
                                           "balance and spread against fresh target samples, and write figures.")
    demo.add_argument("--out", default="npflow-demo", metavar="DIR", help="directory to create [npflow-demo]")
    demo.add_argument("--steps", type=positive_int, default=10_000, help="training steps [10000]")
    demo.add_argument("--n", type=positive_int, default=4000, help="samples per sampler [4000]")
    demo.add_argument("--seed", type=non_negative_int, default=42, help="training seed [42]")
    demo.add_argument("--force", action="store_true", help="replace DIR if an earlier demo wrote it")
    demo.set_defaults(handler=_demo)
    return parser


# --- commands ------------------------------------------------------------------------------------

def _train(args):
    from dataclasses import fields, replace

    from .io import check_output_path, load_run, save_run
    from ..run import RECIPES, TrainConfig, start_run
    from ..train import exact_mixture

    # Every field of TrainConfig is an option of the same name; they default to None, so None means "not given".
    given = {field.name: getattr(args, field.name) for field in fields(TrainConfig)
             if getattr(args, field.name) is not None}
    if args.resume:
        refused = [name for name in [*given, *(["recipe"] if args.recipe else [])] if name != "steps"]
        if refused:
            raise ValueError(f"--resume continues the recipe saved in the run; drop --{refused[0].replace('_', '-')}")
        run_dir, run = args.resume, load_run(args.resume)
        config = replace(run.config, steps=args.steps or run.config.steps)  # train() checks it against run.step
    else:
        config = TrainConfig(**{**RECIPES[args.recipe or "seed"], **given})
        run_dir = args.out
        check_output_path(run_dir, args.force, marker="config.json")  # refuse before any work
        if args.field_error_every:
            exact_mixture(config)  # refuses a dataset without an exact field
        save_run(run_dir, start_run(config), force=args.force)  # step 0: from now on the run can always be resumed
        run = load_run(run_dir)  # which reads the run's own copies of any data files
        config = run.config
    return _train_in(run_dir, run, config, args, field_error_every=args.field_error_every)


def _train_in(run_dir, run, config, args, field_error_every=0):
    """Train ``run`` up to ``config.steps``, checkpointing into ``run_dir``; the exit status."""
    from .io import load_run, save_checkpoint
    from ..train import TrainingDiverged, TrainingInterrupted, train

    try:
        run = train(config, resume=run, stream=None if args.quiet else sys.stderr, field_error_every=field_error_every,
                    checkpoint=lambda state: save_checkpoint(run_dir, state), checkpoint_every=args.checkpoint_every)
    except TrainingInterrupted as interrupt:
        save_checkpoint(run_dir, interrupt.run)
        print(f"npflow {args.command}: interrupted at step {interrupt.run.step} of {config.steps}; checkpoint saved. "
              f"Resume with: npflow train --resume {run_dir}", file=sys.stderr)
        return 130
    except TrainingDiverged as error:
        step = load_run(run_dir).step
        print(f"npflow {args.command}: error: {error}. The last good checkpoint (step {step}) is kept in {run_dir}",
              file=sys.stderr)
        return 1
    save_checkpoint(run_dir, run)
    print(f"trained {config.steps} steps, final loss {run.losses[-1]:.4f}; run written to {run_dir}")
    return 0


def _reflow(args):
    import tempfile

    import numpy as np

    from .io import check_output_path, load_run, save_pairs, save_run
    from ..reflow import reflow_config, reflow_pairs
    from ..run import start_run

    first = load_run(args.run_dir)
    check_output_path(args.out, args.force, marker="config.json")  # refuse before any work
    seed = first.config.seed if args.seed is None else args.seed
    if not args.quiet:
        print(f"making {args.pairs} pairs with {args.solver} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    x_0, x_1 = reflow_pairs(first, args.pairs, np.random.default_rng([seed, 2]), args.solver,
                            **_solver_options(args))
    if not args.quiet:
        print(f"made {args.pairs} pairs in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:  # the new run keeps its own copy, pairs.npz
        pairs_file = os.path.join(scratch, "pairs.npz")
        save_pairs(pairs_file, x_0, x_1)
        config = reflow_config(first.config, pairs_file, steps=args.steps or first.config.steps, seed=seed)
        save_run(args.out, start_run(config), force=args.force)
    run = load_run(args.out)
    return _train_in(args.out, run, run.config, args)


def _solver_options(args):
    """A command's --steps, --rtol and --atol, named as ``npflow.integrate`` names them (with --solver beside)."""
    return {"steps": args.solver_steps, "rtol": args.rtol, "atol": args.atol}


def _source_log_density(config, needed_by):
    """log p_0 of the run's source, ``(n, d) -> (n,)``; a ValueError saying what needs it if it is unknown."""
    source = config.source_distribution
    if source.mixture is None:
        raise ValueError(f"{needed_by} needs the density of the run's source, and {config.source!r} has none "
                         "(only gaussian and Gaussian-mixture sources do)")
    return source.mixture.log_prob


def _sample(args):
    import numpy as np

    from .io import check_output_path, load_run, save_array
    from ..sampling import generate

    run = load_run(args.run_dir).astype(args.dtype)
    check_output_path(args.out, args.force)
    x_0 = run.config.source_distribution.sample(args.n, np.random.default_rng(args.seed)).astype(args.dtype)
    start = time.perf_counter()
    trajectory = generate(run.velocity, x_0, args.solver, **_solver_options(args))
    seconds = time.perf_counter() - start
    save_array(args.out, trajectory.x[-1], force=args.force)
    print(f"{args.n} samples by {args.solver}: NFE {trajectory.nfe}, {seconds:.3f} s; saved to {args.out}")


def _logprob(args):
    import numpy as np

    from .io import check_output_path, load_points, load_run, save_array
    from ..likelihood import log_likelihood

    run = load_run(args.run_dir)
    log_p_0 = _source_log_density(run.config, "the likelihood")
    points = load_points(args.points, run.dim)
    check_output_path(args.out, args.force)
    start = time.perf_counter()
    log_p = log_likelihood(run.velocity, points, method=args.method, solver=args.solver, probes=args.probes,
                           rng=np.random.default_rng(args.seed), log_p_0=log_p_0, **_solver_options(args))
    seconds = time.perf_counter() - start
    save_array(args.out, log_p, force=args.force)
    print(f"log p of {len(points)} points ({args.method}, {args.solver}): mean {log_p.mean():.4f} nats, "
          f"{seconds:.3f} s; saved to {args.out}")


def _evaluate(args):
    import json

    import numpy as np

    from .evaluate import evaluate, format_table
    from .io import load_run

    report = evaluate(load_run(args.run_dir), n=args.n, rng=np.random.default_rng(args.seed), solver=args.solver,
                      **_solver_options(args))
    print(json.dumps(report, indent=2) if args.json else format_table(report))


def _plot(args):
    import numpy as np

    from . import plot
    from ..data import get_dataset
    from .io import atomic_file, check_output_path, load_run
    from ..likelihood import log_likelihood
    from ..oracle import exact_velocity
    from ..sampling import generate
    from ..train import exact_mixture

    run = load_run(args.run_dir)
    config = run.config
    if run.dim != 2 and args.kind != "loss":
        raise ValueError(f"--kind {args.kind} draws 2-D data, and this run's data has d = {run.dim}")
    if (args.kind == "animation") != args.out.lower().endswith(".gif"):
        raise ValueError("--kind animation writes a .gif, and only it does; got --out " + repr(args.out))
    source = config.source_distribution
    log_p_0 = _source_log_density(config, "--kind density") if args.kind == "density" else None
    check_output_path(args.out, args.force)
    dataset, rng = get_dataset(config.dataset), np.random.default_rng(args.seed)
    options = _solver_options(args)
    x_0, target = source.sample(args.n, rng), dataset.sample(args.n, rng)
    limits = plot.bounds_around(target, margin=1.5)  # (2, 2)
    mixture = exact_mixture(config, required=False)
    exact = None if mixture is None else exact_velocity(mixture, config.sigma_min)
    with atomic_file(args.out) as tmp:
        if args.kind == "loss":
            fig = plot.loss(run.losses, field_errors=run.field_errors)
        elif args.kind == "field":
            fig = plot.field(run.velocity, limits=limits, exact=exact)
        elif args.kind == "density":
            fig = plot.density(lambda points: log_likelihood(run.velocity, points, solver=args.solver,
                                                             log_p_0=log_p_0, **options),
                               limits, resolution=50,
                               target_log_p=None if dataset.mixture is None else dataset.mixture.log_prob)
        else:
            trajectory = generate(run.velocity, x_0, args.solver, **options)
            if args.kind == "samples":
                fig = plot.samples(target, {f"{args.solver}, NFE {trajectory.nfe}": trajectory.x[-1]})
            elif args.kind == "trajectories":
                fig = plot.trajectories(trajectory, target=target)
            elif args.kind == "time_slices":
                fig = plot.time_slices(trajectory)
            else:
                fig = plot.animation(trajectory, tmp)
        if args.kind != "animation":
            fig.savefig(tmp, dpi=110)
    print(f"{args.kind} written to {args.out}")


def _export(args):
    from .io import load_run
    from .torch_bridge import export_state_dict

    run = load_run(args.run_dir)
    export_state_dict(run.field_params, args.out, force=args.force)
    print(f"weights of {args.run_dir} written to {args.out} in the tutorial's state_dict layout")


def _demo(args):
    from .demo import run_demo

    print(run_demo(args.out, steps=args.steps, n=args.n, force=args.force, seed=args.seed), end="")
    print(f"wrote {args.out}/: run/, summary.txt, samples.png, loss.png")


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 1 training diverged, 2 bad input, 130 interrupted)."""
    from . import memory, threads
    from .io import RunError

    if memory.wanted():
        memory.keep_freed_memory()  # fewer page faults for large temporary arrays; see npflow/memory.py

    args = build_parser().parse_args(argv)
    try:
        threads.use_threads(threads.command_work(vars(args)))  # BLAS threads by the work's size; see threads.py
        return args.handler(args) or 0
    except (RunError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"npflow {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"npflow {args.command}: interrupted; no file was left half-written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (npflow evaluate RUN | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 0


if __name__ == "__main__":
    sys.exit(main())

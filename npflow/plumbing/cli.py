"""The ``npflow`` command line: ``train``, ``reflow``, ``sample``, ``logprob``, ``evaluate``, ``plot``, ``export``
and ``demo``.

Bad input gets one line on stderr that names the value and what was expected, and exit
status 2; nothing is written. Ctrl-C exits with 130 and leaves no half-written output; during
training it first saves a checkpoint to resume from. A diverging training run exits with 1.
"""
import argparse
import inspect
import math
import os
import sys
import time
from dataclasses import fields, replace

import numpy as np

from .. import __version__
from ..couplings import COUPLING_NAMES
from ..data import DATASETS, get_dataset
from ..likelihood import log_likelihood
from ..mlp import ACTIVATIONS
from ..oracle import exact_velocity
from ..paths import PATHS
from ..run import RECIPE_ALIASES, RECIPES, TrainConfig, check_gaussian_noise, start_run
from ..stochastic import SAMPLERS
from ..views import PREDICTIONS
from ..oracle import exact_mixture
from . import plot
from .io import atomic_file, check_output_path, load_points, load_run, save_array, save_pairs, save_run

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
non_negative_float = _number(float, lambda value: math.isfinite(value) and value >= 0, "a finite number >= 0")
closed_unit_interval = _number(float, lambda value: 0.0 <= value <= 1.0, "a number in [0, 1]")


def solver_name(text, stochastic=False):
    """A solver name, in any letter case (``rk45`` is ``RK45``); with ``stochastic``, a sampler's too (``ddpm``)."""
    from ..solvers import METHODS
    from ..stochastic import SAMPLERS

    names = (*METHODS, *SAMPLERS) if stochastic else METHODS
    by_lower = {name.lower(): name for name in names}
    if text.lower() not in by_lower:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(names)}, got {text!r}")
    return by_lower[text.lower()]


def sampler_name(text):
    """An ODE solver's name, or a stochastic sampler's: euler-maruyama, ddpm."""
    return solver_name(text, stochastic=True)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: what was wrong, and where to read more."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


#: TrainConfig's defaults (the tutorial's recipe), by field: the help of each recipe option ends with one.
CONFIG_DEFAULTS = {field.name: field.default for field in fields(TrainConfig)}


def _shown(value):
    """A default as one would type it: a tuple as 128,128, a float in its shortest form, "" as none."""
    if isinstance(value, tuple):
        return ",".join(str(width) for width in value)
    return f"{value:g}" if isinstance(value, float) else str(value) or "none"


def build_parser():
    """The ``npflow`` parser: one sub-command per ``_add_*`` function below, each beside its handler."""
    parser = OneLineErrorParser(prog="npflow", description="Flow matching in NumPy: train a vector field, sample "
                                                           "from it, and see every step. Noise is at t=0, data at t=1.")
    parser.add_argument("--version", action="version", version=f"npflow {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser, required=True)
    for add_command in (_add_train, _add_reflow, _add_sample, _add_logprob, _add_evaluate, _add_plot, _add_export,
                        _add_demo):
        add_command(commands)
    return parser


# --- what the commands share: how one is declared, and common options ---------------------------

def _command(commands, handler):
    """The sub-command ``handler`` runs, named after it; its docstring gives the help line and the description."""
    summary, _, description = inspect.cleandoc(handler.__doc__).partition("\n\n")
    parser = commands.add_parser(handler.__name__.lstrip("_"), help=summary.rstrip("."), description=description)
    parser.set_defaults(handler=handler)
    return parser


def _add_run_dir(parser):
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by 'npflow train'")


def _add_out(parser, metavar, help):
    parser.add_argument("--out", required=True, metavar=metavar, help=help)
    parser.add_argument("--force", action="store_true", help=f"replace {metavar} if it exists")


def _add_seed(parser, draws, default=0):
    parser.add_argument("--seed", type=non_negative_int, default=default, help=f"seed of {draws} [%(default)s]")


def _add_solver_arguments(parser, solver="rk4", tolerance=1e-5, title="solver", steps_flag="--steps",
                          stochastic=False):
    group = parser.add_argument_group(title)
    samplers = ("; or a stochastic sampler (with --steps): euler-maruyama (the SDE, with --diffusion) or ddpm "
                "(the ancestral step, with --eta)") if stochastic else ""
    group.add_argument("--solver", type=sampler_name if stochastic else solver_name, default=solver,
                       help=f"euler, midpoint, heun, rk4 (fixed step, with {steps_flag}) or a solve_ivp method: "
                            f"RK45, RK23, DOP853, Radau, BDF, LSODA (adaptive, with --rtol/--atol){samplers} "
                            "[%(default)s]")
    group.add_argument(steps_flag, dest="solver_steps", type=positive_int, default=100, metavar="K",
                       help="fixed steps from t=0 to t=1 [%(default)s]")
    group.add_argument("--rtol", type=positive_float, default=tolerance, help="relative tolerance [%(default)g]")
    group.add_argument("--atol", type=positive_float, default=tolerance, help="absolute tolerance [%(default)g]")
    if stochastic:
        group.add_argument("--diffusion", type=non_negative_float, metavar="G",
                           help="euler-maruyama's noise level: g(t) = G sigma_t; 0 is Euler's ODE step [1]")
        group.add_argument("--eta", type=closed_unit_interval, metavar="E",
                           help="ddpm's share of fresh noise: 1 is DDPM, 0 is DDIM (deterministic) [1]")


def _add_flow_options(parser, n, points, draws):
    """RUN_DIR, --n (``points``, default ``n``), the solver, and --seed (of ``draws``): a command that flows n points."""
    _add_run_dir(parser)
    parser.add_argument("--n", type=positive_int, default=n, help=f"{points} [%(default)s]")
    _add_solver_arguments(parser, stochastic=True)
    _add_seed(parser, draws)


def _solver_options(args):
    """A command's --steps, --rtol and --atol, named as ``npflow.integrate`` names them (with --solver beside)."""
    return {"steps": args.solver_steps, "rtol": args.rtol, "atol": args.atol}


def _sampler_options(run, args):
    """``_solver_options`` and the level of a stochastic sampler, checked against the solver and the run.

    --diffusion goes with euler-maruyama and --eta with ddpm (each 1 unless given); both
    samplers need the run's x_t to be alpha_t x_1 + sigma_t x_0 with independent N(0, I) noise.
    """
    for flag, solver in (("diffusion", "euler-maruyama"), ("eta", "ddpm")):
        if getattr(args, flag) is not None and args.solver != solver:
            raise ValueError(f"--{flag} goes with --solver {solver}, not --solver {args.solver}")
    if args.solver in SAMPLERS:
        check_gaussian_noise(run.config, f"--solver {args.solver}", independent=True)
    level = args.diffusion if args.solver == "euler-maruyama" else args.eta
    return {**_solver_options(args), "level": 1.0 if level is None else level}


def _add_training_output(parser, out="RUN_DIR"):
    """The options of a command that trains into ``out``: replace it, how often to checkpoint, and quiet."""
    parser.add_argument("--force", action="store_true", help=f"replace {out} if it is an existing run")
    parser.add_argument("--checkpoint-every", type=non_negative_int, default=1000, metavar="K",
                        help="save a checkpoint every K steps [%(default)s; 0: only at the end or on Ctrl-C]")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _source_log_prob(config, needed_by):
    """The run's source's log-density, as the source knows it; a ValueError saying what needs it if unknown."""
    log_p_0 = config.source_distribution.log_prob
    if log_p_0 is None:
        raise ValueError(f"{needed_by} needs the density of the run's source, and {config.source!r} has none "
                         "(only gaussian and Gaussian-mixture sources do)")
    return log_p_0


# --- train ---------------------------------------------------------------------------------------

def _add_train(commands):
    parser = _command(commands, _train)
    _add_recipe_options(parser.add_argument_group("recipe (fixed for a run; with --resume only --steps may be given)"))
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="RUN_DIR", help="run directory to create")
    where.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    _add_training_output(parser)
    parser.add_argument("--field-error-every", type=non_negative_int, default=0, metavar="K",
                        help="every K steps, log the mean squared gap to the exact field (Gaussian-mixture "
                             "datasets only) [%(default)s: never]")


def _add_recipe_options(recipe):
    """One option per ``TrainConfig`` field, its help ending in the field's default, and ``--recipe``."""

    def option(name, help, **options):  # default None: --resume can tell which were given; TrainConfig fills the rest
        recipe.add_argument("--" + name.replace("_", "-"), help=f"{help} [{_shown(CONFIG_DEFAULTS[name])}]", **options)

    option("dataset", f"target data: one of {', '.join(sorted(DATASETS))}, or a .npy or .csv file of shape (n, d), "
                      "any d, whose rows are drawn with replacement", metavar="NAME|FILE")
    option("source", "where the flow starts at t=0: N(0, I), or a dataset like --dataset for data-to-data transport",
           metavar="gaussian|NAME|FILE")
    option("steps", "total Adam steps", type=positive_int)
    option("batch_size", "points per step", type=positive_int)
    option("lr", "Adam learning rate", type=positive_float)
    option("hidden", "hidden widths", type=hidden_widths)
    option("activation", "the MLP's nonlinearity", choices=list(ACTIVATIONS))
    option("sigma_min", "path width, in [0, 1): at t=1 for --path linear, everywhere for icfm", type=unit_interval)
    option("seed", "random seed", type=non_negative_int)
    option("grad", "gradient by autograd, or by the hand-written chain rule (faster)", choices=["autograd", "backprop"])
    option("lr_schedule", "learning-rate schedule", choices=["constant", "cosine"])
    option("ema", "keep a moving average of the weights with this decay and sample with it; 0 is off",
           type=ema_decay, metavar="DECAY")
    option("dtype", "precision of the weights and batches; float32 is about twice as fast",
           choices=["float64", "float32"])
    option("coupling", "pair noise and data in a batch independently, by optimal transport, or take whole pairs "
                       "from --pairs-file", choices=COUPLING_NAMES)
    option("pairs_file", "with --coupling pairs: arrays x_0 and x_1 of shape (N, d), e.g. from 'npflow reflow'",
           metavar="FILE.npz")
    option("path", "conditional path: the tutorial's linear one, icfm (the straight line blurred by a constant "
                   "--sigma-min), or variance-preserving cosine", choices=PATHS)
    option("predict", "what the network learns: the velocity (flow matching), the noise x_0 (DDPM's epsilon) or "
                      "the data x_1; sampling turns it into the velocity", choices=PREDICTIONS)
    current = [name for name in RECIPES if name not in RECIPE_ALIASES]  # old names are accepted, not shown
    recipes = "; ".join(f"{name}: " + (" ".join(f"--{key.replace('_', '-')} {_shown(value)}"
                                                 for key, value in RECIPES[name].items()) or "the defaults above")
                        for name in current)  # each as the options that would give it
    recipe.add_argument("--recipe", choices=list(RECIPES), metavar="{" + ",".join(current) + "}",
                        help=f"start from a named recipe, then apply the options above ({recipes})")


def _train(args):
    """Train a vector field by conditional flow matching.

    Train v_theta(t, x) with the CFM loss and Adam, and write a run directory, checkpointed as
    it goes. The defaults are the tutorial's recipe. Ctrl-C saves a checkpoint; --resume
    continues it to the same bits as an uninterrupted run.
    """
    # Every field of TrainConfig is an option of the same name; they default to None, so None means "not given".
    given = {name: getattr(args, name) for name in CONFIG_DEFAULTS if getattr(args, name) is not None}
    if args.resume:
        refused = [name for name in [*given, *(["recipe"] if args.recipe else [])] if name != "steps"]
        if refused:
            raise ValueError(f"--resume continues the recipe saved in the run; drop --{refused[0].replace('_', '-')}")
        run_dir, run = args.resume, load_run(args.resume)
        config = replace(run.config, steps=args.steps or run.config.steps)  # train() checks it against run.step
    else:
        config = TrainConfig(**{**(RECIPES[args.recipe] if args.recipe else {}), **given})
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
    from .io import save_checkpoint
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


# --- reflow --------------------------------------------------------------------------------------

def _add_reflow(commands):
    parser = _command(commands, _reflow)
    _add_run_dir(parser)
    parser.add_argument("--out", required=True, metavar="NEW_RUN", help="run directory to create")
    parser.add_argument("--pairs", type=at_least_two, default=10_000, metavar="N", help="pairs to make [%(default)s]")
    parser.add_argument("--steps", type=positive_int, help="training steps [RUN_DIR's]")
    parser.add_argument("--seed", type=non_negative_int, help="seed of the pairs and of the new run [RUN_DIR's]")
    _add_solver_arguments(parser, solver="RK45", tolerance=1e-6, title="solver that makes the pairs",
                          steps_flag="--solver-steps")
    _add_training_output(parser, out="NEW_RUN")


def _reflow(args):
    """Straighten a trained flow: train a new one on the pairs it makes.

    Rectified flow's reflow: draw N source points x_0, carry each through RUN_DIR's flow to x_1
    with a tight solver, and train a new run on the straight lines between these fixed pairs
    (coupling 'pairs', linear path, sigma_min 0). The rest of the recipe is RUN_DIR's. Its paths
    are straighter, so few Euler steps suffice.
    """
    import tempfile

    from ..reflow import reflow_config, reflow_pairs

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


# --- sample --------------------------------------------------------------------------------------

def _add_sample(commands):
    parser = _command(commands, _sample)
    _add_flow_options(parser, n=1024, points="number of samples", draws="the source draws")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="arithmetic of the fixed-step solvers; float32 is about twice as fast [%(default)s]")
    _add_out(parser, "FILE.npy", "where to save the samples")


def _sample(args):
    """Generate samples from a trained run.

    Draw x_0 from the run's source (noise, N(0, I), unless it was trained from another) and
    integrate dx/dt = v_theta(t, x) from t=0 to t=1, or run a stochastic sampler from there:
    the SDE with the same marginals (euler-maruyama) or DDPM's ancestral step (ddpm), with
    noise from the same seed. Saves an array of shape (n, d).
    """
    from .evaluate import sample_trajectory

    run = load_run(args.run_dir).astype(args.dtype)
    options = _sampler_options(run, args)
    check_output_path(args.out, args.force)
    rng = np.random.default_rng(args.seed)
    x_0 = run.config.source_distribution.sample(args.n, rng).astype(args.dtype)
    start = time.perf_counter()
    trajectory = sample_trajectory(run, x_0, args.solver, rng=rng, **options)
    seconds = time.perf_counter() - start
    save_array(args.out, trajectory.x[-1], force=args.force)
    print(f"{args.n} samples by {args.solver}: NFE {trajectory.nfe}, {seconds:.3f} s; saved to {args.out}")


# --- logprob -------------------------------------------------------------------------------------

def _add_logprob(commands):
    parser = _command(commands, _logprob)
    _add_run_dir(parser)
    parser.add_argument("--points", required=True, metavar="FILE",
                        help="points to score: a .npy array of shape (n, d), or a .csv file, one point per line")
    parser.add_argument("--method", choices=["exact", "hutchinson"], default="exact",
                        help="exact divergence (d autograd passes) or Hutchinson's estimate [%(default)s]")
    parser.add_argument("--probes", type=positive_int, default=1, help="Hutchinson probes [%(default)s]")
    _add_solver_arguments(parser)
    _add_seed(parser, "the Hutchinson probes")
    _add_out(parser, "FILE.npy", "where to save log p, shape (n,)")


def _logprob(args):
    """Log-likelihood of points under a trained run.

    Score points by the reverse ODE: integrate [x, div v] from t=1 back to t=0 and return
    log p_0(x(0)) - integral of div v, with p_0 the run's source (N(0, I), or a Gaussian
    mixture; others have no known density). Saves an array of shape (n,).
    """
    run = load_run(args.run_dir)
    log_p_0 = _source_log_prob(run.config, "the likelihood")
    points = load_points(args.points, run.dim)
    check_output_path(args.out, args.force)
    start = time.perf_counter()
    log_p = log_likelihood(run.velocity, points, method=args.method, solver=args.solver, probes=args.probes,
                           rng=np.random.default_rng(args.seed), log_p_0=log_p_0, **_solver_options(args))
    seconds = time.perf_counter() - start
    save_array(args.out, log_p, force=args.force)
    print(f"log p of {len(points)} points ({args.method}, {args.solver}): mean {log_p.mean():.4f} nats, "
          f"{seconds:.3f} s; saved to {args.out}")


# --- evaluate ------------------------------------------------------------------------------------

def _add_evaluate(commands):
    parser = _command(commands, _evaluate)
    _add_flow_options(parser, n=2000, points="target points and samples", draws="the evaluation draws")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def _evaluate(args):
    """NLL, KL, field error and sample distances of a run.

    Measure a run against fresh target samples: NLL by the reverse ODE where the source's
    density is known; KL(target || model) where the target is a Gaussian mixture; the field
    error where the exact field is the run's (linear path, N(0, I), independent pairs); energy
    distance, W2 and MMD of samples; mode coverage where the target has modes; straightness,
    kinetic energy and NFE of the sampling paths.
    """
    import json

    from .evaluate import evaluate, format_table

    run = load_run(args.run_dir)
    report = evaluate(run, n=args.n, rng=np.random.default_rng(args.seed), solver=args.solver,
                      **_sampler_options(run, args))
    print(json.dumps(report, indent=2) if args.json else format_table(report))


# --- plot ----------------------------------------------------------------------------------------

def _add_plot(commands):
    parser = _command(commands, _plot)
    _add_flow_options(parser, n=1000, points="points to sample and draw", draws="the source and target draws")
    parser.add_argument("--kind", required=True, choices=list(FIGURES), help="which figure")
    _add_out(parser, "FILE", "where to write it (.png, .svg, .pdf; .gif for --kind animation)")


def _plot(args):
    """Draw a figure of a trained run.

    Draw one figure of a 2-D run: samples over the target, ODE trajectories, the vector field
    (beside the exact one where known), the density by the reverse ODE, the loss, histograms of
    x_t over time, or a GIF of the flow.
    """
    run = load_run(args.run_dir)
    _sampler_options(run, args)  # refuse a bad sampler before any work
    if run.dim != 2 and args.kind != "loss":
        raise ValueError(f"--kind {args.kind} draws 2-D data, and this run's data has d = {run.dim}")
    if (args.kind == "animation") != args.out.lower().endswith(".gif"):
        raise ValueError("--kind animation writes a .gif, and only it does; got --out " + repr(args.out))
    check_output_path(args.out, args.force)
    with atomic_file(args.out) as tmp:
        figure = FIGURES[args.kind](run, args, tmp)
        if figure is not None:  # None: the figure wrote its file itself (the GIF)
            figure.savefig(tmp, dpi=110)
    print(f"{args.kind} written to {args.out}")


def _draws(run, args):
    """n points x_0 from the run's source, then n fresh target points, from the generator of --seed."""
    rng = np.random.default_rng(args.seed)
    return run.config.source_distribution.sample(args.n, rng), get_dataset(run.config.dataset).sample(args.n, rng)


def _flow(run, args):
    """The flow from the source's draws, by the command's solver (a stochastic one's noise from --seed too),
    and the target's draws."""
    from .evaluate import sample_trajectory

    x_0, target = _draws(run, args)
    rng = np.random.default_rng([args.seed, 1])  # apart from the draws, which _limits repeats
    return sample_trajectory(run, x_0, args.solver, rng=rng, **_sampler_options(run, args)), target


def _limits(run, args):
    """Axis limits around the target's draws, shape (2, 2)."""
    return plot.bounds_around(_draws(run, args)[1], margin=1.5)


def _plot_samples(run, args, out):
    trajectory, target = _flow(run, args)
    return plot.samples(target, {f"{args.solver}, NFE {trajectory.nfe}": trajectory.x[-1]})


def _plot_trajectories(run, args, out):
    trajectory, target = _flow(run, args)
    return plot.trajectories(trajectory, target=target)


def _plot_field(run, args, out):
    mixture = exact_mixture(run.config, required=False)
    exact = None if mixture is None else exact_velocity(mixture, run.config.sigma_min)
    return plot.field(run.velocity, limits=_limits(run, args), exact=exact)


def _plot_density(run, args, out):
    log_p_0 = _source_log_prob(run.config, "--kind density")  # first: refuse before any work
    if args.solver in SAMPLERS:
        raise ValueError(f"--kind density solves the reverse ODE; give an ODE solver, not --solver {args.solver}")

    def log_p(points):  # the model's, by the reverse ODE
        return log_likelihood(run.velocity, points, solver=args.solver, log_p_0=log_p_0, **_solver_options(args))

    return plot.density(log_p, _limits(run, args), resolution=50,
                        target_log_p=get_dataset(run.config.dataset).log_prob)


def _plot_loss(run, args, out):
    return plot.loss(run.losses, field_errors=run.field_errors)


def _plot_time_slices(run, args, out):
    return plot.time_slices(_flow(run, args)[0])


def _plot_animation(run, args, out):
    plot.animation(_flow(run, args)[0], out)  # writes the GIF itself


#: ``npflow plot --kind``: the function that draws each figure, ``(run, args, out) -> Figure`` (None if it wrote out).
FIGURES = {"samples": _plot_samples, "trajectories": _plot_trajectories, "field": _plot_field,
           "density": _plot_density, "loss": _plot_loss, "time_slices": _plot_time_slices,
           "animation": _plot_animation}


# --- export and demo -----------------------------------------------------------------------------

def _add_export(commands):
    parser = _command(commands, _export)
    _add_run_dir(parser)
    _add_out(parser, "FILE.npz", "where to write the weights")


def _export(args):
    """Save a run's weights in the PyTorch tutorial's state_dict layout.

    Write the weights the run samples with (its moving average, if it keeps one) as an .npz with
    the keys of the tutorial's VectorField.state_dict(): net.0.weight (fan_out, fan_in),
    net.0.bias, net.2.weight, ... See npflow/plumbing/torch_bridge.py for the lines that load it
    in PyTorch.
    """
    from .torch_bridge import export_state_dict

    run = load_run(args.run_dir)
    export_state_dict(run.field_params, args.out, force=args.force)
    print(f"weights of {args.run_dir} written to {args.out} in the tutorial's state_dict layout")
    if run.config.predict != "velocity":  # the tutorial's sampler would take the output for a velocity
        print(f"note: this network predicts the {run.config.predict}, not the velocity; npflow.views converts it")


def _add_demo(commands):
    parser = _command(commands, _demo)
    parser.add_argument("--out", default="npflow-demo", metavar="DIR", help="directory to create [%(default)s]")
    parser.add_argument("--steps", type=positive_int, default=CONFIG_DEFAULTS["steps"],
                        help="training steps [%(default)s]")
    parser.add_argument("--n", type=positive_int, default=4000, help="samples per sampler [%(default)s]")
    _add_seed(parser, "the training", default=CONFIG_DEFAULTS["seed"])
    parser.add_argument("--force", action="store_true", help="replace DIR if an earlier demo wrote it")


def _demo(args):
    """The tutorial end to end: train, sample three ways, measure, plot.

    Train the tutorial's recipe, sample with RK4 and RK45 and with the tutorial's own (wrong)
    sampler, print energy distance, mode balance and spread against fresh target samples, and
    write figures.
    """
    from .demo import run_demo

    print(run_demo(args.out, steps=args.steps, n=args.n, force=args.force, seed=args.seed), end="")
    print(f"wrote {args.out}/: run/, summary.txt, samples.png, loss.png")


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 1 training diverged, 2 bad input, 130 interrupted)."""
    from . import memory
    from .io import RunError

    if memory.wanted():
        memory.keep_freed_memory()  # fewer page faults for large temporary arrays; see npflow/memory.py

    args = build_parser().parse_args(argv)
    try:
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

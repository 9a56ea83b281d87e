"""The ``npflow`` command line: ``train``, ``reflow``, ``sample``, ``logprob``, ``evaluate``, ``plot``, ``export``
and ``demo``.

Bad input gets one line on stderr that names the value and what was expected, and exit
status 2; nothing is written. So does a request too large for this machine's memory, and an
``--out`` that would overwrite a run's own files or the command's input. A write the system
refuses (a read-only folder, a full disk) is one line naming the file, and exit status 1.
Ctrl-C exits with 130 and leaves no half-written output; during training it first saves a
checkpoint to resume from. A diverging training run exits with 1.

A command that trains holds the run's lock (``npflow.plumbing.lock``), so a second writer is
refused, and records in the run how training ended (``npflow.plumbing.status``); a command
that reads a run says in one line on stderr when the run is not a finished one.
"""
import argparse
import contextlib
import inspect
import math
import os
import shutil
import sys
import time
from dataclasses import fields, replace

import numpy as np

from .. import __version__
from ..core.couplings import COUPLING_NAMES
from ..core.mlp import ACTIVATIONS
from ..core.oracle import exact_velocity
from ..core.paths import PATHS
from ..core.sampling import generate
from ..core.solvers import FIXED_STEP_METHODS
from ..data.datasets import DATASETS, get_dataset
from ..data.digits import to_pixels
from ..diffusion.stochastic import SAMPLERS
from ..guidance.exact import exact_guided_velocity
from ..guidance.labels import equal_shares
from ..models import NETWORKS, OBJECTIVES, RECIPE_ALIASES, RECIPES, objective_of
from ..models.checks import check_gaussian_noise
from ..models.networks import MLP
from ..runs.config import TrainConfig
from ..runs.field_error import exact_mixture
from ..runs.run import start_run
from ..runs.scoring import scoring_field
from . import plot
from .chunks import log_likelihood_in_chunks, sample_in_chunks, source_draws
from .io import (atomic_file, check_not_an_input, check_output_path, load_points, load_run, save_array, save_checkpoint,
                 save_pairs, save_run, set_status)
from .labels import (GUIDANCE_WEIGHTS, add_label_options, asked_classes, asked_field, conditional_export_note,
                     evaluate_labels, format_labels, save_labelled)
from .lock import RunLock
from .memory import check_fits, chunk_rows, network_bytes

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
probability = _number(float, lambda value: 0.0 <= value <= 1.0, "a probability in [0, 1]")
hidden_widths = _number(lambda text: tuple(int(part) for part in text.split(",")),
                        lambda widths: min(widths) > 0, "comma-separated positive layer widths such as 128,128")
non_negative_float = _number(float, lambda value: math.isfinite(value) and value >= 0, "a finite number >= 0")
closed_unit_interval = _number(float, lambda value: 0.0 <= value <= 1.0, "a number in [0, 1]")


def solver_name(text, stochastic=False):
    """A solver name, in any letter case (``rk45`` is ``RK45``), or ``meanflow``, a MeanFlow run's jumps; with
    ``stochastic``, a sampler's too (``ddpm``)."""
    from ..core.solvers import METHODS
    from ..diffusion.stochastic import SAMPLERS
    from ..meanflow.jumps import JUMPS

    names = (*METHODS, JUMPS, *SAMPLERS) if stochastic else (*METHODS, JUMPS)
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
CONFIG_DEFAULTS = {**{field.name: field.default for field in fields(TrainConfig) if field.name != "options"},
                   **{option.name: option.default for objective in OBJECTIVES.values()
                      for option in fields(objective.options)}}


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
    """--solver (default ``solver``; None: the run's own sampler, rk4 or MeanFlow's jumps), the steps and tolerances;
    with ``stochastic``, the stochastic samplers too."""
    group = parser.add_argument_group(title)
    jumps = "" if solver else "; a MeanFlow run (train --objective meanflow) samples only by K jumps of its average " \
                              f"velocity (meanflow, with {steps_flag} K)"
    samplers = ("; or a stochastic sampler (with --steps): euler-maruyama (the SDE, with --diffusion) or ddpm "
                "(the ancestral step, with --eta)") if stochastic else ""
    group.add_argument("--solver", type=sampler_name if stochastic else solver_name, default=solver,
                       help=f"euler, midpoint, heun, rk4 (fixed step, with {steps_flag}) or a solve_ivp method: "
                            f"RK45, RK23, DOP853, Radau, BDF, LSODA (adaptive, with --rtol/--atol){samplers}{jumps} "
                            f"[{solver or 'rk4, or meanflow for a MeanFlow run'}]")
    group.add_argument(steps_flag, dest="solver_steps", type=positive_int, default=100, metavar="K",
                       help="fixed steps (or MeanFlow jumps) from t=0 to t=1 [%(default)s]")
    group.add_argument("--rtol", type=positive_float, default=tolerance, help="relative tolerance [%(default)g]")
    group.add_argument("--atol", type=positive_float, default=tolerance, help="absolute tolerance [%(default)g]")
    if stochastic:
        group.add_argument("--diffusion", type=non_negative_float, metavar="G",
                           help="euler-maruyama's noise level: g(t) = G sigma_t; 0 is Euler's ODE step [1]")
        group.add_argument("--eta", type=closed_unit_interval, metavar="E",
                           help="ddpm's share of fresh noise: 1 is DDPM, 0 is DDIM (deterministic) [1]")


def _add_flow_options(parser, n, points, draws, n_type=positive_int):
    """RUN_DIR, --n (``points``, default ``n``), the solver, and --seed (of ``draws``): a command that flows n points."""
    _add_run_dir(parser)
    parser.add_argument("--n", type=n_type, default=n, help=f"{points} [%(default)s]")
    _add_solver_arguments(parser, solver=None, stochastic=True)  # the run's own sampler unless one is named
    _add_seed(parser, draws)
    _add_dtype(parser, "arithmetic of the fixed-step solvers and samplers (scipy's adaptive ones work in float64): "
                       "float32 is about twice as fast, and on the tutorial's run its samples differ from float64's "
                       "by under 1e-5; for plot --kind density, the network's in the likelihood, as for logprob; "
                       "evaluate's likelihood is float64")


def _add_dtype(parser, what):
    """--dtype, float32 unless float64 is asked for; ``what`` says what it sets."""
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32", help=f"{what} [%(default)s]")


def _dtype(args):
    """The arithmetic of a command's sampling: --dtype for the fixed-step solvers, MeanFlow's jumps and the
    samplers, float64 for scipy's adaptive solvers, which work in float64 whatever they are given."""
    from ..meanflow.jumps import JUMPS

    fixed_steps = args.solver is None or args.solver in (*FIXED_STEP_METHODS, JUMPS, *SAMPLERS)
    return args.dtype if fixed_steps else "float64"


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
            own = run.objective.solver  # what the run samples with by default
            raise ValueError(f"--{flag} goes with --solver {solver}, not --solver {args.solver or own}")
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
    """The run's source's log-density, as the source knows it; a ValueError saying what needs it if unknown.

    A MeanFlow run is refused first: its samples are jumps, whose density the reverse ODE does not give.
    """
    if not objective_of(config).likelihood:
        raise ValueError(f"{needed_by} is not computed for a MeanFlow run: its samples are jumps of its average "
                         "velocity, and the reverse ODE gives the density of an ODE's samples")
    log_p_0 = config.source_distribution.log_prob
    if log_p_0 is None:
        raise ValueError(f"{needed_by} needs the density of the run's source, and {config.source!r} has none "
                         "(only gaussian and Gaussian-mixture sources do)")
    return log_p_0


def _read_run(run_dir, args):
    """Load the run in ``run_dir``, saying on stderr, in one line, if it is not a finished one."""
    from .status import unfinished

    run = load_run(run_dir)
    note = unfinished(run_dir, run)
    if note:
        print(f"npflow {args.command}: note: {note}", file=sys.stderr)
    return run


def _check_out(args, suffixes, inputs=()):
    """Refuse --out before any work: one of ``inputs``, a path inside a run directory, a name without one of
    ``suffixes``, or an existing file without --force."""
    check_not_an_input(args.out, inputs)
    if not args.out.lower().endswith(suffixes):
        raise ValueError(f"--out {args.out!r} must end in {' or '.join(suffixes)}, the format it is written in")
    check_output_path(args.out, args.force)


def _rows(run):
    """Points per chunk when flowing many points through the run's network (``npflow.plumbing.memory``)."""
    return chunk_rows(run.config.layer_sizes)


def _check_flow_fits(run, args, n, paths=0, extra=0):
    """Refuse flowing n points (``args``' solver) if the arrays cannot fit in memory, before any work.

    Counted: the points (start, end and a copy, n x d each), the network on one chunk, ``paths``
    whole trajectories of the n points (steps + 1 points each; an adaptive solve is taken to
    record 100), and ``extra`` bytes more.
    """
    fixed_steps = args.solver is None or args.solver in FIXED_STEP_METHODS  # None: the run's own, rk4 or jumps
    recorded = args.solver_steps + 1 if fixed_steps else 100
    needed = (3 + paths * recorded) * n * run.dim * 8 + network_bytes(run.config.layer_sizes, min(n, _rows(run)))
    asked = f"--n {n}" + (f" with --steps {args.solver_steps}" if paths and fixed_steps else "")
    check_fits(needed + extra, asked)


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
                      "any d, whose rows are drawn with replacement (an .npz of x and labels y)", metavar="NAME|FILE")
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
    option("coupling", "pair noise and data in a batch independently, by optimal transport (exact, or entropic "
                       "by Sinkhorn), or take whole pairs from --pairs-file", choices=COUPLING_NAMES)
    option("ot_reg", "with --coupling sinkhorn: the blur eps, relative to the batch's mean squared distance",
           type=positive_float, metavar="EPS")
    option("pairs_file", "with --coupling pairs: arrays x_0 and x_1 of shape (N, d), e.g. from 'npflow reflow'",
           metavar="FILE.npz")
    option("path", "conditional path: the tutorial's linear one, icfm (the straight line blurred by a constant "
                   "--sigma-min), or variance-preserving cosine", choices=PATHS)
    option("objective", "what the network learns: " + "; ".join(f"{name}, {entry.summary}" for name, entry in
                                                                 OBJECTIVES.items()), choices=list(OBJECTIVES))
    option("network", "the field's network: " + "; ".join(f"{name}, {entry.summary}" for name, entry in
                                                          NETWORKS.items()), choices=list(NETWORKS))
    for objective in OBJECTIVES.values():  # each objective's own settings, as it declares them
        for setting in fields(objective.options):
            meta = setting.metadata
            kind = {"action": "store_const", "const": True} if meta.get("flag") else (
                {"choices": list(meta["choices"])} if "choices" in meta else {"type": _SETTING_TYPES[setting.type]})
            option(setting.name, meta["help"], **kind, **({"metavar": meta["metavar"]} if "metavar" in meta else {}))
    current = [name for name in RECIPES if name not in RECIPE_ALIASES]  # old names are accepted, not shown
    recipes = "; ".join(f"{name}: " + (" ".join(f"--{key.replace('_', '-')} {_shown(value)}"
                                                 for key, value in RECIPES[name].items()) or "the defaults above")
                        for name in current)  # each as the options that would give it
    recipe.add_argument("--recipe", choices=list(RECIPES), metavar="{" + ",".join(current) + "}",
                        help=f"start from a named recipe, then apply the options above ({recipes})")


#: How the command line reads an objective's setting, by the type its options declare.
_SETTING_TYPES = {float: probability}


def _train(args):
    """Train a vector field by conditional flow matching.

    Train v_theta(t, x) with the CFM loss and Adam, and write a run directory, checkpointed as
    it goes (with --objective meanflow, the average velocity u_theta(x, s, e) with the MeanFlow
    loss instead, for sampling in one step). The defaults are the tutorial's recipe. Ctrl-C
    saves a checkpoint; --resume continues it to the same bits as an uninterrupted run.
    """
    # Every field of TrainConfig is an option of the same name; they default to None, so None means "not given".
    given = {name: getattr(args, name) for name in CONFIG_DEFAULTS if getattr(args, name) is not None}
    if args.resume:
        refused = [name for name in [*given, *(["recipe"] if args.recipe else [])] if name != "steps"]
        if refused:
            raise ValueError(f"--resume continues the recipe saved in the run; drop --{refused[0].replace('_', '-')}")
        run_dir, run = args.resume, load_run(args.resume)
        config = replace(run.config, steps=args.steps or run.config.steps)  # train() checks it against run.step
        _check_training_fits(config)
        return _train_in(run_dir, run, config, args, RunLock(run_dir).acquire(), created=False,
                         field_error_every=args.field_error_every)
    config = TrainConfig.from_settings({**(RECIPES[args.recipe] if args.recipe else {}), **given})
    run_dir = args.out
    check_not_an_input(run_dir)  # not inside another run
    check_output_path(run_dir, args.force, marker="config.json")  # refuse before any work
    if args.field_error_every:
        exact_mixture(config)  # refuses a dataset without an exact field
    _check_training_fits(config)
    lock = _create_run(run_dir, start_run(config), args.force)  # step 0: from now on the run can be resumed
    run = load_run(run_dir)  # which reads the run's own copies of any data files
    return _train_in(run_dir, run, run.config, args, lock, created=True, field_error_every=args.field_error_every)


def _check_training_fits(config):
    """Refuse a recipe whose training cannot fit in memory: a batch through the network, the parameters with
    their gradient, Adam's two moments and the moving average (five copies), and the loss of every step."""
    itemsize = np.dtype(config.dtype).itemsize
    sizes = config.layer_sizes
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    hidden = ",".join(str(width) for width in config.hidden)
    check_fits(network_bytes(sizes, config.batch_size, itemsize) + 5 * parameters * itemsize + 8 * config.steps,
               f"training --steps {config.steps} with --batch-size {config.batch_size} and --hidden {hidden}")


def _create_run(run_dir, run, force):
    """Write ``run`` as a new run directory, holding its lock (returned) from before it appears under its name.

    A run it replaces (``force``) must not be held by another writer either.
    """
    lock = RunLock(run_dir)
    with RunLock(run_dir) if force and os.path.isdir(run_dir) else contextlib.nullcontext():
        try:
            save_run(run_dir, run, force=force, status="running", lock=lock)
        except BaseException:
            lock.release()
            raise
    return lock


def _train_in(run_dir, run, config, args, lock, created, field_error_every=0):
    """Train ``run`` up to ``config.steps``, checkpointing into ``run_dir`` whose ``lock`` is held; the exit status.

    The run records how training ended. A run this command ``created`` that fails before its
    first checkpoint is removed: a failed start leaves nothing behind; a resumed run that fails
    before it is left as it was.
    """
    from ..core.training import TrainingDiverged
    from ..runs.loop import TrainingInterrupted, train

    checkpoints = []

    def checkpoint(state):
        save_checkpoint(run_dir, state, status="running")
        checkpoints.append(state.step)

    try:
        run = train(config, resume=run, stream=None if args.quiet else sys.stderr, field_error_every=field_error_every,
                    checkpoint=checkpoint, checkpoint_every=args.checkpoint_every)
        save_checkpoint(run_dir, run, status="finished")
    except TrainingInterrupted as interrupt:
        save_checkpoint(run_dir, interrupt.run, status="interrupted")
        print(f"npflow {args.command}: interrupted at step {interrupt.run.step} of {config.steps}; checkpoint saved. "
              f"Resume with: npflow train --resume {run_dir}", file=sys.stderr)
        return 130
    except TrainingDiverged as error:
        set_status(run_dir, "diverged")
        print(f"npflow {args.command}: error: {error}. The last good checkpoint (step {load_run(run_dir).step}) is "
              f"kept in {run_dir}", file=sys.stderr)
        return 1
    except BaseException as error:
        if checkpoints:
            _record_failure(run_dir, error)
        elif created:  # a failed start leaves nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    finally:
        lock.release()
    print(f"trained {config.steps} steps, final loss {run.losses[-1]:.4f}; run written to {run_dir}")
    return 0


def _record_failure(run_dir, error):
    """Record in the run how training ended, after it stopped on ``error`` past a checkpoint."""
    with contextlib.suppress(OSError):  # the error in hand says more than a failure to record it
        set_status(run_dir, "interrupted" if isinstance(error, KeyboardInterrupt) else "failed")


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

    from ..runs.reflow import reflow_config, reflow_pairs

    first = _read_run(args.run_dir, args)
    reflow_config(first.config, "pairs.npz")  # refuses a recipe reflow cannot keep (a conditional one) before any work
    check_not_an_input(args.out, [args.run_dir])  # not the run it reads, nor inside a run
    if first.objective.sample is not None:
        raise ValueError(f"{args.run_dir!r} is a MeanFlow run, which samples by jumps; reflow straightens a flow's ODE")
    check_output_path(args.out, args.force, marker="config.json")  # refuse before any work
    _check_flow_fits(first, args, args.pairs, paths=1)  # reflow_pairs keeps the trajectory of all the pairs
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
        _check_training_fits(config)
        lock = _create_run(args.out, start_run(config), args.force)
    run = load_run(args.out)
    return _train_in(args.out, run, run.config, args, lock, created=True)


# --- sample --------------------------------------------------------------------------------------

def _add_sample(commands):
    parser = _command(commands, _sample)
    _add_flow_options(parser, n=1024, points="number of samples", draws="the source draws")
    add_label_options(parser)
    _add_out(parser, "FILE.npy", "where to save the samples (with --label: FILE.npz, the samples x and their labels y)")


def _sample(args):
    """Generate samples from a trained run.

    Draw x_0 from the run's source (noise, N(0, I), unless it was trained from another) and
    integrate dx/dt = v_theta(t, x) from t=0 to t=1; for a MeanFlow run, take K jumps
    x <- x + (e - s) u_theta(x, s, e) (--steps 1: one network evaluation); or run a stochastic
    sampler from t=0: the SDE with the same marginals (euler-maruyama) or DDPM's ancestral step
    (ddpm), with noise from the same seed. Saves an array of
    shape (n, d). With --label (a conditional run), the field is guided towards the asked
    classes, and the .npz saved holds x (n, d), the samples, and y (n,), the label each was asked for.
    """
    run = _read_run(args.run_dir, args).astype(_dtype(args))
    y = asked_field(run, args, args.n)[1]  # the label of each point, None without --label
    if y is not None and not args.out.lower().endswith(".npz"):
        raise ValueError(f"--label saves the samples with their labels, as an .npz of x and y; got --out {args.out!r}")
    _check_out(args, (".npy",) if y is None else (".npz",))
    _check_flow_fits(run, args, args.n)
    options = _sampler_options(run, args)
    if y is not None and args.solver in SAMPLERS:
        raise ValueError(f"--label samples a guided field by an ODE solver, not by --solver {args.solver}")
    rng = np.random.default_rng(args.seed)
    x_0 = _source_draws(run, args, args.n, rng)
    start = time.perf_counter()
    x_1, trajectory = sample_in_chunks(_chunk_sampler(run, args, y, options, rng), x_0, _rows(run))
    seconds = time.perf_counter() - start
    pixels_of = get_dataset(run.config.dataset).to_pixels
    x_1 = x_1 if pixels_of is None else pixels_of(x_1)  # model units back to the dataset's own
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
    return lambda x_0, chunk: generate(run.guided_velocity(y[chunk], args.guidance or 0.0), x_0, args.solver or "rk4",
                                       **_solver_options(args))


# --- logprob -------------------------------------------------------------------------------------

def _add_logprob(commands):
    parser = _command(commands, _logprob)
    _add_run_dir(parser)
    parser.add_argument("--points", required=True, metavar="FILE",
                        help="points to score: a .npy array of shape (n, d), or a .csv file, one point per line")
    parser.add_argument("--method", choices=["exact", "hutchinson"], default="exact",
                        help="exact divergence (d autograd passes; one matrix product for an MLP of two hidden "
                             "layers) or Hutchinson's estimate [%(default)s]")
    parser.add_argument("--probes", type=positive_int, default=1, help="Hutchinson probes [%(default)s]")
    _add_solver_arguments(parser)
    _add_seed(parser, "the Hutchinson probes")
    _add_dtype(parser, "arithmetic of the network in the exact divergence of an MLP run of two hidden layers, whose "
                       "sums stay float64: float32 is about twice as fast; on the tutorial's recipe it moved log p by "
                       "a median of 1e-7 nats (at most 1.2e-3, where RK4's own error is 1.6e-3 at the median), and "
                       "by under 1e-6 with silu or tanh")
    _add_out(parser, "FILE.npy", "where to save log p, shape (n,)")


def _logprob(args):
    """Log-likelihood of points under a trained run.

    Score points by the reverse ODE: integrate [x, div v] from t=1 back to t=0 and return
    log p_0(x(0)) - integral of div v, with p_0 the run's source (N(0, I), or a Gaussian
    mixture; others have no known density). Saves an array of shape (n,).
    """
    run = _read_run(args.run_dir, args)
    log_p_0 = _source_log_prob(run.config, "the likelihood")
    _check_out(args, (".npy",), inputs=[args.points])
    points = load_points(args.points, run.dim)
    _check_flow_fits(run, args, len(points))
    start = time.perf_counter()
    log_p = log_likelihood_in_chunks(scoring_field(run, args.dtype), points, _rows(run), method=args.method,
                                     solver=args.solver, probes=args.probes, rng=np.random.default_rng(args.seed),
                                     log_p_0=log_p_0, **_solver_options(args))
    seconds = time.perf_counter() - start
    save_array(args.out, log_p, force=args.force)
    print(f"log p of {len(points)} points ({args.method}, {args.solver}): mean {log_p.mean():.4f} nats, "
          f"{seconds:.3f} s; saved to {args.out}")


# --- evaluate ------------------------------------------------------------------------------------

def _add_evaluate(commands):
    parser = _command(commands, _evaluate)
    _add_flow_options(parser, n=2000, points="target points and samples", draws="the evaluation draws",
                      n_type=at_least_two)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_label_options(parser)


def _evaluate(args):
    """NLL, KL, field error and sample distances of a run.

    Measure a run against fresh target samples: NLL by the reverse ODE where the source's
    density is known; KL(target || model) where the target is a Gaussian mixture; the field
    error where the exact field is the run's (linear path, N(0, I), independent pairs); energy
    distance, W2 and MMD of samples; mode coverage where the target has modes; straightness,
    kinetic energy and NFE of the sampling paths. For a conditional run these measure its
    unconditional field, and a table per label follows (the labels of --label, every class by
    default, guided by --guidance): the share of samples that land nearest their class's mode,
    their spread, the energy distance to the class, and the field error against the exact
    guided field where it is known.
    kinetic energy and NFE of the sampling paths. A MeanFlow run is sampled by its jumps
    (--steps 1 for one step) and has no NLL or KL. A run of the digits is measured as an image
    model: the classifier's reading of the samples, the Frechet distance in its features beside
    the train-test floor, test bits/dim beside two Gaussians, and the memorization ratio.
    """
    import json

    from .evaluate import evaluate, format_table

    run = _read_run(args.run_dir, args)
    classes = asked_classes(run, args)
    _check_flow_fits(run, args, args.n, paths=1, extra=3 * 8 * args.n**2)  # the sample distances take n x n tables
    if get_dataset(run.config.dataset).to_pixels is not None:  # measured as an image model is
        from .evaluate_images import evaluate_images, format_images

        report = evaluate_images(run, args.n, np.random.default_rng(args.seed), classes, args.guidance or 0.0,
                                 args.solver or "rk4", dtype=_dtype(args), **_solver_options(args))
        return print(json.dumps(report, indent=2) if args.json else format_images(report))
    report = evaluate(run, n=args.n, rng=np.random.default_rng(args.seed), solver=args.solver, dtype=_dtype(args),
                      **_sampler_options(run, args))
    if run.config.num_classes:
        classes = np.arange(run.config.num_classes) if classes is None else classes
        report["labels"] = evaluate_labels(run, classes, args.guidance or 0.0, args.n, np.random.default_rng(
            [args.seed, 1]), args.solver or "rk4", dtype=_dtype(args), **_solver_options(args))
    text = format_table(report) + ("\n" + format_labels(report["labels"]) if "labels" in report else "")
    print(json.dumps(report, indent=2) if args.json else text)


# --- plot ----------------------------------------------------------------------------------------

def _add_plot(commands):
    parser = _command(commands, _plot)
    _add_flow_options(parser, n=1000, points="points to sample and draw", draws="the source and target draws")
    parser.add_argument("--kind", required=True, choices=list(FIGURES), help="which figure")
    _add_out(parser, "FILE", "where to write it (.png, .svg, .pdf; .gif for --kind animation)")
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
    run = _read_run(args.run_dir, args)
    # --kind density casts the network alone (scoring_field): its ODE state stays float64
    run = run if args.kind == "density" else run.astype(_dtype(args))
    _sampler_options(run, args)  # refuse a bad sampler before any work
    images = get_dataset(run.config.dataset).to_pixels is not None  # drawn as grids of images
    figures = IMAGE_FIGURES if images else FIGURES
    if args.kind not in figures or (run.dim != 2 and not images and args.kind != "loss"):
        raise ValueError(f"--kind {args.kind} draws 2-D data, and this run's data has d = {run.dim}"
                         + (f" (a run of the digits draws --kind {', '.join(IMAGE_FIGURES)})" if images else ""))
    if (args.kind == "animation") != args.out.lower().endswith(".gif"):
        raise ValueError("--kind animation writes a .gif, and only it does; got --out " + repr(args.out))
    _check_out(args, (".gif",) if args.kind == "animation" else plot.STILL_FORMATS)
    _check_flow_fits(run, args, args.n, paths=1)
    with atomic_file(args.out) as tmp:
        figure = figures[args.kind](run, args, tmp)
        if figure is not None:  # None: the figure wrote its file itself (the GIF)
            figure.savefig(tmp, dpi=110)
    print(f"{args.kind} written to {args.out}")


def _source_draws(run, args, n, rng):
    """n points x_0 from the run's source, in the arithmetic of --dtype."""
    return source_draws(run, n, rng, _dtype(args))[1]


def _draws(run, args):
    """n points x_0 from the run's source (in --dtype), then n fresh target points, from the generator of --seed."""
    rng = np.random.default_rng(args.seed)
    return _source_draws(run, args, args.n, rng), get_dataset(run.config.dataset).sample(args.n, rng)


def _flow(run, args):
    """The flow from the source's draws, as the run samples (by the command's solver, a stochastic one's noise
    from --seed too; the field --label asks for), and the target's draws."""
    x_0, target = _draws(run, args)
    field, y = asked_field(run, args, args.n)
    if y is None:
        rng = np.random.default_rng([args.seed, 1])  # apart from the draws, which _limits repeats
        return run.sample(x_0, args.solver, rng=rng, **_sampler_options(run, args)), target
    return generate(field, x_0, args.solver or "rk4", **_solver_options(args)), target


def _limits(run, args):
    """Axis limits around the target's draws, shape (2, 2)."""
    return plot.bounds_around(_draws(run, args)[1], margin=1.5)


def _plot_samples(run, args, out):
    trajectory, target = _flow(run, args)
    return plot.samples(target, {f"{trajectory.method}, NFE {trajectory.nfe}": trajectory.x[-1]})


def _plot_trajectories(run, args, out):
    trajectory, target = _flow(run, args)
    return plot.trajectories(trajectory, target=target)


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
    log_p_0 = _source_log_prob(run.config, "--kind density")  # first: refuse before any work
    if args.solver in SAMPLERS:
        raise ValueError(f"--kind density solves the reverse ODE; give an ODE solver, not --solver {args.solver}")

    field, y = asked_field(run, args)
    field = scoring_field(run, args.dtype) if y is None else field

    def log_p(points):  # the model's, by the reverse ODE
        return log_likelihood_in_chunks(field, points, _rows(run), solver=args.solver or "rk4", log_p_0=log_p_0,
                                        **_solver_options(args))

    return plot.density(log_p, _limits(run, args), resolution=50,
                        target_log_p=get_dataset(run.config.dataset).log_prob)


def _plot_loss(run, args, out):
    return plot.loss(run.losses, field_errors=run.field_errors)


def _plot_time_slices(run, args, out):
    return plot.time_slices(_flow(run, args)[0])


def _plot_animation(run, args, out):
    plot.animation(_flow(run, args)[0], out)  # writes the GIF itself


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
    rows = {name: {w: generate(f(w), x_0, args.solver or "rk4", **_solver_options(args)).x[-1] for w in GUIDANCE_WEIGHTS}
            for name, f in fields.items()}
    return plot.guidance(target, rows, y, means=get_dataset(config.dataset).means)


#: ``npflow plot --kind``: the function that draws each figure, ``(run, args, out) -> Figure`` (None if it wrote out).
FIGURES = {"samples": _plot_samples, "trajectories": _plot_trajectories, "field": _plot_field,
           "density": _plot_density, "loss": _plot_loss, "time_slices": _plot_time_slices,
           "animation": _plot_animation, "guidance": _plot_guidance}


# --- plot, for a run of images (the digits) ------------------------------------------------------

def _digit_flow(run, args, columns, guidance=None):
    """Flow a grid of digits: ``columns`` images (at most --n) a row; a row per class asked for by --label
    (every class without it) for a conditional run, guided by ``guidance`` (--guidance if None), or ten
    rows for an unconditional one. Returns each row's name and the trajectory, x of shape (k, rows * columns, 64).
    """
    columns = min(columns, args.n)
    classes = asked_classes(run, args)  # refuses --label for a run without labels
    if not run.config.num_classes:
        names = [str(i + 1) for i in range(10)]
        x_0 = _source_draws(run, args, len(names) * columns, np.random.default_rng(args.seed))
        return names, run.sample(x_0, args.solver, **_solver_options(args))
    classes = np.arange(run.config.num_classes) if classes is None else classes
    x_0 = _source_draws(run, args, len(classes) * columns, np.random.default_rng(args.seed))
    w = (args.guidance or 0.0) if guidance is None else guidance
    field = run.guided_velocity(np.repeat(classes, columns), w)
    return [str(k) for k in classes], generate(field, x_0, args.solver or "rk4", **_solver_options(args))


def _pixel_rows(names, x):
    """Points x of shape (rows * columns, 64), in pixels, as the rows ``plot.image_grid`` takes."""
    return dict(zip(names, to_pixels(x).reshape(len(names), -1, x.shape[-1])))


def _plot_digits(run, args, out):
    names, trajectory = _digit_flow(run, args, columns=10)
    return plot.image_grid(_pixel_rows(names, trajectory.x[-1]))


def _plot_digit_trajectories(run, args, out, columns=11):
    """One digit a row, from noise (t = 0) to the digit (t = 1), at ``columns`` times (fewer if fewer were recorded)."""
    names, trajectory = _digit_flow(run, args, columns=1)
    k = plot.times_to_show(trajectory.t, columns)
    strips = to_pixels(trajectory.x[k]).transpose(1, 0, 2)  # (rows, columns, 64)
    return plot.image_grid(dict(zip(names, strips)), titles=[f"t = {t:.1f}" for t in trajectory.t[k]])


def _plot_digit_animation(run, args, out):
    names, trajectory = _digit_flow(run, args, columns=10)
    frames = to_pixels(trajectory.x).reshape(len(trajectory.t), len(names), -1, trajectory.x.shape[-1])
    plot.image_animation(frames, trajectory.t, out, names=names)  # writes the GIF itself


def _plot_digit_guidance(run, args, out, columns=4):
    """A grid of digits (a row per class, ``columns`` a row) for each guidance weight."""
    _check_guidance_kind(run, args)
    grids = {}
    for w in GUIDANCE_WEIGHTS:
        names, trajectory = _digit_flow(run, args, columns, guidance=w)
        grids[plot.weight_title(w)] = _pixel_rows(names, trajectory.x[-1])
    return plot.image_grids(grids)


#: ``npflow plot --kind`` for a run of images: each figure drawn as a grid of images.
IMAGE_FIGURES = {"samples": _plot_digits, "trajectories": _plot_digit_trajectories, "guidance": _plot_digit_guidance,
                 "animation": _plot_digit_animation, "loss": _plot_loss}


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

    run = _read_run(args.run_dir, args)
    if run.config.network != MLP.name:
        raise ValueError(f"npflow export writes the tutorial's MLP layout, and this run's network is "
                         f"{run.config.network!r} (its weights are in the run's checkpoint.npz)")
    _check_out(args, (".npz",))
    export_state_dict(run.field_params, args.out, force=args.force)
    print(f"weights of {args.run_dir} written to {args.out} in the tutorial's state_dict layout")
    if run.config.num_classes:
        print(f"npflow export: note: {conditional_export_note(run)}", file=sys.stderr)
    predict = run.objective.predict(run.config)
    if predict != "velocity":  # the tutorial's sampler would take the output for a velocity
        print(f"note: this network predicts the {predict}, not the velocity; npflow.core.views converts it")


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

    check_not_an_input(args.out)  # not inside a run
    demo = TrainConfig(steps=args.steps, seed=args.seed)
    _check_training_fits(demo)
    # Three samplers' trajectories of n points (101 points each) and the n x n tables of the energy distance.
    check_fits((3 * 101 + 4) * args.n * demo.dim * 8 + 3 * 8 * args.n**2, f"--n {args.n}")
    print(run_demo(args.out, steps=args.steps, n=args.n, force=args.force, seed=args.seed), end="")
    print(f"wrote {args.out}/: run/, summary.txt, samples.png, loss.png")


def _one_line(error):
    """An error the system raised, in one line: a path and its cause (an OSError), or its type and message."""
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename!r}: {error.strerror}"
    if isinstance(error, MemoryError):
        return f"out of memory ({error or 'a NumPy array did not fit'}); ask for less"
    text = str(error).splitlines()[0] if str(error) else ""
    return text if isinstance(error, OSError) else f"{type(error).__name__}: {text}".rstrip(": ")


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 1 training diverged or the system refused, 2 bad input,
    130 interrupted)."""
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
    except (OSError, MemoryError, NotImplementedError) as error:  # the system refused, or a student's blank
        print(f"npflow {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"npflow {args.command}: interrupted; no file was left half-written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (npflow evaluate RUN | head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 0


if __name__ == "__main__":
    sys.exit(main())

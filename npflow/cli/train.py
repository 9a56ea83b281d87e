"""``npflow train``: train a vector field into a run directory, or resume one.

One option per ``TrainConfig`` field (and per option of each registered objective), each
defaulting to the tutorial's recipe. The run directory is written at step 0, before training
starts, so that it can always be resumed; the command holds the run's lock while it trains
(``npflow.plumbing.lock``) and records in the run how training ended (``npflow.plumbing.status``).
``create_run`` and ``train_in`` serve ``npflow reflow`` too.
"""
import contextlib
import os
import shutil
import sys
from dataclasses import fields, replace

from ..core.couplings import COUPLING_NAMES
from ..core.mlp import ACTIVATIONS
from ..core.paths import PATHS
from ..core.training import TrainingDiverged
from ..data.datasets import DATASETS
from ..models import NETWORKS, OBJECTIVES, RECIPE_ALIASES, RECIPES
from ..plumbing.io import load_run, save_checkpoint, save_run, set_status
from ..plumbing.lock import RunLock
from ..plumbing.outputs import CONFIG_FILE, check_not_an_input, check_output_path
from ..runs.config import TrainConfig
from ..runs.field_error import exact_mixture
from ..runs.loop import TrainingInterrupted, train
from ..runs.run import start_run
from .checks import check_training_fits
from .options import (CONFIG_DEFAULTS, add_training_output, command, ema_decay, finite_float, hidden_widths,
                      non_negative_float, non_negative_int, positive_float, positive_int, probability, shown,
                      unit_interval)

__all__ = ["add_parser", "create_run", "train_in"]


def add_parser(commands):
    """``npflow train`` and its options."""
    parser = command(commands, _train)
    _add_recipe_options(parser.add_argument_group("recipe (fixed for a run; with --resume only --steps may be given)"))
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="RUN_DIR", help="run directory to create")
    where.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    add_training_output(parser)
    parser.add_argument("--field-error-every", type=non_negative_int, default=0, metavar="K",
                        help="every K steps, log the mean squared gap to the exact field (Gaussian-mixture "
                             "datasets only) [%(default)s: never]")


#: How the command line reads an objective's setting, by the type its options declare.
_NUMBER_TYPES = {"probability": probability, "positive": positive_float, "non_negative": non_negative_float,
                 "finite": finite_float}


def _add_recipe_options(recipe):
    """One option per ``TrainConfig`` field, its help ending in the field's default, and ``--recipe``."""

    def option(name, help, **options):  # default None: --resume can tell which were given; TrainConfig fills the rest
        recipe.add_argument("--" + name.replace("_", "-"), help=f"{help} [{shown(CONFIG_DEFAULTS[name])}]", **options)

    option("dataset", f"target data: one of {', '.join(sorted(DATASETS))}, or a .npy or .csv file of shape (n, d), "
                      "any d, whose rows are drawn with replacement (an .npz of x and labels y)", metavar="NAME|FILE")
    own = "; ".join(f"{', '.join(entry.sources)} for --objective {name}" for name, entry in OBJECTIVES.items()
                    if entry.sources)  # the objectives' own sources
    option("source", "where the flow starts at t=0: N(0, I), or a dataset like --dataset for data-to-data transport"
           + (f"; or an objective's own source: {own}" if own else ""), metavar="gaussian|NAME|FILE")
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
                {"choices": list(meta["choices"])} if "choices" in meta else {"type": _NUMBER_TYPES[meta.get("number", "finite")]})
            option(setting.name, meta["help"], **kind, **({"metavar": meta["metavar"]} if "metavar" in meta else {}))
    _add_recipe_names(recipe)


def _add_recipe_names(recipe):
    """--recipe, each named recipe shown as the options that would give it."""
    current = [name for name in RECIPES if name not in RECIPE_ALIASES]  # old names are accepted, not shown
    recipes = "; ".join(f"{name}: " + (" ".join(_as_option(key, value) for key, value in RECIPES[name].items())
                                       or "the defaults above") for name in current)
    recipe.add_argument("--recipe", choices=list(RECIPES), metavar="{" + ",".join(current) + "}",
                        help=f"start from a named recipe, then apply the options above ({recipes})")


def _as_option(key, value):
    """A recipe's setting as the option that gives it: ``--key value``, or ``--key`` alone for a switch that is on."""
    return f"--{key.replace('_', '-')}" + ("" if value is True else f" {shown(value)}")


def _train(args):
    """Train a vector field by conditional flow matching.

    Train v_theta(t, x) with the CFM loss and Adam, and write a run directory, checkpointed as
    it goes (with --objective meanflow, the average velocity u_theta(s, t, x) with the MeanFlow
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
        check_training_fits(config)
        return train_in(run_dir, run, config, args, RunLock(run_dir).acquire(), created=False,
                        field_error_every=args.field_error_every)
    config = TrainConfig.from_settings({**(RECIPES[args.recipe] if args.recipe else {}), **given})
    run_dir = args.out
    check_not_an_input(run_dir)  # not inside another run
    check_output_path(run_dir, args.force, marker=CONFIG_FILE)  # refuse before any work
    if args.field_error_every:
        exact_mixture(config)  # refuses a dataset without an exact field
    check_training_fits(config)
    lock = create_run(run_dir, start_run(config), args.force)  # step 0: from now on the run can be resumed
    run = load_run(run_dir)  # which reads the run's own copies of any data files
    return train_in(run_dir, run, run.config, args, lock, created=True, field_error_every=args.field_error_every)


def create_run(run_dir, run, force):
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


def train_in(run_dir, run, config, args, lock, created, field_error_every=0):
    """Train ``run`` up to ``config.steps``, checkpointing into ``run_dir`` whose ``lock`` is held; the exit status.

    The run records how training ended. A run this command ``created`` that fails before its
    first checkpoint is removed: a failed start leaves nothing behind; a resumed run that fails
    before it is left as it was.
    """
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

"""What the ``npflow`` commands share on the command line: argument types, options, and what they set.

Each argument type converts a word of the command line and checks it, or says in one line what
was expected (``OneLineErrorParser`` prints that line and exits with status 2). The ``add_*``
functions add the options several commands take: the run to read, ``--out``, ``--seed``, the
solver and its steps, ``--dtype``; ``solver_options``, ``sampler_options`` and ``dtype`` read
them back as the samplers take them.
"""
import argparse
import inspect
import math
from dataclasses import fields

from ..core.sampling import generate
from ..core.solvers import FIXED_STEP_METHODS, METHODS
from ..diffusion.stochastic import SAMPLERS
from ..meanflow.jumps import JUMPS
from ..models import OBJECTIVES
from ..models.checks import check_gaussian_noise
from ..plumbing.chunks import source_draws
from ..runs.config import TrainConfig

__all__ = ["OneLineErrorParser", "CONFIG_DEFAULTS", "SEED", "positive_int", "at_least_two", "non_negative_int",
           "positive_float", "unit_interval", "ema_decay", "probability", "hidden_widths", "non_negative_float",
           "closed_unit_interval", "solver_name", "sampler_name", "shown", "command", "add_run_dir", "add_out",
           "add_seed", "add_solver_arguments", "add_flow_options", "add_dtype", "add_training_output", "dtype",
           "solver_options", "sampler_options", "source_points", "flow_ode"]


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: what was wrong, and where to read more."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


#: TrainConfig's defaults (the tutorial's recipe), by field: the help of each recipe option ends with one.
CONFIG_DEFAULTS = {**{field.name: field.default for field in fields(TrainConfig) if field.name != "options"},
                   **{option.name: option.default for objective in OBJECTIVES.values()
                      for option in fields(objective.options)}}

#: Every command's --seed unless given: the tutorial's, the seed a run is trained with by default.
SEED = CONFIG_DEFAULTS["seed"]


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
finite_float = _number(float, math.isfinite, "a finite number")
closed_unit_interval = _number(float, lambda value: 0.0 <= value <= 1.0, "a number in [0, 1]")


def solver_name(text, stochastic=False):
    """A solver name, in any letter case (``rk45`` is ``RK45``), or ``meanflow``, a MeanFlow run's jumps; with
    ``stochastic``, a sampler's too (``ddpm``)."""
    names = (*METHODS, JUMPS, *SAMPLERS) if stochastic else (*METHODS, JUMPS)
    by_lower = {name.lower(): name for name in names}
    if text.lower() not in by_lower:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(names)}, got {text!r}")
    return by_lower[text.lower()]


def sampler_name(text):
    """An ODE solver's name, or a stochastic sampler's: euler-maruyama, ddpm."""
    return solver_name(text, stochastic=True)


def shown(value):
    """A default as one would type it: a tuple as 128,128, a float in its shortest form, "" as none."""
    if isinstance(value, tuple):
        return ",".join(str(width) for width in value)
    return f"{value:g}" if isinstance(value, float) else str(value) or "none"


# --- options several commands take ---------------------------------------------------------------

def command(commands, handler):
    """The sub-command ``handler`` runs, named after it; its docstring gives the help line and the description."""
    summary, _, description = inspect.cleandoc(handler.__doc__).partition("\n\n")
    parser = commands.add_parser(handler.__name__.lstrip("_"), help=summary.rstrip("."), description=description)
    parser.set_defaults(handler=handler)
    return parser


def add_run_dir(parser):
    """RUN_DIR, the run a command reads."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a directory written by 'npflow train'")


def add_out(parser, metavar, help):
    """--out (required), and --force to replace it."""
    parser.add_argument("--out", required=True, metavar=metavar, help=help)
    parser.add_argument("--force", action="store_true", help=f"replace {metavar} if it exists")


def add_seed(parser, draws):
    """--seed, of ``draws``, the tutorial's unless given."""
    parser.add_argument("--seed", type=non_negative_int, default=SEED, help=f"seed of {draws} [%(default)s]")


def add_solver_arguments(parser, solver="rk4", tolerance=1e-5, title="solver", steps_flag="--steps",
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


def add_flow_options(parser, n, points, draws, n_type=positive_int):
    """RUN_DIR, --n (``points``, default ``n``), the solver, and --seed (of ``draws``): a command that flows n points."""
    add_run_dir(parser)
    parser.add_argument("--n", type=n_type, default=n, help=f"{points} [%(default)s]")
    add_solver_arguments(parser, solver=None, stochastic=True)  # the run's own sampler unless one is named
    add_seed(parser, draws)
    add_dtype(parser, "arithmetic of the fixed-step solvers and samplers (scipy's adaptive ones work in float64): "
                      "float32 is about twice as fast, and on the tutorial's run its samples differ from float64's "
                      "by under 1e-5; for plot --kind density, the network's in the likelihood, as for logprob; "
                      "evaluate's likelihood is float64")


def add_dtype(parser, what):
    """--dtype, float32 unless float64 is asked for; ``what`` says what it sets."""
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32", help=f"{what} [%(default)s]")


def add_training_output(parser, out="RUN_DIR"):
    """The options of a command that trains into ``out``: replace it, how often to checkpoint, and quiet."""
    parser.add_argument("--force", action="store_true", help=f"replace {out} if it is an existing run")
    parser.add_argument("--checkpoint-every", type=non_negative_int, default=1000, metavar="K",
                        help="save a checkpoint every K steps [%(default)s; 0: only at the end or on Ctrl-C]")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


# --- what the options set ------------------------------------------------------------------------

def dtype(args):
    """The arithmetic of a command's sampling: --dtype for the fixed-step solvers, MeanFlow's jumps and the
    samplers, float64 for scipy's adaptive solvers, which work in float64 whatever they are given."""
    fixed_steps = args.solver is None or args.solver in (*FIXED_STEP_METHODS, JUMPS, *SAMPLERS)
    return args.dtype if fixed_steps else "float64"


def solver_options(args):
    """A command's --steps, --rtol and --atol, named as ``npflow.integrate`` names them (with --solver beside)."""
    return {"steps": args.solver_steps, "rtol": args.rtol, "atol": args.atol}


def sampler_options(run, args):
    """``solver_options`` and the level of a stochastic sampler, checked against the solver and the run.

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
    return {**solver_options(args), "level": 1.0 if level is None else level}


def source_points(run, args, n, rng):
    """n points x_0 from the run's source, drawn from ``rng``, in the arithmetic of --dtype."""
    return source_draws(run, n, rng, dtype(args))[1]


def flow_ode(field, x_0, args):
    """The ODE of ``field`` (a guided one) from x_0, by the command's solver, rk4 unless one is named."""
    return generate(field, x_0, args.solver or "rk4", **solver_options(args))

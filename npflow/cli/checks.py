"""What a command checks before any work: the run it reads, where it writes, and that the work fits in memory.

Each check raises ``ValueError`` (or ``FileExistsError``, ``FileNotFoundError``) in one line, which
the command prints with exit status 2, so a refused command has computed and written nothing.
"""
import sys

import numpy as np

from ..core.solvers import FIXED_STEP_METHODS
from ..models import objective_of
from ..plumbing.io import load_run
from ..plumbing.memory import check_fits, chunk_rows, network_bytes
from ..plumbing.outputs import check_not_an_input, check_output_path
from ..plumbing.status import unfinished

__all__ = ["read_run", "check_out", "source_log_prob", "rows", "check_flow_fits", "check_training_fits"]


def read_run(run_dir, args):
    """Load the run in ``run_dir``, saying on stderr, in one line, if it is not a finished one."""
    run = load_run(run_dir)
    note = unfinished(run_dir, run)
    if note:
        print(f"npflow {args.command}: note: {note}", file=sys.stderr)
    return run


def check_out(args, suffixes, inputs=()):
    """Refuse --out before any work: one of ``inputs``, a path inside a run directory, a name without one of
    ``suffixes``, or an existing file without --force."""
    check_not_an_input(args.out, inputs)
    if not args.out.lower().endswith(suffixes):
        raise ValueError(f"--out {args.out!r} must end in {' or '.join(suffixes)}, the format it is written in")
    check_output_path(args.out, args.force)


def source_log_prob(config, needed_by):
    """The run's source's log-density, as the source knows it; a ValueError saying what needs it if unknown.

    A run whose objective has no likelihood (MeanFlow's) is refused first: its samples are jumps,
    whose density the reverse ODE does not give.
    """
    if not objective_of(config).likelihood:
        raise ValueError(f"{needed_by} is not computed for a MeanFlow run: its samples are jumps of its average "
                         "velocity, and the reverse ODE gives the density of an ODE's samples")
    log_p_0 = config.source_distribution.log_prob
    if log_p_0 is None:
        raise ValueError(f"{needed_by} needs the density of the run's source, and {config.source!r} has none "
                         "(only gaussian and Gaussian-mixture sources do)")
    return log_p_0


def rows(run):
    """Points per chunk when flowing many points through the run's network (``npflow.plumbing.memory``)."""
    return chunk_rows(run.config.layer_sizes)


def check_flow_fits(run, args, n, paths=0, extra=0):
    """Refuse flowing n points (``args``' solver) if the arrays cannot fit in memory, before any work.

    Counted: the points (start, end and a copy, n x d each), the network on one chunk, ``paths``
    whole trajectories of the n points (steps + 1 points each; an adaptive solve is taken to
    record 100), and ``extra`` bytes more.
    """
    fixed_steps = args.solver is None or args.solver in FIXED_STEP_METHODS  # None: the run's own, rk4 or jumps
    recorded = args.solver_steps + 1 if fixed_steps else 100
    needed = (3 + paths * recorded) * n * run.dim * 8 + network_bytes(run.config.layer_sizes, min(n, rows(run)))
    asked = f"--n {n}" + (f" with --steps {args.solver_steps}" if paths and fixed_steps else "")
    check_fits(needed + extra, asked)


def check_training_fits(config):
    """Refuse a recipe whose training cannot fit in memory: a batch through the network, the parameters with
    their gradient, Adam's two moments and the moving average (five copies), and the loss of every step."""
    itemsize = np.dtype(config.dtype).itemsize
    sizes = config.layer_sizes
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    hidden = ",".join(str(width) for width in config.hidden)
    check_fits(network_bytes(sizes, config.batch_size, itemsize) + 5 * parameters * itemsize + 8 * config.steps,
               f"training --steps {config.steps} with --batch-size {config.batch_size} and --hidden {hidden}")

"""What a command checks before any work: the run it reads, where it writes, that the work fits in memory, and
that the points it is given are in the run's units.

Each check raises ``ValueError`` (or ``FileExistsError``, ``FileNotFoundError``) in one line, which
the command prints with exit status 2, so a refused command has computed and written nothing.

**Points far outside the data.** Points in other units than the run's (the digits' pixels
0..16, where the model works in [-1, 1)) would be scored as nonsense: -467,230 nats, and the
network's activations pushed far beyond anything it was trained on. So a point is refused when
its distance from the data's centre is more than ``FAR`` = 6 times the data's typical
distance. The centre is the coordinate-wise median of a draw of ``SPREAD_DRAWS`` points of the
run's dataset (from a seed of its own, so the rule is the same for every command), and the
typical distance is the median of the draw's distances from it: a robust scale, which no
outlier of the data moves. Across the built-in datasets no point of such a draw lies more than
3 typical distances out, and digits in pixel units lie 11 to 16 out.
"""
import sys

import numpy as np

from ..core.solvers import FIXED_STEP_METHODS
from ..data.datasets import get_dataset
from ..diffusion.stochastic import SAMPLERS
from ..images.pixels import LEVELS, to_model
from ..meanflow.jumps import JUMPS
from ..models import objective_of
from ..plumbing.io import load_run
from ..plumbing.memory import check_fits, chunk_rows, largest_fitting, network_bytes
from ..plumbing.outputs import check_not_an_input, check_output_path
from ..plumbing.status import unfinished

__all__ = ["FAR", "read_run", "check_out", "source_log_prob", "rows", "check_flow_fits", "check_training_fits",
           "data_spread", "check_near_data", "in_model_units"]

#: A point farther from the data's centre than this many typical distances is refused (see above).
FAR = 6
#: Points of the dataset drawn to measure its centre and typical distance, and the seed of that draw.
SPREAD_DRAWS, SPREAD_SEED = 10_000, 0


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

    A run whose objective has no likelihood (MeanFlow's, or one with a sampler of its own) is refused
    first: its samples are jumps, whose density the reverse ODE does not give.
    """
    objective = objective_of(config)
    if not objective.likelihood:
        jumps = ("a MeanFlow run: its samples are jumps of its average velocity" if objective.average is not None else
                 f"a run of objective {config.objective!r}: its samples are the jumps of its own sampler")
        raise ValueError(f"{needed_by} is not computed for {jumps}, and the reverse ODE gives the density of an ODE's "
                         "samples")
    log_p_0 = config.source_distribution.log_prob
    if log_p_0 is None:
        raise ValueError(f"{needed_by} needs the density of the run's source, and {config.source!r} has none "
                         "(only gaussian and Gaussian-mixture sources do)")
    return log_p_0


def rows(run):
    """Points per chunk when flowing many points through the run's network (``npflow.plumbing.memory``)."""
    return chunk_rows(run.config.layer_sizes)


def check_flow_fits(run, args, n, paths=0, extra=0, copies=3, pairs=0):
    """Refuse flowing n points (``args``' solver) if the arrays cannot fit in memory, before any work, and say
    the largest --n that fits.

    Counted, in float64: ``copies`` arrays of the n points (start, end and a copy, n x d each;
    more for a command that converts them), ``paths`` whole trajectories of the n points (steps
    + 1 points each; an adaptive solve is taken to record 100), the network and the trajectory
    on one chunk (twice: the solver's list of steps and the array stacked from it), ``pairs``
    bytes per pair of points (n x n tables), and ``extra`` bytes more.
    """
    fixed_steps = args.solver is None or args.solver in (*FIXED_STEP_METHODS, JUMPS, *SAMPLERS)
    recorded = args.solver_steps + 1 if fixed_steps else 100
    sizes, chunk = run.config.layer_sizes, rows(run)

    def bytes_of(k):  # the memory of flowing k points
        held = (copies + paths * recorded) * k * run.dim * 8 + pairs * k**2 + extra
        return held + network_bytes(sizes, min(k, chunk)) + 2 * recorded * min(k, chunk) * run.dim * 8

    steps = f" with --steps {args.solver_steps}" if fixed_steps else ""

    def instead(available):  # what fits in the memory there is
        most = largest_fitting(bytes_of, available, n)
        return f"--n {most}{steps} fits" if most else f"no --n fits{steps}; ask for fewer steps"

    check_fits(bytes_of(n), f"--n {n}{steps if paths else ''}", instead=instead)


def check_training_fits(config):
    """Refuse a recipe whose training cannot fit in memory: a batch through the network, the parameters with
    their gradient, Adam's two moments and the moving average (five copies), and the loss of every step."""
    itemsize = np.dtype(config.dtype).itemsize
    sizes = config.layer_sizes
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    hidden = ",".join(str(width) for width in config.hidden)
    check_fits(network_bytes(sizes, config.batch_size, itemsize) + 5 * parameters * itemsize + 8 * config.steps,
               f"training --steps {config.steps} with --batch-size {config.batch_size} and --hidden {hidden}")


def data_spread(dataset):
    """The centre of a dataset and its typical distance from it (see the module docstring).

    Returns
    -------
    centre : ndarray, shape (d,)
        The coordinate-wise median of ``SPREAD_DRAWS`` points drawn from ``SPREAD_SEED``.
    typical : float
        The median distance of those points from the centre.
    """
    x = dataset.sample(SPREAD_DRAWS, np.random.default_rng(SPREAD_SEED))  # (SPREAD_DRAWS, d)
    centre = np.median(x, axis=0)  # (d,)
    return centre, float(np.median(np.linalg.norm(x - centre, axis=1)))


def check_near_data(run, points):
    """Refuse points farther than ``FAR`` typical distances from the centre of the run's data, in one line that
    names the likely cause: pixels given to an image run, or other units.

    A dataset whose draw is one repeated point has no spread to compare with, and is not checked.
    """
    dataset = get_dataset(run.config.dataset)
    centre, typical = data_spread(dataset)
    if typical == 0:
        return
    far = np.linalg.norm(points - centre, axis=1) / typical  # (n,) distance from the centre, in typical distances
    if far.max() <= FAR:
        return
    count = np.count_nonzero(far > FAR)
    outside = f"{count} of {len(points)} points {'lies' if count == 1 else 'lie'}"
    if dataset.to_pixels is not None and points.min() >= 0 and points.max() <= LEVELS - 1:
        raise ValueError(f"these look like pixels 0..{LEVELS - 1} ({outside} far outside the run's data); the model "
                         "works in [-1, 1): pass --units pixels, or scale them")
    row = int(np.argmax(far))
    raise ValueError(f"{outside} far outside the run's data (row {row} is {far[row]:.0f} times as far from its centre "
                     f"as a typical data point; at most {FAR} is accepted): are they in the units of the data the run "
                     "was trained on?")


def in_model_units(run, points, units, rng):
    """Points in the units the run's model works in: as given (``units`` "model"), or images of pixels 0..16
    (``units`` "pixels") dequantized with noise from ``rng`` and scaled to [-1, 1) (``npflow.images.pixels``).

    Returns
    -------
    ndarray, shape (n, d)
    """
    if units == "model":
        return points
    dataset = get_dataset(run.config.dataset)
    if dataset.to_pixels is None:
        raise ValueError(f"--units pixels is for a run on images, such as digits; this run's data "
                         f"({run.config.dataset}) are points in the model's own units: leave --units out")
    wrong = (points != np.round(points)) | (points < 0) | (points > LEVELS - 1)  # (n, d)
    if wrong.any():
        row, column = np.argwhere(wrong)[0]
        raise ValueError(f"--units pixels takes whole pixel values 0..{LEVELS - 1}; row {row} holds "
                         f"{points[row, column]:g} in column {column}")
    return to_model(points, rng)

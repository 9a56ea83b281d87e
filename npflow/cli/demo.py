"""``npflow demo``: the tutorial end to end (``npflow.plumbing.demo``), into a directory of its own."""
from ..plumbing.demo import run_demo
from ..plumbing.memory import check_fits
from ..plumbing.outputs import check_not_an_input
from ..runs.config import TrainConfig
from .checks import check_training_fits
from .options import CONFIG_DEFAULTS, add_seed, command, positive_int

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow demo`` and its options."""
    parser = command(commands, _demo)
    parser.add_argument("--out", default="npflow-demo", metavar="DIR", help="directory to create [%(default)s]")
    parser.add_argument("--steps", type=positive_int, default=CONFIG_DEFAULTS["steps"],
                        help="training steps [%(default)s]")
    parser.add_argument("--n", type=positive_int, default=4000, help="samples per sampler [%(default)s]")
    add_seed(parser, "the training")
    parser.add_argument("--force", action="store_true", help="replace DIR if an earlier demo wrote it")


def _demo(args):
    """The tutorial end to end: train, sample three ways, measure, plot.

    Train the tutorial's recipe, sample with RK4 and RK45 and with the tutorial's own (wrong)
    sampler, print energy distance, mode balance and spread against fresh target samples, and
    write figures.
    """
    check_not_an_input(args.out)  # not inside a run
    demo = TrainConfig(steps=args.steps, seed=args.seed)
    check_training_fits(demo)
    # Three samplers' trajectories of n points (101 points each) and the n x n tables of the energy distance.
    check_fits((3 * 101 + 4) * args.n * demo.dim * 8 + 3 * 8 * args.n**2, f"--n {args.n}")
    print(run_demo(args.out, steps=args.steps, n=args.n, force=args.force, seed=args.seed), end="")
    print(f"wrote {args.out}/: run/, summary.txt, samples.png, loss.png")

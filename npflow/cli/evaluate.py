"""``npflow evaluate``: measure a run against fresh target samples, as a table or as JSON.

The measures are ``npflow.plumbing.evaluate``'s, label by label for a conditional run
(``npflow.plumbing.labels``), and ``npflow.plumbing.evaluate_images``' for a run of images.
"""
import json

import numpy as np

from ..data.datasets import get_dataset
from ..plumbing.evaluate import evaluate, format_table
from ..plumbing.evaluate_images import evaluate_images, format_images
from ..plumbing.labels import add_label_options, asked_classes, evaluate_labels, format_labels
from .checks import check_flow_fits, read_run
from .options import add_flow_options, at_least_two, command, dtype, sampler_options, solver_options

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow evaluate`` and its options."""
    parser = command(commands, _evaluate)
    add_flow_options(parser, n=2000, points="target points and samples", draws="the evaluation draws",
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
    guided field where it is known. A MeanFlow run is sampled by its jumps (--steps 1 for one
    step) and has no NLL or KL. A run of the digits is measured as an image model: the
    classifier's reading of the samples, the Frechet distance in its features beside the
    train-test floor, test bits/dim beside two Gaussians, and the memorization ratio.
    """
    run = read_run(args.run_dir, args)
    classes = asked_classes(run, args)
    check_flow_fits(run, args, args.n, paths=1, extra=3 * 8 * args.n**2)  # the sample distances take n x n tables
    if get_dataset(run.config.dataset).to_pixels is not None:  # measured as an image model is
        report = evaluate_images(run, args.n, np.random.default_rng(args.seed), classes, args.guidance or 0.0,
                                 args.solver or "rk4", dtype=dtype(args), **solver_options(args))
        return print(json.dumps(report, indent=2) if args.json else format_images(report))
    report = evaluate(run, n=args.n, rng=np.random.default_rng(args.seed), solver=args.solver, dtype=dtype(args),
                      **sampler_options(run, args))
    if run.config.num_classes:
        classes = np.arange(run.config.num_classes) if classes is None else classes
        report["labels"] = evaluate_labels(run, classes, args.guidance or 0.0, args.n, np.random.default_rng(
            [args.seed, 1]), args.solver or "rk4", dtype=dtype(args), **solver_options(args))
    text = format_table(report) + ("\n" + format_labels(report["labels"]) if "labels" in report else "")
    print(json.dumps(report, indent=2) if args.json else text)

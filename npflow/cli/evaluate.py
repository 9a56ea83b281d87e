"""``npflow evaluate``: measure a run against fresh target samples, as a table or as JSON, every figure with its ±.

The measures are ``npflow.plumbing.evaluate``'s, label by label for a conditional run
(``npflow.plumbing.labels``), ``npflow.plumbing.evaluate_images``' for a run of images, and the
objective's own where it registers a display (``npflow.plumbing.displays``); their error bars
and the mean over ``--repeats`` draws are ``npflow.plumbing.error_bars``'.
"""
import json
import sys

import numpy as np

from ..data.datasets import get_dataset
from ..plumbing.chapter_displays import display_of
from ..plumbing.error_bars import over_repeats
from ..plumbing.evaluate import evaluate, format_table
from ..plumbing.evaluate_images import evaluate_images, format_images
from ..plumbing.labels import add_label_options, asked_classes, evaluate_labels, format_labels, shared_labels
from .checks import check_flow_fits, read_run
from .options import (add_flow_options, at_least_two, command, dtype, positive_int, sampler_options,
                      solver_options)

__all__ = ["add_parser"]


def add_parser(commands):
    """``npflow evaluate`` and its options."""
    parser = command(commands, _evaluate)
    add_flow_options(parser, n=2000, points="target points and samples", draws="the evaluation draws",
                     n_type=at_least_two)
    parser.add_argument("--repeats", type=positive_int, default=1, metavar="K",
                        help="measure K independent draws (draw 0 from --seed S, draw r from the seed [S, r]) and "
                             "report each figure's mean ± its sd over the K [%(default)s]")
    parser.add_argument("--quiet", action="store_true", help="no progress lines (shown on stderr for work of over 2 s)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON, each with <name>_stderr "
                                                            "(and, with --repeats, <name>_spread) beside it")
    add_label_options(parser)


def _evaluate(args):
    """NLL, KL, field error and sample distances of a run, each ± one standard error.

    Measure a run against fresh target samples: NLL by the reverse ODE where the source's
    density is known; KL(target || model) where the target is a Gaussian mixture; the field
    error where the exact field is the run's (linear path, N(0, I), independent pairs); energy
    distance, W2 and MMD of samples; mode coverage where the target has modes; straightness and
    kinetic energy of the sampling paths. Each figure carries ± one standard error: sd / sqrt(n)
    for a mean over points, else a bootstrap over the samples (50 resamples; for W2 the
    m-out-of-n bootstrap). With --repeats K, K independent draws, each figure's mean ± its sd
    over them. For a conditional run these measure its unconditional field, and a table per
    label follows (the labels of --label, every class by default, guided by --guidance): the
    share of samples that land nearest their class's mode, their spread, the energy distance to
    the class, and the field error against the exact guided field where it is known. A MeanFlow
    run is sampled by its jumps (--steps 1 for one step) and has no NLL or KL. A run of the
    digits is measured as an image model, by a fixed judge shipped with npflow (the same for
    every --seed): the judge's reading of the samples, the Frechet distance in its features
    beside the train-test floor, test bits/dim beside two Gaussians, and the memorization ratio.
    A likelihood of over 2 s shows its progress on stderr.
    """
    run = read_run(args.run_dir, args)
    display = display_of(run.config)
    if display is not None:
        return _own_report(run, args, display)
    classes = asked_classes(run, args)
    check_flow_fits(run, args, args.n, paths=1, extra=3 * 8 * args.n**2)  # the sample distances take n x n tables
    images = get_dataset(run.config.dataset).to_pixels is not None  # measured as an image model is
    if run.config.num_classes:
        classes = np.arange(run.config.num_classes) if classes is None else classes
        shared_labels(classes, args.n, args)  # refuses too few points for the classes, and notes a remainder
    reports = [_one_draw(run, args, classes, images, r) for r in range(args.repeats)]
    report = reports[0] if args.repeats == 1 else over_repeats(reports)
    if args.json:
        return print(json.dumps(report, indent=2))
    if images:
        return print(format_images(report))
    print(format_table(report) + ("\n" + format_labels(report["labels"]) if "labels" in report else ""))


def _own_report(run, args, display):
    """The report of a run whose objective registers its own display: draw r from the generator of ``_one_draw``."""
    check_flow_fits(run, args, args.n, paths=1)
    reports = [display.evaluate(run, args, np.random.default_rng(args.seed if r == 0 else [args.seed, r]))
               for r in range(args.repeats)]
    report = reports[0] if args.repeats == 1 else over_repeats(reports)
    print(json.dumps(report, indent=2) if args.json else display.format(report))


def _one_draw(run, args, classes, images, r):
    """The report of draw r: from the generator ``default_rng(seed)`` for r = 0, ``default_rng([seed, r])`` after;
    a conditional run's labels from ``default_rng([seed, r, 1])``."""
    rng = np.random.default_rng(args.seed if r == 0 else [args.seed, r])
    stream = None if args.quiet else sys.stderr  # for the progress of a long likelihood
    if images:
        return evaluate_images(run, args.n, rng, classes, args.guidance or 0.0, args.solver or "rk4",
                               dtype=dtype(args), stream=stream, **solver_options(args))
    report = evaluate(run, n=args.n, rng=rng, solver=args.solver, dtype=dtype(args), stream=stream,
                      **sampler_options(run, args))
    if run.config.num_classes:
        report["labels"] = evaluate_labels(run, classes, args.guidance or 0.0, args.n,
                                           np.random.default_rng([args.seed, r, 1]), args.solver or "rk4",
                                           dtype=dtype(args), **solver_options(args))
    return report

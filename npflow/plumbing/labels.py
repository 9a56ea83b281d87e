"""Labels on the command line: ``--label`` and ``--guidance`` for a conditional run (``npflow.guidance``).

``npflow sample``, ``evaluate`` and ``plot`` take ``--label K`` (repeated for several classes, or
``all`` for every class, shared equally among the points) and ``--guidance W``. Here they are
checked against the run, turned into the field the command flows, measured label by label, and
saved beside the samples: an ``.npz`` file with ``x`` (n, d), the samples, and ``y`` (n,), the label
each was asked for, which is also the format ``npflow train --dataset`` reads labelled data from.
"""
import argparse
import math
import sys

import numpy as np

from ..core.gmm import GaussianMixture
from ..core.oracle import points_on_path
from ..core.paths import LinearPath
from ..core.sampling import generate
from ..data.datasets import get_dataset
from ..guidance.conditional import classes_of
from ..guidance.exact import exact_guided_velocity
from ..guidance.labels import equal_shares
from ..guidance.measures import class_measures
from ..runs.field_error import exact_mixture
from .chunks import source_draws
from .error_bars import RESAMPLES, bootstrap_stderr, error_note, pm, share_stderr
from .evaluate import energy_distance_stderr, field_error_stderr
from .outputs import atomic_file, check_output_path

__all__ = ["GUIDANCE_WEIGHTS", "add_label_options", "asked_classes", "shared_labels", "asked_field", "save_labelled",
           "evaluate_labels", "format_labels", "conditional_export_note"]

#: The weights ``npflow plot --kind guidance`` and ``examples/guidance.py`` compare: w = -1 is the
#: unconditional field, 0 the conditional one, and the rest ever sharper.
GUIDANCE_WEIGHTS = (-1.0, 0.0, 0.5, 1.0, 2.0, 4.0)


def _label(text):
    """An argparse ``type``: a class number 0, 1, 2, ... or ``all``."""
    if text == "all":
        return text
    try:
        label = int(text)
    except ValueError:
        label = -1
    if label < 0:
        raise argparse.ArgumentTypeError(f"expected a class number 0, 1, 2, ... or all, got {text!r}")
    return label


def _finite(text):
    """An argparse ``type``: any finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def add_label_options(parser):
    """``--label`` and ``--guidance``, in a group of their own."""
    group = parser.add_argument_group("conditional runs (trained with npflow train --conditional)")
    group.add_argument("--label", action="append", type=_label, metavar="K|all",
                       help="draw class K; repeat it for several classes, shared equally among the points, or give "
                            "all for every class [none: the unconditional field]")
    group.add_argument("--guidance", type=_finite, metavar="W",
                       help="guidance weight w of v_w = (1 + w) v(t, x, y) - w v(t, x, no label): 0 conditional, "
                            "-1 unconditional, > 0 sharper; diffusers' guidance_scale is 1 + w [0]")


def asked_classes(run, args):
    """The classes ``--label`` asks for, as an array (every class for ``all``); None without ``--label``.

    Raises
    ------
    ValueError
        One line: ``--guidance`` without ``--label``, ``--label`` on a run trained without
        labels, ``all`` beside other labels, or a class the run does not have.
    """
    if (args.label is not None or args.guidance is not None) and not run.config.num_classes:
        asked = "--label" if args.label is not None else "--guidance"
        raise ValueError(f"{asked} needs a conditional run (npflow train --conditional); {args.run_dir!r} was "
                         "trained without labels")
    if args.label is None:
        if args.guidance is not None:
            raise ValueError("--guidance guides the field towards a class: give --label K (or --label all) too")
        return None
    K = run.config.num_classes  # from the recipe: the weights of an MLP and of a resnet hold it differently
    if "all" in args.label:
        if len(args.label) > 1:
            raise ValueError("--label all asks for every class; give it alone")
        return np.arange(K)
    outside = [label for label in args.label if label >= K]
    if outside:
        raise ValueError(f"--label {outside[0]} is not a class of this run: expected 0..{K - 1} or all")
    return np.array(args.label)


def shared_labels(classes, n, args):
    """The label of each of n points, the asked classes sharing them equally (``npflow.guidance.equal_shares``).

    Fewer points than classes is refused in one line that names the smallest --n that works;
    a remainder goes one sample each to the first classes, and one line on stderr says so.
    """
    C = len(classes)
    if n < C:
        raise ValueError(f"--n {n} cannot give each of the {C} classes asked for a sample: the smallest --n that "
                         f"does is {C}")
    if n % C:
        first = ("class " if n % C == 1 else "classes ") + ", ".join(str(k) for k in classes[:n % C])
        print(f"npflow {args.command}: note: --n {n} does not divide among {C} classes: {n // C + 1} samples each for "
              f"the first {n % C} ({first}), {n // C} for the other {C - n % C}", file=sys.stderr)
    return equal_shares(classes, n)


def asked_field(run, args, n=None):
    """The field a command flows, and the label of each point: ``(f, y)``.

    Without ``--label``, the run's field (a conditional run's unconditional one) and y None.
    With it, the field guided by ``--guidance`` towards the asked classes, shared equally
    among n points (``shared_labels``); with n None (a grid of any size) one class for every
    point, so only one may be asked.
    """
    classes = asked_classes(run, args)
    if classes is None:
        return run.velocity, None
    if n is None and len(classes) > 1:
        raise ValueError(f"this figure draws one field at a grid of points: give one --label, got {len(classes)}")
    y = classes[0] if n is None else shared_labels(classes, n, args)
    return run.guided_velocity(y, args.guidance or 0.0), y


def save_labelled(path, x, y, force=False):
    """Write samples and the label each was asked for as an ``.npz`` of ``x`` (n, d) and ``y`` (n,), atomically."""
    check_output_path(path, force)
    with atomic_file(path) as tmp, open(tmp, "wb") as file:  # an open file: np.savez would add ".npz" to tmp
        np.savez(file, x=np.asarray(x), y=np.asarray(y))


def evaluate_labels(run, classes, guidance, n, rng, solver="rk4", dtype=None, **options):
    """Measure a conditional run label by label, with its field guided by w = ``guidance``.

    n samples, the asked classes sharing them equally, flow from the run's source. For each
    label k: where its samples land (``npflow.guidance.class_measures``: the share nearest mode
    k, their spread and shift), where the target's classes are the modes of a Gaussian mixture;
    the energy distance between them and the target's class k (of n fresh labelled target
    points); and the field error of the guided field against the exact guided field on class
    k's own path (as ``npflow.guidance.label_field_errors``, n points per label), where the exact
    field is the run's (``npflow.core.oracle.exact_mixture``). The samples flow in ``dtype`` (None: the
    run's own), as ``npflow.plumbing.evaluate.evaluate``'s do; the field errors in float64.

    Each figure has its standard error beside it (``npflow.plumbing.error_bars``): the share's
    closed form (``share_stderr``), the field error's sd / sqrt(n), and the bootstrap over each label's
    samples (and target points) for the spread, the shift and the energy distance.

    Returns
    -------
    dict of list
        One entry per label: ``label``, ``energy_distance``; ``s_k``, ``share``, ``spread``,
        ``shift`` for a mixture; ``field_error`` where the exact field is known; each figure's
        ``<figure>_stderr``; ``guidance``, and ``resamples``, the bootstrap's.
    """
    config, dataset = run.config, get_dataset(run.config.dataset)
    y = equal_shares(classes, n)  # (n,)
    sampler, x_0 = source_draws(run, n, rng, dtype)
    x = generate(sampler.guided_velocity(y, guidance), x_0, solver, **options).x[-1].astype(np.float64)
    target, target_y = dataset.sample_labelled(n, rng)  # (n, d), (n,)
    labels = np.unique(y)
    rows = {}
    mixture = exact_mixture(config, required=False)
    if mixture is not None:
        path = LinearPath(config.sigma_min)
        errors = [field_error_stderr(run.guided_velocity(k, guidance),
                                     exact_guided_velocity(mixture, config.sigma_min, label=k, guidance=guidance),
                                     *points_on_path(GaussianMixture(mixture.means[k:k + 1], mixture.stds[k:k + 1])
                                                     .sample, path, n, rng)) for k in labels]
        rows["field_error"], rows["field_error_stderr"] = zip(*errors)
    distances = [energy_distance_stderr(x[y == k], target[target_y == k], rng) if np.any(target_y == k)
                 else (np.nan, np.nan) for k in labels]
    rows["energy_distance"], rows["energy_distance_stderr"] = zip(*distances)
    if dataset.mixture is not None:  # its classes are its components, each around its mode
        rows.update(s_k=dataset.mixture.stds[labels], **_landing(x, y, dataset.means, rng))
    report = {name: [float(value) for value in values] for name, values in rows.items()}
    return {"label": [int(k) for k in labels], **report, "guidance": float(guidance), "resamples": RESAMPLES}


def _landing(x, y, means, rng):
    """``class_measures`` (share, spread, shift per label) with standard errors: the share's closed form, and the
    bootstrap within each label's samples for spread and shift."""
    measures = class_measures(x, y, means)
    asked = [np.flatnonzero(y == k) for k in measures["label"]]  # each label's samples

    def resampled(*rows):
        drawn = np.concatenate([points[r] for points, r in zip(asked, rows)])
        found = class_measures(x[drawn], y[drawn], means)
        return np.concatenate([found["spread"], found["shift"]])  # (2 L,)

    spread_and_shift = bootstrap_stderr(resampled, [len(points) for points in asked], rng)
    return {"share": measures["share"], "spread": measures["spread"], "shift": measures["shift"],
            "share_stderr": [share_stderr(p, len(points)) for p, points in zip(measures["share"], asked)],
            "spread_stderr": spread_and_shift[:len(asked)], "shift_stderr": spread_and_shift[len(asked):]}


def format_labels(report):
    """The report of ``evaluate_labels`` as a small text table, one row per label, each figure with its ± ."""
    columns = [("s_k", "s_k", 3), ("share", "in class", 3), ("spread", "spread", 3), ("shift", "shift", 3),
               ("energy_distance", "energy distance", 4), ("field_error", "field error", 4)]
    shown = [(key, title, digits) for key, title, digits in columns if key in report]
    table = [["label"] + [title for _, title, _ in shown]]
    table += [[str(label)] + [f"{report[key][i]:.{digits}f}" if key == "s_k" else pm(report, key, digits, i)
                              for key, _, digits in shown] for i, label in enumerate(report["label"])]
    widths = [max(len(row[j]) for row in table) for j in range(len(table[0]))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in table]
    notes = ("in class: the share of the samples asked for k that land nearest mode k; spread and shift (from mode "
             "k) of those that do" if "share" in report else "the energy distance of the samples asked for k to the "
             "target's class k")
    return "\n".join(lines + [f"(per label, guided with w = {report['guidance']:g}; {notes}; s_k the class's own "
                              f"spread; {error_note(report)})"])


def conditional_export_note(run):
    """What the exported weights of a conditional run cannot carry, in one line (for ``npflow export``)."""
    K, inputs = classes_of(run.params), run.params[0][0].shape[0]
    return (f"this run is conditional: its first layer takes [t, x, onehot(y)], {inputs} inputs of which the last "
            f"{K + 1} are the label's one-hot (slot {K}: no label), where the tutorial's VectorField takes [t, x]; "
            "the one-hot and the guidance (1 + w) v(t, x, y) - w v(t, x, no label) are not in the weights: build "
            "them around the model")

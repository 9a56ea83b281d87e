"""Labels on the command line: ``--label`` and ``--guidance`` for a conditional run (``npflow.guidance``).

``npflow sample``, ``evaluate`` and ``plot`` take ``--label K`` (repeated for several classes, or
``all`` for every class, shared equally among the points) and ``--guidance W``. Here they are
checked against the run, turned into the field the command flows, measured label by label, and
saved beside the samples: an ``.npz`` file with ``x`` (n, d), the samples, and ``y`` (n,), the label
each was asked for, which is also the format ``npflow train --dataset`` reads labelled data from.
"""
import argparse
import math

import numpy as np

from ..core.metrics import energy_distance
from ..core.paths import LinearPath
from ..core.sampling import generate
from ..data.datasets import get_dataset
from ..guidance.conditional import classes_of
from ..guidance.exact import exact_guided_velocity
from ..guidance.labels import equal_shares
from ..guidance.measures import class_measures, label_field_errors
from ..runs.field_error import exact_mixture
from .chunks import source_draws
from .outputs import atomic_file, check_output_path

__all__ = ["GUIDANCE_WEIGHTS", "add_label_options", "asked_classes", "asked_field", "save_labelled",
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
    if args.label is None:
        if args.guidance is not None:
            raise ValueError("--guidance guides the field towards a class: give --label K (or --label all) too")
        return None
    if not run.config.num_classes:
        raise ValueError(f"--label needs a conditional run (npflow train --conditional); {args.run_dir!r} was "
                         "trained without labels")
    K = run.config.num_classes  # from the recipe: the weights of an MLP and of a resnet hold it differently
    if "all" in args.label:
        if len(args.label) > 1:
            raise ValueError("--label all asks for every class; give it alone")
        return np.arange(K)
    outside = [label for label in args.label if label >= K]
    if outside:
        raise ValueError(f"--label {outside[0]} is not a class of this run: expected 0..{K - 1} or all")
    return np.array(args.label)


def asked_field(run, args, n=None):
    """The field a command flows, and the label of each point: ``(f, y)``.

    Without ``--label``, the run's field (a conditional run's unconditional one) and y None.
    With it, the field guided by ``--guidance`` towards the asked classes, shared equally
    among n points (``npflow.guidance.equal_shares``); with n None (a grid of any size) one
    class for every point, so only one may be asked.
    """
    classes = asked_classes(run, args)
    if classes is None:
        return run.velocity, None
    if n is None and len(classes) > 1:
        raise ValueError(f"this figure draws one field at a grid of points: give one --label, got {len(classes)}")
    y = classes[0] if n is None else equal_shares(classes, n)
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
    k's own path (``npflow.guidance.label_field_errors``, n points per label), where the exact
    field is the run's (``npflow.core.oracle.exact_mixture``). The samples flow in ``dtype`` (None: the
    run's own), as ``npflow.plumbing.evaluate.evaluate``'s do; the field errors in float64.

    Returns
    -------
    dict of list
        One entry per label: ``label``, ``energy_distance``; ``s_k``, ``share``, ``spread``,
        ``shift`` for a mixture; ``field_error`` where the exact field is known; and ``guidance``.
    """
    config, dataset = run.config, get_dataset(run.config.dataset)
    y = equal_shares(classes, n)  # (n,)
    sampler, x_0 = source_draws(run, n, rng, dtype)
    x = generate(sampler.guided_velocity(y, guidance), x_0, solver, **options).x[-1].astype(np.float64)
    target, target_y = dataset.sample_labelled(n, rng)  # (n, d), (n,)
    labels = np.unique(y)
    rows = {"label": labels, "energy_distance": [
        energy_distance(x[y == k], target[target_y == k]) if np.any(target_y == k) else np.nan for k in labels]}
    if dataset.mixture is not None:  # its classes are its components, each around its mode
        rows.update(s_k=dataset.mixture.stds[labels], **class_measures(x, y, dataset.means))
    mixture = exact_mixture(config, required=False)
    if mixture is not None:
        rows["field_error"] = label_field_errors(
            lambda k: run.guided_velocity(k, guidance),
            lambda k: exact_guided_velocity(mixture, config.sigma_min, label=k, guidance=guidance), mixture, labels, n, rng,
            path=LinearPath(config.sigma_min))
    report = {name: [float(value) for value in values] for name, values in rows.items()}
    report["label"] = [int(k) for k in labels]
    return {**report, "guidance": float(guidance)}


def format_labels(report):
    """The report of ``evaluate_labels`` as a small text table, one row per label."""
    columns = [("label", "label", "{:d}"), ("s_k", "s_k", "{:.3f}"), ("share", "in class", "{:.3f}"),
               ("spread", "spread", "{:.3f}"), ("shift", "shift", "{:.3f}"),
               ("energy_distance", "energy distance", "{:.4f}"), ("field_error", "field error", "{:.4f}")]
    shown = [(key, title, form) for key, title, form in columns if key in report]
    table = [[title for _, title, _ in shown]]
    table += [[form.format(report[key][i]) for key, _, form in shown] for i in range(len(report["label"]))]
    widths = [max(len(row[j]) for row in table) for j in range(len(shown))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in table]
    notes = ("in class: the share of the samples asked for k that land nearest mode k; spread and shift (from mode "
             "k) of those that do" if "share" in report else "the energy distance of the samples asked for k to the "
             "target's class k")
    return "\n".join(lines + [f"(per label, guided with w = {report['guidance']:g}; {notes})"])


def conditional_export_note(run):
    """What the exported weights of a conditional run cannot carry, in one line (for ``npflow export``)."""
    K, inputs = classes_of(run.params), run.params[0][0].shape[0]
    return (f"this run is conditional: its first layer takes [t, x, onehot(y)], {inputs} inputs of which the last "
            f"{K + 1} are the label's one-hot (slot {K}: no label), where the tutorial's VectorField takes [t, x]; "
            "the one-hot and the guidance (1 + w) v(t, x, y) - w v(t, x, no label) are not in the weights: build "
            "them around the model")

"""How good is a run of the digits? Measured as image models are, in NumPy (``npflow evaluate`` of a digits run).

``evaluate_images(run, ...)`` reports, each figure with one standard error beside it
(``npflow.plumbing.error_bars``):

- **the judge**: npflow's digit classifier (``npflow.images.classifier``), trained once from a
  fixed seed and shipped (``npflow.data.judge``), the same for every run and every ``--seed``;
  its version and its accuracy on the test split (± about sqrt(p (1 - p) / 359)); for a conditional
  run, the share of the samples asked for class k that it reads as k (guided with w), ±
  about sqrt(p (1 - p) / n) (``share_stderr``);
- **Frechet distance** in the judge's hidden features (as FID in Inception's) of the samples
  against the test split, ± the bootstrap over the samples (the test split is the fixed
  yardstick); beside its floor, the train split against the test split, ± the bootstrap over
  both splits;
- **bits per dimension** of the test split (``npflow.images.pixels.bits_per_dim``: the discrete pixels,
  dequantized by one draw of u each), by the reverse ODE with Hutchinson's divergence, beside
  the two Gaussians fit to the train split (as ``npflow.images.image_metrics.gaussian_baselines``);
  each a mean over the 359 test images, ± sd / sqrt(359); for a conditional run, of its
  unconditional field;
- **memorization ratio**: the median sample's distance to its nearest training image over the
  median test image's, ± the bootstrap over the samples; near 1 for a model that draws new
  digits, near 0 for one that copies.
"""
import numpy as np

from ..core.sampling import generate
from ..data.digits import load_digits
from ..data.judge import load_judge
from ..guidance.labels import equal_shares
from ..images.classifier import features, predict
from ..images.image_metrics import frechet_distance, gaussian_log_density, nearest_distances
from ..images.pixels import DIM, bits_per_dim, to_model, to_pixels
from .chunks import log_likelihood_in_chunks, sample_in_chunks, source_draws
from .progress import ChunkProgress
from .error_bars import RESAMPLES, bootstrap_stderr, error_note, mean_stderr, pm, share_stderr
from .memory import chunk_rows

__all__ = ["evaluate_images", "sample_quality", "format_images"]


def _samples(run, n, rng, classes, guidance, solver, dtype, options):
    """n samples in pixels 0..16, flowed in ``dtype``, and the class each was asked for (None for an unconditional
    run)."""
    config, rows = run.config, chunk_rows(run.config.layer_sizes)
    run, x_0 = source_draws(run, n, rng, dtype)
    if not config.num_classes:
        return to_pixels(sample_in_chunks(lambda x, chunk: run.sample(x, solver, **options), x_0, rows)[0]), None
    y = equal_shares(classes, n)  # (n,)
    flow = sample_in_chunks(lambda x, chunk: generate(run.guided_velocity(y[chunk], guidance), x, solver or "rk4",
                                                      **options), x_0, rows)[0]
    return to_pixels(flow), y


def evaluate_images(run, n=2000, rng=None, classes=None, guidance=0.0, solver=None, dtype=None, stream=None, **options):
    """Measure a digits run against the test split (the module docstring says what and how).

    Parameters
    ----------
    run : Run
        A run of ``dataset="digits"``.
    n : int
        Samples to draw (at least 2).
    rng : numpy.random.Generator
        Draws the samples, the dequantization, the probes and then the bootstrap's resamples;
        ``default_rng(0)`` if None. The judge does not depend on it.
    classes : ndarray of int, optional
        For a conditional run, the classes asked for, in equal shares; every class if None.
    guidance : float
        w, for a conditional run's samples.
    solver, options
        As for ``Run.sample`` (``steps``, ``rtol``, ``atol``); the likelihood uses the same.
    dtype : str, optional
        The arithmetic of the samples (None: the run's own); the likelihood takes the run's weights as
        saved, in float64.
    stream : file-like or None
        Where the likelihood's progress goes, when it takes long (``npflow.plumbing.progress``).

    Returns
    -------
    dict
        ``judge_version``, ``classifier_test_accuracy``, ``frechet_distance``, ``frechet_floor``,
        ``bits_per_dim``, ``baselines`` (bits/dim of each Gaussian), ``memorization_ratio``, each
        figure with its ``<figure>_stderr``; ``n`` and ``resamples``; for a conditional run
        ``class_accuracy`` (and its stderr), ``classes`` and ``guidance``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    train, test, judge = load_digits("train"), load_digits("test"), load_judge()
    conditional = bool(run.config.num_classes)
    classes = np.arange(run.config.num_classes) if conditional and classes is None else classes
    pixels, y = _samples(run, n, rng, classes, guidance, solver, dtype, options)
    x_train, x_test = to_model(train.pixels, rng), to_model(test.pixels, rng)
    progress = ChunkProgress("evaluate: test log p", len(x_test), stream)
    log_p = log_likelihood_in_chunks(run.velocity, x_test, chunk_rows(run.config.layer_sizes), progress,
                                     method="hutchinson", rng=rng, solver=solver or "rk4",
                                     log_p_0=run.config.source_distribution.log_prob, **options)  # (359,)
    report = {"n": n, "resamples": RESAMPLES, "judge_version": judge.version,
              "classifier_test_accuracy": judge.test_accuracy,
              "classifier_test_accuracy_stderr": share_stderr(judge.test_accuracy, len(test.labels))}
    if conditional:
        accuracy = float(np.mean(predict(judge.params, pixels) == y))
        report.update(class_accuracy=accuracy, class_accuracy_stderr=share_stderr(accuracy, n),
                      classes=[int(k) for k in classes], guidance=float(guidance))
    report["bits_per_dim"], report["bits_per_dim_stderr"] = mean_stderr(bits_per_dim(log_p, DIM))
    baselines = {name: mean_stderr(bits_per_dim(gaussian_log_density(x_train, x_test, full), DIM))
                 for name, full in (("independent pixels", False), ("full covariance", True))}
    report.update(baselines={name: bits for name, (bits, _) in baselines.items()},
                  baselines_stderr={name: stderr for name, (_, stderr) in baselines.items()})
    return {**report, **_frechet(judge.params, pixels, train.pixels, test.pixels, rng),
            **_memorization(pixels, train.pixels, test.pixels, rng)}


def sample_quality(pixels, rng):
    """The figures of ``evaluate_images`` that need the samples alone, for digits in pixels 0..16 from any sampler:
    the Frechet distance beside its floor and the memorization ratio, each with its ``_stderr`` (bootstraps from
    ``rng``), and the judge's version."""
    train, test, judge = load_digits("train"), load_digits("test"), load_judge()
    return {"judge_version": judge.version, **_frechet(judge.params, pixels, train.pixels, test.pixels, rng),
            **_memorization(pixels, train.pixels, test.pixels, rng)}


def _frechet(params, pixels, train, test, rng):
    """The Frechet distance of the samples to the test split in the judge's features, ± the bootstrap over the
    samples; and its floor, the train split's, ± the bootstrap over both splits."""
    samples, real, seen = features(params, pixels), features(params, test), features(params, train)  # (n, 128), ...
    return {"frechet_distance": frechet_distance(samples, real),
            "frechet_distance_stderr": bootstrap_stderr(lambda i: frechet_distance(samples[i], real),
                                                        (len(samples),), rng),
            "frechet_floor": frechet_distance(seen, real),
            "frechet_floor_stderr": bootstrap_stderr(lambda i, j: frechet_distance(seen[i], real[j]),
                                                     (len(seen), len(real)), rng)}


def _memorization(pixels, train, test, rng):
    """The median sample's distance to its nearest training image over the median test image's, ± the bootstrap
    over the samples."""
    nearest, scale = nearest_distances(pixels, train), np.median(nearest_distances(test, train))  # (n,), float
    return {"memorization_ratio": float(np.median(nearest) / scale),
            "memorization_ratio_stderr": bootstrap_stderr(lambda i: np.median(nearest[i]) / scale, (len(nearest),),
                                                          rng)}


def format_images(report):
    """The report of ``evaluate_images`` as a small text table, every figure with its error bar."""
    rows = [(f"judge v{report['judge_version']}, its accuracy on the test split",
             pm(report, "classifier_test_accuracy", 3))]
    if "class_accuracy" in report:
        rows.append((f"samples read as the class asked (w = {report['guidance']:g})", pm(report, "class_accuracy", 3)))
    baselines = ", ".join(f"{name} {pm(report, 'baselines', 3, name)}" for name in report["baselines"])
    rows += [("Frechet distance to the test split", pm(report, "frechet_distance", 3)),
             ("its floor, the train split's", pm(report, "frechet_floor", 3)),
             ("test bits/dim (Hutchinson)", pm(report, "bits_per_dim", 3)),
             ("  the Gaussians' bits/dim", baselines),
             ("memorization ratio (1: new digits)", pm(report, "memorization_ratio", 3))]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines + [f"({report['n']} samples against the 359 test images, {error_note(report)}; bits/dim "
                              "of the unconditional field, dequantized by one draw of u per pixel)"])

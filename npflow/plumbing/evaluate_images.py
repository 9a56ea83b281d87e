"""How good is a run of the digits? Measured as image models are, in NumPy (``npflow evaluate`` of a digits run).

``evaluate_images(run, ...)`` reports:

- **classifier accuracy**: npflow's own digit classifier (``npflow.images.classifier``), trained here on
  the train split, and its accuracy on the test split; for a conditional run, the share of the
  samples asked for class k that it reads as k (guided with w);
- **Frechet distance** in the classifier's hidden features (as FID in Inception's) of the
  samples against the test split, beside its floor, the train split against the test split;
- **bits per dimension** of the test split (``npflow.data.digits.bits_per_dim``: the discrete pixels,
  dequantized by one draw of u each), by the reverse ODE with Hutchinson's divergence, beside
  the two Gaussians fit to the train split (``npflow.images.image_metrics.gaussian_baselines``); for a
  conditional run, of its unconditional field;
- **memorization ratio**: the median sample's distance to its nearest training image over the
  median test image's; near 1 for a model that draws new digits, near 0 for one that copies.
"""
import numpy as np

from ..core.sampling import generate
from ..data.digits import load_digits
from ..guidance.labels import equal_shares
from ..images.classifier import features, predict, train_classifier
from ..images.image_metrics import frechet_distance, gaussian_baselines, nearest_distances
from ..images.pixels import DIM, bits_per_dim, to_model, to_pixels
from .chunks import log_likelihood_in_chunks, sample_in_chunks, source_draws
from .memory import chunk_rows

__all__ = ["evaluate_images", "format_images"]


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


def evaluate_images(run, n=2000, rng=None, classes=None, guidance=0.0, solver=None, dtype=None, **options):
    """Measure a digits run against the test split (the module docstring says what and how).

    Parameters
    ----------
    run : Run
        A run of ``dataset="digits"``.
    n : int
        Samples to draw (at least 2).
    rng : numpy.random.Generator
        Draws the classifier, the samples, the dequantization and the probes; ``default_rng(0)`` if None.
    classes : ndarray of int, optional
        For a conditional run, the classes asked for, in equal shares; every class if None.
    guidance : float
        w, for a conditional run's samples.
    solver, options
        As for ``Run.sample`` (``steps``, ``rtol``, ``atol``); the likelihood uses the same.
    dtype : str, optional
        The arithmetic of the samples (None: the run's own); the likelihood takes the run's weights as
        saved, in float64.

    Returns
    -------
    dict
        ``classifier_test_accuracy``, ``frechet_distance``, ``frechet_floor``, ``bits_per_dim``,
        ``baselines`` (bits/dim of each Gaussian), ``memorization_ratio``, ``n``; for a conditional
        run ``class_accuracy``, ``classes`` and ``guidance``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    train, test = load_digits("train"), load_digits("test")
    judge = train_classifier(train.pixels, train.labels, rng)
    conditional = bool(run.config.num_classes)
    classes = np.arange(run.config.num_classes) if conditional and classes is None else classes
    pixels, y = _samples(run, n, rng, classes, guidance, solver, dtype, options)
    test_features = features(judge, test.pixels)
    x_train, x_test = to_model(train.pixels, rng), to_model(test.pixels, rng)
    log_p = log_likelihood_in_chunks(run.velocity, x_test, chunk_rows(run.config.layer_sizes), method="hutchinson",
                                     rng=rng, solver=solver or "rk4", log_p_0=run.config.source_distribution.log_prob,
                                     **options)  # (359,)
    report = {"n": n, "classifier_test_accuracy": float(np.mean(predict(judge, test.pixels) == test.labels)),
              "frechet_distance": frechet_distance(features(judge, pixels), test_features),
              "frechet_floor": frechet_distance(features(judge, train.pixels), test_features),
              "bits_per_dim": float(np.mean(bits_per_dim(log_p, DIM))),
              "baselines": gaussian_baselines(x_train, x_test),
              "memorization_ratio": float(np.median(nearest_distances(pixels, train.pixels))
                                          / np.median(nearest_distances(test.pixels, train.pixels)))}
    if conditional:
        report.update(class_accuracy=float(np.mean(predict(judge, pixels) == y)), classes=[int(k) for k in classes],
                      guidance=float(guidance))
    return report


def format_images(report):
    """The report of ``evaluate_images`` as a small text table."""
    rows = [("classifier accuracy on the test split", f"{report['classifier_test_accuracy']:.3f}")]
    if "class_accuracy" in report:
        rows.append((f"samples read as the class asked (w = {report['guidance']:g})", f"{report['class_accuracy']:.3f}"))
    fd, floor = report["frechet_distance"], report["frechet_floor"]
    baselines = ", ".join(f"{name} {bits:.3f}" for name, bits in report["baselines"].items())
    rows += [("Frechet distance to the test split", f"{fd:.3f} ({fd / floor:.2f}x the floor, train vs test: "
                                                   f"{floor:.3f})"),
             ("test bits/dim (Hutchinson)", f"{report['bits_per_dim']:.3f} (Gaussians: {baselines})"),
             ("memorization ratio (1: new digits)", f"{report['memorization_ratio']:.3f}")]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines + [f"({report['n']} samples against the 359 test images; bits/dim of the unconditional "
                              "field, dequantized by one draw of u per pixel)"])

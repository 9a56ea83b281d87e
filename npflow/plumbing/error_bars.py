"""Error bars for the figures of ``npflow evaluate``: one standard error each, and the spread over repeated draws.

Every figure ``evaluate`` prints is computed from a finite sample, so another seed gives another
number. Beside each figure goes its standard error, the standard deviation of the figure over
draws of the sample:

- **a mean** of n independent terms a_i has the closed form ``se = sd(a) / sqrt(n)``
  (``mean_stderr``); a share p of n is such a mean, of 0s and 1s (``share_stderr``, which adds
  two of each so that a share of 0 or 1 keeps an error bar);
- **any other figure** (a distance between two samples, a median, a ratio) has none, and gets
  the **bootstrap** (Efron, 1979; ``bootstrap_stderr``): draw each sample again, n points from
  its own n with replacement, compute the figure on the draw, and take the standard deviation
  over ``RESAMPLES`` such draws. 50 resamples estimate a standard error to about 10 %
  (its relative error is about 1 / sqrt(2 B)).
- **W2**, an optimal-transport cost, is a figure for which that bootstrap fails (Sommerfeld and
  Munk, 2018): the n-out-of-n draws repeat points, and a repeated point is cheap to match, so the
  bootstraps' spread came out 1.6 times the spread over fresh samples (two 2-D mixtures, 1,000
  points, 20 fresh draws). The m-out-of-n bootstrap (Bickel, Goetze and van Zwet, 1997) draws
  m = n / 4 points instead and scales the spread by sqrt(m / n); there it came within 5 % of
  the spread over fresh samples, and it is 64 times cheaper per draw than n-out-of-n, which
  matters for an O(n^3) assignment.

The resamples come from the command's own generator, after its other draws, so the same
``--seed`` gives the same error bars.

``--repeats K`` measures K independent draws and reports each figure's mean over them with its
``spread``, the standard deviation over the K draws (``over_repeats``), beside the mean of the
K standard errors: the spread is what the standard error predicts, so the two should agree.
"""
import numpy as np

from ..core.metrics import paired_difference

__all__ = ["RESAMPLES", "mean_stderr", "share_stderr", "bootstrap_stderr", "counts", "over_repeats", "pm", "error_note",
           "mean_sd", "verdict"]

#: The bootstrap's resamples for each figure without a closed-form standard error.
RESAMPLES = 50


def mean_stderr(values):
    """The mean of ``values`` (n,) and its standard error, ``sd(a) / sqrt(n)`` with sd of ddof 1, as floats."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def share_stderr(share, n):
    """The standard error of a share p = k / n of n draws, with two successes and two failures added (Agresti and
    Coull, 1998), so that a share of 0 or 1 does not claim an error of 0::

        p~ = (k + 2) / (n + 4),    se = sqrt(p~ (1 - p~) / (n + 4))

    About sqrt(p (1 - p) / n), the standard error of a mean of 0s and 1s, when k and n - k are large.
    """
    p = (share * n + 2) / (n + 4)
    return float(np.sqrt(p * (1.0 - p) / (n + 4)))


def counts(rows, n):
    """How many times each of n points is drawn in ``rows``: the bootstrap draw as weights, shape (n,)."""
    return np.bincount(rows, minlength=n).astype(float)


def bootstrap_stderr(statistic, sizes, rng, resamples=RESAMPLES, draws=None):
    """The bootstrap standard error of ``statistic`` over samples of the given sizes.

    Each resample draws, for each sample i, ``m_i`` row numbers in 0..n_i - 1 with replacement,
    and computes ``statistic(rows_0, rows_1, ...)``::

        se = sd over the resamples of statistic(rows) * sqrt(m / n)

    with m = n (the ordinary bootstrap) unless ``draws`` is given (the m-out-of-n bootstrap).

    Parameters
    ----------
    statistic : callable
        ``statistic(*rows) -> float`` (or an array of figures, shape (L,)), rows[i] of shape (m_i,), int.
    sizes : sequence of int
        n_i, the size of each sample.
    rng : numpy.random.Generator
    resamples : int
        B, the draws.
    draws : int, optional
        m, the same for every sample, whose sizes must then be equal.

    Returns
    -------
    float, or ndarray of shape (L,)
        The standard deviation (ddof 1) over the B resamples, scaled, of the finite values (a
        resample can leave a figure undefined, as the spread of a class nobody lands in); NaN
        where fewer than two are finite.
    """
    m = list(sizes) if draws is None else [draws] * len(sizes)
    values = np.array([statistic(*(rng.integers(0, n, size) for n, size in zip(sizes, m)))
                       for _ in range(resamples)], dtype=float)  # (B,) or (B, L)
    finite = np.isfinite(values)
    kept = finite.sum(axis=0)  # () or (L,)
    with np.errstate(invalid="ignore", divide="ignore"):  # a figure with fewer than 2 finite values: NaN
        mean = np.where(finite, values, 0.0).sum(axis=0) / kept
        variance = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0) / (kept - 1)
        spread = np.where(kept > 1, np.sqrt(variance), np.nan) * np.sqrt(m[0] / sizes[0])
    return float(spread) if spread.ndim == 0 else spread


def over_repeats(reports):
    """K reports of the same measurement, as one: each figure's mean, ``spread`` (sd over the K) and mean stderr.

    A figure is a key with a ``<key>_stderr`` beside it (a number, a list of numbers, or a dict
    of numbers); a dict without one (the per-label table) is combined the same way; every
    other entry is the first report's, and ``warnings`` are gathered from all of them.

    Parameters
    ----------
    reports : list of dict
        K >= 2 reports.

    Returns
    -------
    dict
        ``<key>``: the mean over the K; ``<key>_spread``: the sd over the K (ddof 1);
        ``<key>_stderr``: the mean of the K standard errors; and ``repeats``: K.
    """
    first, combined = reports[0], dict(reports[0])
    for key, value in first.items():
        if f"{key}_stderr" in first:
            combined[key], combined[f"{key}_spread"], combined[f"{key}_stderr"] = _combine(
                [report[key] for report in reports], [report[f"{key}_stderr"] for report in reports])
        elif isinstance(value, dict) and not key.endswith("_stderr"):
            combined[key] = over_repeats([report[key] for report in reports])
    warnings = [line for report in reports for line in report.get("warnings", [])]
    if warnings:
        combined["warnings"] = list(dict.fromkeys(warnings))  # each once, in order
    return {**combined, "repeats": len(reports)}


def _combine(values, stderrs):
    """Mean, sd (ddof 1) and mean standard error over K draws of one figure: numbers, lists, or dicts of them."""
    if isinstance(values[0], dict):
        parts = {name: _combine([value[name] for value in values], [error[name] for error in stderrs])
                 for name in values[0]}
        return tuple({name: part[i] for name, part in parts.items()} for i in range(3))
    stack, errors = np.asarray(values, dtype=float), np.asarray(stderrs, dtype=float)  # (K,) or (K, labels)
    return tuple(array.tolist() for array in (stack.mean(axis=0), stack.std(axis=0, ddof=1), errors.mean(axis=0)))


def pm(report, key, digits, name=None):
    """``report[key]`` and its error bar as text, ``"0.0123 ± 0.0011"``: the spread over repeats where there is
    one, else the standard error; ``name`` picks an entry of a dict or list figure."""
    value, error = report[key], report.get(f"{key}_spread", report[f"{key}_stderr"])
    if name is not None:
        value, error = value[name], error[name]
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def error_note(report):
    """What the ± of a report's table is, in a few words: the spread over repeats, or one standard error."""
    if "repeats" in report:
        return f"± the sd over {report['repeats']} independent draws"
    return f"± one standard error: sd / sqrt(n) for a mean, else a bootstrap of {report['resamples']} resamples"


def mean_sd(values, digits=3):
    """A figure over seeds as ``'mean ± sd'`` (the sample standard deviation, ddof 1)."""
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def verdict(a, b, lower, higher, digits=3, quick=False):
    """Per-seed figures a against b: the mean difference ± its standard error, and the verdict in words.

    The verdict is ``npflow.core.metrics.paired_difference``'s: ``lower`` (a below b), ``higher``, or no
    difference beyond the noise; ``quick`` (a run too short to judge by) concludes nothing.
    """
    mean, error, sign = paired_difference(a, b)
    words = {-1: lower, 1: higher, 0: "no difference beyond the noise"}
    word = "quick: too small to conclude" if quick else words[sign]
    return f"{mean:+.{digits}f} ± {error:.{digits}f}: {word}"

"""How good is a run of tokens? ``npflow evaluate`` of a discrete run (``npflow.models.discrete``).

n sequences are sampled in ``--steps`` steps of the run's jump process, and their histogram is
measured against the data:

- **with a table** (the grids, ``Dataset.table``): the total variation TV and KL(histogram ||
  table), in nats, beside their **floor**, the same figures for n i.i.d. draws of the table
  itself (mean ± sd over ``FLOOR_REPEATS`` draws): a sampler cannot be told from the data
  below it. Then the **exact-posterior sampler** (``npflow.discrete.exact``) at the same
  steps and n, which has no learning error, only the error of its steps; and for D = 2 the
  **exact law** of that sampler's output, carried through its steps with no sampling noise;
- **without one**: the TV of the samples' histogram to that of n draws of the data, beside the
  TV between two such draws; and for the digits the image figures of
  ``npflow.plumbing.evaluate_images.sample_quality`` (the Frechet distance in the fixed judge's
  features beside its floor, the memorization ratio).

KL runs from the samples to the table: it is infinite when a sample lands where the table has no
mass (KL(table || histogram) would be infinite whenever a cell of small mass is missed).
"""
import sys

import numpy as np

from ..discrete.exact import exact_law, exact_sampler, table_support
from ..discrete.metrics import histogram, kl_divergence, sampling_floor, total_variation
from ..discrete.sampling import sample_tokens
from ..discrete.schedulers import scheduler_named
from ..data.datasets import get_dataset
from ..models.discrete import check_no_solver, token_shape
from .chunks import sample_in_chunks, source_draws
from .error_bars import error_note, pm
from .evaluate_images import sample_quality
from .memory import chunk_rows
from .progress import ChunkProgress

__all__ = ["FLOOR_REPEATS", "sample_run_tokens", "evaluate_tokens", "evaluate_display", "format_tokens"]

#: i.i.d. draws of the table behind the floor's mean and sd.
FLOOR_REPEATS = 5


def sample_run_tokens(run, n, steps, rng, dtype=None, stream=None):
    """n sequences of the run's jump process in ``steps`` steps, from its source: (x_0, x_1, Trajectory of the
    last chunk), each (n, D) int64, drawn from ``rng`` (the source, then the jumps)."""
    sampler, x_0 = source_draws(run, n, rng, dtype)
    progress = ChunkProgress("sample", n, stream)
    x_1, trajectory = sample_in_chunks(lambda x, chunk: sampler.sample(x, steps=steps, rng=rng), x_0,
                                       chunk_rows(run.config.layer_sizes), progress)
    return x_0, x_1, trajectory


def _against_table(x, table, V):
    """TV and KL of the histogram of x (n, D) against the table."""
    h = histogram(x, V)
    return total_variation(h, table), kl_divergence(h, table)


def _floor(table, n, rng):
    """TV and KL of n i.i.d. draws of the table: {"floor_tv", "floor_tv_sd", "floor_kl", "floor_kl_sd"}."""
    tv, tv_sd = sampling_floor(table, n, rng, FLOOR_REPEATS)
    kl, kl_sd = sampling_floor(table, n, rng, FLOOR_REPEATS, kl_divergence)
    return {"floor_tv": tv, "floor_tv_sd": tv_sd, "floor_kl": kl, "floor_kl_sd": kl_sd}


def _table_figures(run, x_0, x_1, steps, table, rng):
    """The figures against a table: the run's, the floor's, the exact-posterior sampler's, and (D = 2) its law's."""
    config = run.config
    D, V, S = token_shape(config)
    scheduler, transition = scheduler_named(config.options.scheduler), config.options.transition
    tv, kl = _against_table(x_1, table, V)
    report = {"tv": tv, "kl": kl, **_floor(table, len(x_1), rng)}
    report["tv_stderr"] = report["floor_tv_sd"]  # the TV's sampling noise at this n: the floor's spread
    posterior = exact_sampler(*table_support(table), scheduler, config.source, V)
    exact = sample_tokens(posterior, x_0, steps, scheduler, rng, S, transition).x
    report["exact_tv"], report["exact_kl"] = _against_table(exact, table, V)
    if D == 2:
        report["exact_law_tv"] = total_variation(exact_law(table, steps, scheduler, config.source, transition), table)
    return report


def _data_figures(run, x_1, rng):
    """The figures without a table: the TV to n draws of the data beside two draws', and the digits' image figures."""
    dataset = get_dataset(run.config.dataset)
    V, n = dataset.vocabulary, len(x_1)
    first, second = histogram(dataset.tokens(n, rng), V), histogram(dataset.tokens(n, rng), V)
    report = {"data_tv": total_variation(histogram(x_1, V), first), "data_floor_tv": total_variation(first, second)}
    if dataset.to_pixels is not None:
        report["images"] = sample_quality(x_1.astype(float), rng)
    return report


def evaluate_tokens(run, n, steps, rng, dtype=None, stream=None):
    """Measure a discrete run (the module docstring says what and how).

    Parameters
    ----------
    run : Run
        A run of objective ``discrete``.
    n : int
        Sequences to sample.
    steps : int
        Steps of the jump process (its NFE).
    rng : numpy.random.Generator
        Draws the samples, then the floor's draws, then the exact-posterior sampler's.
    dtype : str, optional
        The run's weights' arithmetic (None: as saved).
    stream : file-like or None
        Where the sampling's progress goes, when it takes long.

    Returns
    -------
    dict
        ``n``, ``steps``, ``method``, ``nfe``, ``distinct`` (distinct sequences sampled), and the figures.
    """
    x_0, x_1, trajectory = sample_run_tokens(run, n, steps, rng, dtype, stream)
    report = {"n": n, "steps": steps, "method": trajectory.method, "nfe": trajectory.nfe,
              "distinct": int(len(np.unique(x_1, axis=0)))}
    table = get_dataset(run.config.dataset).table
    figures = _table_figures(run, x_0, x_1, steps, table, rng) if table is not None else _data_figures(run, x_1, rng)
    return {**report, **figures}


def evaluate_display(run, args, rng):
    """``evaluate_tokens`` for ``npflow evaluate``'s options (``npflow.plumbing.displays.Display.evaluate``)."""
    check_no_solver(args.solver)
    return evaluate_tokens(run, args.n, args.solver_steps, rng, args.dtype, None if args.quiet else sys.stderr)


def format_tokens(report):
    """The report of ``evaluate_tokens`` as a small text table."""
    lines = [f"{report['n']} sequences by {report['method']} (NFE {report['nfe']}), {report['distinct']} distinct"]
    if "tv" in report:
        lines += [f"{'':<40}  {'TV':<16}  KL (nats)",
                  f"{'the run':<40}  {pm(report, 'tv', 4):<16}  {report['kl']:.4f}",
                  f"{'its floor: i.i.d. draws of the table':<40}  "
                  f"{report['floor_tv']:.4f} ± {report['floor_tv_sd']:.4f}   "
                  f"{report['floor_kl']:.4f} ± {report['floor_kl_sd']:.4f}",
                  f"{'the exact posterior, same steps and n':<40}  {report['exact_tv']:<16.4f}  {report['exact_kl']:.4f}"]
        if "exact_law_tv" in report:
            lines.append(f"{'its exact law (no sampling noise)':<40}  {report['exact_law_tv']:.4f}")
        note = f"TV ± the floor's sd, the noise of a TV of n draws; {error_note(report)}" if "repeats" in report \
            else "TV ± the floor's sd, the noise of a TV of n draws"
        return "\n".join(lines + [f"({note}; KL from the samples' histogram to the table)"])
    lines.append(f"TV to {report['n']} draws of the data  {report['data_tv']:.4f}  (two draws of the data: "
                 f"{report['data_floor_tv']:.4f})")
    if "images" in report:
        images = report["images"]
        lines += [f"Frechet distance to the test split  {pm(images, 'frechet_distance', 3)}",
                  f"its floor, the train split's        {pm(images, 'frechet_floor', 3)}",
                  f"memorization ratio (1: new digits)  {pm(images, 'memorization_ratio', 3)}",
                  f"(judge v{images['judge_version']}; ± one standard error, a bootstrap over the samples)"]
    return "\n".join(lines)

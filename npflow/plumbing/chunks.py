"""Sampling and likelihood of many points, a bounded chunk of points at a time.

Each point's ODE is its own: the field acts on every row of a batch separately. So flowing
a batch in chunks of ``rows`` points and stacking the ends gives the ends of one big batch,
while the network's intermediates never take more than one chunk's worth of memory (see
``npflow.plumbing.memory.chunk_rows``).

With a fixed-step solver the chunked samples are the same, bit for bit, as one batch's (a
test checks it), provided the matrix products round each row the same way in a chunk as in the
whole batch. OpenBLAS computes a product in tiles of a few rows, and the rows of an incomplete
last tile by another kernel; so chunks start at multiples of 64 rows (``chunk_rows`` gives a
multiple of 64), which puts every row at the same place in its tile as in the whole batch. A
product of one row is computed by yet another routine (a matrix-vector product), so a single
row left over at the end joins the chunk before it. The likelihood's backward passes agree
to rounding but not always to the bit (for 1,000 points, some rows differed by 2e-15 nats from
one batch's; up to 256 points they were equal). An adaptive solver chooses its steps by
the error of the whole batch it is given, so each chunk gets its own steps: each chunk still
meets the tolerances, but the bits differ from one batch's.
"""
import numpy as np

from ..core.likelihood import log_likelihood

__all__ = ["FIRST", "sample_in_chunks", "log_likelihood_in_chunks", "source_draws"]

#: Points in the first chunk, whose time estimates the whole work's.
FIRST = 64


def _chunks(n, rows):
    """Slices that cover range(n): ``FIRST`` points, then ``rows`` at a time; a single leftover row joins the last
    chunk (see above)."""
    starts = [0, *range(min(FIRST, rows), n, rows)]
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(start, end) for start, end in zip(starts, starts[1:] + [n])]


def sample_in_chunks(sample, x_0, rows, progress=None):
    """The ends x(1) of the flow from x(0) = x_0, ``rows`` points at a time.

    Parameters
    ----------
    sample : callable
        ``sample(x_0_chunk, chunk) -> Trajectory``: how the points ``x_0[chunk]`` are carried
        from t = 0 to 1 (``Run.sample``, or a guided field's ODE for the labels of ``chunk``).
    x_0 : ndarray, shape (n, d)
    rows : int
        Points per chunk, a multiple of 64 for the same bits as one batch (see above).
    progress : callable, optional
        ``progress(done)``, told the number of points done after each chunk.

    Returns
    -------
    x_1 : ndarray, shape (n, d)
        Of x_0's dtype.
    trajectory : Trajectory
        The last chunk's, for its method and its evaluations (``nfe``: the same for every
        chunk with a fixed-step solver).
    """
    x_1 = np.empty_like(x_0)
    for chunk in _chunks(len(x_0), rows):
        trajectory = sample(x_0[chunk], chunk)
        x_1[chunk] = trajectory.x[-1]
        if progress is not None:
            progress(chunk.stop)
    return x_1, trajectory


def log_likelihood_in_chunks(f, x, rows, progress=None, **options):
    """``npflow.log_likelihood(f, x, **options)``, ``rows`` points at a time (after the first ``FIRST``); shape (n,).

    With ``method="hutchinson"`` each chunk draws its own probes from ``options["rng"]``, so the
    estimate differs from one batch's (its distribution is the same). ``progress(done)``, if
    given, is told the number of points done after each chunk.
    """
    log_p = np.empty(len(x))
    for chunk in _chunks(len(x), rows):
        log_p[chunk] = log_likelihood(f, x[chunk], **options)
        if progress is not None:
            progress(chunk.stop)
    return log_p


def source_draws(run, n, rng, dtype=None):
    """n points x_0 from the run's source, and the run to flow them, both in ``dtype`` (None: as the run is saved).

    Draws of integer tokens (an objective's own source, ``npflow.models.Objective.draw_source``)
    stay integers: ``dtype`` is the arithmetic of the run's weights, and a token is no number.

    Returns
    -------
    run : Run
        ``run.astype(dtype)``, or ``run`` itself for ``dtype`` None.
    x_0 : ndarray, shape (n, d)
    """
    source = run.config.source_distribution
    x_0 = source.sample(n, rng)
    if dtype is None:
        return run, x_0
    return run.astype(dtype), x_0 if x_0.dtype.kind in "iu" else x_0.astype(dtype)

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

from ..likelihood import log_likelihood
from ..solvers import iterate

__all__ = ["sample_in_chunks", "log_likelihood_in_chunks"]


def _chunks(n, rows):
    """Slices of ``rows`` points that cover range(n); a single leftover row joins the last chunk (see above)."""
    starts = list(range(0, n, rows))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(start, end) for start, end in zip(starts, starts[1:] + [n])]


def sample_in_chunks(field_for, x_0, rows, method="rk4", steps=100, rtol=1e-5, atol=1e-5):
    """The ends x(1) of dx/dt = f(t, x) from x(0) = x_0, ``rows`` points at a time.

    Only the last point of each solve is kept (``npflow.iterate``), never the whole path.

    Parameters
    ----------
    field_for : callable
        ``field_for(chunk) -> f``: the field that flows the points ``x_0[chunk]`` (one field for
        all of them, or one guided towards each chunk's own labels).
    x_0 : ndarray, shape (n, d)
    rows : int
        Points per chunk, a multiple of 64 for the same bits as one batch (see above).
    method, steps, rtol, atol
        As for ``npflow.integrate``.

    Returns
    -------
    x_1 : ndarray, shape (n, d)
        Of x_0's dtype.
    nfe : int
        Evaluations of f per chunk: the same for every chunk with a fixed-step solver, the
        most any chunk took with an adaptive one.
    """
    x_1, nfe = np.empty_like(x_0), 0
    for chunk in _chunks(len(x_0), rows):
        for step in iterate(field_for(chunk), x_0[chunk], 0.0, 1.0, method, steps, rtol, atol):
            pass  # to the last step
        x_1[chunk] = step.x
        nfe = max(nfe, step.nfe)
    return x_1, nfe


def log_likelihood_in_chunks(f, x, rows, **options):
    """``npflow.log_likelihood(f, x, **options)``, ``rows`` points at a time; shape (n,).

    With ``method="hutchinson"`` each chunk draws its own probes from ``options["rng"]``, so the
    estimate differs from one batch's (its distribution is the same).
    """
    return np.concatenate([log_likelihood(f, x[chunk], **options) for chunk in _chunks(len(x), rows)])

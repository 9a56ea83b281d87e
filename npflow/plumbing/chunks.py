"""Sampling and likelihood of many points, a bounded chunk of points at a time.

Each point's ODE is its own: the field acts on every row of a batch separately. So flowing
a batch in chunks of ``rows`` points and stacking the ends gives the ends of one big batch,
while the network's intermediates never take more than one chunk's worth of memory (see
``npflow.plumbing.memory.chunk_rows``). With a fixed-step solver the chunked result is the
same, bit for bit, as one batch (a test checks it). An adaptive solver chooses its steps by
the error of the whole batch it is given, so each chunk gets its own steps: each still meets
the tolerances.
"""
import numpy as np

from ..likelihood import log_likelihood
from ..solvers import iterate

__all__ = ["sample_in_chunks", "log_likelihood_in_chunks"]


def _starts(n, rows):
    return range(0, n, rows)


def sample_in_chunks(f, x_0, rows, method="rk4", steps=100, rtol=1e-5, atol=1e-5):
    """The ends x(1) of dx/dt = f(t, x) from x(0) = x_0, ``rows`` points at a time.

    Only the last point of each solve is kept (``npflow.iterate``), never the whole path.

    Parameters
    ----------
    f : callable
    x_0 : ndarray, shape (n, d)
    rows : int
        Points per chunk.
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
    for start in _starts(len(x_0), rows):
        for step in iterate(f, x_0[start:start + rows], 0.0, 1.0, method, steps, rtol, atol):
            pass  # to the last step
        x_1[start:start + rows] = step.x
        nfe = max(nfe, step.nfe)
    return x_1, nfe


def log_likelihood_in_chunks(f, x, rows, **options):
    """``npflow.log_likelihood(f, x, **options)``, ``rows`` points at a time; shape (n,).

    With ``method="hutchinson"`` each chunk draws its own probes from ``options["rng"]``, so the
    estimate differs from one batch's (its distribution is the same).
    """
    return np.concatenate([log_likelihood(f, x[start:start + rows], **options) for start in _starts(len(x), rows)])

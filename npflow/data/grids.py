"""Two distributions on a 32 x 32 grid of cells: pairs of tokens (D = 2, V = 32) with an exact table.

A cell (i, j), i and j in 0 .. 31, is a sequence of two tokens, x = (i, j). Each dataset knows
the probability of every cell (``Dataset.table``, shape (32, 32), summing to 1), which is the
oracle a discrete model is measured against; its ``tokens`` draw cells from the table, and its
``sample`` gives the same cells as 2-D points (i, j), so that it is also a dataset of points.

- ``grid_eight_gaussians``: eight bumps on a circle, the cell (i, j) of mass
  ``sum_k exp(-((i - c_k)^2 + (j - d_k)^2) / (2 * 1.5^2))``, normalised, with
  ``(c_k, d_k) = 15.5 + 11 (cos, sin)(2 pi k / 8)``, k = 0 .. 7;
- ``grid_checkerboard``: the grid cut into 4 x 4 blocks of 8 x 8 cells, uniform over the cells of
  the even blocks, those (bi, bj) = (i // 8, j // 8) with bi + bj even.
"""
import numpy as np

from .datasets import Dataset, register_dataset

__all__ = ["SIDE", "eight_gaussians_table", "checkerboard_table", "table_tokens", "grid_dataset"]

#: Cells per side of the grid: the vocabulary V of each token.
SIDE = 32


def eight_gaussians_table(side=SIDE, radius=11.0, width=1.5):
    """p(i, j) proportional to sum_k exp(-((i - c_k)^2 + (j - d_k)^2) / (2 width^2)), shape (side, side), sums to 1.

    The centres are (c_k, d_k) = (side - 1) / 2 + radius (cos, sin)(2 pi k / 8), k = 0 .. 7.
    """
    angle = 2 * np.pi * np.arange(8) / 8  # (8,)
    c, d = (side - 1) / 2 + radius * np.cos(angle), (side - 1) / 2 + radius * np.sin(angle)  # (8,) each
    i, j = np.arange(side)[:, None, None], np.arange(side)[None, :, None]  # (side, 1, 1), (1, side, 1)
    mass = np.exp(-((i - c) ** 2 + (j - d) ** 2) / (2 * width**2)).sum(axis=2)  # (side, side)
    return mass / mass.sum()


def checkerboard_table(side=SIDE, blocks=4):
    """Uniform over the cells of the even blocks of a ``blocks`` x ``blocks`` board: shape (side, side), sums to 1.

    A cell (i, j) lies in block (bi, bj) = (i // b, j // b) with b = side / blocks; the block is even when
    bi + bj is even.
    """
    block = np.arange(side) // (side // blocks)  # (side,) the block of each row or column
    even = (block[:, None] + block[None, :]) % 2 == 0  # (side, side)
    return even / even.sum()


def table_tokens(table):
    """``tokens(n, rng) -> (n, 2) int64``: cells drawn from a table over the grid, one uniform each from ``rng``.

    The cell is the first whose cumulative probability (in row-major order) exceeds the uniform.
    """
    cumulative = np.cumsum(table.ravel())  # (V^2,)
    side = table.shape[1]

    def tokens(n, rng):
        cell = np.minimum(np.searchsorted(cumulative, rng.random(n), side="right"), table.size - 1)  # (n,)
        return np.stack([cell // side, cell % side], axis=1).astype(np.int64)

    return tokens


def grid_dataset(name, table):
    """A dataset of the grid's cells drawn from ``table``: tokens (i, j) over V = 32, and the same cells as points."""
    tokens = table_tokens(table)
    return Dataset(name, lambda n, rng: tokens(n, rng).astype(float), dim=2, vocabulary=table.shape[0], tokens=tokens,
                   table=table)


register_dataset(grid_dataset("grid_eight_gaussians", eight_gaussians_table()))
register_dataset(grid_dataset("grid_checkerboard", checkerboard_table()))

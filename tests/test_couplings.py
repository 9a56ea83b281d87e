import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from npflow.core.couplings import (coupling_for, independent, ot, pairing_cost, sinkhorn, sinkhorn_potentials,
                                   squared_distances)
from npflow.core.metrics import straightness
from npflow.core.sampling import generate, noise
from npflow.data.datasets import get_dataset
from npflow.runs.config import TrainConfig
from npflow.runs.loop import train


def test_independent_keeps_the_pairs(rng):
    x_0, x_1 = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    a, b = independent(x_0, x_1)
    assert a is x_0 and b is x_1


def test_ot_is_a_permutation_no_worse_than_any_random_one(rng):
    x_0, x_1 = rng.standard_normal((64, 2)), rng.standard_normal((64, 2)) * 3 + 1
    paired_0, paired_1 = ot(x_0, x_1)
    np.testing.assert_array_equal(paired_0, x_0)
    assert sorted(map(tuple, paired_1)) == sorted(map(tuple, x_1))  # the same points, re-paired
    best = pairing_cost(paired_0, paired_1)
    assert all(best <= pairing_cost(x_0, x_1[rng.permutation(64)]) for _ in range(200))


def test_ot_equals_brute_force_on_tiny_batches(rng):
    for _ in range(5):
        x_0, x_1 = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
        brute = min(pairing_cost(x_0, x_1[list(p)]) for p in itertools.permutations(range(6)))
        assert pairing_cost(*ot(x_0, x_1)) == pytest.approx(brute)


def test_squared_distances_are_scipys(rng):
    x_0, x_1 = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) * 4 + 2
    np.testing.assert_allclose(squared_distances(x_0, x_1), cdist(x_0, x_1, "sqeuclidean"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dataset", ["eight_gaussians", "moons", "two_gaussians"])
def test_ot_speed_ups_change_no_choice(dataset, rng):
    """At batch 256 ot's pairing costs what scipy's assignment on the plain squared distances costs."""
    for _ in range(3):
        x_0, x_1 = rng.standard_normal((256, 2)), get_dataset(dataset).sample(256, rng)
        cost = cdist(x_0, x_1, "sqeuclidean")
        rows, cols = linear_sum_assignment(cost)
        assert pairing_cost(*ot(x_0, x_1)) == pytest.approx(cost[rows, cols].mean(), rel=1e-12)


def entropic_plan(cost, epsilon, **options):
    f, g = sinkhorn_potentials(cost, epsilon, **options)
    return np.exp((f[:, None] + g[None, :] - cost) / epsilon)


@pytest.mark.parametrize("epsilon", [0.3, 1.0, 3.0])
def test_sinkhorn_solves_the_two_by_two_case_by_hand(epsilon):
    """With rows and columns summing to 1/2, P = [[p, 1/2 - p], [1/2 - p, p]], and P_ij = exp((f_i + g_j - C_ij) / eps)
    gives p^2 / (1/2 - p)^2 = exp(D / eps) with D = C_12 + C_21 - C_11 - C_22: p = 1 / (2 (1 + exp(-D / (2 eps))))."""
    cost = np.array([[0.3, 1.5], [2.0, 0.1]])
    p = 1 / (2 * (1 + np.exp(-(1.5 + 2.0 - 0.3 - 0.1) / (2 * epsilon))))
    plan = entropic_plan(cost, epsilon, tol=1e-13, max_iterations=10_000)
    np.testing.assert_allclose(plan, [[p, 0.5 - p], [0.5 - p, p]], rtol=1e-10)


def test_sinkhorn_plan_has_uniform_marginals(rng):
    cost = squared_distances(rng.standard_normal((30, 2)), rng.standard_normal((50, 2)) * 3)
    for tol in (1e-2, 1e-6):
        plan = entropic_plan(cost, 0.05 * cost.mean(), tol=tol)  # (30, 50)
        assert np.max(np.abs(plan.sum(axis=1) * 30 - 1)) <= tol
        np.testing.assert_allclose(plan.sum(axis=0), 1 / 50, rtol=1e-12)  # the last update fits the columns


def test_sinkhorn_plan_minimises_the_entropic_objective(rng):
    """Moving mass delta around any 2 x 2 cycle keeps the marginals and must not lower <P, C> + eps sum P log P."""
    cost = squared_distances(rng.standard_normal((8, 2)), rng.standard_normal((8, 2)) + 1)
    epsilon = 0.2 * cost.mean()
    plan = entropic_plan(cost, epsilon, tol=1e-13)

    def objective(p):
        return np.sum(p * cost) + epsilon * np.sum(p * np.log(p))

    for _ in range(200):
        (i, k), (j, l) = rng.choice(8, 2, replace=False), rng.choice(8, 2, replace=False)
        delta = 1e-3 * min(plan[i, j], plan[k, l], plan[i, l], plan[k, j]) * rng.choice([-1, 1])
        moved = plan.copy()
        moved[i, j] += delta
        moved[k, l] += delta
        moved[i, l] -= delta
        moved[k, j] -= delta
        assert objective(moved) >= objective(plan) - 1e-15


def test_sinkhorn_plan_tends_to_the_exact_ot_permutation(rng):
    """As eps -> 0 the entropic plan concentrates on scipy's optimal assignment (1/n on each of its pairs), and its
    cost is pinned between the optimal one and that plus eps log n (the entropy term is at most eps (log n^2 - log n)
    better than the permutation's)."""
    n = 12
    x_0, x_1 = rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) * 2 + 1
    cost = squared_distances(x_0, x_1)
    rows, cols = linear_sum_assignment(cost)
    permutation = np.zeros((n, n))
    permutation[rows, cols] = 1 / n
    optimal, gaps = np.sum(permutation * cost), []
    for reg in (0.3, 0.1, 0.03, 0.01):
        epsilon = reg * cost.mean()
        plan = entropic_plan(cost, epsilon, tol=1e-9, max_iterations=20_000)
        gaps.append(np.abs(plan - permutation).sum())
        assert optimal - 1e-9 <= np.sum(plan * cost) <= optimal + epsilon * np.log(n)
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:])), gaps


def test_sinkhorn_with_small_reg_draws_ots_pairs_and_with_large_reg_an_independent_plan(rng):
    grid = np.stack(np.meshgrid(np.arange(8.0), np.arange(5.0)), axis=-1).reshape(40, 2)  # points 1 apart
    x_0 = grid + 0.1 * rng.standard_normal((40, 2))
    x_1 = grid[rng.permutation(40)] + 0.1 * rng.standard_normal((40, 2))  # one clear optimal pairing
    for seed in range(3):
        paired_0, paired_1 = sinkhorn(x_0, x_1, np.random.default_rng(seed), reg=1e-3)
        assert paired_0 is x_0
        np.testing.assert_array_equal(paired_1, ot(x_0, x_1)[1])
    cost = squared_distances(x_0, x_1)
    np.testing.assert_allclose(entropic_plan(cost, 1e6 * cost.mean()), 1 / 40 ** 2, rtol=1e-4)  # reg -> infinity


def test_sinkhorn_draws_partners_from_the_plans_rows():
    """Two noise points and two data points, each 100 times in the batch: a partner is in the same group with
    probability 2 p, with p of the two-by-two case by hand (C = [[0, 1], [1, 0]], mean cost 1/2, eps = 1)."""
    x_0 = np.repeat([[0.0], [1.0]], 100, axis=0)
    x_1 = np.repeat([[0.0], [1.0]], 100, axis=0)
    same = [np.mean(sinkhorn(x_0, x_1, np.random.default_rng(seed), reg=2.0)[1] == x_0) for seed in range(20)]
    p = 1 / (2 * (1 + np.exp(-1.0)))
    assert np.mean(same) == pytest.approx(2 * p, abs=0.03)  # 4,000 draws: a standard error of 0.007


def test_sinkhorn_draws_each_partner_from_its_row_of_the_fitted_plan(rng):
    """An uneven batch, whose plan's column scalings are far from 1: row i of the plan is
    exp((g_j - C_ij) / eps) normalised, with g the potentials fitted to the columns."""
    x_0, x_1 = rng.standard_normal((6, 2)), rng.standard_normal((6, 2)) * [3.0, 0.5] + [1.0, 0.0]
    cost = squared_distances(x_0, x_1)
    epsilon = 0.5 * cost.mean()
    _, g = sinkhorn_potentials(cost, epsilon, tol=1e-10)
    rows = np.exp((g[None, :] - cost) / epsilon)
    rows /= rows.sum(axis=1, keepdims=True)
    drawn = np.array([[np.flatnonzero((x_1 == partner).all(axis=1))[0] for partner in
                       sinkhorn(x_0, x_1, np.random.default_rng(seed), reg=0.5)[1]] for seed in range(3000)])
    frequencies = np.array([np.bincount(column, minlength=6) for column in drawn.T]) / len(drawn)  # (6, 6)
    np.testing.assert_allclose(frequencies, rows, atol=0.035)  # 3,000 draws a row: standard errors of at most 0.009


def test_partners_are_drawn_with_their_rows_probabilities():
    from npflow.core.couplings import _draw_from_rows

    plan = np.array([[0.0, 1.0, 3.0, 0.0], [2.0, 0.0, 0.0, 2.0], [1e-9, 0.0, 0.0, 0.0]])  # rows of unequal mass
    draws = np.array([_draw_from_rows(plan, np.random.default_rng(seed)) for seed in range(4000)])  # (4000, 3)
    for row, probabilities in zip(draws.T, plan / plan.sum(axis=1, keepdims=True)):
        frequencies = np.bincount(row, minlength=4) / len(row)
        np.testing.assert_allclose(frequencies, probabilities, atol=0.03)  # a standard error of at most 0.008
        assert np.all(frequencies[probabilities == 0] == 0)  # an entry without mass is never drawn


def test_sinkhorn_is_reproducible_from_the_rng(rng):
    x_0, x_1 = rng.standard_normal((64, 2)), get_dataset("moons").sample(64, rng)
    first, again, other = (sinkhorn(x_0, x_1, np.random.default_rng(seed))[1] for seed in (7, 7, 8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_sinkhorn_starts_safely_beside_a_far_outlier(rng):
    """One data point 1,000 away: at eps = mean(C) / 32 its column of exp(-C / eps) underflows to 0 in every row, so
    the iterations start at eps >= max(C) / 500 and halve from there."""
    x_0, x_1 = rng.standard_normal((64, 2)), rng.standard_normal((64, 2))
    x_1[0] = [1000.0, 0.0]
    cost = squared_distances(x_0, x_1)
    assert np.all(np.exp(-cost[:, 0] / (cost.mean() / 32)) == 0)
    plan = entropic_plan(cost, 0.05 * cost.mean(), tol=1e-6)
    assert np.all(np.isfinite(plan))
    np.testing.assert_allclose(plan.sum(axis=0), 1 / 64, rtol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=1), 1 / 64, rtol=1e-6)


def test_sinkhorn_stays_finite_for_a_tiny_reg(rng):
    x_0, x_1 = rng.standard_normal((50, 2)), get_dataset("eight_gaussians").sample(50, rng)
    cost = squared_distances(x_0, x_1)
    f, g = sinkhorn_potentials(cost, 1e-9 * cost.mean(), max_iterations=50)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(g))
    paired_1 = sinkhorn(x_0, x_1, rng, reg=1e-9)[1]
    assert np.all(np.isin(paired_1, x_1))


def test_coupling_for_names_the_functions(rng):
    x_0, x_1 = rng.standard_normal((16, 2)), rng.standard_normal((16, 2))
    np.testing.assert_array_equal(coupling_for("sinkhorn", 0.2)(x_0, x_1, np.random.default_rng(1))[1],
                                  sinkhorn(x_0, x_1, np.random.default_rng(1), reg=0.2)[1])
    assert coupling_for("ot") is ot and coupling_for("independent") is independent


@pytest.mark.slow
def test_ot_coupling_trains_straighter_paths():
    """On eight Gaussians, pairing by OT gives a flow whose paths are straighter."""
    paths = {}
    for coupling in ("independent", "ot"):
        run = train(TrainConfig(dataset="eight_gaussians", steps=1500, batch_size=128, coupling=coupling), stream=None)
        paths[coupling] = straightness(generate(run.velocity, noise(500, 2, np.random.default_rng(0)), "rk4", steps=50))
    assert paths["ot"] < paths["independent"] / 2, paths


def test_pairs_are_drawn_whole_from_the_table(tmp_path, rng):
    from npflow.data.pairs import draw_pairs, load_pairs

    x_0, x_1 = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    path = str(tmp_path / "pairs.npz")
    np.savez(path, x_0=x_0, x_1=x_1)
    table = load_pairs(path)
    got_0, got_1 = draw_pairs(*table, 500, np.random.default_rng(0))
    rows = np.array([np.flatnonzero(np.all(x_0 == row, axis=1))[0] for row in got_0])  # which pair each draw is
    np.testing.assert_array_equal(got_1, x_1[rows])  # x_1 comes with its own x_0
    assert len(set(rows)) == 6


@pytest.mark.parametrize("arrays, message", [
    ({"x_0": np.zeros((4, 2))}, "must hold arrays named x_0 and x_1"),
    ({"x_0": np.zeros((4, 2)), "x_1": np.zeros((4, 3))}, "of one shape"),
    ({"x_0": np.zeros((1, 2)), "x_1": np.zeros((1, 2))}, "N >= 2"),
    ({"x_0": np.zeros((3, 2)), "x_1": np.full((3, 2), np.inf)}, "NaN or infinite"),
])
def test_bad_pairs_files_are_refused(tmp_path, arrays, message):
    from npflow.data.pairs import load_pairs

    path = str(tmp_path / "pairs.npz")
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        load_pairs(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_pairs(str(tmp_path / "none.npz"))

import numpy as np
import pytest
import scipy.stats

from npflow.core.metrics import energy_distance, mode_fractions, mode_stds, nearest_mode


def test_energy_distance_is_the_square_of_scipys_in_1d(rng):
    x, y = rng.standard_normal((40, 1)), rng.normal(0.5, 2.0, (70, 1))
    assert energy_distance(x, y) == pytest.approx(scipy.stats.energy_distance(x[:, 0], y[:, 0]) ** 2, rel=1e-12)


def test_energy_distance_by_hand():
    # 2 E|X-Y| - E|X-X'| - E|Y-Y'| with X in {0, 2}, Y = {5}: 2 * 4 - (0 + 2 + 2 + 0) / 4 - 0
    assert energy_distance(np.array([[0.0], [2.0]]), np.array([[5.0]])) == pytest.approx(7.0)


def test_energy_distance_sees_a_shift(rng):
    x = rng.standard_normal((500, 2))
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(x, x + [1.0, 0.0]) > 0.3
    assert energy_distance(x, x + [1.0, 0.0]) == pytest.approx(energy_distance(x + [1.0, 0.0], x))


def test_energy_distance_refuses_mismatched_dimensions():
    with pytest.raises(ValueError, match="shapes"):
        energy_distance(np.zeros((3, 2)), np.zeros((3, 3)))


def test_mode_statistics():
    means = np.array([[-4.0, 0.0], [4.0, 0.0]])
    x = np.array([[-5.0, 1.0], [-3.0, -1.0], [3.0, 0.0], [4.0, 0.0], [5.0, 0.0], [0.1, 0.0]])
    np.testing.assert_array_equal(nearest_mode(x, means), [0, 0, 1, 1, 1, 1])
    np.testing.assert_allclose(mode_fractions(x, means), [2 / 6, 4 / 6])
    stds = mode_stds(x, means)
    np.testing.assert_allclose(stds[0], [np.sqrt(2.0), np.sqrt(2.0)])
    np.testing.assert_allclose(stds[1], np.std(x[2:], axis=0, ddof=1))


def test_a_mode_with_one_point_has_no_std():
    assert np.isnan(mode_stds(np.array([[-4.0, 0.0]]), np.array([[-4.0, 0.0], [4.0, 0.0]]))[1]).all()


def test_w2_by_hand():
    from npflow.core.metrics import wasserstein2

    # The crossing pairing (0-3, 1-1) costs (9 + 0) / 2; the best one (0-1, 1-3) costs (1 + 4) / 2.
    assert wasserstein2(np.array([[0.0], [1.0]]), np.array([[3.0], [1.0]])) == pytest.approx(np.sqrt(2.5))
    x = np.random.default_rng(0).standard_normal((50, 2))
    assert wasserstein2(x, x[::-1]) == pytest.approx(0.0, abs=1e-12)  # a permutation of itself
    assert wasserstein2(x, x + [3.0, 4.0]) == pytest.approx(5.0)  # a shift moves every point by 5


def test_w2_against_brute_force(rng):
    import itertools

    from npflow.core.metrics import wasserstein2

    x, y = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    best = min(np.mean(np.sum((x - y[list(p)]) ** 2, axis=1)) for p in itertools.permutations(range(6)))
    assert wasserstein2(x, y) == pytest.approx(np.sqrt(best))


def test_mmd(rng):
    from npflow.core.metrics import mmd_rbf

    x, y = rng.standard_normal((300, 2)), rng.standard_normal((300, 2))
    assert abs(mmd_rbf(x, y)) < 0.01
    assert mmd_rbf(x, y + 2.0) > 0.2
    # one point each: k(x, x') and k(y, y') have no off-diagonal terms -> 0/0; two points each by hand
    a, b = np.array([[0.0], [1.0]]), np.array([[0.0], [3.0]])
    k = lambda d: np.exp(-d**2 / 2)  # noqa: E731
    expected = k(1) + k(3) - 2 * (k(0) + k(3) + k(1) + k(2)) / 4
    assert mmd_rbf(a, b) == pytest.approx(expected)


def test_mode_coverage():
    from npflow.core.metrics import mode_coverage

    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.repeat(means, [50, 40, 10], axis=0)
    assert mode_coverage(x, means) == (3, pytest.approx(10 / 50))
    assert mode_coverage(x[:90], means) == (2, 0.0)


def test_straightness_and_kinetic_energy():
    from npflow.core.metrics import kinetic_energy, straightness
    from npflow.core.solvers import Trajectory

    t = np.linspace(0, 1, 11)
    line = Trajectory(t=t, x=t[:, None, None] * np.array([[[3.0, 4.0]]]), nfe=0, method="rk4")
    assert straightness(line) == pytest.approx(0.0, abs=1e-20) and kinetic_energy(line) == pytest.approx(12.5)
    bent = Trajectory(t=t, x=np.stack([np.column_stack([t, np.sin(np.pi * t)])], axis=1), nfe=0, method="rk4")
    # velocity (1, pi cos(pi t)) against the chord (1, 0): S ~ mean of pi^2 cos^2 = pi^2 / 2
    assert straightness(bent) == pytest.approx(np.pi**2 / 2, rel=0.05)


def test_kinetic_energy_weighs_each_step_by_the_time_it_covers():
    """x(t) = t^2 a has |dx/dt|^2 / 2 = 2 t^2 |a|^2, whose mean over [0, 1] is 2 |a|^2 / 3.

    On steps crowded near t = 0 (as an adaptive solver may take them), a plain mean over steps
    would give about 0.4 |a|^2; the time-weighted mean must find 2 |a|^2 / 3, as must the
    straightness (the chord is a, so |v - c|^2 = (2t - 1)^2 |a|^2, mean |a|^2 / 3).
    """
    from npflow.core.metrics import kinetic_energy, straightness
    from npflow.core.solvers import Trajectory

    a = np.array([3.0, 4.0])
    t = np.linspace(0.0, 1.0, 401) ** 2
    path = Trajectory(t=t, x=t[:, None, None] ** 2 * a, nfe=0, method="RK45")
    assert kinetic_energy(path) == pytest.approx(2 * 25 / 3, rel=1e-4)
    assert straightness(path) == pytest.approx(25 / 3, rel=1e-4)


def test_kinetic_energy_is_at_least_half_the_squared_w2_of_its_ends(rng):
    """Benamou-Brenier between the recorded samples: equality for straight, constant-speed, optimally paired paths."""
    from npflow.core.metrics import kinetic_energy, wasserstein2
    from npflow.core.solvers import Trajectory

    t = np.sort(np.concatenate([[0.0, 1.0], rng.random(20)]))
    x = np.cumsum(rng.standard_normal((22, 30, 2)), axis=0)  # (k, n, d) random walks
    assert kinetic_energy(Trajectory(t, x, 0, "RK45")) >= wasserstein2(x[0], x[-1]) ** 2 / 2
    x_0 = rng.standard_normal((30, 2))
    straight = x_0 + t[:, None, None] * np.array([1.0, -2.0])  # a shift: the optimal pairing, at constant speed
    assert kinetic_energy(Trajectory(t, straight, 0, "RK45")) == pytest.approx(wasserstein2(x_0, straight[-1]) ** 2 / 2)


def test_paired_difference_states_a_difference_only_beyond_the_noise():
    from npflow.core.metrics import paired_difference

    mean, error, sign = paired_difference([1.0, 1.1, 0.9], [2.0, 2.05, 2.1])
    assert sign == -1 and mean == pytest.approx(-1.05) and error > 0
    assert paired_difference([1.0, 2.0, 3.0], [1.5, 1.5, 1.5])[2] == 0  # the seeds disagree on the sign
    assert paired_difference([1.0, 1.0, 1.9], [0.9, 0.9, 0.0])[2] == 0  # all above, but within twice the error
    assert paired_difference([2.0], [1.0])[2] == 0  # one seed says nothing of the noise

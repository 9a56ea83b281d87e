import numpy as np
import pytest
import scipy.stats

from npflow.metrics import energy_distance, mode_fractions, mode_stds, nearest_mode


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

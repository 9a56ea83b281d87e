import numpy as np
import pytest

from npflow.data import DATASETS, EIGHT_GAUSSIANS, get_dataset


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shape_and_determinism(name):
    dataset = get_dataset(name)
    a = dataset.sample(500, np.random.default_rng(7))
    b = dataset.sample(500, np.random.default_rng(7))
    assert a.shape == (500, dataset.dim) and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dataset.sample(500, np.random.default_rng(8)))


def test_eight_gaussians_radius_and_spread():
    np.testing.assert_allclose(np.linalg.norm(EIGHT_GAUSSIANS.means, axis=1), 4.0)
    x = get_dataset("eight_gaussians").sample(80_000, np.random.default_rng(0))
    k = np.argmin(((x[:, None, :] - EIGHT_GAUSSIANS.means) ** 2).sum(axis=2), axis=1)
    assert np.bincount(k) / len(x) == pytest.approx(np.full(8, 1 / 8), abs=0.01)
    assert (x - EIGHT_GAUSSIANS.means[k]).std() == pytest.approx(0.5, rel=0.03)


def test_circles_radii():
    r = np.linalg.norm(get_dataset("circles").sample(10_000, np.random.default_rng(0)), axis=1)
    inner, outer = r[r < 3], r[r >= 3]
    assert inner.mean() == pytest.approx(2.0, abs=0.02) and outer.mean() == pytest.approx(4.0, abs=0.02)
    assert len(inner) / len(r) == pytest.approx(0.5, abs=0.02)


def test_checkerboard_uses_only_dark_squares():
    x = get_dataset("checkerboard").sample(10_000, np.random.default_rng(0))
    assert np.all(np.abs(x) <= 4)
    square = np.floor((x + 4) / 2).astype(int)  # (i, j) of each point's square
    assert np.all((square.sum(axis=1) % 2) == 0)
    assert len(np.unique(square, axis=0)) == 8


def test_moons_spirals_and_swiss_roll_stay_in_their_documented_boxes():
    rng = np.random.default_rng(0)
    moons = get_dataset("moons").sample(10_000, rng)
    assert np.abs(moons.mean(axis=0)).max() < 0.05 and np.abs(moons[:, 0]).max() < 4.5
    spirals = get_dataset("spirals").sample(10_000, rng)
    assert np.linalg.norm(spirals, axis=1).max() < 0.4 * 3 * np.pi + 0.5
    roll = get_dataset("swiss_roll").sample(10_000, rng)
    radius = np.linalg.norm(roll, axis=1)
    assert radius.min() > 1.5 * np.pi / 2.5 - 0.5 and radius.max() < 4.5 * np.pi / 2.5 + 0.5

import itertools

import numpy as np
import pytest

from npflow.couplings import independent, ot, pairing_cost
from npflow.metrics import straightness
from npflow.run import TrainConfig
from npflow.sampling import generate, noise
from npflow.train import train


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


def test_ot_coupling_trains_straighter_paths():
    """On eight Gaussians, pairing by OT gives a flow whose paths are straighter."""
    paths = {}
    for coupling in ("independent", "ot"):
        run = train(TrainConfig(dataset="eight_gaussians", steps=1500, batch_size=128, coupling=coupling), stream=None)
        paths[coupling] = straightness(generate(run.velocity, noise(500, 2, np.random.default_rng(0)), "rk4", steps=50))
    assert paths["ot"] < paths["independent"] / 2, paths


def test_pairs_are_drawn_whole_from_the_table(tmp_path, rng):
    from npflow.couplings import draw_pairs, load_pairs

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
    from npflow.couplings import load_pairs

    path = str(tmp_path / "pairs.npz")
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=message):
        load_pairs(path)
    with pytest.raises(ValueError, match="does not exist"):
        load_pairs(str(tmp_path / "none.npz"))

"""The in-place MLP of npflow.core.in_place: the numbers of mlp.velocity (bit for bit for silu and tanh, to rounding
for relu, whose bias is carried into the next layer), and autograd's gradients."""
import autograd
import numpy as np
import pytest

from npflow.core.in_place import IN_PLACE, in_place_velocity
from npflow.core.mlp import ACTIVATIONS, init_mlp, layer_sizes, velocity
from npflow.runs.config import TrainConfig
from npflow.runs.run import start_run


def test_every_activation_of_the_mlp_has_an_in_place_one():
    assert set(IN_PLACE) == set(ACTIVATIONS)


def agrees_to_rounding(v, expected):
    """Equal up to the rounding of adding a layer's bias in another order: a few ulps of the largest entry."""
    return np.max(np.abs(v - expected)) <= 16 * np.finfo(v.dtype).eps * np.max(np.abs(expected))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("t", [0.3, "per point"])
@pytest.mark.parametrize("hidden", [[], [16], [16, 16], [16, 8, 16]])
def test_it_gives_velocitys_numbers_and_changes_no_input(activation, dtype, t, hidden):
    rng = np.random.default_rng(0)
    params = [(W.astype(dtype), b.astype(dtype)) for W, b in init_mlp(layer_sizes(2, hidden), rng)]
    x = rng.standard_normal((9, 2)).astype(dtype) * 3
    t = rng.uniform(size=9).astype(dtype) if t == "per point" else t
    kept = [(W.copy(), b.copy()) for W, b in params], x.copy()
    v = in_place_velocity(params, activation)(t, x)
    expected = velocity(params, t, x, activation)
    assert v.dtype == expected.dtype == dtype
    if activation == "relu" and hidden:  # the bias carried into the next layer: the same sums in another order
        assert agrees_to_rounding(v, expected)
    else:  # the same operations in the same order
        assert np.array_equal(v, expected)
    assert np.array_equal(x, kept[1]) and all(np.array_equal(W, W_kept) and np.array_equal(b, b_kept)
                                              for (W, b), (W_kept, b_kept) in zip(params, kept[0]))


def test_traced_points_fall_back_to_velocity_and_get_its_gradient():
    rng = np.random.default_rng(1)
    params = init_mlp(layer_sizes(2, [8]), rng)
    x = rng.standard_normal((4, 2))
    f = in_place_velocity(params, "silu")
    gradient = autograd.grad(lambda y: np.sum(f(0.5, y) ** 2))(x)
    expected = autograd.grad(lambda y: np.sum(velocity(params, 0.5, y, "silu") ** 2))(x)
    np.testing.assert_array_equal(gradient, expected)


def test_a_runs_field_is_the_in_place_one():
    run = start_run(TrainConfig(hidden=(32, 32)))
    x = np.random.default_rng(2).standard_normal((50, 2))
    v = run.velocity(0.7, x)
    assert np.array_equal(v, in_place_velocity(run.params)(0.7, x)) and agrees_to_rounding(v, velocity(run.params, 0.7, x))

import math

import numpy as np
import pytest

from npflow.core.mlp import ACTIVATIONS, init_mlp, layer_sizes, mlp, velocity
from npflow.core.optim import tree_leaves


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden", [(8,), (16, 4, 8)])
def test_velocity_shapes(rng, activation, hidden):
    params = init_mlp(layer_sizes(3, hidden), rng)
    x = rng.standard_normal((5, 3))
    assert velocity(params, 0.3, x, activation).shape == (5, 3)
    assert velocity(params, rng.random(5), x, activation).shape == (5, 3)


def test_parameter_layout(rng):
    params = init_mlp([3, 128, 128, 2], rng)
    assert [(W.shape, b.shape) for W, b in params] == [((3, 128), (128,)), ((128, 128), (128,)), ((128, 2), (2,))]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalar_time_is_the_same_as_a_time_per_point(rng, dtype):
    """A scalar t applies to every point, in x's dtype: the same as a column of that t."""
    params = [(W.astype(dtype), b.astype(dtype)) for W, b in init_mlp(layer_sizes(2, (16, 16)), rng)]
    x = rng.standard_normal((6, 2)).astype(dtype)
    for t in (0.7, np.float64(0.7), np.array(0.7)):  # a NumPy float64 from an ODE solver keeps float32 float32
        v = velocity(params, t, x)
        assert v.dtype == dtype
        np.testing.assert_allclose(v, velocity(params, np.full(6, 0.7), x), rtol=0, atol=50 * np.finfo(dtype).eps)
    assert not np.allclose(velocity(params, 0.1, x), velocity(params, 0.9, x))  # and t does matter


def test_scalar_time_gradients_are_those_of_a_time_per_point(rng):
    import autograd
    import autograd.numpy as anp

    params = init_mlp(layer_sizes(2, (8,)), rng)
    x = rng.standard_normal((5, 2))

    def sum_of_squares(p, y, t):
        return anp.sum(velocity(p, t, y) ** 2)

    times = (0.3, np.full(5, 0.3))
    by_x = [autograd.grad(sum_of_squares, 1)(params, x, t) for t in times]  # as the likelihood differentiates
    np.testing.assert_allclose(*by_x, rtol=1e-12)
    by_params = [tree_leaves(autograd.grad(sum_of_squares, 0)(params, x, t)) for t in times]
    for scalar, per_point in zip(*by_params):
        np.testing.assert_allclose(scalar, per_point, rtol=1e-12, atol=1e-14)


def test_input_is_time_then_position(rng):
    params = init_mlp(layer_sizes(2, (16,)), rng)
    t, x = rng.random(4), rng.standard_normal((4, 2))
    np.testing.assert_array_equal(velocity(params, t, x), mlp(params, np.column_stack([t, x])))
    assert not np.allclose(velocity(params, t, x), mlp(params, np.column_stack([x, t])))


def test_pytorch_default_initialisation(rng):
    params = init_mlp([3, 400, 2], rng)
    for (W, b), fan_in in zip(params, (3, 400)):
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
        # U(-a, a) has std a / sqrt(3)
        assert W.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)


def test_activations():
    """Against values computed once with Python's math module, and other formulas for the same functions."""
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(ACTIVATIONS["relu"](z), [0.0, 0.0, 3.0])
    # silu(z) = z sigmoid(z), with sigmoid(z) = (1 + tanh(z / 2)) / 2
    np.testing.assert_allclose(ACTIVATIONS["silu"](z), [-0.2384058440442351, 0.0, 2.8577223804672998], rtol=1e-15)
    np.testing.assert_allclose(ACTIVATIONS["silu"](z), [v * (1 + math.tanh(v / 2)) / 2 for v in z], rtol=1e-15)
    # tanh(z) = (e^(2z) - 1) / (e^(2z) + 1)
    np.testing.assert_allclose(ACTIVATIONS["tanh"](z), [-0.9640275800758169, 0.0, 0.9950547536867305], rtol=1e-15)
    np.testing.assert_allclose(ACTIVATIONS["tanh"](z), [math.expm1(2 * v) / (math.exp(2 * v) + 1) for v in z],
                               rtol=1e-15)


def test_a_tiny_network_by_hand():
    """1 -> 2 -> 1 with relu, small integers: every number below can be checked on paper.

    x = 2:  z_1 = [2 * 1 + 0, 2 * -1 + 1] = [2, -1],  h_1 = [2, 0],  v = 2 * 2 + 0 * 3 - 1 = 3
    x = -1: z_1 = [-1, 1 + 1] = [-1, 2],              h_1 = [0, 2],  v = 0 * 2 + 2 * 3 - 1 = 5
    """
    params = [(np.array([[1.0, -1.0]]), np.array([0.0, 1.0])), (np.array([[2.0], [3.0]]), np.array([-1.0]))]
    np.testing.assert_array_equal(mlp(params, np.array([[2.0], [-1.0]])), [[3.0], [5.0]])
    # velocity puts t first: v(t, x) = MLP([t, x]), here with W_1 = [[1], [10]] so that t and x differ
    params = [(np.array([[1.0], [10.0]]), np.array([0.0])), (np.array([[1.0, -1.0]]), np.array([0.0, 0.5]))]
    np.testing.assert_array_equal(velocity(params, 0.5, np.array([[0.25]])), [[3.0, -2.5]])  # z = 0.5 + 2.5


def test_last_layer_has_no_activation(rng):
    params = init_mlp([1, 4, 1], rng)
    W, b = params[-1]
    params[-1] = (W, b - 100.0)  # a relu on the output would clip this to 0
    assert np.all(mlp(params, np.zeros((3, 1))) < -50)

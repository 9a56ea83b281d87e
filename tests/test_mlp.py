import numpy as np
import pytest

from npflow.mlp import ACTIVATIONS, init_mlp, layer_sizes, mlp, velocity
from npflow.optim import tree_leaves


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
    """A scalar t runs as part of the first bias; a time per point as an input column."""
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
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(ACTIVATIONS["relu"](z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(ACTIVATIONS["silu"](z), z / (1 + np.exp(-z)))
    np.testing.assert_allclose(ACTIVATIONS["tanh"](z), np.tanh(z))


def test_last_layer_has_no_activation(rng):
    params = init_mlp([1, 4, 1], rng)
    W, b = params[-1]
    params[-1] = (W, b - 100.0)  # a relu on the output would clip this to 0
    assert np.all(mlp(params, np.zeros((3, 1))) < -50)


def plain_mlp(params, inputs, activation):
    """The MLP in plain autograd NumPy, with no hand-written primitive: the reference."""
    import autograd.numpy as anp

    act = {"relu": lambda z: z * (z > 0), "silu": lambda z: z / (1 + anp.exp(-z)), "tanh": anp.tanh}[activation]
    h = inputs
    for W, b in params[:-1]:
        h = act(h @ W + b)
    W, b = params[-1]
    return h @ W + b


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_hand_written_vjps_agree_with_autograd(rng, activation):
    """The primitives affine and relu give the gradients autograd derives from plain NumPy."""
    import autograd
    import autograd.numpy as anp

    params = init_mlp([3, 16, 16, 2], rng)
    inputs, target = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))

    def loss(model):
        return lambda p, x: anp.mean((model(p, x) - target) ** 2)

    for argnum in (0, 1):  # with respect to the parameters, and to the inputs (as the divergence needs)
        ours = autograd.grad(loss(lambda p, x: mlp(p, x, activation)), argnum)(params, inputs)
        reference = autograd.grad(loss(lambda p, x: plain_mlp(p, x, activation)), argnum)(params, inputs)
        for a, b in zip(tree_leaves(ours), tree_leaves(reference)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_primitives_against_finite_differences(rng):
    from autograd.test_util import check_grads

    from npflow.mlp import affine, relu

    h, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    check_grads(affine, modes=["rev"], order=2)(h, (W, b))
    check_grads(relu, modes=["rev"], order=1)(rng.standard_normal((5, 4)) + 0.1)


def test_second_derivatives_through_a_layer_pair(rng):
    """The VJP of affine with respect to (W, b) is itself differentiable (check_grads of order 2)."""
    import autograd.numpy as anp
    from autograd.test_util import check_grads

    from npflow.mlp import affine

    h = rng.standard_normal((5, 3))
    check_grads(lambda layer: anp.sum(anp.sin(affine(h, layer))), modes=["rev"], order=2)(
        (rng.standard_normal((3, 4)), rng.standard_normal(4)))


def test_every_layer_of_a_hand_built_list_carries_its_gradient(rng):
    """Pairs built inside the differentiated function, after traced layers, give the plain gradient."""
    import autograd

    from npflow.train import cfm_loss, loss_and_grad

    params = init_mlp([3, 8, 8, 2], rng)
    t, x_t, u_t = rng.random(5), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    biases = [b for _, b in params]
    by_hand = autograd.grad(lambda Ws: cfm_loss([(W, b) for W, b in zip(Ws, biases)], t, x_t, u_t))(
        [W for W, _ in params])
    reference = loss_and_grad(params, t, x_t, u_t)[1]
    for got, (W_grad, _) in zip(by_hand, reference):
        assert type(got) is np.ndarray
        np.testing.assert_allclose(got, W_grad, rtol=1e-12, atol=1e-15)

"""The hand-written primitives give autograd's own numbers, and their derivatives, to rounding."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from npflow.core.mlp import ACTIVATIONS, init_mlp, layer_sizes, mlp
from npflow.core.optim import tree_leaves
from npflow.core.primitives import affine, mean_squared_error, relu


def plain_mlp(params, inputs, activation):
    """The MLP in plain autograd NumPy, with no hand-written primitive: the reference."""
    act = {"relu": lambda z: z * (z > 0), "silu": lambda z: z / (1 + anp.exp(-z)), "tanh": anp.tanh}[activation]
    h = inputs
    for W, b in params[:-1]:
        h = act(h @ W + b)
    W, b = params[-1]
    return h @ W + b


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_hand_written_vjps_agree_with_autograd(rng, activation):
    """The primitives affine and relu give the gradients autograd derives from plain NumPy."""
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
    h, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    check_grads(affine, modes=["rev"], order=2)(h, (W, b))
    check_grads(relu, modes=["rev"], order=1)(rng.standard_normal((5, 4)) + 0.1)


def test_second_derivatives_through_a_layer_pair(rng):
    """The VJP of affine with respect to (W, b) is itself differentiable (check_grads of order 2)."""
    h = rng.standard_normal((5, 3))
    check_grads(lambda layer: anp.sum(anp.sin(affine(h, layer))), modes=["rev"], order=2)(
        (rng.standard_normal((3, 4)), rng.standard_normal(4)))


def test_every_layer_of_a_hand_built_list_carries_its_gradient(rng):
    """Pairs built inside the differentiated function, after traced layers, give the plain gradient."""
    from npflow.core.training import cfm_loss, loss_and_grad

    params = init_mlp([3, 8, 8, 2], rng)
    t, x_t, u_t = rng.random(5), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    biases = [b for _, b in params]
    by_hand = autograd.grad(lambda Ws: cfm_loss([(W, b) for W, b in zip(Ws, biases)], t, x_t, u_t))(
        [W for W, _ in params])
    reference = loss_and_grad(params, t, x_t, u_t)[1]
    for got, (W_grad, _) in zip(by_hand, reference):
        assert type(got) is np.ndarray
        np.testing.assert_allclose(got, W_grad, rtol=1e-12, atol=1e-15)


def test_mean_squared_error_by_hand():
    """Residuals 1, 2, 3, 4 (and -1, -2, -3, -4): the mean of their squares is 30 / 4 = 7.5, and its
    gradient with respect to v_t is 2 (v_t - u_t) / 4 = (v_t - u_t) / 2."""
    u_t = np.array([[0.5, -1.0], [2.0, 0.0]])
    residual = np.array([[1.0, 2.0], [3.0, 4.0]])
    for sign in (1, -1):
        v_t = u_t + sign * residual
        assert mean_squared_error(v_t, u_t) == 7.5
        np.testing.assert_array_equal(autograd.grad(mean_squared_error)(v_t, u_t), sign * residual / 2)
        np.testing.assert_array_equal(autograd.grad(mean_squared_error, 1)(v_t, u_t), -sign * residual / 2)
    check_grads(mean_squared_error, modes=["rev"], order=2)(u_t + residual, u_t)


def test_float32_stays_float32_through_the_primitives(rng):
    """Values and gradients of a float32 network stay float32: the loss's gradient is float32 (autograd's
    VJP of anp.mean would make it float64), and so is every gradient the backward pass builds from it."""
    params = [(W.astype(np.float32), b.astype(np.float32)) for W, b in init_mlp(layer_sizes(2, (8,)), rng)]
    inputs, target = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 2)).astype(np.float32)

    def loss(p, x):
        return mean_squared_error(mlp(p, x), target)

    assert np.asarray(loss(params, inputs)).dtype == np.float32
    assert {g.dtype for g in tree_leaves(autograd.grad(loss)(params, inputs))} == {np.dtype(np.float32)}
    assert autograd.grad(loss, 1)(params, inputs).dtype == np.float32  # no cast at the parameters hides it here

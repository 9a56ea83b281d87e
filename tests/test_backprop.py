import numpy as np
import pytest

from npflow.core.backprop import ACTIVATION_DERIVATIVES, backward, forward, loss_and_grad, numerical_gradient
from npflow.core.mlp import ACTIVATIONS, init_mlp, layer_sizes, mlp
from npflow.core.optim import tree_leaves
from npflow.core.training import cfm_loss
from npflow.core.training import loss_and_grad as autograd_loss_and_grad


@pytest.fixture
def batch(rng):
    params = init_mlp(layer_sizes(2, (16, 8)), rng)
    return params, rng.random(12), rng.standard_normal((12, 2)), rng.standard_normal((12, 2))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_autograd(batch, activation):
    params, t, x_t, u_t = batch
    loss, grads = loss_and_grad(params, t, x_t, u_t, activation)
    expected_loss, expected = autograd_loss_and_grad(params, t, x_t, u_t, activation)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    for ours, theirs in zip(tree_leaves(grads), tree_leaves(expected)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_central_differences(rng, activation):
    params = init_mlp(layer_sizes(2, (4, 3)), rng)  # small: one pair of evaluations per parameter
    t, x_t, u_t = rng.random(6), rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    numerical = numerical_gradient(lambda p: float(cfm_loss(p, t, x_t, u_t, activation)), params)
    for ours, reference in zip(tree_leaves(loss_and_grad(params, t, x_t, u_t, activation)[1]), tree_leaves(numerical)):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-8)


def test_forward_is_the_mlp_and_caches_every_layer(batch):
    params, t, x_t, _ = batch
    inputs = np.column_stack([t, x_t])
    output, cache = forward(params, inputs, "tanh")
    np.testing.assert_array_equal(output, mlp(params, inputs, "tanh"))
    assert [(h.shape, z.shape) for h, z in cache] == [((12, 3), (12, 16)), ((12, 16), (12, 8)), ((12, 8), (12, 2))]


def test_backward_of_a_linear_layer_by_hand():
    """One layer, no activation: dL/dW = h.T @ g and dL/db = column sums of g."""
    h, W, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2), np.zeros(2)
    _, cache = forward([(W, b)], h)
    ((d_W, d_b),) = backward([(W, b)], cache, np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_array_equal(d_W, [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_array_equal(d_b, [1.0, 1.0])


def test_numerical_gradient_is_itself_right(rng):
    x = rng.standard_normal(4)
    check = numerical_gradient(lambda p: float(np.sum(np.sin(p[0]) * p[0])), [x])[0]
    np.testing.assert_allclose(check, np.sin(x) + x * np.cos(x), rtol=1e-7)


def test_training_with_backprop_follows_autograd():
    from npflow.runs.config import TrainConfig
    from npflow.runs.loop import train

    by_autograd = train(TrainConfig(steps=50, hidden=(16, 16)), stream=None)
    by_hand = train(TrainConfig(steps=50, hidden=(16, 16), grad="backprop"), stream=None)
    np.testing.assert_allclose(by_hand.losses, by_autograd.losses, rtol=1e-9)
    for ours, theirs in zip(tree_leaves(by_hand.params), tree_leaves(by_autograd.params)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_a_conditional_field_by_hand_matches_autograd_and_central_differences(rng, activation):
    """The one-hot of the labels enters as more input columns: the gradient of guidance's conditional loss."""
    from npflow.guidance.conditional import conditional_cfm_loss, conditional_loss_and_grad, conditional_sizes
    from npflow.guidance.labels import NO_LABEL, label_inputs

    K, y = 3, np.array([0, 2, NO_LABEL, 0, 2, NO_LABEL, 0, 2])  # no point has label 1
    params = init_mlp(conditional_sizes(2, (8, 6), K), rng)
    t, x_t, u_t = rng.random(8), rng.standard_normal((8, 2)), rng.standard_normal((8, 2))
    loss, grads = loss_and_grad(params, t, x_t, u_t, activation, condition=label_inputs(y, K))
    expected_loss, expected = conditional_loss_and_grad(params, t, x_t, u_t, y, K, activation)
    numerical = numerical_gradient(lambda p: float(conditional_cfm_loss(p, t, x_t, u_t, y, K, activation)), params)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    for ours, theirs, reference in zip(tree_leaves(grads), tree_leaves(expected), tree_leaves(numerical)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-8)
    # the row of W_1 facing label 1 (its embedding) gets no gradient from a batch without label 1
    d_W_1 = grads[0][0]  # (1 + 2 + K + 1, 8): rows 3, 4, 5 for labels 0, 1, 2, row 6 for "no label"
    assert np.all(d_W_1[4] == 0) and np.all(np.abs(d_W_1[[3, 5, 6]]).sum(axis=1) > 0)


def test_every_activation_of_the_mlp_has_its_derivative():
    assert set(ACTIVATION_DERIVATIVES) == set(ACTIVATIONS)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_each_derivative_is_the_slope_of_its_activation(activation):
    z = np.linspace(-3, 3, 41) + 0.01  # off relu's kink at 0
    h = 1e-6
    central = (ACTIVATIONS[activation](z + h) - ACTIVATIONS[activation](z - h)) / (2 * h)
    np.testing.assert_allclose(ACTIVATION_DERIVATIVES[activation](z), central, rtol=1e-7, atol=1e-8)

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.test_util import check_grads

from npflow.core.backprop import ACTIVATION_DERIVATIVES, numerical_gradient
from npflow.core.mlp import silu
from npflow.core.optim import Adam, tree_leaves, tree_rebuild
from npflow.images.resnet import (TIME_FREQUENCIES, backward, cfm_loss, forward, init_resnet, loss_and_grad,
                                  loss_and_grad_by_hand, resnet, time_features)

F = len(TIME_FREQUENCIES)


def one_hots(rng, n, slots):
    return np.eye(slots)[rng.integers(0, slots, n)]


@pytest.fixture(params=[0, 4], ids=["unconditional", "conditional"])
def batch(request, rng):
    """A small network and a batch (x_t, u_t, t, y); y is None for an unconditional network."""
    labels = request.param
    params = init_resnet(3, 6, 2, rng, label_width=labels)
    y = one_hots(rng, 5, labels) if labels else None
    return params, rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.random(5), y


def test_layout(rng):
    params = init_resnet(64, 32, 3, rng, label_width=11)
    (W_in, b_in), blocks, (W_out, b_out) = params
    assert W_in.shape == (2 * F + 64 + 11, 32) and b_in.shape == (32,)
    assert [(W_1.shape, W_2.shape) for (W_1, _), (W_2, _) in blocks] == [((32, 32), (32, 32))] * 3
    assert W_out.shape == (32, 64) and b_out.shape == (64,)
    assert resnet(params, 0.3, rng.standard_normal((7, 64)), one_hots(rng, 7, 11)).shape == (7, 64)


def test_time_features(rng):
    t = rng.random(4)
    phi = time_features(t, 4)
    np.testing.assert_allclose(phi, np.column_stack([np.sin(np.outer(t, TIME_FREQUENCIES)),
                                                     np.cos(np.outer(t, TIME_FREQUENCIES))]))
    np.testing.assert_array_equal(time_features(0.25, 3), time_features(np.full(3, 0.25), 3))  # a scalar t is every point's


def test_scalar_time_is_a_time_per_point(rng):
    params, x = init_resnet(3, 8, 2, rng), rng.standard_normal((4, 3))
    np.testing.assert_array_equal(resnet(params, 0.6, x), resnet(params, np.full(4, 0.6), x))
    assert not np.allclose(resnet(params, 0.1, x), resnet(params, 0.9, x))


def test_label_changes_the_field(rng):
    params, x = init_resnet(3, 8, 1, rng, label_width=3), rng.standard_normal((2, 3))
    assert not np.allclose(resnet(params, 0.5, x, np.eye(3)[[0, 0]]), resnet(params, 0.5, x, np.eye(3)[[2, 2]]))


def test_a_block_with_zero_output_is_the_identity(rng):
    """h_l = h_{l-1} + r_l @ W_2 + b_2: with W_2 = 0 and b_2 = 0 the block passes h through."""
    input_layer, blocks, output_layer = init_resnet(3, 8, 2, rng)
    silent = [((W_1, b_1), (0 * W_2, 0 * b_2)) for (W_1, b_1), (W_2, b_2) in blocks]
    x, t = rng.standard_normal((4, 3)), rng.random(4)
    np.testing.assert_array_equal(resnet([input_layer, silent, output_layer], t, x),
                                  resnet([input_layer, [], output_layer], t, x))


@pytest.mark.parametrize("y_columns, message", [(None, "y of 4 columns for x of 3 columns, got y of 0"),
                                               (5, "y of 4 columns for x of 3 columns, got y of 5")])
def test_wrong_label_width_is_refused(rng, y_columns, message):
    params, x = init_resnet(3, 8, 1, rng, label_width=4), rng.standard_normal((2, 3))
    y = None if y_columns is None else np.ones((2, y_columns))
    for network in (resnet, forward):
        with pytest.raises(ValueError, match=message):
            network(params, 0.5, x, y)
    with pytest.raises(ValueError, match="takes no label"):
        resnet(init_resnet(3, 8, 1, rng), 0.5, x, np.ones((2, 4)))


def test_forward_is_the_network(batch):
    params, x_t, _, t, y = batch
    np.testing.assert_allclose(forward(params, t, x_t, y)[0], resnet(params, t, x_t, y), rtol=1e-14)


def test_backprop_by_hand_matches_autograd(batch):
    params, x_t, u_t, t, y = batch
    loss, grads = loss_and_grad_by_hand(params, t, x_t, u_t, y)
    expected_loss, expected = loss_and_grad(params, t, x_t, u_t, y)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    assert [np.shape(g) for g in tree_leaves(grads)] == [np.shape(p) for p in tree_leaves(params)]
    for ours, theirs in zip(tree_leaves(grads), tree_leaves(expected)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


def test_backprop_by_hand_matches_central_differences(batch):
    params, x_t, u_t, t, y = batch
    numerical = numerical_gradient(lambda p: float(cfm_loss(p, t, x_t, u_t, y)), params)
    for ours, reference in zip(tree_leaves(loss_and_grad_by_hand(params, t, x_t, u_t, y)[1]), tree_leaves(numerical)):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-9)


def test_autograd_gradients_by_finite_differences(batch):
    """autograd's own check, for the parameters and for x (the likelihood differentiates in x)."""
    params, x_t, u_t, t, y = batch
    check_grads(lambda p: cfm_loss(p, t, x_t, u_t, y), modes=["rev"], order=1)(params)
    check_grads(lambda x: anp.sum(resnet(params, t, x, y) ** 2), modes=["rev"], order=1)(x_t)


def test_backward_of_a_network_without_blocks_by_hand(rng):
    """No blocks: v = silu(h_0) @ W_out + b_out, so dL/dW_out = silu(h_0).T @ dL/dv."""
    params = init_resnet(2, 3, 0, rng)
    x, t, d_v = rng.standard_normal((4, 2)), rng.random(4), rng.standard_normal((4, 2))
    v, cache = forward(params, t, x)
    inputs = np.column_stack([time_features(t, 4), x])
    h_0 = inputs @ params[0][0] + params[0][1]
    d_in, d_blocks, (d_W_out, d_b_out) = backward(params, cache, d_v)
    assert d_blocks == []
    np.testing.assert_allclose(d_W_out, (h_0 / (1 + np.exp(-h_0))).T @ d_v, rtol=1e-12)
    np.testing.assert_allclose(d_b_out, d_v.sum(axis=0), rtol=1e-12)


def test_float32_stays_float32(rng):
    params = init_resnet(3, 8, 2, rng)
    params = tree_rebuild(params, [p.astype(np.float32) for p in tree_leaves(params)])
    x_t, u_t = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)
    t = rng.random(5).astype(np.float32)
    assert resnet(params, t, x_t).dtype == np.float32
    assert resnet(params, 0.5, x_t).dtype == np.float32  # a Python float time too
    _, grads = loss_and_grad_by_hand(params, t, x_t, u_t)
    assert {g.dtype for g in tree_leaves(grads)} == {np.dtype(np.float32)}


def test_adam_takes_the_parameters_and_training_lowers_the_loss(rng):
    """The nested parameters go through optim.Adam as they are; a fixed batch is fit."""
    params = init_resnet(2, 16, 2, rng)
    x_t, u_t, t = rng.standard_normal((32, 2)), rng.standard_normal((32, 2)), rng.random(32)
    optimizer, first = Adam(lr=1e-2), float(cfm_loss(params, t, x_t, u_t))
    for _ in range(100):
        params = optimizer.step(params, loss_and_grad_by_hand(params, t, x_t, u_t)[1])
    assert float(cfm_loss(params, t, x_t, u_t)) < 0.5 * first


def test_silu_and_its_derivative_far_from_zero():
    """The hand-written act'(z) is autograd's, and neither overflows where exp(-z) would."""
    silu_derivative = ACTIVATION_DERIVATIVES["silu"]
    z = np.array([-1000.0, -400.0, -3.0, 0.0, 0.5, 3.0, 1000.0])
    with np.errstate(over="ignore"):
        expected = z / (1 + np.exp(-z))  # z / inf = -0 where exp(-z) overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(silu(z), expected, rtol=1e-14, atol=1e-14)  # sigmoid is exact in absolute terms
        # (autograd's own derivative of tanh, 1 / cosh^2, overflows past |z| = 710, so it is compared within)
        np.testing.assert_allclose(silu_derivative(z[1:-1]), autograd.elementwise_grad(silu)(z[1:-1]), rtol=1e-14,
                                   atol=1e-14)
        assert silu_derivative(z[0]) == 0 and silu_derivative(z[-1]) == 1

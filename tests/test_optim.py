import numpy as np
import pytest
from autograd.misc.optimizers import adam as autograd_adam

from npflow.core.optim import SGD, Adam, tree_leaves


def gradient_sequence(rng, like, count):
    """`count` random gradients shaped like the tree `like`: [(W, b)] pairs."""
    return [[(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in like] for _ in range(count)]


def test_adam_matches_autograd_adam(rng):
    params = [(rng.standard_normal((3, 4)), rng.standard_normal(4)), (rng.standard_normal((4, 2)), rng.standard_normal(2))]
    grads = gradient_sequence(rng, params, 50)
    expected = autograd_adam(lambda x, i: grads[i], params, num_iters=50, step_size=0.01)
    opt = Adam(lr=0.01)
    ours = params
    for g in grads:
        ours = opt.step(ours, g)
    for a, b in zip(tree_leaves(ours), tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_adam_matches_torch_adam(rng):
    torch = pytest.importorskip("torch")  # runs only where torch happens to be installed
    params = [rng.standard_normal((5, 3)), rng.standard_normal(3)]
    grads = [[rng.standard_normal(p.shape) for p in params] for _ in range(100)]
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    torch_opt = torch.optim.Adam(tensors, lr=1e-3)
    opt, ours = Adam(lr=1e-3), params
    for g in grads:
        for tensor, g_i in zip(tensors, g):
            tensor.grad = torch.tensor(g_i, dtype=torch.float64)
        torch_opt.step()
        ours = opt.step(ours, g)
        for a, tensor in zip(ours, tensors):
            np.testing.assert_allclose(a, tensor.detach().numpy(), rtol=0, atol=1e-9)


def test_adam_state_is_open_to_inspection():
    opt = Adam(lr=0.1, beta1=0.9, beta2=0.99)
    g = np.array([2.0, -4.0])
    assert opt.m is None and opt.step_count == 0
    opt.step([np.zeros(2)], [g])
    assert opt.step_count == 1
    np.testing.assert_allclose(opt.m, 0.1 * g)
    np.testing.assert_allclose(opt.v, 0.01 * g**2)


def test_first_adam_step_has_size_lr():
    # m_hat = g and v_hat = g^2 after one step, so the move is lr * g / (|g| + eps)
    new = Adam(lr=0.1, eps=0.0).step([np.array([1.0, 1.0])], [np.array([3.0, -0.5])])
    np.testing.assert_allclose(new[0], [0.9, 1.1])


def test_steps_return_the_same_structure(rng):
    params = ([(np.ones((2, 2)), np.ones(2))], (np.zeros(3),))
    grads = ([(np.ones((2, 2)), np.ones(2))], (np.ones(3),))
    for opt in (Adam(), SGD()):
        new = opt.step(params, grads)
        assert type(new) is tuple and type(new[0]) is list and type(new[0][0]) is tuple and type(new[1]) is tuple
        assert [a.shape for a in tree_leaves(new)] == [a.shape for a in tree_leaves(params)]


def test_sgd_step():
    new = SGD(lr=0.5).step([np.array([1.0, 2.0])], [np.array([2.0, -2.0])])
    np.testing.assert_array_equal(new[0], [0.0, 3.0])


@pytest.mark.parametrize("make", [Adam, SGD])
@pytest.mark.parametrize("lr", [0.0, -1e-3, float("nan"), float("inf")])
def test_bad_learning_rate(make, lr):
    with pytest.raises(ValueError, match="lr must be a finite positive number"):
        make(lr=lr)


def test_mismatched_gradients_are_refused():
    with pytest.raises(ValueError, match="expected"):
        Adam().step([np.zeros(3)], [np.zeros(4)])
    with pytest.raises(ValueError, match="grads has 2 arrays"):
        SGD().step([np.zeros(3)], [np.zeros(3), np.zeros(3)])
    opt = Adam()
    opt.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="shapes this Adam was started with"):
        opt.step([np.zeros(4)], [np.ones(4)])


def test_moments_unflatten_to_the_shape_of_the_parameters(rng):
    from npflow.core.optim import tree_flatten, tree_unflatten

    params = [(rng.standard_normal((3, 4)), rng.standard_normal(4)), (rng.standard_normal((4, 2)), rng.standard_normal(2))]
    opt = Adam()
    opt.step(params, params)  # g = params
    m = tree_unflatten(params, opt.m)
    for (W, b), (m_W, m_b) in zip(params, m):
        np.testing.assert_allclose(m_W, 0.1 * W)
        np.testing.assert_allclose(m_b, 0.1 * b)
    np.testing.assert_array_equal(tree_flatten(tree_unflatten(params, opt.m)), opt.m)


@pytest.mark.parametrize("dtype, steps", [("float32", 1500), ("float64", 8000)])
def test_moments_of_dead_parameters_do_not_linger_subnormal(dtype, steps):
    """A gradient that stops at 0 lets m shrink by beta1 per step into the slow subnormal range,
    where it would stay some 150 (float32) or 350 (float64) steps; Adam flushes it to 0 within
    flush_every steps instead, and its steps stay those of autograd's Adam."""
    theta = [np.array([1.0, -2.0, 3.0], dtype=dtype)]
    g_live = np.array([1e-3, -2e-3, 5e-4], dtype=dtype)
    grads = [[g_live * (i < 20 or np.array([1, 0, 1], dtype=dtype))] for i in range(steps)]  # unit 1 dies at step 20
    opt, ours = Adam(lr=1e-3), theta
    tiny = np.finfo(dtype).tiny
    subnormal_steps = 0
    for g in grads:
        ours = opt.step(ours, g)
        subnormal_steps += bool(np.any((opt.m != 0) & (np.abs(opt.m) < tiny)))
    assert 0 < subnormal_steps < Adam.flush_every and opt.m[1] == 0.0
    expected = autograd_adam(lambda x, i: grads[i][0].astype(float), [theta[0].astype(float)], num_iters=steps,
                             step_size=1e-3)
    # float64 agrees to rounding; float32 to the rounding its steps accumulate, up to eps * |theta| each
    atol = 1e-12 if dtype == "float64" else steps * np.finfo(np.float32).eps * 3.0
    np.testing.assert_allclose(ours[0], expected[0], rtol=0, atol=atol)


def test_without_eps_tiny_second_moments_are_kept(rng):
    """With eps = 0, sqrt(v) is the whole denominator: v must not be flushed, however small.

    Gradients of 1e-155 make v subnormal (about 1e-311); flushed to 0, it would divide m by 0.
    The oracle is autograd's Adam on the same gradients times 1e155: with eps = 0 Adam does not
    depend on the gradient's scale, and there nothing is subnormal.
    """
    scale = 1e-155
    theta = [np.array([1.0, -1.0])]
    grads = [[np.array([1.0, -3.0]) * scale * (1 + 0.1 * np.sin(i))] for i in range(2000)]
    opt, ours = Adam(lr=1e-3, eps=0.0), theta
    for g in grads:
        ours = opt.step(ours, g)
    assert 0 < opt.v.min() < np.finfo(float).tiny
    expected = autograd_adam(lambda x, i: grads[i][0] / scale, theta, num_iters=2000, step_size=1e-3, eps=0.0)
    np.testing.assert_allclose(ours[0], expected[0], rtol=0, atol=1e-12)

"""Backpropagation by hand: the chain rule of the MLP and the CFM loss, written out.

This module computes exactly what ``autograd.value_and_grad(cfm_loss)`` computes, with no
autograd at all, so a student can see every product of the chain rule. For the network

    h_0 = [t, x],   z_l = h_{l-1} @ W_l + b_l,   h_l = act(z_l)  (l < L),   v = z_L,
    L   = mean((v - u)^2)  over n points and d coordinates,

the backward pass starts from dL/dv and walks back through the layers::

    dL/dv   = 2 (v - u) / (n d)                       (n, d)
    dL/dW_l = h_{l-1}.T @ dL/dz_l                     (fan_in, fan_out)
    dL/db_l = sum over points of dL/dz_l              (fan_out,)
    dL/dh_{l-1} = dL/dz_l @ W_l.T                     (n, fan_in)
    dL/dz_{l-1} = dL/dh_{l-1} * act'(z_{l-1})         (elementwise)

The forward pass keeps (h_{l-1}, z_l) of every layer in a cache, because the backward pass
needs them. ``tests/test_backprop.py`` checks the result against autograd to 1e-10, and
``numerical_gradient`` is the independent referee: central differences, one parameter at a time.

It is also the fast path: ``npflow train --grad backprop`` trains with it, for MeanFlow too
(``forward`` and ``backward`` around a loss of a fixed target; MeanFlow's target is computed first,
by the forward chain rule).
"""
import numpy as np

from .mlp import ACTIVATIONS, layer_input, sigmoid
from .optim import tree_flatten, tree_unflatten

__all__ = ["ACTIVATION_DERIVATIVES", "forward", "backward", "loss_and_grad", "squared_error_and_grad",
           "numerical_gradient"]


#: act'(z) for each of ``npflow.core.mlp.ACTIVATIONS``, written from the formula. (relu's derivative
#: is a boolean mask, which multiplies as 0 and 1, one pass cheaper than a float copy.)
ACTIVATION_DERIVATIVES = {
    "relu": lambda z: z > 0,
    "silu": lambda z: sigmoid(z) * (1 + z * (1 - sigmoid(z))),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
}


def forward(params, inputs, activation="relu"):
    """The MLP's forward pass, keeping what the backward pass needs.

    The same layers as ``npflow.core.mlp.mlp``, ``z_l = h_{l-1} @ W_l + b_l`` and ``h_l = act(z_l)``,
    written out here because the chain rule needs every h_{l-1} and z_l, which ``mlp`` does not keep.

    Returns
    -------
    output : ndarray, shape (n, fan_out of the last layer)
    cache : list of (h_in, z)
        For each layer, its input h_{l-1} and pre-activation z_l.
    """
    act = ACTIVATIONS[activation]
    cache, h = [], inputs
    for W, b in params:
        z = h @ W + b  # (n, fan_out)
        cache.append((h, z))
        h = act(z)
    return cache[-1][1], cache  # no activation on the last layer: the output is z_L


def backward(params, cache, d_output, activation="relu"):
    """The backward pass: from dL/d(output) to dL/dW and dL/db of every layer.

    Parameters
    ----------
    params : list of (W, b)
    cache : list of (h_in, z), from ``forward``
    d_output : ndarray, shape (n, fan_out of the last layer)
        dL/dv.
    activation : str

    Returns
    -------
    grads : list of (dW, db), shaped like params
    """
    act_prime = ACTIVATION_DERIVATIVES[activation]
    grads = []
    d_z = d_output  # the last layer has no activation, so dL/dz_L = dL/dv
    for layer in reversed(range(len(params))):
        W, _ = params[layer]
        h_in, _ = cache[layer]
        grads.append((h_in.T @ d_z, d_z.sum(axis=0)))
        if layer > 0:
            d_h = d_z @ W.T  # dL/dh_{l-1}
            d_z = d_h * act_prime(cache[layer - 1][1])  # through the activation of the layer below
    return grads[::-1]


def loss_and_grad(params, t, x_t, u_t, activation="relu", condition=None):
    """The CFM loss and its gradient, by hand; a drop-in for ``npflow.train.loss_and_grad``.

    Parameters
    ----------
    params, t, x_t, u_t, activation
        As for ``npflow.train.cfm_loss``.
    condition : ndarray, shape (n, c), optional
        More input columns after [t, x]: a conditional field's one-hot labels
        (``npflow.guidance.label_inputs``), so that h_0 = [t, x, onehot(y)]. Nothing else changes:
        dL/dW_1 = h_0.T @ dL/dz_1 has a row for each column of the input.

    Returns
    -------
    loss : float
    grads : list of (dW, db)
    """
    inputs = layer_input(t, x_t)  # (n, 1 + d): [t, x]
    if condition is not None:
        inputs = np.concatenate([inputs, condition], axis=1)  # (n, 1 + d + c)
    return squared_error_and_grad(params, inputs, u_t, activation)


def squared_error_and_grad(params, inputs, target, activation="relu"):
    """``L = mean((MLP(inputs) - target)^2)`` and dL/dparams, by hand, for a target that does not depend on params.

    The CFM loss is this with inputs [t, x_t] and target u_t.

    Parameters
    ----------
    params : list of (W, b)
    inputs : ndarray, shape (n, fan_in of the first layer)
    target : ndarray, shape (n, d)
    activation : str

    Returns
    -------
    loss : float
    grads : list of (dW, db)
    """
    v, cache = forward(params, inputs, activation)
    residual = v - target  # (n, d)
    loss = np.mean(residual**2)
    d_v = 2 * residual / residual.size  # dL/dv for L = mean(residual^2)
    return loss, backward(params, cache, d_v, activation)


def numerical_gradient(f, params, eps=1e-6):
    """dL/dparams by central differences: (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps) for each i.

    One pair of evaluations per parameter: slow, but it depends on nothing but f, which makes
    it the referee for any gradient code. Its error is O(eps^2) from truncation plus O(1e-16 / eps)
    from rounding.

    Parameters
    ----------
    f : callable
        ``f(params) -> float``.
    params : tree of arrays
    eps : float

    Returns
    -------
    tree shaped like params

    Examples
    --------
    >>> g = numerical_gradient(lambda p: float(np.sum(p[0] ** 2)), [np.array([1.0, -2.0])])
    >>> np.allclose(g[0], [2.0, -4.0])   # d/dx x^2 = 2x
    True
    """
    theta = tree_flatten(params)
    gradient = np.empty_like(theta)
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = eps
        gradient[i] = (f(tree_unflatten(params, theta + step)) - f(tree_unflatten(params, theta - step))) / (2 * eps)
    return tree_unflatten(params, gradient)

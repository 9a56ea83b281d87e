"""A multilayer perceptron from scratch: the learned vector field v_theta(t, x).

Parameters are a plain list of ``(W, b)`` tuples, one per layer, and every function here is
pure: ``mlp(params, inputs)`` depends on nothing but its arguments. This is the style of
autograd's own ``examples/neural_net.py``, and it is what lets ``autograd.grad`` differentiate
the loss with respect to ``params``.

Autograd traces ordinary NumPy calls, so the code that is differentiated must avoid what it
cannot trace: no in-place updates (``h += ...``), no index assignment (``h[i] = ...``), and
``autograd.numpy`` in place of ``numpy``. Everything below keeps to that.

Two pieces are autograd *primitives* with their chain rule written by hand: ``affine``
(``h @ W + b`` for a layer ``(W, b)``) and ``relu``. Autograd could trace both from plain
NumPy, but each traced operation costs bookkeeping that, at the seed's size, is worth more
than the arithmetic. A primitive is one node with one hand-written vector-Jacobian product
(VJP), so a training step runs noticeably faster; ``tests/test_mlp.py`` checks both against
autograd's own derivation of the plain expressions.

Layout: ``W`` has shape (fan_in, fan_out) and a layer computes ``h @ W + b``. (PyTorch's
``nn.Linear`` stores the transpose, ``weight`` of shape (fan_out, fan_in).)

Initialisation is PyTorch's default for ``nn.Linear``, the one the seed tutorial trains with:
every weight and bias is drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)). (For the weights this
is Kaiming-uniform with a = sqrt(5).)
"""
import autograd.numpy as np
import numpy
from autograd.builtins import tuple as traced_tuple
from autograd.extend import Box, defvjp, primitive

__all__ = ["ACTIVATIONS", "affine", "init_mlp", "layer_input", "layer_sizes", "mlp", "velocity"]


def affine(h, layer):
    """One layer before its activation: ``h @ W + b`` for ``layer = (W, b)``; (n, fan_in) -> (n, fan_out).

    Its VJPs, for an upstream gradient g = dL/d(h @ W + b) of shape (n, fan_out)::

        dL/dh = g @ W.T        (n, fan_in)
        dL/dW = h.T @ g        (fan_in, fan_out)
        dL/db = sum_i g_i      (fan_out,)

    It takes the layer's ``(W, b)`` pair whole, and returns dL/dW and dL/db as a pair, because
    to autograd every ``W, b = layer`` would be two more nodes, whose backward passes build
    zero arrays for the whole pair: at the seed's size they cost more than the matrix products.
    """
    if not isinstance(layer, Box) and any(isinstance(p, Box) for p in layer):
        # A pair built by hand from traced arrays, e.g. [(W, b)] inside a function differentiated
        # with respect to W: the primitive would not see them, so autograd traces the expression.
        W, b = layer
        return h @ W + b
    return _affine(h, layer)


@primitive
def _affine(h, layer):
    """The primitive behind ``affine``: one autograd node, with the hand-written VJPs below."""
    W, b = layer
    z = h @ W
    # Inside a primitive autograd traces nothing, so z, a new array, may be added to in place:
    # one array fewer per layer. Unless that would change the dtype (say float32 z, float64 b).
    if z.dtype == numpy.result_type(z, b):
        z += b
        return z
    return z + b


# The pair of gradients is an autograd tuple, which autograd can trace again for second derivatives.
defvjp(_affine,
       lambda out, h, layer: lambda g: g @ layer[0].T,
       lambda out, h, layer: lambda g: traced_tuple((h.T @ g, np.sum(g, axis=0))))


@primitive
def relu(z):
    """max(z, 0). Its VJP passes the gradient where the output is positive: g * (out > 0)."""
    return numpy.maximum(z, 0.0)


defvjp(relu, lambda out, z: lambda g: g * (out > 0))


def silu(z):
    """SiLU (swish): z * sigmoid(z) = z / (1 + exp(-z))."""
    return z / (1.0 + np.exp(-z))


def tanh(z):
    """Hyperbolic tangent."""
    return np.tanh(z)


#: Activation functions by name. ``relu`` is the seed's.
ACTIVATIONS = {"relu": relu, "silu": silu, "tanh": tanh}


def layer_sizes(dim, hidden):
    """Widths of every layer of the field network: ``[1 + dim, *hidden, dim]``.

    The input is ``[t, x]`` (time first, as in the seed) and the output is a velocity in R^dim.
    """
    return [1 + dim, *hidden, dim]


def init_mlp(sizes, rng):
    """Draw the parameters of an MLP with PyTorch's default ``nn.Linear`` initialisation.

    ``W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for each layer.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, e.g. ``[3, 128, 128, 2]``.
    rng : numpy.random.Generator

    Returns
    -------
    params : list of (W, b)
        ``W`` of shape (fan_in, fan_out), ``b`` of shape (fan_out,).

    Examples
    --------
    >>> import numpy
    >>> params = init_mlp([3, 16, 2], numpy.random.default_rng(0))
    >>> [(W.shape, b.shape) for W, b in params]
    [((3, 16), (16,)), ((16, 2), (2,))]
    """
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / fan_in ** 0.5
        W = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        b = rng.uniform(-bound, bound, size=fan_out)
        params.append((W, b))
    return params


def mlp(params, inputs, activation="relu"):
    """Forward pass: ``h_{l+1} = act(h_l @ W_l + b_l)``, with no activation on the last layer.

    Parameters
    ----------
    params : list of (W, b)
    inputs : ndarray, shape (n, fan_in of the first layer)
    activation : str
        A key of ``ACTIVATIONS``.

    Returns
    -------
    outputs : ndarray, shape (n, fan_out of the last layer)
    """
    # >>> exercise mlp_forward: h = act(h @ W + b) for every layer but the last, which has no activation
    act = ACTIVATIONS[activation]
    # Unpacked once: to autograd, params[:-1] and each params[i] would be nodes whose backward
    # passes build zero arrays for every layer, one set per node.
    *hidden_layers, last_layer = params  # each a pair (W, b)
    h = inputs
    for layer in hidden_layers:
        h = act(affine(h, layer))  # (n, fan_out)
    return affine(h, last_layer)
    # <<< exercise


def velocity(params, t, x, activation="relu"):
    """The learned vector field v_theta(t, x) = MLP([t, x]).

    When one time t applies to every point (as when sampling), the input column of t adds
    ``t * W_1[0]`` to every row of the first layer, the same for all points: it is part of the
    first layer's bias. So the network runs on x alone with the bias ``b_1 + t * W_1[0]``,
    which is the same function (to rounding; a test checks it) without building the (n, 1 + d)
    input, and 4 to 6 % faster per evaluation on 1,024 points.

    Parameters
    ----------
    params : list of (W, b)
    t : float or ndarray of shape (n,)
        Time, 0 (noise) to 1 (data). A scalar applies to every point.
    x : ndarray, shape (n, d)
        Positions.
    activation : str

    Returns
    -------
    v : ndarray, shape (n, d)

    Examples
    --------
    >>> import numpy
    >>> params = init_mlp(layer_sizes(2, [8]), numpy.random.default_rng(0))
    >>> velocity(params, 0.5, numpy.zeros((4, 2))).shape
    (4, 2)
    """
    if numpy.ndim(t) == 0:  # one time for all points: t * W_1[0] joins the first bias
        (W_1, b_1), *other_layers = params
        t = numpy.asarray(t, dtype=x.dtype)  # in x's dtype, as layer_input makes it, so float32 stays float32
        return mlp([(W_1[1:], b_1 + t * W_1[0]), *other_layers], x, activation)
    return mlp(params, layer_input(t, x), activation)


def layer_input(t, x):
    """The network's input ``[t, x]``, shape (n, 1 + d): time first, as in the seed.

    Parameters
    ----------
    t : float or ndarray of shape (n,)
    x : ndarray, shape (n, d)
    """
    n = x.shape[0]
    # t is data, never differentiated: made an array in x's dtype, so float32 stays float32
    t_column = np.ones((n, 1), dtype=x.dtype) * numpy.reshape(numpy.asarray(t, dtype=x.dtype), (-1, 1))  # (n, 1)
    return np.concatenate([t_column, x], axis=1)

"""A multilayer perceptron from scratch: the learned vector field v_theta(t, x).

For L layers with parameters ``(W_l, b_l)``::

    h_0 = [t, x]                                          (n, 1 + d)   time first, as in the tutorial
    h_l = act(h_{l-1} @ W_l + b_l)     for l = 1 .. L-1   (n, width)
    v_theta(t, x) = h_{L-1} @ W_L + b_L                   (n, d)       no activation on the last layer

Parameters are a plain list of ``(W, b)`` tuples, one per layer, and every function here is
pure: ``mlp(params, inputs)`` depends on nothing but its arguments. This is the style of
autograd's own ``examples/neural_net.py``, and it is what lets ``autograd.grad`` differentiate
the loss with respect to ``params``.

Autograd traces ordinary NumPy calls, so the code that is differentiated must avoid what it
cannot trace: no in-place updates (``h += ...``), no index assignment (``h[i] = ...``), and
``autograd.numpy`` (``anp``) in place of ``numpy``. Everything below keeps to that.

Each layer's ``h @ W + b`` is computed by ``affine(h, (W, b))``, and relu by ``relu``, from
``npflow.core.primitives``. They give the same numbers, but each is one autograd node with its chain
rule written by hand. ``affine`` takes a fifth off a training step, and ``relu`` a fifth off the
exact likelihood (the module explains why).

Layout: ``W`` has shape (fan_in, fan_out) and a layer computes ``h @ W + b``. (PyTorch's
``nn.Linear`` stores the transpose, ``weight`` of shape (fan_out, fan_in).)

Initialisation is PyTorch's default for ``nn.Linear``, the one the tutorial trains with:
every weight and bias is drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)). (For the weights this
is Kaiming-uniform with a = sqrt(5).)
"""
import autograd.numpy as anp
import numpy as np

from .primitives import affine, relu

__all__ = ["ACTIVATIONS", "init_mlp", "mlp", "velocity", "layer_input", "layer_sizes", "sigmoid", "silu"]


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
    >>> params = init_mlp([3, 16, 2], np.random.default_rng(0))
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
    """Forward pass: ``h_l = act(h_{l-1} @ W_l + b_l)``, with no activation on the last layer.

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
    *hidden_layers, last_layer = params  # each layer a pair (W, b)
    h = inputs
    for layer in hidden_layers:
        h = act(affine(h, layer))  # act(h @ W + b): (n, fan_out)
    return affine(h, last_layer)  # h @ W + b, with no activation
    # <<< exercise


def velocity(params, t, x, activation="relu"):
    """The learned vector field ``v_theta(t, x) = MLP([t, x])``.

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
    >>> params = init_mlp(layer_sizes(2, [8]), np.random.default_rng(0))
    >>> velocity(params, 0.5, np.zeros((4, 2))).shape
    (4, 2)
    """
    return mlp(params, layer_input(t, x), activation)


def layer_input(t, x):
    """The network's input ``[t, x]``, shape (n, 1 + d): time first, as in the tutorial.

    Parameters
    ----------
    t : float or ndarray of shape (n,)
    x : ndarray, shape (n, d)
    """
    # t is data, never differentiated: made an array in x's dtype, so float32 stays float32
    t = np.asarray(t, dtype=x.dtype).reshape(-1, 1)  # (n, 1), or (1, 1) for one time for every point
    t_column = np.broadcast_to(t, (x.shape[0], 1))  # (n, 1)
    return anp.concatenate([t_column, x], axis=1)


def layer_sizes(dim, hidden):
    """Widths of every layer of the field network: ``[1 + dim, *hidden, dim]``.

    The input is ``[t, x]`` (time first, as in the tutorial) and the output is a velocity in R^dim.
    """
    return [1 + dim, *hidden, dim]


def sigmoid(z):
    """sigmoid(z) = 1 / (1 + exp(-z)) = exp(-log(1 + exp(-z))) = exp(-logaddexp(0, -z)).

    The last form is the one computed: neither it nor its derivative overflows, for any z and
    in float32 too, while exp(-z) does below z = -710 (-88 in float32), which a field queried far
    from the data (in a likelihood solve) can reach.
    """
    return anp.exp(-anp.logaddexp(0.0, -z))


def silu(z):
    """SiLU (swish): z * sigmoid(z)."""
    return z * sigmoid(z)


#: Activation functions by name. ``relu`` is the tutorial's.
ACTIVATIONS = {"relu": relu, "silu": silu, "tanh": anp.tanh}

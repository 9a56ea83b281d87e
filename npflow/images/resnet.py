"""A residual network for fields in many dimensions: v_theta(t, x, y) for 8x8 digits (R^64).

The MLP of ``npflow.core.mlp`` takes ``[t, x]`` and stacks layers; it serves the plane well. In 64
dimensions three things help, each the practice of image diffusion and flow models (Ho et al.,
2020, "Denoising Diffusion Probabilistic Models", Sec. 4; He et al., 2016, "Identity Mappings
in Deep Residual Networks"):

* **time features.** A single input t makes every unit a near-linear function of t, while the
  field changes fast near t = 1 (where the points are almost data). Sines and cosines of t at
  frequencies from 1 to 1000 let the network see both slow and fast changes::

      phi(t) = [sin(omega_1 t), ..., sin(omega_F t), cos(omega_1 t), ..., cos(omega_F t)]

* **width.** 64 coordinates in and out, and hidden layers of a few hundred units;
* **residual blocks.** Each block adds a correction to its input rather than replacing it,
  so a deep stack starts close to a shallow one and its gradient has a direct path back::

      h_0     = [phi(t), x, y] @ W_in + b_in
      h_l     = h_{l-1} + act(h_{l-1} @ W_1l + b_1l) @ W_2l + b_2l          (l = 1..B)
      v       = act(h_B) @ W_out + b_out

  They pay: on the digits (unconditional, width 256, two blocks, batch 256, Adam at 1e-3, 3,000
  steps), the Frechet distance of the samples to the test split (``npflow.images.image_metrics``) was
  1.36 with the skips and 9.2 without them (h_l = act(h_{l-1} @ W_1l + b_1l) @ W_2l + b_2l,
  the same layers); one hidden layer of 512 units reached 2.2. At Adam 3e-3, that one layer
  took 30,000 steps to reach 1.37, two blocks of 256 10,000 steps to reach 0.60, in about
  the same time (one run each).

``y`` is optional: a one-hot of K + 1 slots (the last one meaning "no label", as the guidance
of ``npflow.guidance`` uses it) appended to the input of a conditional field. The activation
is SiLU, act(z) = z sigmoid(z): smooth, so the field's Jacobian (whose trace the likelihood
integrates) is smooth too.

Parameters are a nested list ``[(W_in, b_in), [((W_1, b_1), (W_2, b_2)), ...], (W_out, b_out)]``
(one pair of layers per block), which ``npflow.core.optim.Adam`` and autograd take as they are.

Two gradients of the CFM loss L = mean((v - u_t)^2) are here: ``loss_and_grad`` by autograd,
and ``loss_and_grad_by_hand``, the chain rule of ``npflow.core.backprop`` extended to the blocks.
The one new line is the skip connection: h_l = h_{l-1} + r_l sends dL/dh_l to h_{l-1}
unchanged, *plus* what flows back through the branch r_l::

    dL/dh_{l-1} = dL/dh_l + (dL/dh_l @ W_2l.T * act'(z_l)) @ W_1l.T,    z_l = h_{l-1} @ W_1l + b_1l

``tests/test_resnet.py`` checks one against the other and both against central differences.
"""
import autograd
import autograd.numpy as anp
import numpy as np

from ..core.backprop import ACTIVATION_DERIVATIVES
from ..core.mlp import init_mlp, silu
from ..core.primitives import mean_squared_error

__all__ = ["TIME_FREQUENCIES", "time_features", "init_resnet", "resnet",
           "cfm_loss", "loss_and_grad", "forward", "backward", "loss_and_grad_by_hand"]

#: omega_1..omega_F of the time features: 16 frequencies spaced evenly in log from 1 to 1000.
TIME_FREQUENCIES = np.geomspace(1.0, 1000.0, 16)


def time_features(t, n, dtype=np.float64):
    """phi(t) = [sin(omega t), cos(omega t)] for every point: shape (n, 2F).

    Parameters
    ----------
    t : float or ndarray of shape (n,)
        Times; a scalar applies to all n points.
    n : int
    dtype : numpy dtype
        Of the result (the dtype of x, so that a float32 network stays float32).

    Examples
    --------
    >>> time_features(0.0, 2).shape, time_features(0.0, 2)[0, :3], time_features(0.0, 2)[0, -3:]
    ((2, 32), array([0., 0., 0.]), array([1., 1., 1.]))
    """
    t = np.broadcast_to(np.reshape(np.asarray(t, dtype=dtype), (-1, 1)), (n, 1))  # (n, 1)
    angles = t * TIME_FREQUENCIES.astype(dtype)  # (n, F)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def init_resnet(dim, width, blocks, rng, label_width=0):
    """Draw the parameters, each layer with PyTorch's default ``nn.Linear`` initialisation.

    Parameters
    ----------
    dim : int
        Dimension d of x and of the field (64 for the digits).
    width : int
        Width of h and of each block's inner layer.
    blocks : int
        Number of residual blocks B (0 gives a network with one hidden layer).
    rng : numpy.random.Generator
    label_width : int
        Length of the label one-hot y (K + 1 for K classes); 0 for an unconditional field.

    Returns
    -------
    params : list
        ``[(W_in, b_in), [((W_1, b_1), (W_2, b_2)), ...], (W_out, b_out)]``.

    Examples
    --------
    >>> params = init_resnet(64, 128, 2, np.random.default_rng(0), label_width=11)
    >>> params[0][0].shape, len(params[1]), params[1][0][0][0].shape, params[2][0].shape
    ((107, 128), 2, (128, 128), (128, 64))
    """
    fan_in = 2 * len(TIME_FREQUENCIES) + dim + label_width  # [phi(t), x, y]
    (input_layer,) = init_mlp([fan_in, width], rng)
    block_list = [tuple(init_mlp([width, width, width], rng)) for _ in range(blocks)]
    (output_layer,) = init_mlp([width, dim], rng)
    return [input_layer, block_list, output_layer]


def network_input(t, x, y=None):
    """The first layer's input ``[phi(t), x, y]``, shape (n, 2F + d (+ K + 1)); y may be None."""
    parts = [time_features(t, x.shape[0], x.dtype), x] + ([] if y is None else [y])
    return anp.concatenate(parts, axis=1)


def resnet(params, t, x, y=None):
    """The field v_theta(t, x, y): the equations of the module docstring, one line each.

    Parameters
    ----------
    params : list
        From ``init_resnet``.
    t : float or ndarray of shape (n,)
        Time, 0 (noise) to 1 (data).
    x : ndarray, shape (n, d)
    y : ndarray of shape (n, K + 1), optional
        Label one-hots, for a network made with ``label_width=K + 1``.

    Returns
    -------
    v : ndarray, shape (n, d)

    Examples
    --------
    >>> params = init_resnet(4, 8, 2, np.random.default_rng(0))
    >>> resnet(params, 0.5, np.zeros((3, 4))).shape
    (3, 4)
    """
    (W_in, b_in), blocks, (W_out, b_out) = params
    _check_input_width(W_in, x, y)
    h = network_input(t, x, y) @ W_in + b_in  # (n, width)
    for (W_1, b_1), (W_2, b_2) in blocks:
        h = h + silu(h @ W_1 + b_1) @ W_2 + b_2
    return silu(h) @ W_out + b_out  # (n, d)


def _check_input_width(W_in, x, y):
    """One clear line when y is missing, extra or the wrong length for the network."""
    label_width = W_in.shape[0] - 2 * len(TIME_FREQUENCIES) - x.shape[1]
    given = 0 if y is None else y.shape[1]
    if given != label_width:
        expected = "no label (an unconditional network)" if label_width == 0 else f"y of {label_width} columns"
        raise ValueError(f"the network takes {expected} for x of {x.shape[1]} columns, got y of {given} columns")


def cfm_loss(params, t, x_t, u_t, y=None):
    """The CFM loss ``L = mean((v_theta(t, x_t, y) - u_t)^2)`` over points and coordinates, as
    ``npflow.core.training.cfm_loss`` with this network.

    Parameters
    ----------
    params : list
    t : ndarray, shape (n,)
    x_t, u_t : ndarray, shape (n, d)
    y : ndarray of shape (n, K + 1), optional

    Returns
    -------
    loss : float
    """
    return mean_squared_error(resnet(params, t, x_t, y), u_t)


#: (params, t, x_t, u_t, y=None) -> (loss, dL/dparams), by reverse-mode autograd.
loss_and_grad = autograd.value_and_grad(cfm_loss)


def forward(params, t, x, y=None):
    """``resnet`` with the cache the backward pass needs: the same v, and every h and z.

    Returns
    -------
    v : ndarray, shape (n, d)
    cache : tuple
        ``(inputs, [(h_{l-1}, z_l, r_l) for each block], h_B)``, with r_l = act(z_l).
    """
    (W_in, b_in), blocks, (W_out, b_out) = params
    _check_input_width(W_in, x, y)
    inputs = network_input(t, x, y)
    h, block_cache = inputs @ W_in + b_in, []
    for (W_1, b_1), (W_2, b_2) in blocks:
        z = h @ W_1 + b_1  # (n, width)
        r = silu(z)
        block_cache.append((h, z, r))
        h = h + r @ W_2 + b_2
    return silu(h) @ W_out + b_out, (inputs, block_cache, h)


def backward(params, cache, d_v):
    """The chain rule, from dL/dv back to the gradient of every parameter.

    Parameters
    ----------
    params : list
    cache : tuple, from ``forward``
    d_v : ndarray, shape (n, d)
        dL/dv.

    Returns
    -------
    grads : list, shaped like params
    """
    (W_in, _), blocks, (W_out, _) = params
    inputs, block_cache, h_B = cache
    d_out = (silu(h_B).T @ d_v, d_v.sum(axis=0))
    d_h = d_v @ W_out.T * ACTIVATION_DERIVATIVES["silu"](h_B)  # dL/dh_B, (n, width)
    d_blocks = []
    for ((W_1, _), (W_2, _)), (h, z, r) in zip(reversed(blocks), reversed(block_cache)):
        d_2 = (r.T @ d_h, d_h.sum(axis=0))
        d_z = d_h @ W_2.T * ACTIVATION_DERIVATIVES["silu"](z)  # back through the branch
        d_1 = (h.T @ d_z, d_z.sum(axis=0))
        d_h = d_h + d_z @ W_1.T  # the skip passes d_h on unchanged; the branch adds its share
        d_blocks.append((d_1, d_2))
    d_in = (inputs.T @ d_h, d_h.sum(axis=0))
    return [d_in, d_blocks[::-1], d_out]


def loss_and_grad_by_hand(params, t, x_t, u_t, y=None):
    """The CFM loss and its gradient by ``forward`` and ``backward``; the same as ``loss_and_grad``.

    Returns
    -------
    loss : float
    grads : list, shaped like params
    """
    v, cache = forward(params, t, x_t, y)
    residual = v - u_t  # (n, d)
    d_v = 2 * residual / residual.size  # dL/dv for L = mean(residual^2)
    return np.mean(residual**2), backward(params, cache, d_v)

"""A run whose network is the residual one of ``npflow.images.resnet`` (``TrainConfig(network="resnet")``).

A run keeps its weights as a flat list of (W, b) pairs, which the moving average, the saved
checkpoints and ``Run.dim`` read. ``npflow.images.resnet`` nests them by block; this module moves
between the two, in the order the network uses them::

    flat    = [(W_in, b_in), (W_11, b_11), (W_21, b_21), ..., (W_1B, b_1B), (W_2B, b_2B), (W_out, b_out)]
    nested  = [(W_in, b_in), [((W_11, b_11), (W_21, b_21)), ...], (W_out, b_out)]

so that the widths of the flat list are ``resnet_sizes``: ``[2F + d (+ K + 1), w, ..., w, d]``
with 2B + 1 widths w, the same bookkeeping as an MLP's ``layer_sizes``. A recipe's ``hidden``
names the blocks: ``hidden=(256, 256)`` is B = 2 blocks of width 256.
"""
import numpy as np

from ..guidance.conditional import guided_velocity
from ..guidance.labels import NO_LABEL, check_labels, label_inputs
from ..images.resnet import TIME_FREQUENCIES, init_resnet, loss_and_grad, loss_and_grad_by_hand, resnet

__all__ = ["resnet_sizes", "nest", "flatten", "init_resnet_run", "resnet_velocity", "resnet_gradient",
           "resnet_guided_velocity"]


def resnet_sizes(dim, hidden, label_width=0):
    """The widths of the flat weights: ``[2F + d + label_width, w, ..., w (2B + 1 times), d]``, B = len(hidden), w = hidden[0].

    Every block has the same width (``TrainConfig`` checks that the widths of ``hidden`` agree).
    """
    return [2 * len(TIME_FREQUENCIES) + dim + label_width, *[hidden[0]] * (2 * len(hidden) + 1), dim]


def nest(params):
    """The flat list of (W, b) as ``npflow.images.resnet`` takes it: ``[in, [(first, second) per block], out]``."""
    return [params[0], [(params[i], params[i + 1]) for i in range(1, len(params) - 1, 2)], params[-1]]


def flatten(nested):
    """The inverse of ``nest``: ``npflow.images.resnet``'s weights (or gradients) as a flat list of (W, b)."""
    first, blocks, last = nested
    return [first, *[layer for block in blocks for layer in block], last]


def init_resnet_run(dim, hidden, rng, label_width=0):
    """``npflow.images.resnet.init_resnet`` of B = len(hidden) blocks of width hidden[0], flattened."""
    return flatten(init_resnet(dim, hidden[0], len(hidden), rng, label_width))


def _classes(params):
    """K of a conditional network: its input takes [phi(t), x, onehot(y)], 2F + d + K + 1 columns; 0 without labels."""
    (W_in, _), (_, b_out) = params[0], params[-1]
    label_width = W_in.shape[0] - 2 * len(TIME_FREQUENCIES) - b_out.shape[0]
    return label_width - 1 if label_width else 0


def resnet_velocity(params):
    """The field ``f(t, x) -> (n, d)`` of flat weights; for a conditional network, with no label."""
    if _classes(params):
        return resnet_guided_velocity(params)
    return lambda t, x: resnet(nest(params), t, x)


def resnet_guided_velocity(params, label=NO_LABEL, guidance=0.0):
    """The guided field ``(1 + w) v(t, x, y) - w v(t, x, no label)`` of a conditional network (flat weights)."""
    K = _classes(params)
    check_labels(np.atleast_1d(label), K)
    return guided_velocity(lambda t, x, y: resnet(nest(params), t, x, label_inputs(y, K, x.dtype)), label, guidance)


def resnet_gradient(grad, y=None, num_classes=0):
    """The gradient ``npflow.training_step`` takes, ``(params, t, x_t, u_t, activation) -> (loss, grads)``.

    Parameters
    ----------
    grad : str
        ``"autograd"``: ``npflow.images.resnet.loss_and_grad``; ``"backprop"``: ``loss_and_grad_by_hand``.
    y : ndarray of int, shape (n,), optional
        A conditional batch's labels, after the dropout; they enter as one-hots.
    num_classes : int
        K.

    The activation is SiLU, the residual network's own, whatever the step passes.
    """
    gradient = loss_and_grad_by_hand if grad == "backprop" else loss_and_grad

    def step_gradient(params, t, x_t, u_t, activation):
        condition = None if y is None else label_inputs(y, num_classes, x_t.dtype)
        loss, grads = gradient(nest(params), t, x_t, u_t, condition)
        return loss, flatten(grads)

    return step_gradient

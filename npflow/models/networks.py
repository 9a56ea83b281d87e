"""The two networks a field can be: the MLP on [t, x] and the residual network for images, as registered entries.

Each says its widths, its first weights, its field (conditional or not) and its gradient, by
autograd or by the chain rule written out. A conditional network takes the label's one-hot,
K + 1 more inputs (``npflow.guidance``), and holds K in its weights, so its field needs nothing
but the weights.
"""
from ..core import backprop
from ..core.in_place import in_place_velocity
from ..core.mlp import init_mlp, layer_sizes
from ..core.mlp_divergence import mlp_divergence
from ..core.training import loss_and_grad
from ..guidance.conditional import conditional_loss_and_grad, learned_guided_velocity
from ..guidance.labels import label_inputs
from .registry import Network, register
from .resnet_run import init_resnet_run, resnet_gradient, resnet_guided_velocity, resnet_sizes, resnet_velocity

__all__ = ["MLP", "RESNET", "mlp_sizes", "mlp_velocity", "mlp_gradient", "mlp_closed_divergence"]


def mlp_sizes(dim, hidden, label_width=0):
    """``[1 + d + label_width, *hidden, d]``: the tutorial's MLP, with a label's one-hot of that width as more inputs."""
    first, *rest = layer_sizes(dim, hidden)
    return [first + label_width, *rest]


def mlp_velocity(params, activation, labelled=False):
    """The MLP's field ``f(t, x)``: v_theta(t, x), or for a ``labelled`` (conditional) network v_theta(t, x, no
    label), K read from its weights."""
    if labelled:
        return learned_guided_velocity(params, activation)
    return in_place_velocity(params, activation)  # velocity(params, t, x, activation), with two arrays a layer fewer


def mlp_gradient(grad, y=None, num_classes=0):
    """The gradient ``training_step`` takes, ``(params, t, x_t, u_t, activation) -> (loss, grads)``.

    Parameters
    ----------
    grad : str
        ``"autograd"`` (``npflow.core.training.loss_and_grad``, or for labels
        ``conditional_loss_and_grad``) or ``"backprop"`` (``npflow.core.backprop.loss_and_grad``,
        the one-hot as more input columns; the same numbers to rounding).
    y : ndarray of int, shape (n,), optional
        A conditional batch's labels, after the dropout.
    num_classes : int
        K.
    """
    if y is None:
        return backprop.loss_and_grad if grad == "backprop" else loss_and_grad
    if grad == "backprop":
        return lambda params, t, x_t, u_t, activation: backprop.loss_and_grad(
            params, t, x_t, u_t, activation, condition=label_inputs(y, num_classes, x_t.dtype))
    return lambda params, t, x_t, u_t, activation: conditional_loss_and_grad(params, t, x_t, u_t, y, num_classes,
                                                                             activation)


def mlp_closed_divergence(params, activation, labelled=False):
    """``g(t, x) -> (v, div v)`` of an unconditional MLP of two hidden layers (``mlp_divergence``); None otherwise."""
    return mlp_divergence(params, activation) if not labelled and len(params) == 3 else None


def _any_mlp(config):
    """The MLP takes any widths and any activation."""


def _check_resnet(config):
    """The residual network uses SiLU, and blocks of one width."""
    if config.activation != "silu":
        raise ValueError(f"network 'resnet' uses SiLU: set activation 'silu', got {config.activation!r}")
    if len(set(config.hidden)) != 1:
        raise ValueError(f"network 'resnet' takes blocks of one width (hidden = (w, w, ...), one w per block), "
                         f"got hidden {config.hidden!r}")


MLP = register(Network(
    name="mlp", summary="the MLP of --hidden on [t, x]", check=_any_mlp, sizes=mlp_sizes,
    init=lambda dim, hidden, rng, label_width=0: init_mlp(mlp_sizes(dim, hidden, label_width), rng),
    velocity=mlp_velocity, guided=learned_guided_velocity, gradient=mlp_gradient, divergence=mlp_closed_divergence))

RESNET = register(Network(
    name="resnet", summary="residual blocks (one per --hidden width, all equal; SiLU) on sinusoidal time features",
    check=_check_resnet, sizes=resnet_sizes, init=init_resnet_run,
    velocity=lambda params, activation, labelled=False: resnet_velocity(params),
    guided=lambda params, activation, label, guidance: resnet_guided_velocity(params, label, guidance),
    gradient=resnet_gradient))

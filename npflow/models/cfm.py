"""Conditional flow matching, as a registered objective: the tutorial's, and its variants.

The network regresses, at a point x_t of the conditional path, on the path's velocity u_t
(``predict="velocity"``, the tutorial's), on the noise x_0 (DDPM's epsilon) or on the data x_1
(``npflow.core.views``); sampling turns either prediction back into the velocity. With
``conditional=True`` the network also takes each point's label, dropped to "no label" with
probability ``p_uncond``, and so learns the conditional and the unconditional field that
guidance needs (``npflow.guidance``).
"""
from dataclasses import dataclass, field

from ..core.paths import make_path
from ..core.views import MARGIN, PREDICTIONS, velocity_from_prediction
from ..data.datasets import is_data_file, labelled_dataset
from .batches import batch_sampler, labelled_batch_sampler
from .checks import check_gaussian_noise
from .registry import Objective, network_of, register

__all__ = ["CFMOptions", "CFM"]


@dataclass(frozen=True)
class CFMOptions:
    """The settings of flow matching's own.

    Attributes
    ----------
    predict : str
        What the network learns: ``"velocity"`` (the tutorial's), ``"noise"`` x0_hat or ``"data"``
        x1_hat. A prediction is turned into the velocity for sampling, which needs x_0 ~ N(0, I)
        and a path without a blur.
    conditional : bool
        Learn the conditional field v_theta(t, x, y) of a dataset with labels, and with it the
        unconditional one: the label enters the network as a one-hot. Not with
        ``coupling="pairs"``, whose table has no labels; ``coupling="ot"`` pairs within each label.
    p_uncond : float
        For a conditional run: the probability, in [0, 1], that a training label is replaced by
        "no label" (label dropout), which teaches the unconditional field guidance needs.
    """

    predict: str = field(default="velocity", metadata={"choices": PREDICTIONS, "help": (
        "what the network learns: the velocity (flow matching), the noise x_0 (DDPM's epsilon) or the data x_1; "
        "sampling turns it into the velocity")})
    conditional: bool = field(default=False, metadata={"flag": True, "help": (
        "learn v(t, x, y) for the dataset's labels y, and the unconditional field beside it, for sample --label "
        "and --guidance")})
    p_uncond: float = field(default=0.2, metadata={"metavar": "P", "number": "probability", "help": (
        "with --conditional: the probability that a training label is dropped to 'no label'")})


def _check(config):
    """The options, and what they need of the rest of the recipe."""
    options = config.options
    if not isinstance(options.conditional, bool):
        raise ValueError(f"conditional must be True or False, got {options.conditional!r}")
    if not (isinstance(options.p_uncond, (int, float)) and 0.0 <= options.p_uncond <= 1.0):
        raise ValueError(f"p_uncond must be a probability in [0, 1], got {options.p_uncond!r}")
    if not options.conditional and options.p_uncond != CFMOptions.p_uncond:
        raise ValueError("p_uncond is the label dropout of a conditional run: set conditional too (--conditional)")
    if options.conditional and config.coupling == "pairs":
        raise ValueError("coupling 'pairs' draws from a table of pairs without labels, so it cannot train a "
                         "conditional run")
    if options.conditional and not is_data_file(config.dataset):
        labelled_dataset(config.dataset)  # raises for a dataset without labels; a file's are read at the start
    if options.predict not in PREDICTIONS:
        raise ValueError(f"predict must be one of {', '.join(PREDICTIONS)}, got {options.predict!r}")
    if options.predict != "velocity":
        check_gaussian_noise(config, f"predict {options.predict!r}")
        if options.conditional:
            raise ValueError(f"predict {options.predict!r} goes with an unconditional flow-matching run, not with "
                             "conditional")


def _label_width(config):
    """The one-hot inputs of a conditional network: K + 1 (the last for "no label"), else 0."""
    return config.num_classes + 1 if config.options.conditional else 0


def _gradients(config):
    """``step(t, rng, *y) -> (t, gradient)``: the batch's own times, and the network's gradient for its labels."""
    network = network_of(config)
    if not config.options.conditional:
        gradient = network.gradient(config.grad)
        return lambda t, rng: (t, gradient)
    num_classes = config.num_classes  # read once: for a data file, it reads the file
    return lambda t, rng, y: (t, network.gradient(config.grad, y, num_classes))


def _output(config, params):
    """The network's output at (t, x): v, x0_hat or x1_hat; a conditional network's at no label."""
    return network_of(config).velocity(params, config.activation, config.options.conditional)


def _velocity(config, params):
    """The velocity: the output itself, or a prediction turned into it (``velocity_from_prediction``), holding
    the other view within ``MARGIN`` of the end where the conversion is singular."""
    predict = config.options.predict
    if predict == "velocity":
        return _output(config, params)
    return velocity_from_prediction(_output(config, params), make_path(config.path, config.sigma_min), predict,
                                    MARGIN)


def _guided(config, params, label, guidance):
    if not config.options.conditional:
        raise ValueError("this run was trained without labels (train it with conditional=True to ask for a class)")
    return network_of(config).guided(params, config.activation, label, guidance)


def _divergence(config, params):
    """The network's closed-form divergence, for a network of the velocity without labels; else None."""
    network = network_of(config)
    if config.options.predict != "velocity" or network.divergence is None:
        return None
    return network.divergence(params, config.activation, config.options.conditional)


def _batches(config):
    if config.options.conditional:
        return labelled_batch_sampler(config, config.options.p_uncond)
    return batch_sampler(config)


CFM = register(Objective(
    name="cfm", summary="the velocity by flow matching (the tutorial's), or the noise or the data it predicts",
    options=CFMOptions, check=_check,
    sizes=lambda config: network_of(config).sizes(config.dim, config.hidden, _label_width(config)),
    init=lambda config, rng: network_of(config).init(config.dim, config.hidden, rng, _label_width(config)),
    batches=_batches, gradients=_gradients, output=_output, velocity=_velocity,
    predict=lambda config: config.options.predict, labelled=lambda config: config.options.conditional,
    guided=_guided, divergence=_divergence))

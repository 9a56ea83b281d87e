"""What a training run follows: its recipe, ``TrainConfig``.

A recipe is a value: making one checks its names, types and ranges and reads no file. The
settings every run shares are its fields; what belongs to one objective (a conditional run's
labels, MeanFlow's share of s = t pairs) lives in that objective's ``options``
(``npflow.models``), which the objective checks. The data files a recipe names (a dataset, a
source, a table of pairs) are read and checked where a run starts, by ``check_data_files``.
"""
import math
from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import partial
from typing import Any

import numpy as np

from ..core.couplings import COUPLING_NAMES, OT_REG
from ..core.mlp import ACTIVATIONS
from ..core.paths import make_path
from ..data.datasets import Dataset, get_dataset, get_source, is_data_file, labelled_dataset
from ..data.pairs import load_pairs
from ..models import OBJECTIVES, RECIPES, network_of, objective_named, objective_of, option_names

__all__ = ["TrainConfig", "check_data_files", "recipe"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. The defaults are the tutorial's.

    Making one checks every field's name, type and range, and reads no file: a dataset,
    source or pairs file is checked by ``check_data_files`` when a run starts.

    Attributes
    ----------
    dataset : str
        The target p_1: a key of ``npflow.data.datasets.DATASETS``, a ``.npy``/``.csv`` file of shape (n, d), or an
        ``.npz`` file of points ``x`` (n, d) and labels ``y`` (n,).
    steps : int
        Number of Adam steps.
    batch_size : int
    lr : float
        Adam's learning rate.
    hidden : tuple of int
        Hidden layer widths.
    activation : str
        A key of ``npflow.core.mlp.ACTIVATIONS``.
    sigma_min : float
        Width of the conditional path, in [0, 1): at t = 1 for the linear path, all along it for icfm.
    seed : int
        Seed of the one ``numpy.random.Generator`` behind every draw.
    grad : str
        How the gradient is computed: ``"autograd"`` (``autograd.value_and_grad``) or
        ``"backprop"`` (the chain rule by hand, ``npflow.core.backprop``; the same numbers to
        rounding, and faster).
    lr_schedule : str
        ``"constant"`` (the tutorial's) or ``"cosine"``: lr_k = lr * (1 + cos(pi k / steps)) / 2,
        which decays to 0 at the last step.
    ema : float
        Decay of an exponential moving average of the weights, in [0, 1); 0 turns it off.
        With it, ``ema <- ema * decay_k + theta * (1 - decay_k)`` after every step k, with
        ``decay_k = min(decay, (1 + k) / (10 + k))`` (a warm-up), and the averaged weights are
        the ones the run samples and scores with.
    dtype : str
        ``"float64"`` (the default) or ``"float32"`` for the weights, Adam's state and the
        batches: about twice as fast, to single precision. The random draws are the same.
    coupling : str
        How noise and data are paired in a batch: ``"independent"`` (the tutorial's), ``"ot"``
        (minibatch optimal transport), ``"sinkhorn"`` (entropic optimal transport, pairs drawn
        from its plan) or ``"pairs"`` (whole pairs from ``pairs_file``), see ``npflow.core.couplings``.
    path : str
        The conditional path: ``"linear"`` (the tutorial's, with sigma_min), ``"icfm"`` (the
        straight line blurred by a constant sigma_min) or ``"vp"`` (the variance-preserving
        cosine schedule; sigma_min does not apply), see ``npflow.core.paths``.
    source : str
        Where the flow starts at t = 0: ``"gaussian"``, N(0, I) (the tutorial's), a dataset name
        or file of the same dimension as ``dataset`` (data-to-data transport), or one of the
        objective's own sources (``Objective.sources``, such as a masked source of tokens).
    pairs_file : str
        With ``coupling="pairs"``: an ``.npz`` file of pairs ``x_0``, ``x_1`` (``npflow.runs.reflow``
        writes one). Empty otherwise.
    ot_reg : float
        With ``coupling="sinkhorn"``: the blur eps of entropic OT, relative to the batch's mean
        squared distance (0 would be exact OT, large values the independent coupling).
    objective : str
        What the network learns, a key of ``npflow.models.OBJECTIVES``: ``"cfm"``, the velocity v_theta(t, x) by flow matching (the
        tutorial's), or ``"meanflow"``, the average velocity u_theta(s, t, x) over an interval
        [s, t], on the input [s, t - s, x], which samples in a few jumps, even one (``npflow.meanflow``).
        MeanFlow goes with every path, coupling and source: its identity holds for the flow of
        any field, and its target, affine in the conditional velocity, has the marginal one's mean.
    network : str
        The field's network: ``"mlp"`` (the tutorial's, layers of ``hidden`` widths on [t, x]) or
        ``"resnet"`` (``npflow.images.resnet``: time features, then one residual block of width w per entry of
        ``hidden``, all of one width, with SiLU; ``activation`` must be ``"silu"``), for images.
        A key of ``npflow.models.NETWORKS``.
    options : objective's options, dict or None
        The objective's own settings (``npflow.models.OBJECTIVES[objective].options``): for
        ``"cfm"`` ``predict``, ``conditional`` and ``p_uncond``, for ``"meanflow"``
        ``share_equal``, ``times``, ``time_mean``, ``time_std``, ``weight_power`` and ``weight_eps``.
        A dict fills the rest with their defaults; None takes every default.
    """

    dataset: str = "two_gaussians"
    steps: int = 10_000
    batch_size: int = 128
    lr: float = 1e-3
    hidden: tuple = (128, 128)
    activation: str = "relu"
    sigma_min: float = 0.0
    seed: int = 42
    grad: str = "autograd"
    lr_schedule: str = "constant"
    ema: float = 0.0
    dtype: str = "float64"
    coupling: str = "independent"
    path: str = "linear"
    source: str = "gaussian"
    pairs_file: str = ""
    ot_reg: float = OT_REG
    objective: str = "cfm"
    network: str = "mlp"
    options: Any = None

    def __post_init__(self):
        _check_data_names(self)
        _check_optimisation(self)
        _check_path_and_pairs(self)
        objective, network = objective_of(self), network_of(self)  # each raises for an unknown name
        object.__setattr__(self, "options", _objective_options(objective, self.options))
        objective.check(self)
        network.check(self)

    @classmethod
    def from_settings(cls, settings):
        """A recipe from one flat mapping of settings, as ``to_dict`` writes, the recipes hold and the command
        line gives: the objective's own options beside the shared fields.

        Examples
        --------
        >>> TrainConfig.from_settings({"dataset": "moons", "conditional": True}).options.conditional
        True
        """
        shared = {name: value for name, value in settings.items() if name in _SHARED}
        own = option_names(objective_named(shared.get("objective", _SHARED["objective"])))
        options = {name: value for name, value in settings.items() if name not in _SHARED
                   and (name in own or _LEGACY_DEFAULTS.get(name) != value)}  # unknown names are refused below
        return cls(**shared, options=options)

    @property
    def dim(self):
        """Dimension d of the data (for a data file, read from the file)."""
        return get_dataset(self.dataset).dim

    @property
    def source_distribution(self):
        """The source p_0 as a ``npflow.data.datasets.Dataset`` (N(0, I) for ``"gaussian"``); an objective's own
        source is drawn by it (``Objective.draw_source``) and has no known density."""
        objective = objective_of(self)
        if self.source in objective.sources:
            return Dataset(self.source, partial(objective.draw_source, self), dim=self.dim)
        return get_source(self.source, self.dim)

    @property
    def num_classes(self):
        """K, the number of classes the run learns (for a data file, read from the file); 0 for a run without
        labels."""
        return labelled_dataset(self.dataset).num_classes if objective_of(self).labelled(self) else 0

    @property
    def layer_sizes(self):
        """The widths of the network's flat list of (W, b), as its objective and network say: ``[1 + d, *hidden, d]``
        for the tutorial's."""
        return objective_of(self).sizes(self)

    def to_dict(self):
        """A JSON-ready flat dict: the shared fields (``hidden`` as a list) and the objective's options beside them."""
        return {**{name: getattr(self, name) for name in _SHARED}, "hidden": list(self.hidden), **asdict(self.options)}

    def __repr__(self):
        """The settings that differ from the defaults, as the call that makes this recipe, on one line.

        Examples
        --------
        >>> TrainConfig(dataset="gmm", steps=500, hidden=(64, 64), options={"conditional": True})
        TrainConfig(dataset='gmm', steps=500, hidden=(64, 64), options={'conditional': True})
        """
        shared = [f"{name}={getattr(self, name)!r}" for name, default in _SHARED.items()
                  if getattr(self, name) != default]
        options = {name: value for name, value in asdict(self.options).items()
                   if value != asdict(type(self.options)())[name]}
        return f"TrainConfig({', '.join(shared + ([f'options={options!r}'] if options else []))})"


#: The settings every run shares, with their defaults (the tutorial's): every field but the objective's options.
_SHARED = {field.name: field.default for field in fields(TrainConfig) if field.name != "options"}

#: Settings that older run files write for every objective, at these values, where the objective has no such
#: option (a MeanFlow run's ``conditional: false``): read and left out.
_LEGACY_DEFAULTS = {"conditional": False, "p_uncond": 0.2, "predict": "velocity"}


def _objective_options(objective, options):
    """An objective's options from None (every default), a dict (the rest default) or its own options type.

    Another objective's options at their defaults hold nothing to carry over, and count as None:
    so ``dataclasses.replace(config, objective="meanflow")`` works.
    """
    if isinstance(options, objective.options):
        return options
    if options is None or is_dataclass(options) and options == type(options)():
        options = {}
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict of objective {objective.name!r}'s settings, got {options!r}")
    unknown = [name for name in options if name not in option_names(objective)]
    if unknown:
        raise ValueError(f"objective {objective.name!r} has no setting {unknown[0]!r}; its own are: "
                         f"{', '.join(option_names(objective)) or 'none'}")
    return objective.options(**options)


def _check_data_names(config):
    """The dataset and the source: registry names, files (read when a run starts), or the objective's own source."""
    if not is_data_file(config.dataset):
        get_dataset(config.dataset)  # raises for an unknown name
    if config.source != "gaussian" and not is_data_file(config.source) and not _own_source(config):
        owners = [name for name, objective in OBJECTIVES.items() if config.source in objective.sources]
        if owners:  # another objective's own source, not a dataset
            raise ValueError(f"source {config.source!r} is a source of objective {' or '.join(map(repr, owners))} "
                             f"only; objective {config.objective!r} starts from 'gaussian', a dataset or a file")
        get_dataset(config.source)


def _own_source(config):
    """Whether the source is one of the objective's own (``Objective.sources``), not a distribution of points."""
    return config.source in objective_of(config).sources


def _check_positive_integer(config, name):
    value = getattr(config, name)
    if not (isinstance(value, (int, np.integer)) and value > 0):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_optimisation(config):
    """steps, batch_size, lr, hidden, activation, seed, grad, lr_schedule, ema and dtype."""
    _check_positive_integer(config, "steps")
    _check_positive_integer(config, "batch_size")
    if not (isinstance(config.lr, (int, float)) and math.isfinite(config.lr) and config.lr > 0):
        raise ValueError(f"lr must be a finite positive number, got {config.lr!r}")
    object.__setattr__(config, "hidden", tuple(config.hidden))
    if not config.hidden or not all(isinstance(w, (int, np.integer)) and w > 0 for w in config.hidden):
        raise ValueError(f"hidden must be one or more positive integer widths, got {config.hidden!r}")
    if config.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {config.activation!r}; expected one of: {', '.join(ACTIVATIONS)}")
    if not (isinstance(config.seed, (int, np.integer)) and config.seed >= 0):
        raise ValueError(f"seed must be a non-negative integer, got {config.seed!r}")
    if config.grad not in ("autograd", "backprop"):
        raise ValueError(f"grad must be 'autograd' or 'backprop', got {config.grad!r}")
    if config.lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {config.lr_schedule!r}")
    if not (isinstance(config.ema, (int, float)) and 0.0 <= config.ema < 1.0):
        raise ValueError(f"ema must be a decay in [0, 1), got {config.ema!r}")
    if config.dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {config.dtype!r}")


def _check_path_and_pairs(config):
    """sigma_min and the path, the coupling, its pairs file and its blur."""
    if not isinstance(config.sigma_min, (int, float)):
        raise ValueError(f"sigma_min must be a number, got {config.sigma_min!r}")
    make_path(config.path, config.sigma_min)  # raises for an unknown path, or unless 0 <= sigma_min < 1
    if config.coupling not in COUPLING_NAMES:
        raise ValueError(f"coupling must be one of {', '.join(COUPLING_NAMES)}, got {config.coupling!r}")
    if not isinstance(config.pairs_file, str):
        raise ValueError(f"pairs_file must be a file name, got {config.pairs_file!r}")
    if (config.coupling == "pairs") != bool(config.pairs_file):
        raise ValueError("coupling 'pairs' and a pairs_file go together: give both or neither")
    if not (isinstance(config.ot_reg, (int, float)) and math.isfinite(config.ot_reg) and config.ot_reg > 0):
        raise ValueError(f"ot_reg must be a finite positive number, got {config.ot_reg!r}")


def check_data_files(config):
    """Read the data files a recipe names and check them; return the recipe.

    The dataset and the source, when they are files, must be readable arrays of shape (n, d)
    (``npflow.data.datasets.get_dataset`` says what else; a run with classes needs points with labels),
    the source of the data's dimension d; a pairs file must be a table of pairs
    (``npflow.data.pairs.load_pairs``) of dimension d too. A recipe of registry names and no
    pairs reads nothing.

    Parameters
    ----------
    config : TrainConfig

    Returns
    -------
    TrainConfig
        ``config`` itself.

    Raises
    ------
    ValueError
        One line naming the file and what is wrong with it.
    """
    dim = (labelled_dataset if objective_of(config).labelled(config) else get_dataset)(config.dataset).dim  # reads and checks a file
    if not _own_source(config):
        get_source(config.source, dim)  # reads and checks a source file, and its dimension
    if config.pairs_file:
        pairs_dim = load_pairs(config.pairs_file)[0].shape[1]
        if pairs_dim != dim:
            raise ValueError(f"the pairs in {config.pairs_file!r} have dimension {pairs_dim}, "
                             f"but the data has dimension {dim}")
    return config


def recipe(name, **changes):
    """The registered recipe ``name`` (``npflow.models.RECIPES``) as a ``TrainConfig``, with ``changes`` on top.

    Examples
    --------
    >>> recipe("fast", steps=10).lr_schedule
    'cosine'
    """
    if name not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {name!r}")
    return TrainConfig.from_settings({**RECIPES[name], **changes})

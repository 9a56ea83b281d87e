"""What a training run is: its recipe (``TrainConfig``) and its state (``Run``).

The recipe is fixed when a run starts. The state is everything training changes: the
parameters, Adam's moments, the random generator and the losses. Saving the state and
loading it back (``npflow.plumbing.io``) lets training stop at any step and continue to the same bits.

A recipe is a value: making one checks its names, types and ranges and reads no file. The
data files it names (a dataset, a source, a table of pairs) are read and checked where a run
starts, by ``check_data_files`` (``start_run`` calls it).
"""
import math
from dataclasses import asdict, dataclass, replace
from typing import Optional

import numpy as np

from .couplings import COUPLING_NAMES, OT_REG, load_pairs
from .data import get_dataset, get_source, is_data_file, labelled_dataset
from .mlp import ACTIVATIONS, init_mlp, layer_sizes
from .optim import Adam
from .paths import make_path
from .plumbing.in_place import in_place_velocity
from .sampling import generate
from .stochastic import SAMPLERS
from .views import MARGIN, PREDICTIONS, velocity_from_prediction

__all__ = ["TrainConfig", "OBJECTIVES", "RECIPES", "RECIPE_ALIASES", "Run", "learned_field",
           "check_data_files", "check_gaussian_noise", "start_run"]

#: What a run's network learns: the velocity, by flow matching, or MeanFlow's average velocity.
OBJECTIVES = ("cfm", "meanflow")


def _meanflow():
    """``npflow.meanflow``, imported where it is used: it imports ``npflow.train``, which imports this module."""
    from . import meanflow

    return meanflow


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. The defaults are the tutorial's.

    Making one checks every field's name, type and range, and reads no file: a dataset,
    source or pairs file is checked by ``check_data_files`` when a run starts.

    Attributes
    ----------
    dataset : str
        The target p_1: a key of ``npflow.data.DATASETS``, a ``.npy``/``.csv`` file of shape (n, d), or an
        ``.npz`` file of points ``x`` (n, d) and labels ``y`` (n,).
    steps : int
        Number of Adam steps.
    batch_size : int
    lr : float
        Adam's learning rate.
    hidden : tuple of int
        Hidden layer widths.
    activation : str
        A key of ``npflow.mlp.ACTIVATIONS``.
    sigma_min : float
        Width of the conditional path, in [0, 1): at t = 1 for the linear path, all along it for icfm.
    seed : int
        Seed of the one ``numpy.random.Generator`` behind every draw.
    grad : str
        How the gradient is computed: ``"autograd"`` (``autograd.value_and_grad``) or
        ``"backprop"`` (the chain rule by hand, ``npflow.backprop``; the same numbers to
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
        from its plan) or ``"pairs"`` (whole pairs from ``pairs_file``), see ``npflow.couplings``.
    path : str
        The conditional path: ``"linear"`` (the tutorial's, with sigma_min), ``"icfm"`` (the
        straight line blurred by a constant sigma_min) or ``"vp"`` (the variance-preserving
        cosine schedule; sigma_min does not apply), see ``npflow.paths``.
    source : str
        Where the flow starts at t = 0: ``"gaussian"``, N(0, I) (the tutorial's), or a dataset name
        or file of the same dimension as ``dataset`` (data-to-data transport).
    pairs_file : str
        With ``coupling="pairs"``: an ``.npz`` file of pairs ``x_0``, ``x_1`` (``npflow.reflow``
        writes one). Empty otherwise.
    ot_reg : float
        With ``coupling="sinkhorn"``: the blur eps of entropic OT, relative to the batch's mean
        squared distance (0 would be exact OT, large values the independent coupling).
    conditional : bool
        Learn the conditional field v_theta(t, x, y) of a dataset with labels, and with it the
        unconditional one (``npflow.guidance``): the label enters the network as a one-hot. Not
        with ``coupling="pairs"``, whose table has no labels; ``coupling="ot"`` pairs within each label.
    p_uncond : float
        For a conditional run: the probability, in [0, 1], that a training label is replaced
        by "no label" (label dropout), which teaches the unconditional field that guidance needs.
    objective : str
        What the network learns: ``"cfm"``, the velocity v_theta(t, x) by flow matching (the
        tutorial's), or ``"meanflow"``, the average velocity u_theta(x, s, e) over an interval
        [s, e], on the input [s, e - s, x], which samples in a few jumps, even one (``npflow.meanflow``).
        MeanFlow goes with every path, coupling and source: its identity holds for the flow of
        any field, and its target, affine in the conditional velocity, has the marginal one's mean.
    predict : str
        What the network learns (``npflow.views``): ``"velocity"`` (flow matching, the
        tutorial's), ``"noise"`` x0_hat (DDPM's epsilon) or ``"data"`` x1_hat. ``Run.velocity``
        turns a prediction into the velocity, which needs x_0 ~ N(0, I) and a path without a blur.
    network : str
        The field's network: ``"mlp"`` (the tutorial's, layers of ``hidden`` widths on [t, x]) or
        ``"resnet"`` (``npflow.resnet``: time features, then one residual block of width w per entry of
        ``hidden``, all of one width, with SiLU; ``activation`` must be ``"silu"``), for images.
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
    conditional: bool = False
    p_uncond: float = 0.2
    objective: str = "cfm"
    predict: str = "velocity"
    network: str = "mlp"

    def __post_init__(self):
        if not is_data_file(self.dataset):
            get_dataset(self.dataset)  # raises for an unknown name; a file is read when a run starts
        for name in ("steps", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value > 0):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite positive number, got {self.lr!r}")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if not self.hidden or not all(isinstance(w, (int, np.integer)) and w > 0 for w in self.hidden):
            raise ValueError(f"hidden must be one or more positive integer widths, got {self.hidden!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; expected one of: {', '.join(ACTIVATIONS)}")
        if not isinstance(self.sigma_min, (int, float)):
            raise ValueError(f"sigma_min must be a number, got {self.sigma_min!r}")
        make_path(self.path, self.sigma_min)  # raises for an unknown path, or unless 0 <= sigma_min < 1
        if not (isinstance(self.seed, (int, np.integer)) and self.seed >= 0):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.grad not in ("autograd", "backprop"):
            raise ValueError(f"grad must be 'autograd' or 'backprop', got {self.grad!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not (isinstance(self.ema, (int, float)) and 0.0 <= self.ema < 1.0):
            raise ValueError(f"ema must be a decay in [0, 1), got {self.ema!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        if self.source != "gaussian" and not is_data_file(self.source):
            get_dataset(self.source)  # raises for an unknown name; a file is read when a run starts
        if self.coupling not in COUPLING_NAMES:
            raise ValueError(f"coupling must be one of {', '.join(COUPLING_NAMES)}, got {self.coupling!r}")
        if not isinstance(self.pairs_file, str):
            raise ValueError(f"pairs_file must be a file name, got {self.pairs_file!r}")
        if (self.coupling == "pairs") != bool(self.pairs_file):
            raise ValueError("coupling 'pairs' and a pairs_file go together: give both or neither")
        if not (isinstance(self.ot_reg, (int, float)) and math.isfinite(self.ot_reg) and self.ot_reg > 0):
            raise ValueError(f"ot_reg must be a finite positive number, got {self.ot_reg!r}")
        _check_conditional(self)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.objective == "meanflow" and self.conditional:
            raise ValueError("objective 'meanflow' learns an unconditional average velocity: it does not take "
                             "conditional (labels and guidance)")
        if self.predict not in PREDICTIONS:
            raise ValueError(f"predict must be one of {', '.join(PREDICTIONS)}, got {self.predict!r}")
        if self.predict != "velocity":
            check_gaussian_noise(self, f"predict {self.predict!r}")
        if self.predict != "velocity" and (self.conditional or self.objective == "meanflow"):
            raise ValueError(f"predict {self.predict!r} goes with an unconditional flow-matching run, not with "
                             f"{'conditional' if self.conditional else 'objective meanflow'}")
        _check_network(self)

    @property
    def dim(self):
        """Dimension d of the data (for a data file, read from the file)."""
        return get_dataset(self.dataset).dim

    @property
    def source_distribution(self):
        """The source p_0 as a ``npflow.data.Dataset`` (N(0, I) for ``"gaussian"``)."""
        return get_source(self.source, self.dim)

    @property
    def num_classes(self):
        """K, the number of classes a conditional run's labels take (for a data file, read from the file); 0 for
        an unconditional run."""
        return get_dataset(self.dataset).num_classes if self.conditional else 0

    @property
    def layer_sizes(self):
        """``[1 + d, *hidden, d]``; a conditional run's input has K + 1 more, the label's one-hot; for MeanFlow
        ``[2 + d, *hidden, d]``, the input being [s, e - s, x]."""
        if self.objective == "meanflow":
            return _meanflow().meanflow_sizes(self.dim, self.hidden)
        if self.network == "resnet":
            return _resnet_run().resnet_sizes(self.dim, self.hidden, self.num_classes + 1 if self.conditional else 0)
        if not self.conditional:
            return layer_sizes(self.dim, self.hidden)
        from .guidance import conditional_sizes  # imported here: guidance needs train, which needs this module

        return conditional_sizes(self.dim, self.hidden, self.num_classes)

    def to_dict(self):
        """A JSON-ready dict (``hidden`` as a list)."""
        return {**asdict(self), "hidden": list(self.hidden)}


def _resnet_run():
    """``npflow.resnet_run``, imported where it is used: it imports ``npflow.guidance``, which imports this module."""
    from . import resnet_run

    return resnet_run


def _check_network(config):
    """The checks of ``network``: a name; for the residual network, SiLU, blocks of one width, and a flow."""
    if config.network not in ("mlp", "resnet"):
        raise ValueError(f"network must be 'mlp' or 'resnet', got {config.network!r}")
    if config.network == "mlp":
        return
    if config.activation != "silu":
        raise ValueError(f"network 'resnet' uses SiLU: set activation 'silu', got {config.activation!r}")
    if len(set(config.hidden)) != 1:
        raise ValueError(f"network 'resnet' takes blocks of one width (hidden = (w, w, ...), one w per block), "
                         f"got hidden {config.hidden!r}")
    if config.objective != "cfm":
        raise ValueError(f"network 'resnet' learns a velocity by flow matching (objective 'cfm'), got objective "
                         f"{config.objective!r}")


def _check_conditional(config):
    """The checks of ``conditional`` and ``p_uncond``; a dataset file's labels are checked when a run starts."""
    if not isinstance(config.conditional, (bool, np.bool_)):
        raise ValueError(f"conditional must be True or False, got {config.conditional!r}")
    if not (isinstance(config.p_uncond, (int, float)) and 0.0 <= config.p_uncond <= 1.0):
        raise ValueError(f"p_uncond must be a probability in [0, 1], got {config.p_uncond!r}")
    if not config.conditional and config.p_uncond != TrainConfig.p_uncond:  # the class attribute is the default
        raise ValueError("p_uncond is the label dropout of a conditional run: set conditional too (--conditional)")
    if config.conditional and config.coupling == "pairs":
        raise ValueError("coupling 'pairs' draws from a table of pairs without labels, so it cannot train a "
                         "conditional run")
    if config.conditional and not is_data_file(config.dataset):
        labelled_dataset(config.dataset)  # raises for a dataset without labels


@dataclass
class Run:
    """The state of a training run: what ``train`` returns, ``npflow.load_run`` reads back,
    and ``train(..., resume=run)`` continues from.

    Attributes
    ----------
    params : list of (W, b)
        The field's parameters.
    config : TrainConfig
        The recipe; ``config.steps`` is the number of steps the run is meant to reach.
    losses : ndarray, shape (step,)
        The loss of every step taken so far.
    field_errors : ndarray, shape (m, 2)
        Rows (step, field error against the exact field), if they were logged; else empty.
    optimizer : Adam or None
        Adam with its moments, to continue from. None for a run that cannot be resumed.
    rng : numpy.random.Generator or None
        The generator in the state it has after the last step, to continue the same draws.
    ema : list of (W, b) or None
        The moving average of the weights, when ``config.ema > 0``.
    """

    params: list
    config: TrainConfig
    losses: np.ndarray
    field_errors: np.ndarray = None
    optimizer: Optional[Adam] = None
    rng: Optional[np.random.Generator] = None
    ema: Optional[list] = None

    def __post_init__(self):
        if self.field_errors is None:
            self.field_errors = np.empty((0, 2))

    @property
    def step(self):
        """Number of training steps taken."""
        return len(self.losses)

    @property
    def dim(self):
        """Dimension d of the data: the width of the field's output layer (so no data file is read)."""
        W_last, _ = self.params[-1]  # (fan_in, d)
        return W_last.shape[1]

    @property
    def field_params(self):
        """The weights the run samples and scores with: the moving average if there is one."""
        return self.params if self.ema is None else self.ema

    def astype(self, dtype):
        """The same run with its weights cast to ``dtype``, e.g. float32 to sample twice as fast.

        Training state is kept as it is; use the cast run for sampling and scoring only.
        """
        def cast(params):
            return None if params is None else [(W.astype(dtype), b.astype(dtype)) for W, b in params]

        return replace(self, params=cast(self.params), ema=cast(self.ema))

    @property
    def path(self):
        """The run's conditional path, an ``AffinePath``."""
        return make_path(self.config.path, self.config.sigma_min)

    def prediction(self, t, x):
        """What the network outputs at (t, x): v, x0_hat or x1_hat as ``config.predict`` says; shape (n, d).

        For a conditional run, at no label; for a MeanFlow run, u_theta(x, t, t).
        """
        self._check_points(x)
        return learned_field(self.config, self.field_params)(t, x)

    def velocity(self, t, x):
        """The learned field v_theta(t, x): t a float or shape (n,), x of shape (n, d); returns (n, d).

        For a conditional run, its unconditional field v_theta(t, x, no label); ``guided_velocity`` gives the
        others. For a MeanFlow run, the average velocity over no time, u_theta(x, t, t) = v(x, t). A
        network that predicts the noise or the data is turned into the velocity by
        ``npflow.views.velocity_from_prediction``, holding the other view within ``MARGIN`` of the
        end where the conversion is singular (see ``npflow.views``).
        """
        if self.config.predict == "velocity":
            return self.prediction(t, x)
        return velocity_from_prediction(self.prediction, self.path, self.config.predict, MARGIN)(t, x)

    def guided_velocity(self, label, guidance=0.0):
        """A conditional run's guided field ``v_w(t, x, y) = (1 + w) v(t, x, y) - w v(t, x, no label)``.

        Parameters
        ----------
        label : int or ndarray of int, shape (n,)
            The class y asked for, one for every point or one per point (``npflow.guidance.NO_LABEL`` for none).
        guidance : float
            w: 0 the conditional field, -1 the unconditional one, > 0 sharper.

        Returns
        -------
        f : callable
            ``f(t, x) -> (n, d)``, for any solver or sampler.
        """
        from .guidance import learned_guided_velocity  # imported here: guidance needs train, which needs this module

        if not self.config.conditional:
            raise ValueError("this run was trained without labels (train it with conditional=True to ask for a class)")
        if self.config.network == "resnet":
            return _resnet_run().resnet_guided_velocity(self.field_params, label, guidance)
        return learned_guided_velocity(self.field_params, self.config.activation, label, guidance)

    def average_velocity(self, x, s, e):
        """A MeanFlow run's u_theta(x, s, e): x of shape (n, d), s and e floats or shape (n,); returns (n, d)."""
        if self.config.objective != "meanflow":
            raise ValueError(f"only a MeanFlow run has an average velocity; this run's objective is "
                             f"{self.config.objective!r}")
        self._check_points(x)
        return _meanflow().average_velocity(self.field_params, x, s, e, self.config.activation)

    def sample(self, x_0, solver=None, steps=100, rtol=1e-5, atol=1e-5, level=1.0, rng=None):
        """Carry x_0 from t = 0 to t = 1 as the run samples: by its ODE, by a stochastic sampler, or by
        MeanFlow's jumps.

        A flow run integrates its field (``npflow.generate``; ``solver`` None is rk4), or, with a
        solver of ``npflow.stochastic.SAMPLERS`` (euler-maruyama, ddpm), runs that sampler with its
        ``level`` (diffusion or eta) and ``rng`` for its noise; a MeanFlow run takes ``steps`` jumps
        of its average velocity (``npflow.meanflow.sample_by_jumps``, ``solver`` None or
        ``"meanflow"``). ``npflow sample``, ``evaluate`` and ``plot`` sample so.

        Parameters
        ----------
        x_0 : ndarray, shape (n, d)
        solver : str or None
        steps, rtol, atol
            As for ``npflow.integrate``; a MeanFlow run uses ``steps`` only.
        level : float
            A stochastic sampler's diffusion or eta.
        rng : numpy.random.Generator, optional
            A stochastic sampler's noise.

        Returns
        -------
        Trajectory
        """
        if self.config.objective == "meanflow":
            return _meanflow().sample_by_jumps(self.average_velocity, x_0, solver, steps)
        if solver == "meanflow":
            raise ValueError("solver 'meanflow' takes the jumps of a MeanFlow run (objective 'meanflow'); "
                             "this run learned a velocity: name an ODE solver such as rk4")
        if solver in SAMPLERS:
            return SAMPLERS[solver](self.velocity, x_0, self.path, steps, level, rng=rng)
        return generate(self.velocity, x_0, solver or "rk4", steps=steps, rtol=rtol, atol=atol)

    def _check_points(self, x):
        if np.ndim(x) != 2 or np.shape(x)[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {np.shape(x)}")


def learned_field(config, params):
    """The field ``f(t, x)`` of a run of ``config`` with weights ``params``: v_theta(t, x); for a conditional
    run its unconditional field v_theta(t, x, no label); for a MeanFlow run u_theta(x, t, t)."""
    if config.objective == "meanflow":
        return lambda t, x: _meanflow().instantaneous_velocity(params, t, x, config.activation)
    if config.network == "resnet":
        return _resnet_run().resnet_velocity(params)
    if not config.conditional:  # velocity(params, t, x, activation), with two arrays a layer fewer
        return in_place_velocity(params, config.activation)
    from .guidance import learned_guided_velocity  # imported here: guidance needs train, which needs this module

    return learned_guided_velocity(params, config.activation)


def check_data_files(config):
    """Read the data files a recipe names and check them; return the recipe.

    The dataset and the source, when they are files, must be readable arrays of shape (n, d)
    (``npflow.data.get_dataset`` says what else; a conditional run's dataset, points with labels),
    the source of the data's dimension d; a
    pairs file must be a table of pairs (``npflow.couplings.load_pairs``) of dimension d too.
    A recipe of registry names and no pairs reads nothing.

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
    dim = (labelled_dataset if config.conditional else get_dataset)(config.dataset).dim  # reads and checks a file
    get_source(config.source, dim)  # reads and checks a source file, and its dimension
    if config.pairs_file:
        pairs_dim = load_pairs(config.pairs_file)[0].shape[1]
        if pairs_dim != dim:
            raise ValueError(f"the pairs in {config.pairs_file!r} have dimension {pairs_dim}, "
                             f"but the data has dimension {dim}")
    return config


def check_gaussian_noise(config, needed_by, independent=False):
    """Refuse a recipe whose x_t is not ``alpha_t x_1 + sigma_t x_0`` with x_0 ~ N(0, I) (and, if
    ``independent``, x_0 independent of x_1): the form the views of ``npflow.views`` are derived for.

    Turning a noise or data prediction into a velocity needs the form; the score, and so the
    SDE and the ancestral step, also need the independence (Tweedie's formula).

    Raises
    ------
    ValueError
        One line: what ``needed_by`` needs, and what the recipe has instead.
    """
    problems = [f"source {config.source!r}" if config.source != "gaussian" else "",
                f"path {config.path!r} with a blur (sigma_min {config.sigma_min:g})"
                if make_path(config.path, config.sigma_min).blur else "",
                f"coupling {config.coupling!r}" if independent and config.coupling != "independent" else ""]
    problems = [problem for problem in problems if problem]
    if problems:
        wanted = "x_0 ~ N(0, I)" + (" paired independently with x_1" if independent else "")
        raise ValueError(f"{needed_by} needs x_t = alpha_t x_1 + sigma_t x_0 with {wanted} (source gaussian, "
                         f"no blur{', coupling independent' if independent else ''}); this recipe has "
                         + " and ".join(problems))


def start_run(config):
    """A run at step 0: parameters drawn from ``default_rng(config.seed)``, a fresh Adam, no losses.

    The recipe's data files are read and checked first (``check_data_files``).
    """
    check_data_files(config)
    rng = np.random.default_rng(config.seed)
    if config.network == "resnet":
        labels = config.num_classes + 1 if config.conditional else 0
        initial = _resnet_run().init_resnet_run(config.dim, config.hidden, rng, labels)
    else:
        initial = init_mlp(config.layer_sizes, rng)
    params = [(W.astype(config.dtype), b.astype(config.dtype)) for W, b in initial]
    ema = [(W.copy(), b.copy()) for W, b in params] if config.ema else None  # the average starts at theta_0
    return Run(params=params, config=config, losses=np.empty(0), optimizer=Adam(lr=config.lr), rng=rng, ema=ema)


#: Named recipes: the settings each changes from ``TrainConfig``'s defaults (the tutorial's).
#: ``fast`` is measured in the README: better KL than the tutorial's recipe in less wall time.
RECIPES = {
    "tutorial": {},
    "fast": {"grad": "backprop", "dtype": "float32", "lr_schedule": "cosine", "ema": 0.999, "lr": 4e-3,
             "batch_size": 256, "steps": 6000},
    # ``network`` resnet, two blocks of 256: with this recipe a measurement (issue 17) cleared every bar of the digits
    "digits": {"dataset": "digits", "network": "resnet", "hidden": (256, 256), "activation": "silu", "grad": "backprop",
               "dtype": "float32", "lr_schedule": "cosine", "ema": 0.999, "lr": 3e-3, "batch_size": 256},
}

#: Old names of recipes, each also a key of ``RECIPES`` so that commands and scripts written
#: with it keep working: the tutorial's recipe was first called ``seed``.
RECIPE_ALIASES = {"seed": "tutorial"}
RECIPES.update({old: RECIPES[new] for old, new in RECIPE_ALIASES.items()})

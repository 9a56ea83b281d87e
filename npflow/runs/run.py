"""What a training run is: its state, ``Run``, beside its recipe (``npflow.runs.config.TrainConfig``).

The recipe is fixed when a run starts. The state is everything training changes: the
parameters, Adam's moments, the random generator and the losses. Saving the state and
loading it back (``npflow.plumbing.io``) lets training stop at any step and continue to the
same bits. What the weights mean (the field they give, how the run samples) is its
objective's to say (``npflow.models``): a run asks it and never looks at its name.
"""
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from ..core.optim import Adam
from ..core.paths import make_path
from ..core.sampling import generate
from ..diffusion.stochastic import SAMPLERS
from ..meanflow.jumps import JUMPS
from ..models import objective_of
from .config import TrainConfig, check_data_files

__all__ = ["Run", "start_run"]


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
        """Dimension d of the data: the width of the field's output layer (so no data file is read), or what the
        objective says where a sample is not the network's output (``Objective.dim``)."""
        objective = objective_of(self.config)
        if objective.dim is not None:
            return objective.dim(self.config, self.params)
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

    @property
    def objective(self):
        """The registered objective the run learns (``npflow.models.OBJECTIVES``)."""
        return objective_of(self.config)

    def prediction(self, t, x):
        """What the network outputs at (t, x): v, x0_hat or x1_hat as its objective says; shape (n, d).

        For a conditional run, at no label; for a MeanFlow run, u_theta(t, t, x).
        """
        self._check_points(x)
        return self.objective.output(self.config, self.field_params)(t, x)

    def velocity(self, t, x):
        """The learned field v_theta(t, x): t a float or shape (n,), x of shape (n, d); returns (n, d).

        For a conditional run, its unconditional field v_theta(t, x, no label); ``guided_velocity`` gives the
        others. For a MeanFlow run, the average velocity over no time, u_theta(t, t, x) = v(t, x). A
        network that predicts the noise or the data is turned into the velocity by
        ``npflow.core.views.velocity_from_prediction`` (see ``npflow.models.cfm``).
        """
        self._check_points(x)
        return self.objective.velocity(self.config, self.field_params)(t, x)

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
        if self.objective.guided is None:
            raise ValueError(f"objective {self.config.objective!r} learns no classes to guide towards")
        return self.objective.guided(self.config, self.field_params, label, guidance)

    def average_velocity(self, s, t, x):
        """A MeanFlow run's u_theta(s, t, x): s <= t floats or shape (n,), x of shape (n, d); returns (n, d)."""
        if self.objective.average is None:
            raise ValueError(f"only a MeanFlow run has an average velocity; this run's objective is "
                             f"{self.config.objective!r}")
        self._check_points(x)
        return self.objective.average(self.config, self.field_params)(s, t, x)

    def sample(self, x_0, solver=None, steps=100, rtol=1e-5, atol=1e-5, level=1.0, rng=None):
        """Carry x_0 from t = 0 to t = 1 as the run samples: by its ODE, by a stochastic sampler, or by
        its objective's own sampler (MeanFlow's jumps, or another objective's ``sample``).

        A flow run integrates its field (``npflow.generate``; ``solver`` None is rk4), or, with a
        solver of ``npflow.diffusion.stochastic.SAMPLERS`` (euler-maruyama, ddpm), runs that sampler
        with its ``level`` (diffusion or eta) and ``rng`` for its noise; a MeanFlow run takes
        ``steps`` jumps of its average velocity (``solver`` None or ``"meanflow"``).
        ``npflow sample``, ``evaluate`` and ``plot`` sample so.

        Parameters
        ----------
        x_0 : ndarray, shape (n, d)
        solver : str or None
        steps, rtol, atol
            As for ``npflow.integrate``; a MeanFlow run uses ``steps`` only.
        level : float
            A stochastic sampler's diffusion or eta.
        rng : numpy.random.Generator, optional
            A stochastic sampler's noise, or the draws of an objective's own sampler.

        Returns
        -------
        Trajectory
        """
        objective = objective_of(self.config)  # not self.objective: a stand-in for a run need only have a config
        if objective.sample is not None:
            return objective.sample(self, x_0, solver, steps, rng)
        if solver == JUMPS:
            raise ValueError("solver 'meanflow' takes the jumps of a MeanFlow run (objective 'meanflow'); "
                             "this run learned a velocity: name an ODE solver such as rk4")
        if solver in SAMPLERS:
            return SAMPLERS[solver](self.velocity, x_0, self.path, steps, level, rng=rng)
        return generate(self.velocity, x_0, solver or "rk4", steps=steps, rtol=rtol, atol=atol)

    def __repr__(self):
        """One line: the recipe, the steps taken and the last loss."""
        last = f", loss {self.losses[-1]:.4f}" if self.step else ""
        return f"Run({self.config!r}, step {self.step}/{self.config.steps}{last})"

    def _check_points(self, x):
        if np.ndim(x) != 2 or np.shape(x)[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {np.shape(x)}")


def start_run(config):
    """A run at step 0: parameters drawn from ``default_rng(config.seed)``, a fresh Adam, no losses.

    The recipe's data files are read and checked first (``check_data_files``).
    """
    check_data_files(config)
    rng = np.random.default_rng(config.seed)
    params = [(W.astype(config.dtype), b.astype(config.dtype)) for W, b in objective_of(config).init(config, rng)]
    ema = [(W.copy(), b.copy()) for W, b in params] if config.ema else None  # the average starts at theta_0
    return Run(params=params, config=config, losses=np.empty(0), optimizer=Adam(lr=config.lr), rng=rng, ema=ema)

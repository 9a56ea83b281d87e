"""npflow: flow matching in NumPy, written to be read.

Data flows one way through the package, one module per idea::

    data -> paths (x_t, u_t) -> train (CFM loss, autograd, optim.Adam) -> params
         -> mlp.velocity v(t, x) -> solvers (RK4 / solve_ivp) -> samples -> metrics, plot

and back: likelihood (the reverse ODE) scores data, and oracle gives the exact field of a
Gaussian-mixture target to measure everything against.

Time convention everywhere: t = 0 is noise (or the source), t = 1 is data.

Layout: the modules of ``npflow`` itself are the method, what a student reads with the paper
beside them. ``npflow.plumbing`` holds the rest (the command line, run files, checks, figures,
memory settings, the PyTorch bridge), which a student can skip.
"""
from .version import __version__

from .core.gmm import GaussianMixture
from .core.likelihood import log_likelihood
from .core.metrics import field_error
from .core.mlp import init_mlp, mlp, velocity
from .core.optim import SGD, Adam
from .core.oracle import exact_velocity
from .core.paths import ICFMPath, LinearPath, VPPath
from .core.sampling import decode, encode, generate, noise, tutorial_generate
from .core.solvers import Trajectory, integrate, iterate
from .core.training import TrainingDiverged, cfm_loss, training_step
from .core.views import score_from_velocity, velocity_from_prediction, velocity_from_score
from .data.datasets import DATASETS, get_dataset, two_gaussians
from .diffusion.stochastic import ddpm_generate, sde_generate
from .guidance.conditional import conditional_velocity, guided_velocity
from .guidance.exact import exact_conditional_velocity, exact_guided_velocity
from .guidance.labels import NO_LABEL, drop_labels
from .meanflow.average import average_velocity, meanflow_sizes
from .meanflow.exact import exact_average_velocity
from .meanflow.jumps import meanflow_sample
from .meanflow.loss import meanflow_loss
from .plumbing.io import RunError, load_run, save_pairs, save_run
from .runs.config import TrainConfig
from .runs.loop import TrainingInterrupted, train
from .runs.reflow import reflow_config, reflow_pairs
from .runs.run import Run, start_run

__all__ = [
    "__version__",
    "DATASETS", "get_dataset", "two_gaussians", "GaussianMixture",
    "NO_LABEL", "conditional_velocity", "drop_labels", "exact_conditional_velocity", "exact_guided_velocity",
    "guided_velocity",
    "RunError", "load_run", "save_run", "save_pairs",
    "log_likelihood", "field_error", "init_mlp", "mlp", "velocity", "SGD", "Adam", "exact_velocity",
    "LinearPath", "VPPath", "ICFMPath", "reflow_pairs", "reflow_config",
    "average_velocity", "exact_average_velocity", "meanflow_loss", "meanflow_sample", "meanflow_sizes",
    "decode", "encode", "generate", "noise", "tutorial_generate", "Trajectory", "integrate", "iterate",
    "Run", "TrainConfig", "start_run", "TrainingDiverged", "TrainingInterrupted", "cfm_loss", "train", "training_step",
    "score_from_velocity", "velocity_from_score", "velocity_from_prediction", "sde_generate", "ddpm_generate",
]

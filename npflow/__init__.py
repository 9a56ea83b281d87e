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
__version__ = "0.1.0"

from .data import DATASETS, get_dataset, two_gaussians
from .gmm import GaussianMixture
from .guidance import (NO_LABEL, conditional_velocity, drop_labels, exact_conditional_velocity, exact_guided_velocity,
                       guided_velocity)
from .plumbing.io import RunError, load_run, save_pairs, save_run
from .likelihood import log_likelihood
from .meanflow import average_velocity, exact_average_velocity, meanflow_loss, meanflow_sample, meanflow_sizes
from .metrics import field_error
from .mlp import init_mlp, mlp, velocity
from .optim import SGD, Adam
from .oracle import exact_velocity
from .paths import ICFMPath, LinearPath, VPPath
from .reflow import reflow_config, reflow_pairs
from .run import Run, TrainConfig, start_run
from .sampling import decode, encode, generate, noise, tutorial_generate
from .solvers import Trajectory, integrate, iterate
from .stochastic import ddpm_generate, sde_generate
from .train import TrainingDiverged, TrainingInterrupted, cfm_loss, train, training_step
from .views import score_from_velocity, velocity_from_prediction, velocity_from_score

__all__ = [
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

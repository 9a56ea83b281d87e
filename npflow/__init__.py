"""npflow: flow matching in NumPy, written to be read.

Data flows one way through the package, one module per idea::

    data -> paths (x_t, u_t) -> train (CFM loss, autograd, optim.Adam) -> params
         -> mlp.velocity v(t, x) -> solvers (RK4 / solve_ivp) -> samples -> metrics, plot

Time convention everywhere: t = 0 is noise, t = 1 is data.
"""
__version__ = "0.1.0"

from .data import DATASETS, get_dataset, two_gaussians
from .io import RunError, load_run, save_run
from .mlp import init_mlp, mlp, velocity
from .optim import SGD, Adam
from .paths import LinearPath
from .sampling import generate, noise, tutorial_generate
from .solvers import Trajectory, integrate, iterate
from .train import Run, TrainConfig, cfm_loss, train, training_step

__all__ = [
    "DATASETS", "get_dataset", "two_gaussians", "Run", "RunError", "load_run", "save_run",
    "init_mlp", "mlp", "velocity", "SGD", "Adam", "LinearPath", "generate", "noise", "tutorial_generate",
    "Trajectory", "integrate", "iterate", "TrainConfig", "cfm_loss", "train", "training_step",
]

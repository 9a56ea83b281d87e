"""How far a run's field is from the exact one while it trains: the field error, where the exact field is known."""
import numpy as np

from ..core.metrics import field_error
from ..core.oracle import exact_velocity, points_on_path
from ..core.paths import LinearPath
from ..data.datasets import get_dataset
from ..models.registry import objective_of

__all__ = ["exact_mixture", "field_error_probe"]


def exact_mixture(config, required=True):
    """The Gaussian mixture behind ``config.dataset`` when the run's exact field is known, for the field error.

    ``exact_velocity`` derives it for a Gaussian-mixture target, the linear path, the source
    N(0, I) and the independent coupling; other recipes learn other fields. The field error
    compares velocities, so it is measured for a network that predicts the velocity only.

    Parameters
    ----------
    config : TrainConfig
    required : bool
        What to do when the field is not known: raise (True) or return None (False).

    Returns
    -------
    GaussianMixture or None

    Raises
    ------
    ValueError
        Saying why the exact field is not the run's, if ``required``.
    """
    mixture = get_dataset(config.dataset).mixture
    if mixture is None:
        reason = f"the field error needs a dataset with a known exact field; {config.dataset!r} has none"
    elif (config.path, config.source, config.coupling) != ("linear", "gaussian", "independent"):
        reason = (f"the exact field is derived for the linear path from N(0, I) with independent pairs, not for "
                  f"path {config.path!r} from source {config.source!r} with coupling {config.coupling!r}")
    elif objective_of(config).predict(config) != "velocity":
        reason = (f"the field error compares velocities with the exact field's, and this run's network predicts "
                  f"the {objective_of(config).predict(config)}")
    else:
        return mixture
    if required:
        raise ValueError(reason)
    return None


def field_error_probe(config, every, n=2000):
    """``probe(step, field_params)``: the field error every ``every`` steps and at the last, else None.

    The error (``npflow.core.metrics.field_error``) is the mean squared gap between the field of
    ``field_params`` and the exact one, on n fixed path points drawn from their own generator,
    ``default_rng([seed, 1])``, so logging changes no training bit. With ``every`` 0 it never
    measures, and the recipe may be any; otherwise it must have an exact field (``exact_mixture``).
    """
    if not every:
        return lambda step, field_params: None
    mixture = exact_mixture(config)
    t, x_t = points_on_path(mixture.sample, LinearPath(config.sigma_min), n, np.random.default_rng([config.seed, 1]))
    f_exact = exact_velocity(mixture, config.sigma_min)

    def probe(step, field_params):
        if (step + 1) % every and step + 1 != config.steps:
            return None
        return field_error(objective_of(config).output(config, field_params), f_exact, t, x_t)

    return probe

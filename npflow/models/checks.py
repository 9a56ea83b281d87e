"""The checks an objective makes of a recipe's path, source and coupling."""
from ..core.paths import make_path

__all__ = ["check_gaussian_noise"]


def check_gaussian_noise(config, needed_by, independent=False):
    """Refuse a recipe whose x_t is not ``alpha_t x_1 + sigma_t x_0`` with x_0 ~ N(0, I) (and, if
    ``independent``, x_0 independent of x_1): the form the views of ``npflow.core.views`` are derived for.

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

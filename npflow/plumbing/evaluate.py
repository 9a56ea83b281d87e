"""How good is a trained run? Likelihood, KL, field error and sample distance in one place.

``evaluate(run, ...)`` measures, against fresh target samples x ~ p_data (for a dataset read
from a file: rows of the file, drawn with replacement):

- **NLL**: ``-mean log p_model(x)``, in nats, by the reverse ODE (``npflow.log_likelihood``),
  where the source's density is known (N(0, I), or a Gaussian-mixture source);
- **KL(target || model)** = ``mean [log p_data(x) - log p_model(x)]``, where p_data is known
  (a Gaussian mixture), with its standard error; 0 for a perfect model. Since
  ``KL = NLL - H(p_data)``, the target's entropy is reported too;
- **field error**: the mean squared gap to the exact field (``npflow.core.metrics.field_error``),
  where the exact field is known (a Gaussian-mixture target, the linear path from N(0, I) with
  independent pairs, see ``npflow.core.oracle.exact_mixture``);
- **energy distance**, **W2** and **RBF MMD** between generated samples and target samples;
- **mode coverage and balance**, where the target has modes;
- **straightness** and **kinetic energy** of the sampling paths, and the **NFE** of the solver.
  Straightness is 0 when every path is a straight line at constant speed; the kinetic energy
  ``1/2 mean |dx/dt|^2`` is the transport cost that optimal transport minimises (it is at
  least W2(p_0, p_1)^2 / 2, with equality for the optimal map on straight lines), so the two
  together tell "straight" from "short".

**A KL below zero.** A true KL is never negative. An estimate more than two standard errors
below 0 says the likelihood was not computed accurately: its solver was too coarse for the
flow (``--solver euler --steps 1`` gives -0.45 on a trained run). The report then carries a
warning that says so and names the flags that fix it (``warnings``).

A run is sampled as it samples (``Run.sample``): a MeanFlow run by its K jumps, and then it has
no NLL or KL (the reverse ODE gives the density of an ODE's samples, not of jumps); its field
error is that of u_theta(t, t, x), the field it learns where s = t.

Samples may also come from a stochastic sampler (``npflow.diffusion.stochastic.SAMPLERS``:
``euler-maruyama``, ``ddpm``). Its paths are noise, not a flow, so the report then leaves out the
NLL, the KL (both the ODE's: evaluate with an ODE solver) and the straightness and kinetic energy.

**Error bars.** Each figure comes with ``<name>_stderr``, one standard error
(``npflow.plumbing.error_bars``): ``sd / sqrt(n)`` for the figures that are means over points
(NLL, H(p_data), KL, field error, straightness, kinetic energy), the bootstrap over the samples
and the target points for the others (energy distance, MMD, modes covered and balance), and the
m-out-of-n bootstrap for W2. The energy distance and the MMD are bootstrapped as weighted sums
over the tables of distances computed once: a draw that takes point i c_i times gives::

    D^2 = 2 a^T D_xy b / (n m) - a^T D_xx a / n^2 - b^T D_yy b / m^2          (a, b the counts)
    MMD^2 = (a^T K_xx a - n) / (n (n - 1)) + (b^T K_yy b - m) / (m (m - 1)) - 2 a^T K_xy b / (n m)

(the - n and - m leave out each drawn point's kernel with itself, k(x, x) = 1, as the unbiased
estimate does), and with every count 1 these are ``energy_distance`` and ``mmd_rbf``.
"""
import numpy as np

from ..core.metrics import (cdist, energy_distance, kinetic_energy, mmd_rbf, mode_coverage, straightness,
                            wasserstein2)
from ..core.oracle import exact_velocity, points_on_path
from ..core.paths import LinearPath
from ..core.solvers import FIXED_STEP_METHODS
from ..data.datasets import get_dataset
from ..diffusion.stochastic import SAMPLERS
from ..models import objective_of
from ..runs.field_error import exact_mixture
from ..runs.scoring import scoring_field
from .chunks import log_likelihood_in_chunks, source_draws
from .error_bars import RESAMPLES, bootstrap_stderr, counts, error_note, mean_stderr, pm
from .memory import chunk_rows
from .progress import ChunkProgress

__all__ = ["MIN_POINTS", "evaluate", "format_table", "energy_distance_stderr", "field_error_stderr",
           "path_figures"]

#: The fewest points the metrics take: the KL's standard error and the MMD's unbiased estimate need two.
MIN_POINTS = 2


def evaluate(run, n=2000, rng=None, solver=None, steps=100, rtol=1e-5, atol=1e-5, level=1.0, dtype=None,
             stream=None):
    """Measure a run against its target.

    Parameters
    ----------
    run : Run
    n : int
        Target samples (and generated samples) to use, at least ``MIN_POINTS``.
    rng : numpy.random.Generator
        Draws the target samples, the source points, a stochastic sampler's noise, the path
        points and then the bootstrap's resamples; ``default_rng(0)`` if None.
    solver, steps, rtol, atol
        ODE solver for the likelihood and the samples, as for ``npflow.integrate``; None for the
        run's own sampler, rk4 or a MeanFlow run's jumps (``Run.sample``); or a stochastic sampler
        for the samples (no likelihood then), with ``steps``.
    level : float
        A stochastic sampler's diffusion or eta.
    dtype : str, optional
        The arithmetic of the samples (None: the run's weights as saved). float32 is about twice
        as fast with a fixed-step solver, and on the tutorial's run its samples differ from
        float64's by under 1e-5 and its energy distance by under 1e-7. The likelihood and the
        field error always take the run's weights as saved, in float64.
    stream : file-like or None
        Where the likelihood's progress goes, when it takes long (``npflow.plumbing.progress``).

    Returns
    -------
    dict
        ``energy_distance``, ``w2``, ``mmd``, ``nfe``, ``n``, ``solver`` and ``resamples`` always;
        ``straightness``, ``kinetic_energy`` and, where the source's density is known, ``nll``
        with an ODE solver; ``modes_covered``, ``mode_balance``
        and ``modes`` where the target has modes; ``target_entropy`` and ``kl`` when the target
        is a Gaussian mixture (and ``nll`` is known); ``field_error`` when its exact field is
        known; each figure with its standard error ``<figure>_stderr`` beside it; ``warnings``, a
        list of lines, when a figure cannot be trusted.
    """
    if n < MIN_POINTS:
        raise ValueError(f"n must be at least {MIN_POINTS} (the KL's standard error and the MMD need two points), "
                         f"got {n}")
    rng = np.random.default_rng(0) if rng is None else rng
    config = run.config
    dataset, source = get_dataset(config.dataset), config.source_distribution
    options = {"steps": steps, "rtol": rtol, "atol": atol}
    x = dataset.sample(n, rng)  # (n, d) fresh target samples
    sampler, x_0 = source_draws(run, n, rng, dtype)
    trajectory = sampler.sample(x_0, solver, level=level, rng=rng, **options)
    ode = solver not in SAMPLERS  # a stochastic sampler's paths are noise: no likelihood, straightness or energy
    samples, solver = trajectory.x[-1].astype(np.float64), trajectory.method  # the method the run sampled with
    report = {"n": n, "solver": solver, "nfe": trajectory.nfe, "resamples": RESAMPLES}
    if ode:
        report.update(path_figures(trajectory))
    if source.log_prob is not None and objective_of(config).likelihood and ode:
        log_model = log_likelihood_in_chunks(scoring_field(run), x, chunk_rows(config.layer_sizes),
                                             ChunkProgress("evaluate: log p", n, stream), solver=solver,
                                             log_p_0=source.log_prob, **options)  # (n,)
        report["nll"], report["nll_stderr"] = mean_stderr(-log_model)
    if dataset.log_prob is not None and "nll" in report:
        log_data = dataset.log_prob(x)  # (n,)
        report["target_entropy"], report["target_entropy_stderr"] = mean_stderr(-log_data)
        report["kl"], report["kl_stderr"] = mean_stderr(log_data - log_model)  # log p_data - log p_model
        if report["kl"] < -2 * report["kl_stderr"]:
            report["warnings"] = [_negative_kl(report, solver, steps, rtol)]
    mixture = exact_mixture(config, required=False)
    if mixture is not None:
        t, x_t = points_on_path(mixture.sample, LinearPath(config.sigma_min), n, rng)
        report["field_error"], report["field_error_stderr"] = field_error_stderr(
            run.velocity, exact_velocity(mixture, config.sigma_min), t, x_t)
    if dataset.means is not None:
        report.update(_modes(samples, dataset.means, rng))
    return {**report, **_sample_distances(samples, x, rng)}


def path_figures(trajectory):
    """Straightness and kinetic energy of the paths (``npflow.core.metrics``), with their standard errors.

    Both are means over the n paths of a figure per path, in the names of ``straightness``::

        S_i = (1 / T) sum_k h_k |v_ik - c_i|^2        E_i = (1 / T) sum_k h_k |v_ik|^2 / 2

    so each has the standard error of a mean, sd / sqrt(n).
    """
    t, x = trajectory.t, trajectory.x
    h, T = np.diff(t), t[-1] - t[0]  # (k - 1,) the steps, and the time they cover
    v = np.diff(x, axis=0).astype(np.float64) / h[:, None, None]  # (k - 1, n, d) step velocities
    chord = (x[-1] - x[0]) / T  # (n, d)
    per_path = {"straightness": h @ np.sum((v - chord) ** 2, axis=2) / T,  # (n,) S_i
                "kinetic_energy": 0.5 * h @ np.sum(v**2, axis=2) / T}  # (n,) E_i
    figures = {"straightness": straightness(trajectory), "kinetic_energy": kinetic_energy(trajectory)}
    return {**figures, **{f"{name}_stderr": mean_stderr(values)[1] for name, values in per_path.items()}}


def field_error_stderr(f_learned, f_exact, t, x_t):
    """The field error (``npflow.core.metrics.field_error``), a mean over the points of each point's mean squared
    gap over its coordinates, and its standard error sd / sqrt(n): ``(float, float)``."""
    return mean_stderr(np.mean((f_learned(t, x_t) - f_exact(t, x_t)) ** 2, axis=1))  # (n,) per point


def energy_distance_stderr(x, y, rng):
    """``energy_distance(x, y)`` and its bootstrap standard error (see the module docstring): ``(float, float)``."""
    n, m, value = len(x), len(y), energy_distance(x, y)
    d_xy, d_xx, d_yy = cdist(x, y), cdist(x, x), cdist(y, y)  # (n, m), (n, n), (m, m)

    def energy(rows_x, rows_y):
        a, b = counts(rows_x, n), counts(rows_y, m)
        return 2 * a @ d_xy @ b / (n * m) - a @ d_xx @ a / n**2 - b @ d_yy @ b / m**2

    return value, bootstrap_stderr(energy, (n, m), rng)


def _sample_distances(samples, x, rng):
    """Energy distance, W2 and RBF MMD (h = 1) of the samples against the target points, with their standard
    errors: the bootstrap for the first and the last, the m-out-of-n bootstrap (m = n / 4) for W2."""
    n = len(samples)
    figures = dict(zip(("energy_distance", "energy_distance_stderr"), energy_distance_stderr(samples, x, rng)))
    figures["mmd"] = mmd_rbf(samples, x)
    figures.update(w2=wasserstein2(samples, x), w2_stderr=bootstrap_stderr(
        lambda i, j: wasserstein2(samples[i], x[j]), (n, n), rng, draws=max(MIN_POINTS, n // 4)))
    k_xy, k_xx, k_yy = (_rbf(cdist(a, b)) for a, b in ((samples, x), (samples, samples), (x, x)))

    def mmd(rows_x, rows_y):
        a, b = counts(rows_x, n), counts(rows_y, n)
        return (a @ k_xx @ a - n) / (n * (n - 1)) + (b @ k_yy @ b - n) / (n * (n - 1)) - 2 * a @ k_xy @ b / n**2

    return {**figures, "mmd_stderr": bootstrap_stderr(mmd, (n, n), rng)}


def _rbf(distances):
    """The kernel exp(-|a - b|^2 / 2) (bandwidth h = 1, as ``mmd_rbf``'s default) of a table of distances, in place."""
    distances **= 2
    distances *= -0.5
    return np.exp(distances, out=distances)


def _modes(samples, means, rng):
    """Modes covered and their balance (``npflow.core.metrics.mode_coverage``), with bootstrap standard errors."""
    covered, balance = mode_coverage(samples, means)
    n = len(samples)
    return {"modes": len(means), "modes_covered": covered, "mode_balance": balance,
            "modes_covered_stderr": bootstrap_stderr(lambda i: mode_coverage(samples[i], means)[0], (n,), rng),
            "mode_balance_stderr": bootstrap_stderr(lambda i: mode_coverage(samples[i], means)[1], (n,), rng)}


def _negative_kl(report, solver, steps, rtol):
    """The warning for a KL more than two standard errors below 0: the solver, and the flags that fix it."""
    used = f"--solver {solver} " + (f"--steps {steps}" if solver in FIXED_STEP_METHODS else f"--rtol {rtol:g}")
    return (f"the KL is {report['kl']:.4f} +- {report['kl_stderr']:.4f}, below 0 by more than two standard errors, "
            f"which a KL cannot be: the likelihood's solver ({used}) is too coarse for this flow. Evaluate again "
            "with --solver rk4 --steps 400, or --solver RK45 --rtol 1e-7 --atol 1e-7")


def format_table(report):
    """The report of ``evaluate`` as a small text table, every figure with its error bar."""
    rows = [("NLL of target samples (nats)", pm(report, "nll", 4))] if "nll" in report else []
    if "kl" in report:
        rows += [("target entropy H(p_data) (nats)", pm(report, "target_entropy", 4)),
                 ("KL(target || model) (nats)", pm(report, "kl", 4))]
    if "field_error" in report:
        rows.append(("field error vs exact field", pm(report, "field_error", 4)))
    rows += [("energy distance of samples", pm(report, "energy_distance", 4)), ("W2 of samples", pm(report, "w2", 4)),
             ("RBF MMD^2 of samples (h = 1)", pm(report, "mmd", 4))]
    if "modes" in report:
        rows += [(f"modes covered (of {report['modes']})", pm(report, "modes_covered", 2)),
                 ("mode balance (smallest / largest share)", pm(report, "mode_balance", 3))]
    if "straightness" in report:
        rows += [("straightness of the paths", pm(report, "straightness", 4)),
                 ("kinetic energy of the paths", pm(report, "kinetic_energy", 4))]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    warnings = [f"warning: {line}" for line in report.get("warnings", [])]
    footer = f"({report['n']} target points, {error_note(report)}; NFE {report['nfe']}, solver {report['solver']})"
    return "\n".join(lines + [footer] + warnings)

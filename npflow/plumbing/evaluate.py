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
"""
import numpy as np

from ..core.metrics import (energy_distance, field_error, kinetic_energy, mmd_rbf, mode_coverage, straightness,
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
from .memory import chunk_rows

__all__ = ["MIN_POINTS", "evaluate", "format_table"]

#: The fewest points the metrics take: the KL's standard error and the MMD's unbiased estimate need two.
MIN_POINTS = 2


def evaluate(run, n=2000, rng=None, solver=None, steps=100, rtol=1e-5, atol=1e-5, level=1.0, dtype=None):
    """Measure a run against its target.

    Parameters
    ----------
    run : Run
    n : int
        Target samples (and generated samples) to use, at least ``MIN_POINTS``.
    rng : numpy.random.Generator
        Draws the target samples, the source points, a stochastic sampler's noise and the path
        points; ``default_rng(0)`` if None.
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

    Returns
    -------
    dict
        ``energy_distance``, ``w2``, ``mmd``, ``nfe``, ``n`` and ``solver`` always;
        ``straightness``, ``kinetic_energy`` and, where the source's density is known, ``nll``
        with an ODE solver; ``modes_covered``, ``mode_balance``
        and ``modes`` where the target has modes; ``target_entropy``, ``kl`` and ``kl_stderr``
        when the target is a Gaussian mixture (and ``nll`` is known); ``field_error`` when its
        exact field is known; ``warnings``, a list of lines, when a figure cannot be trusted.
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
    report = {"n": n, "solver": solver, "energy_distance": energy_distance(samples, x),
              "w2": wasserstein2(samples, x), "mmd": mmd_rbf(samples, x), "nfe": trajectory.nfe}
    if ode:
        report.update(straightness=straightness(trajectory), kinetic_energy=kinetic_energy(trajectory))
    if dataset.means is not None:
        report["modes_covered"], report["mode_balance"] = mode_coverage(samples, dataset.means)
        report["modes"] = len(dataset.means)
    if source.log_prob is not None and objective_of(config).likelihood and ode:
        log_model = log_likelihood_in_chunks(scoring_field(run), x, chunk_rows(config.layer_sizes), solver=solver,
                                             log_p_0=source.log_prob, **options)  # (n,)
        report["nll"] = float(-log_model.mean())
    if dataset.log_prob is not None and "nll" in report:
        log_data = dataset.log_prob(x)  # (n,)
        gap = log_data - log_model  # (n,) log p_data - log p_model
        report.update(target_entropy=float(-log_data.mean()), kl=float(gap.mean()),
                      kl_stderr=float(gap.std(ddof=1) / np.sqrt(n)))
        if report["kl"] < -2 * report["kl_stderr"]:
            report["warnings"] = [_negative_kl(report, solver, steps, rtol)]
    mixture = exact_mixture(config, required=False)
    if mixture is not None:
        t, x_t = points_on_path(mixture.sample, LinearPath(config.sigma_min), n, rng)
        report["field_error"] = field_error(run.velocity, exact_velocity(mixture, config.sigma_min), t, x_t)
    return report


def _negative_kl(report, solver, steps, rtol):
    """The warning for a KL more than two standard errors below 0: the solver, and the flags that fix it."""
    used = f"--solver {solver} " + (f"--steps {steps}" if solver in FIXED_STEP_METHODS else f"--rtol {rtol:g}")
    return (f"the KL is {report['kl']:.4f} +- {report['kl_stderr']:.4f}, below 0 by more than two standard errors, "
            f"which a KL cannot be: the likelihood's solver ({used}) is too coarse for this flow. Evaluate again "
            "with --solver rk4 --steps 400, or --solver RK45 --rtol 1e-7 --atol 1e-7")


def format_table(report):
    """The report of ``evaluate`` as a small text table."""
    rows = [("NLL of target samples (nats)", f"{report['nll']:.4f}")] if "nll" in report else []
    if "kl" in report:
        rows += [("target entropy H(p_data) (nats)", f"{report['target_entropy']:.4f}"),
                 ("KL(target || model) (nats)", f"{report['kl']:.4f} +- {report['kl_stderr']:.4f}")]
    if "field_error" in report:
        rows.append(("field error vs exact field", f"{report['field_error']:.4f}"))
    rows += [("energy distance of samples", f"{report['energy_distance']:.4f}"),
             ("W2 of samples", f"{report['w2']:.4f}"),
             ("RBF MMD^2 of samples (h = 1)", f"{report['mmd']:.4f}")]
    if "modes" in report:
        rows.append(("modes covered, balance", f"{report['modes_covered']}/{report['modes']}, "
                                               f"{report['mode_balance']:.3f}"))
    if "straightness" in report:
        rows += [("straightness of the paths, NFE", f"{report['straightness']:.4f}, {report['nfe']}"),
                 ("kinetic energy of the paths", f"{report['kinetic_energy']:.4f}")]
    else:
        rows.append(("NFE", f"{report['nfe']}"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    warnings = [f"warning: {line}" for line in report.get("warnings", [])]
    return "\n".join(lines + [f"({report['n']} target points, solver {report['solver']})"] + warnings)

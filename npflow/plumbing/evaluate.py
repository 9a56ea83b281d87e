"""How good is a trained run? Likelihood, KL, field error and sample distance in one place.

``evaluate(run, ...)`` measures, against fresh target samples x ~ p_data (for a dataset read
from a file: rows of the file, drawn with replacement):

- **NLL**: ``-mean log p_model(x)``, in nats, by the reverse ODE (``npflow.log_likelihood``),
  where the source's density is known (N(0, I), or a Gaussian-mixture source);
- **KL(target || model)** = ``mean [log p_data(x) - log p_model(x)]``, where p_data is known
  (a Gaussian mixture), with its standard error; 0 for a perfect model. Since
  ``KL = NLL - H(p_data)``, the target's entropy is reported too;
- **field error**: the mean squared gap to the exact field (``npflow.metrics.field_error``),
  where the exact field is known (a Gaussian-mixture target, the linear path from N(0, I) with
  independent pairs, see ``npflow.oracle.exact_mixture``);
- **energy distance**, **W2** and **RBF MMD** between generated samples and target samples;
- **mode coverage and balance**, where the target has modes;
- **straightness** and **kinetic energy** of the sampling paths, and the **NFE** of the solver.
  Straightness is 0 when every path is a straight line at constant speed; the kinetic energy
  ``1/2 mean |dx/dt|^2`` is the transport cost that optimal transport minimises (it is at
  least W2(p_0, p_1)^2 / 2, with equality for the optimal map on straight lines), so the two
  together tell "straight" from "short".

Samples may also come from a stochastic sampler (``npflow.stochastic.SAMPLERS``:
``euler-maruyama``, ``ddpm``). Its paths are noise, not a flow, so the report then leaves out the
NLL, the KL (both the ODE's: evaluate with an ODE solver) and the straightness and kinetic energy.
"""
import numpy as np

from ..data import get_dataset
from ..likelihood import log_likelihood
from ..metrics import energy_distance, field_error, kinetic_energy, mmd_rbf, mode_coverage, straightness, wasserstein2
from ..oracle import exact_velocity
from ..paths import LinearPath
from ..sampling import generate
from ..stochastic import SAMPLERS
from ..oracle import exact_mixture, points_on_path

__all__ = ["sample_trajectory", "evaluate", "format_table"]


def sample_trajectory(run, x_0, solver="rk4", steps=100, rtol=1e-5, atol=1e-5, level=1.0, rng=None):
    """Carry x_0 from t = 0 to 1 on the run's field: by an ODE solver (``npflow.generate``), or by a
    stochastic sampler of ``npflow.stochastic.SAMPLERS`` with its ``level`` (diffusion or eta) and
    ``rng`` for its noise. Returns the ``Trajectory``."""
    if solver in SAMPLERS:
        return SAMPLERS[solver](run.velocity, x_0, run.path, steps, level, rng=rng)
    return generate(run.velocity, x_0, solver, steps=steps, rtol=rtol, atol=atol)


def evaluate(run, n=2000, rng=None, solver="rk4", steps=100, rtol=1e-5, atol=1e-5, level=1.0):
    """Measure a run against its target.

    Parameters
    ----------
    run : Run
    n : int
        Target samples (and generated samples) to use.
    rng : numpy.random.Generator
        Draws the target samples, the source points, a stochastic sampler's noise and the path
        points; ``default_rng(0)`` if None.
    solver, steps, rtol, atol
        ODE solver for the likelihood and the samples, as for ``npflow.integrate``; or a
        stochastic sampler for the samples (no likelihood then), with ``steps``.
    level : float
        A stochastic sampler's diffusion or eta.

    Returns
    -------
    dict
        ``energy_distance``, ``w2``, ``mmd``, ``nfe``, ``n`` and ``solver`` always;
        ``straightness``, ``kinetic_energy`` and, where the source's density is known, ``nll``
        with an ODE solver; ``modes_covered``, ``mode_balance``
        and ``modes`` where the target has modes; ``target_entropy``, ``kl`` and ``kl_stderr``
        when the target is a Gaussian mixture (and ``nll`` is known); ``field_error`` when its
        exact field is known.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    config = run.config
    dataset, source = get_dataset(config.dataset), config.source_distribution
    options = {"steps": steps, "rtol": rtol, "atol": atol}
    x = dataset.sample(n, rng)  # (n, d) fresh target samples
    trajectory = sample_trajectory(run, source.sample(n, rng), solver, level=level, rng=rng, **options)
    samples, ode = trajectory.x[-1], solver not in SAMPLERS
    report = {"n": n, "solver": solver, "energy_distance": energy_distance(samples, x),
              "w2": wasserstein2(samples, x), "mmd": mmd_rbf(samples, x), "nfe": trajectory.nfe}
    if ode:
        report.update(straightness=straightness(trajectory), kinetic_energy=kinetic_energy(trajectory))
    if dataset.means is not None:
        report["modes_covered"], report["mode_balance"] = mode_coverage(samples, dataset.means)
        report["modes"] = len(dataset.means)
    if source.log_prob is not None and ode:
        log_model = log_likelihood(run.velocity, x, solver=solver, log_p_0=source.log_prob, **options)  # (n,)
        report["nll"] = float(-log_model.mean())
    if dataset.log_prob is not None and "nll" in report:
        log_data = dataset.log_prob(x)  # (n,)
        gap = log_data - log_model  # (n,) log p_data - log p_model
        report.update(target_entropy=float(-log_data.mean()), kl=float(gap.mean()),
                      kl_stderr=float(gap.std(ddof=1) / np.sqrt(n)))
    mixture = exact_mixture(config, required=False)
    if mixture is not None:
        t, x_t = points_on_path(mixture.sample, LinearPath(config.sigma_min), n, rng)
        report["field_error"] = field_error(run.velocity, exact_velocity(mixture, config.sigma_min), t, x_t)
    return report


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
    return "\n".join(lines + [f"({report['n']} target points, solver {report['solver']})"])

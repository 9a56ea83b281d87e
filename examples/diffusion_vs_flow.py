# %% [markdown]
# # Diffusion beside flow matching: the tutorial's claim, measured over seeds
#
# The tutorial ends on a claim: flow matching needs fewer sampling steps than diffusion. Here
# the same engine, the same network and the same training budget make both: a **flow model**
# (the linear path, the network predicts the velocity: the tutorial's recipe) and a
# **diffusion model** (the cosine vp path, the network predicts the noise x_0: DDPM's
# epsilon loss with a uniform t). Each is sampled at 1 to 256 network evaluations (NFE) by
# every sampler that fits it, and so are the exact fields of both paths (no training error:
# the ceiling), and the samples are measured against fresh data by the energy distance,
# beside the floor of two fresh draws of the data.
#
# One training run decides little: the energy distance of one model moves with its seed by as
# much as the gaps between samplers. So every model is trained once per seed (`--seeds`, 0 1 2
# by default), each seed also draws its own noise and fresh data, and every figure is the mean
# ± sd over the seeds. A pair of samplers is called different only where the mean of the
# per-seed differences exceeds twice its standard error and every seed agrees on its sign
# (`npflow.core.metrics.paired_difference`).
#
# First, why a noise prediction needs care near t = 0 (the error against t, and the margin
# npflow holds there), then the measurement.
#
#     python examples/diffusion_vs_flow.py [--quick] [--seeds 0 1 2] [--out DIR]

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import npflow
import npflow.plumbing.plot
from npflow.core.metrics import DIFFERENCE_RULE, energy_distance
from npflow.core.oracle import exact_velocity, marginal_at
from npflow.core.views import MARGIN, data_to_noise, velocity_from_prediction, velocity_to_data
from npflow.data.datasets import get_dataset
from npflow.plumbing.error_bars import mean_sd, verdict
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Flow matching and diffusion, same network and budget, against NFE.")
parser.add_argument("--quick", action="store_true",
                    help="tiny models, two seeds, few points and budgets (about a minute): too small to conclude")
parser.add_argument("--out", default="diffusion_vs_flow_out", help="folder for the figures and the table")
parser.add_argument("--n", type=int, help="samples per measurement [2000; 300 with --quick]")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds [0 1 2; --quick: 0 1]")
args = parser.parse_args()
if len(set(args.seeds)) < 2:
    parser.error("--seeds needs at least two different seeds: a comparison needs the spread over seeds")
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
n = args.n or (300 if args.quick else 2000)
seeds = args.seeds[:2] if args.quick else args.seeds
steps, hidden = (400, (32, 32)) if args.quick else (10_000, (128, 128))  # the tutorial's budget and network
budgets = [1, 4, 16, 64] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
DIFFUSION = 1.0  # the SDE's level: g(t) = DIFFUSION * sigma_t
# Quick models are tiny and few: what they print shows that the code runs, not which sampler is better.
QUICK_NOTE = "quick: too small to conclude (tiny models, few steps, two seeds)"
os.makedirs(args.out, exist_ok=True)
if args.quick:
    print(QUICK_NOTE)

# %% [markdown]
# ## 1. Two models per dataset and seed: the same network, the same steps, the same seed
#
# Only the path and the regression target differ. With `predict="noise"` the loss is
# `mean (net(t, x_t) - x_0)^2` and `Run.velocity` turns the prediction into the velocity.

# %%
DATASETS = ("two_gaussians", "eight_gaussians")
models = {}
for seed in seeds:
    for name in DATASETS:
        for kind, path, predict in (("flow", "linear", "velocity"), ("diffusion", "vp", "noise")):
            config = npflow.TrainConfig(dataset=name, path=path, steps=steps, hidden=hidden, seed=seed,
                                        options={"predict": predict})
            models[name, kind, seed] = run = npflow.train(config, stream=None)
            print(f"seed {seed}: trained {kind:<9} on {name}: {steps} steps, last loss {run.losses[-1]:.3f}",
                  flush=True)

# %% [markdown]
# ## 2. Where a noise prediction goes wrong: its error against t
#
# The velocity is `v = d_alpha_t x1_hat + d_sigma_t x0_hat` with `x1_hat = (x - sigma_t x0_hat) / alpha_t`,
# so an error e in the noise prediction becomes an error `(D_t / alpha_t) e` in the velocity
# (D_t = alpha_t d_sigma_t - sigma_t d_alpha_t, -pi/2 on vp), and alpha_0 = 0. Measured at
# x ~ p_t against the exact field of two_gaussians, for the first seed's models (the curves
# span orders of magnitude, far beyond what a seed moves): the mean squared error of the noise
# prediction, of the velocity it gives when converted at t, and of the velocity with the
# margin npflow holds (below t = MARGIN the data prediction made at MARGIN), beside the flow
# model's velocity error.

# %%
gmm = get_dataset("two_gaussians").mixture
flow, diffusion = models["two_gaussians", "flow", seeds[0]], models["two_gaussians", "diffusion", seeds[0]]
times = np.concatenate([np.geomspace(1e-4, 0.1, 13)[:-1], np.linspace(0.1, 0.95, 18), [0.99, 0.999]])
rng = np.random.default_rng(0)
#: The curves: a short name for the table's header, and what it is, for the figure's legend.
CURVES = {"noise x0_hat": "diffusion: noise x0_hat",
          "v, converted at t": "diffusion: velocity, converted at t",
          f"v, held below {MARGIN:g}": f"diffusion: velocity, held below {MARGIN:g} (npflow)",
          "flow model's v": "flow: velocity"}


def mean_square(a, b):
    return float(np.mean(np.sum((a - b) ** 2, axis=1)))


def errors_at(t):
    """Mean squared errors at time t against the exact fields (n points x ~ p_t of each path), as CURVES."""
    x_vp = marginal_at(gmm, t, path=diffusion.path).sample(n, rng)
    v_vp = exact_velocity(gmm, path=diffusion.path)(t, x_vp)
    x0_exact = data_to_noise(velocity_to_data(v_vp, x_vp, t, diffusion.path), x_vp, t, diffusion.path)
    converted = velocity_from_prediction(diffusion.prediction, diffusion.path, "noise")(t, x_vp)
    x_lin = marginal_at(gmm, t).sample(n, rng)
    return [mean_square(diffusion.prediction(t, x_vp), x0_exact), mean_square(converted, v_vp),
            mean_square(diffusion.velocity(t, x_vp), v_vp),
            mean_square(flow.velocity(t, x_lin), exact_velocity(gmm)(t, x_lin))]


curves = np.array([errors_at(t) for t in times])  # (times, 4), the columns as CURVES
print(f"\nmean squared error against t on two_gaussians (seed {seeds[0]})")
print(f"{'t':>7} " + " ".join(f"{label:>18}" for label in CURVES))
for t, row in zip(times, curves):
    print(f"{t:7.4f} " + " ".join(f"{error:18.4g}" for error in row))

fig = Figure(figsize=(7, 4.5), layout="constrained")
ax = fig.subplots()
for curve, label, style in zip(curves.T, CURVES.values(), ["C1:", "C3-", "C1-", "C0-"]):
    ax.loglog(times, curve, style, marker=".", label=label)
ax.axvline(MARGIN, color="gray", lw=0.8)
ax.set(xlabel="t (0 = noise, 1 = data)", ylabel="mean squared error at x ~ p_t",
       title=f"two_gaussians: a noise prediction's error, turned into a velocity (seed {seeds[0]})")
ax.legend(fontsize=8)
npflow.plumbing.plot.mark_quick(fig, args.quick, QUICK_NOTE)  # so that it cannot pass for a full one
fig.savefig(os.path.join(args.out, "error_vs_t.png"), dpi=110)

# %% [markdown]
# ## 3. The margin, chosen by measurement
#
# Energy distance of the diffusion model's samples for a few margins: the ODE (RK4, 100 steps),
# the SDE (Euler-Maruyama, 200 steps) and the ancestral step (DDPM, 200 steps), mean ± sd over
# the seeds. npflow's `MARGIN` is the reference each other margin is compared with, seed by seed.

# %%
MARGIN_SAMPLERS = ("RK4-100", "EM-200", "DDPM-200")
margins = sorted({0.01, 0.1, MARGIN} if args.quick else {0.001, 0.01, MARGIN, 0.05, 0.1, 0.3})


def margin_row(run, name, margin, seed):
    """The energy distance of each of MARGIN_SAMPLERS with the diffusion model held below ``margin``."""
    f = velocity_from_prediction(run.prediction, run.path, "noise", margin)
    rng = np.random.default_rng((2, seed))  # the same noise for every margin
    x_0 = npflow.noise(n, 2, rng)
    row = [npflow.generate(f, x_0, "rk4", steps=100).x[-1],
           npflow.sde_generate(f, x_0, run.path, 200, DIFFUSION, rng=rng).x[-1],
           npflow.ddpm_generate(f, x_0, run.path, 200, 1.0, rng=rng).x[-1]]
    fresh = get_dataset(name).sample(n, np.random.default_rng((1, seed)))
    return [energy_distance(x, fresh) for x in row]




margin_lines = [f"| dataset | margin | {' | '.join(MARGIN_SAMPLERS)} | "
                + " | ".join(f"{s} against {MARGIN:g}" for s in MARGIN_SAMPLERS) + " |", "|---|---|" + "---|" * 6]
for name in DATASETS:
    eds = {m: np.array([margin_row(models[name, "diffusion", seed], name, m, seed) for seed in seeds]) for m in margins}
    for m in margins:  # eds[m]: (seeds, 3)
        verdicts = ["(the reference)"] * 3 if m == MARGIN else [
            verdict(eds[m][:, j], eds[MARGIN][:, j], "lower (better)", "higher (worse)", 4, args.quick)
            for j in range(3)]
        margin_lines.append(f"| {name} | {m:g} | " + " | ".join(mean_sd(eds[m][:, j], 4) for j in range(3))
                            + " | " + " | ".join(verdicts) + " |")
        print(margin_lines[-1], flush=True)
margin_table = "\n".join(margin_lines)

# %% [markdown]
# ## 4. Quality against the number of network evaluations
#
# Every sampler evaluates the field once per step, but the midpoint method twice and RK4
# four times, so each runs at the budgets its steps divide. The exact fields are the ceiling:
# what each sampler reaches with no training error. They do not depend on a training seed, but
# each seed draws them other noise and other fresh data, so their spread is the draw's.

# %%
ODE_EVALUATIONS = {"euler": 1, "midpoint": 2, "rk4": 4}
SDE = f"SDE (EM, g = {DIFFUSION:g} sigma_t)"


def sampler(method, level=None):
    """``sample(f, path, x_0, nfe, rng)``: the samples of one method at a budget, or None where it does not fit."""

    def sample(f, path, x_0, nfe, rng):
        if method in ODE_EVALUATIONS:
            per_step = ODE_EVALUATIONS[method]
            return None if nfe % per_step else npflow.generate(f, x_0, method, steps=nfe // per_step).x[-1]
        return npflow.diffusion.stochastic.SAMPLERS[method](f, x_0, path, nfe, level, rng=rng).x[-1]

    return sample


SAMPLERS = {"Euler": sampler("euler"), "midpoint": sampler("midpoint"), "RK4": sampler("rk4"),
            SDE: sampler("euler-maruyama", DIFFUSION), "DDPM (eta = 1)": sampler("ddpm", 1.0),
            "DDIM (eta = 0)": sampler("ddpm", 0.0)}
#: Rows of the table: (model, field, path, the samplers run on it).
ROWS = [("flow model", "learned", "linear", ["Euler", "midpoint", "RK4", SDE]),
        ("diffusion model", "learned", "vp", [SDE, "Euler", "RK4", "DDPM (eta = 1)", "DDIM (eta = 0)"]),
        ("exact, linear path", "exact", "linear", ["Euler", "RK4", SDE]),
        ("exact, vp path", "exact", "vp", ["Euler", "RK4", SDE, "DDPM (eta = 1)"])]


def measure(name, seed):
    """{(model, sampler): {nfe: energy distance}} on one dataset and seed, every row from the same noise."""
    results = {}
    fresh = get_dataset(name).sample(n, np.random.default_rng((4, seed)))
    for model, field, path_name, sampler_names in ROWS:
        run = models[name, "flow" if path_name == "linear" else "diffusion", seed]
        f = run.velocity if field == "learned" else exact_velocity(get_dataset(name).mixture, path=run.path)
        for sampler_name in sampler_names:
            results[model, sampler_name] = {}
            for nfe in budgets:
                rng = np.random.default_rng((3, seed))  # the same noise x_0 for every row of a seed
                x = SAMPLERS[sampler_name](f, run.path, npflow.noise(n, 2, rng), nfe, rng)
                if x is not None:
                    results[model, sampler_name][nfe] = energy_distance(x, fresh)
    print(f"measured {name}, seed {seed}", flush=True)
    return results


def floor(name, draws=10):
    """Energy distance between two fresh draws of n points: its mean and sd over ``draws`` pairs. One
    measurement above is as noisy as one such pair."""
    rng = np.random.default_rng(5)
    pairs = [energy_distance(get_dataset(name).sample(n, rng), get_dataset(name).sample(n, rng)) for _ in range(draws)]
    return np.mean(pairs), np.std(pairs, ddof=1)


per_seed = {(name, seed): measure(name, seed) for name in DATASETS for seed in seeds}
# results[name][model, sampler][nfe]: (seeds,) energy distances
results = {name: {row: {nfe: np.array([per_seed[name, seed][row][nfe] for seed in seeds])
                        for nfe in per_seed[name, seeds[0]][row]} for row in per_seed[name, seeds[0]]}
           for name in DATASETS}
floors = {name: floor(name) for name in DATASETS}

# %% [markdown]
# ## 5. The verdicts: which sampler is better, pair by pair
#
# Each pair answers one question, at budgets both samplers run (multiples of 4, which RK4
# needs): does the flow's ODE beat DDPM's chain (the tutorial's claim)? the diffusion model's own
# ODE? Are the models' plateaus different? Is one path straighter than the other for a sampler
# with no training error? Does the SDE's noise cost steps?

# %%
PAIRS = [(("flow model", "RK4"), ("diffusion model", "DDPM (eta = 1)")),
         (("flow model", "RK4"), ("diffusion model", "RK4")),
         (("diffusion model", "RK4"), ("diffusion model", "DDPM (eta = 1)")),
         (("flow model", "Euler"), ("diffusion model", "Euler")),
         (("flow model", SDE), ("flow model", "Euler")),
         (("exact, linear path", "Euler"), ("exact, vp path", "Euler")),
         (("exact, linear path", "RK4"), ("exact, vp path", "RK4"))]
verdict_budgets = [nfe for nfe in (4, 16, 64, 256) if nfe in budgets]


def verdict_table(name):
    """A row per pair and budget: both samplers' energy distance, the per-seed difference and the verdict."""
    lines = ["| A | B | NFE | A: energy distance | B: energy distance | A - B, and the verdict |",
             "|---|---|---|---|---|---|"]
    for a, b in PAIRS:
        for nfe in verdict_budgets:
            ed_a, ed_b = results[name][a][nfe], results[name][b][nfe]
            lines.append(f"| {', '.join(a)} | {', '.join(b)} | {nfe} | {mean_sd(ed_a, 4)} | {mean_sd(ed_b, 4)} | "
                         f"{verdict(ed_a, ed_b, 'A is better', 'B is better', 4, args.quick)} |")
    return "\n".join(lines)


# %% [markdown]
# ## 6. The tables and the figure

# %%


def markdown_table(name):
    """One Markdown table: a row per (model, sampler), a column per budget, each cell mean ± sd over the seeds."""
    lines = ["| model | sampler | " + " | ".join(f"{nfe}" for nfe in budgets) + " |",
             "|---|---|" + "---|" * len(budgets)]
    for (model, sampler_name), by_nfe in results[name].items():
        cells = [mean_sd(by_nfe[nfe], 4) if nfe in by_nfe else "" for nfe in budgets]
        lines.append(f"| {model} | {sampler_name} | " + " | ".join(cells) + " |")
    mean, sd = floors[name]
    lines.append(f"| two fresh draws (the floor) | mean ± sd of 10 pairs | {mean:.4f} ± {sd:.4f} |"
                 + " |" * (len(budgets) - 1))
    return "\n".join(lines)


head = (f"Energy distance of {n} samples to {n} fresh points, mean ± sd over seeds {' '.join(map(str, seeds))} "
        f"(each seed trains its own models and draws its own noise and data); "
        f"training: {steps} steps, hidden {hidden}.")
sections = [(QUICK_NOTE + "\n\n" if args.quick else "") + head + "\n"]
for name in DATASETS:
    sections.append(f"### {name}: energy distance against NFE\n\n{markdown_table(name)}\n")
for name in DATASETS:
    sections.append(f"### {name}: the verdicts\n\n{verdict_table(name)}\n")
sections.append(f"### The margin: energy distance of the diffusion model's samples\n\n{margin_table}\n")
sections.append(DIFFERENCE_RULE + (f"\n\n{QUICK_NOTE}" if args.quick else "") + "\n")
with open(os.path.join(args.out, "diffusion_vs_flow.md"), "w") as file:
    file.write("\n".join(sections))
print("\n" + "\n".join(sections))

COLOURS = {"Euler": "C0", "midpoint": "C9", "RK4": "C2", SDE: "C3", "DDPM (eta = 1)": "C4", "DDIM (eta = 0)": "C5"}
fig = Figure(figsize=(11, 9), layout="constrained")
axes = fig.subplots(len(DATASETS), 2, sharex=True, sharey="row")
for row, name in zip(axes, DATASETS):
    for ax, field in zip(row, ("learned", "exact")):
        for (model, sampler_name), by_nfe in results[name].items():
            if (field == "exact") == model.startswith("exact") and by_nfe:
                nfe = np.array(list(by_nfe))
                ed = np.array(list(by_nfe.values()))  # (budgets, seeds)
                style = "-" if "flow" in model or "linear" in model else "--"  # the linear path, or vp
                ax.loglog(nfe, ed.mean(axis=1), style, color=COLOURS[sampler_name], marker="o", ms=3)
                ax.fill_between(nfe, ed.min(axis=1), ed.max(axis=1), color=COLOURS[sampler_name], alpha=0.12)
        ax.axhline(floors[name][0], color="gray", lw=1, ls=":")
        ax.set(title=f"{name}: " + ("the trained models" if field == "learned" else "the exact fields (no training)"),
               xlabel="network evaluations (NFE)", ylabel="energy distance to fresh data")
handles = [Line2D([], [], color=colour, marker="o", ms=3, label=label) for label, colour in COLOURS.items()]
handles += [Line2D([], [], color="k", ls="-", label="flow: linear path, velocity"),
            Line2D([], [], color="k", ls="--", label="diffusion: vp path, noise prediction"),
            Line2D([], [], color="gray", ls=":", label="two fresh draws (the floor)")]
fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)
fig.suptitle(f"mean over seeds {' '.join(map(str, seeds))}, shaded from the lowest seed to the highest")
npflow.plumbing.plot.mark_quick(fig, args.quick, QUICK_NOTE)  # so that it cannot pass for a full one
fig.savefig(os.path.join(args.out, "diffusion_vs_flow.png"), dpi=100)
print(f"wrote {args.out}/: diffusion_vs_flow.md, diffusion_vs_flow.png, error_vs_t.png")
if args.quick:
    print(QUICK_NOTE)

# %% [markdown]
# # Diffusion beside flow matching: the tutorial's claim, measured
#
# The tutorial ends on a claim: flow matching needs fewer sampling steps than diffusion. Here
# the same engine, the same network and the same training budget make both: a **flow model**
# (the linear path, the network predicts the velocity: the tutorial's recipe) and a
# **diffusion model** (the cosine vp path, the network predicts the noise x_0: DDPM's
# epsilon loss with a uniform t). Each is sampled at 1 to 256 network evaluations (NFE) by
# every sampler that fits it, and so are the exact fields of both paths (no training error:
# the ceiling), and the samples are measured against fresh data by the energy distance and
# W2, beside the floor of two fresh draws of the data.
#
# First, why a noise prediction needs care near t = 0 (the error against t, and the margin
# npflow holds there), then the measurement.
#
#     python examples/diffusion_vs_flow.py [--quick] [--out DIR]

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import npflow
from npflow.core.metrics import energy_distance, wasserstein2
from npflow.core.oracle import exact_velocity, marginal_at
from npflow.core.views import MARGIN, data_to_noise, velocity_from_prediction, velocity_to_data
from npflow.data.datasets import get_dataset
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Flow matching and diffusion, same network and budget, against NFE.")
parser.add_argument("--quick", action="store_true", help="short training, few points and budgets (about a minute)")
parser.add_argument("--out", default="diffusion_vs_flow_out", help="folder for the figures and the table")
parser.add_argument("--n", type=int, help="samples per measurement [2000; 300 with --quick]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
n = args.n or (300 if args.quick else 2000)
steps, hidden = (400, (32, 32)) if args.quick else (10_000, (128, 128))  # the tutorial's budget and network
budgets = [1, 4, 16, 64] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
DIFFUSION = 1.0  # the SDE's level: g(t) = DIFFUSION * sigma_t
os.makedirs(args.out, exist_ok=True)

# %% [markdown]
# ## 1. Two models per dataset: the same network, the same steps, the same seed
#
# Only the path and the regression target differ. With `predict="noise"` the loss is
# `mean (net(t, x_t) - x_0)^2` and `Run.velocity` turns the prediction into the velocity.

# %%
DATASETS = ("two_gaussians", "eight_gaussians")
models = {}
for name in DATASETS:
    for kind, path, predict in (("flow", "linear", "velocity"), ("diffusion", "vp", "noise")):
        config = npflow.TrainConfig(dataset=name, path=path, steps=steps, hidden=hidden, options={"predict": predict})
        models[name, kind] = npflow.train(config, stream=None)
        print(f"trained {kind:<9} on {name}: {steps} steps, last loss {models[name, kind].losses[-1]:.3f}", flush=True)

# %% [markdown]
# ## 2. Where a noise prediction goes wrong: its error against t
#
# The velocity is `v = d_alpha_t x1_hat + d_sigma_t x0_hat` with `x1_hat = (x - sigma_t x0_hat) / alpha_t`,
# so an error e in the noise prediction becomes an error `(D_t / alpha_t) e` in the velocity
# (D_t = alpha_t d_sigma_t - sigma_t d_alpha_t, -pi/2 on vp), and alpha_0 = 0. Measured at
# x ~ p_t against the exact field of two_gaussians: the mean squared error of the noise
# prediction, of the velocity it gives when converted at t, and of the velocity with the
# margin npflow holds (below t = MARGIN the data prediction made at MARGIN), beside the flow
# model's velocity error.

# %%
gmm = get_dataset("two_gaussians").mixture
flow, diffusion = models["two_gaussians", "flow"], models["two_gaussians", "diffusion"]
times = np.concatenate([np.geomspace(1e-4, 0.1, 13)[:-1], np.linspace(0.1, 0.95, 18), [0.99, 0.999]])
rng = np.random.default_rng(0)


def mean_square(a, b):
    return float(np.mean(np.sum((a - b) ** 2, axis=1)))


def errors_at(t):
    """Mean squared errors at time t against the exact fields (n points x ~ p_t of each path)."""
    x_vp = marginal_at(gmm, t, path=diffusion.path).sample(n, rng)
    v_vp = exact_velocity(gmm, path=diffusion.path)(t, x_vp)
    x0_exact = data_to_noise(velocity_to_data(v_vp, x_vp, t, diffusion.path), x_vp, t, diffusion.path)
    converted = velocity_from_prediction(diffusion.prediction, diffusion.path, "noise")(t, x_vp)
    x_lin = marginal_at(gmm, t).sample(n, rng)
    return {"diffusion: noise x0_hat": mean_square(diffusion.prediction(t, x_vp), x0_exact),
            "diffusion: velocity, converted at t": mean_square(converted, v_vp),
            f"diffusion: velocity, held below {MARGIN:g} (npflow)": mean_square(diffusion.velocity(t, x_vp), v_vp),
            "flow: velocity": mean_square(flow.velocity(t, x_lin), exact_velocity(gmm)(t, x_lin))}


curves = {}
for t in times:
    for label, error in errors_at(t).items():
        curves.setdefault(label, []).append(error)
print("\nmean squared error against t on two_gaussians")
print(f"{'t':>7} " + " ".join(f"{label[:26]:>26}" for label in curves))
for i, t in enumerate(times):
    print(f"{t:7.4f} " + " ".join(f"{curve[i]:26.4g}" for curve in curves.values()))

fig = Figure(figsize=(7, 4.5), layout="constrained")
ax = fig.subplots()
for (label, curve), style in zip(curves.items(), ["C1:", "C3-", "C1-", "C0-"]):
    ax.loglog(times, curve, style, marker=".", label=label)
ax.axvline(MARGIN, color="gray", lw=0.8)
ax.set(xlabel="t (0 = noise, 1 = data)", ylabel="mean squared error at x ~ p_t",
       title="two_gaussians: a noise prediction's error, turned into a velocity")
ax.legend(fontsize=8)
fig.savefig(os.path.join(args.out, "error_vs_t.png"), dpi=110)

# %% [markdown]
# ## 3. The margin, chosen by measurement
#
# Energy distance of the diffusion model's samples for a few margins: the ODE (RK4, 100 steps),
# the SDE (Euler-Maruyama, 200 steps) and the ancestral step (DDPM, 200 steps). npflow's
# `MARGIN` is the one it uses.

# %%
target_rng = np.random.default_rng(1)


def quality(samples, name, rng):
    """(energy distance, W2) of samples against n fresh points of the dataset."""
    fresh = get_dataset(name).sample(len(samples), rng)
    return energy_distance(samples, fresh), wasserstein2(samples, fresh)


print("\nenergy distance of the diffusion model's samples against the margin")
print(f"{'dataset':<16} {'margin':>7} {'RK4-100':>8} {'EM-200':>8} {'DDPM-200':>8}")
for name in DATASETS:
    run = models[name, "diffusion"]
    for margin in ([0.01, 0.1] if args.quick else [0.001, 0.01, 0.03, 0.1, 0.3]):
        f = velocity_from_prediction(run.prediction, run.path, "noise", margin)
        rng = np.random.default_rng(2)
        x_0 = npflow.noise(n, 2, rng)
        row = [npflow.generate(f, x_0, "rk4", steps=100).x[-1],
               npflow.sde_generate(f, x_0, run.path, 200, DIFFUSION, rng=rng).x[-1],
               npflow.ddpm_generate(f, x_0, run.path, 200, 1.0, rng=rng).x[-1]]
        eds = [energy_distance(x, get_dataset(name).sample(n, target_rng)) for x in row]
        print(f"{name:<16} {margin:7.3f} " + " ".join(f"{e:8.4f}" for e in eds), flush=True)

# %% [markdown]
# ## 4. Quality against the number of network evaluations
#
# Every sampler evaluates the field once per step, but the midpoint method twice and RK4
# four times, so each runs at the budgets its steps divide. The exact fields are the ceiling:
# what each sampler reaches with no training error.

# %%
ODE_EVALUATIONS = {"euler": 1, "midpoint": 2, "rk4": 4}


def sampler(method, level=None):
    """``sample(f, path, x_0, nfe, rng)``: the samples of one method at a budget, or None where it does not fit."""

    def sample(f, path, x_0, nfe, rng):
        if method in ODE_EVALUATIONS:
            per_step = ODE_EVALUATIONS[method]
            return None if nfe % per_step else npflow.generate(f, x_0, method, steps=nfe // per_step).x[-1]
        return npflow.diffusion.stochastic.SAMPLERS[method](f, x_0, path, nfe, level, rng=rng).x[-1]

    return sample


SAMPLERS = {"Euler": sampler("euler"), "midpoint": sampler("midpoint"), "RK4": sampler("rk4"),
            f"SDE (EM, g = {DIFFUSION:g} sigma_t)": sampler("euler-maruyama", DIFFUSION),
            "DDPM (eta = 1)": sampler("ddpm", 1.0), "DDIM (eta = 0)": sampler("ddpm", 0.0)}
#: Rows of the table: (model, field, path, the samplers run on it).
ROWS = [("flow model", "learned", "linear", ["Euler", "midpoint", "RK4", f"SDE (EM, g = {DIFFUSION:g} sigma_t)"]),
        ("diffusion model", "learned", "vp", [f"SDE (EM, g = {DIFFUSION:g} sigma_t)", "Euler", "RK4",
                                              "DDPM (eta = 1)", "DDIM (eta = 0)"]),
        ("exact, linear path", "exact", "linear", ["Euler", "RK4", f"SDE (EM, g = {DIFFUSION:g} sigma_t)"]),
        ("exact, vp path", "exact", "vp", ["Euler", "RK4", f"SDE (EM, g = {DIFFUSION:g} sigma_t)",
                                            "DDPM (eta = 1)"])]


def measure(name):
    """{(model, sampler): [(nfe, energy distance, W2), ...]} on one dataset, all from the same noise."""
    results = {}
    for model, field, path_name, sampler_names in ROWS:
        kind = "flow" if path_name == "linear" else "diffusion"
        run = models[name, kind]
        f = run.velocity if field == "learned" else exact_velocity(get_dataset(name).mixture, path=run.path)
        for sampler_name in sampler_names:
            points = []
            for nfe in budgets:
                rng = np.random.default_rng(3)  # the same noise x_0 for every row
                x = SAMPLERS[sampler_name](f, run.path, npflow.noise(n, 2, rng), nfe, rng)
                if x is not None:
                    points.append((nfe, *quality(x, name, np.random.default_rng(4))))
            results[model, sampler_name] = points
            print(f"{name} {model}, {sampler_name}: " + " ".join(f"{p[0]}:{p[1]:.4f}" for p in points), flush=True)
    return results


def floor(name, draws=10):
    """Energy distance and W2 between two fresh draws of n points: their means and standard deviations
    over ``draws`` pairs, shape (2, 2). A single measurement above is as noisy as one such pair."""
    rng = np.random.default_rng(5)
    pairs = [quality(get_dataset(name).sample(n, rng), name, rng) for _ in range(draws)]
    return np.array([np.mean(pairs, axis=0), np.std(pairs, axis=0, ddof=1)])


results = {name: measure(name) for name in DATASETS}
floors = {name: floor(name) for name in DATASETS}

# %% [markdown]
# ## 5. The table and the figure

# %%


def markdown_table(name, column):
    """One Markdown table: a row per (model, sampler), a column per budget; ``column`` 1 is ED, 2 is W2."""
    head = "| model | sampler | " + " | ".join(f"{nfe}" for nfe in budgets) + " |"
    lines = [head, "|---|---|" + "---|" * len(budgets)]
    for (model, sampler_name), points in results[name].items():
        by_nfe = {p[0]: p[column] for p in points}
        cells = [f"{by_nfe[nfe]:.4f}" if nfe in by_nfe else "" for nfe in budgets]
        lines.append(f"| {model} | {sampler_name} | " + " | ".join(cells) + " |")
    mean, sd = floors[name][:, column - 1]
    lines.append(f"| two fresh draws (the floor) | mean and sd of 10 pairs | {mean:.4f} | +- {sd:.4f} |"
                 + " |" * (len(budgets) - 2))
    return "\n".join(lines)


sections = [f"Samples: {n} per measurement against {n} fresh points; training: {steps} steps, hidden {hidden}.\n"]
for name in DATASETS:
    for column, metric in ((1, "energy distance"), (2, "W2")):
        sections.append(f"### {name}: {metric} against NFE\n\n{markdown_table(name, column)}\n")
with open(os.path.join(args.out, "diffusion_vs_flow.md"), "w") as file:
    file.write("\n".join(sections))
print("\n" + "\n".join(sections))

COLOURS = {"Euler": "C0", "midpoint": "C9", "RK4": "C2", f"SDE (EM, g = {DIFFUSION:g} sigma_t)": "C3",
           "DDPM (eta = 1)": "C4", "DDIM (eta = 0)": "C5"}
fig = Figure(figsize=(11, 9), layout="constrained")
axes = fig.subplots(len(DATASETS), 2, sharex=True, sharey="row")
for row, name in zip(axes, DATASETS):
    for ax, field in zip(row, ("learned", "exact")):
        for (model, sampler_name), points in results[name].items():
            if (field == "exact") == model.startswith("exact") and points:
                nfe, ed = np.array(points)[:, 0], np.array(points)[:, 1]
                style = "-" if "flow" in model or "linear" in model else "--"  # the linear path, or vp
                ax.loglog(nfe, ed, style, color=COLOURS[sampler_name], marker="o", ms=3)
        ax.axhline(floors[name][0, 0], color="gray", lw=1, ls=":")
        ax.set(title=f"{name}: " + ("the trained models" if field == "learned" else "the exact fields (no training)"),
               xlabel="network evaluations (NFE)", ylabel="energy distance to fresh data")
handles = [Line2D([], [], color=colour, marker="o", ms=3, label=label) for label, colour in COLOURS.items()]
handles += [Line2D([], [], color="k", ls="-", label="flow: linear path, velocity"),
            Line2D([], [], color="k", ls="--", label="diffusion: vp path, noise prediction"),
            Line2D([], [], color="gray", ls=":", label="two fresh draws (the floor)")]
fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)
fig.savefig(os.path.join(args.out, "diffusion_vs_flow.png"), dpi=100)
print(f"wrote {args.out}/: diffusion_vs_flow.md, diffusion_vs_flow.png, error_vs_t.png")

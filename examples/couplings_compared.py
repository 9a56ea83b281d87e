# %% [markdown]
# # Straighter flows and one step: independent pairs, optimal transport, reflow and MeanFlow
#
# Flow matching pairs each noise point x_0 with a data point x_1 and teaches the field the
# straight line between them. With the tutorial's **independent** pairs, lines from all over the
# noise cross on their way to all over the data, and the learned field must average across the
# crossings: its paths curve, and a sampler needs many steps to follow them. Two ways to pair
# better:
#
# - **OT**: in each batch, re-pair noise and data by exact optimal transport
#   (`--coupling ot`), so that each noise point goes to a nearby data point;
# - **Sinkhorn**: the same with entropic OT (`--coupling sinkhorn`), each pair drawn from a
#   blurred plan: cheaper than the exact assignment, a little less straight;
# - **reflow**: carry noise through a trained flow and train a new one on the straight lines
#   between those fixed pairs (`npflow reflow`). ODE paths never cross, so neither do these
#   lines, much.
#
# And one way to need no straight paths at all: **MeanFlow** (`--objective meanflow`) learns the
# average velocity over an interval, u(s, t, x), so that a jump x + (t - s) u(s, t, x) of any
# length lands where the flow does; with independent pairs, and one step from noise to data.
#
# This example trains all five on eight Gaussians and on moons, then measures the W2 distance
# to the data after 1, 2, 4, 8 and 100 steps (Euler steps; for MeanFlow, jumps: one network
# evaluation a step either way), and the straightness of the paths (0 for straight lines
# walked at constant speed, when one Euler step is exact).
#
# Every model is trained once per seed (`--seeds`, 0 1 2 by default), each seed draws its own
# noise and fresh data, and every figure is the mean ± sd over the seeds: one training run's W2
# moves with its seed by as much as some of the gaps between couplings. A coupling is called
# better or worse than the independent one only where the mean of the per-seed differences
# exceeds twice its standard error and every seed agrees on its sign
# (`npflow.core.metrics.paired_difference`).
#
#     python examples/couplings_compared.py [--quick] [--seeds 0 1 2] [--out DIR]

# %%
import argparse
import os
import tempfile
import time
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

import npflow
import npflow.plumbing.plot
from npflow.core.metrics import DIFFERENCE_RULE, paired_difference, straightness, wasserstein2
from npflow.plumbing.error_bars import mean_sd
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Independent, OT, Sinkhorn, reflow and MeanFlow: W2 after few steps.")
parser.add_argument("--quick", action="store_true",
                    help="short training, few points, two seeds (seconds): too small to conclude")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds [0 1 2; --quick: 0 1]")
parser.add_argument("--out", default="couplings_compared_out",
                    help="folder for the table and the figure [couplings_compared_out]")
args = parser.parse_args()
if len(set(args.seeds)) < 2:
    parser.error("--seeds needs at least two different seeds: a comparison needs the spread over seeds")
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
seeds = args.seeds[:2] if args.quick else args.seeds
# Quick models are small and few: what they print shows that the code runs, not which coupling is better.
QUICK_NOTE = "quick: too small to conclude (short training, few points, two seeds)"
if args.quick:
    print(QUICK_NOTE)

# %% [markdown]
# ## 1. Five models per dataset and seed
#
# Every run uses the same network (128-128 ReLU), 3,000 steps at batch 256 with the tutorial's Adam
# (the hand-written backprop gradient, the same numbers as autograd's to rounding, only
# faster). The reflow starts from the independent model: 10,000 pairs solved with RK45 at a
# tolerance of 1e-6, then 3,000 steps. MeanFlow samples with a moving average of its weights
# (decay 0.999), the recipe its measurement in `npflow/meanflow.py` used; the flows sample
# with their last weights, so MeanFlow's rows are not quite like for like.

# %%
steps, batch_size, n_pairs, n = (300, 64, 500, 300) if args.quick else (3000, 256, 10_000, 2000)
euler_steps = [1, 2, 4, 8, 100]
datasets = ["eight_gaussians", "moons"]
methods = ["independent", "ot", "sinkhorn", "reflow", "meanflow"]
models, seconds = {}, {}
scratch = tempfile.TemporaryDirectory()  # for the pairs files
for seed in seeds:
    for name in datasets:
        config = npflow.TrainConfig(dataset=name, steps=steps, batch_size=batch_size, grad="backprop", seed=seed)
        recipes = {"independent": config, "ot": replace(config, coupling="ot"),
                   "sinkhorn": replace(config, coupling="sinkhorn"),
                   "meanflow": replace(config, objective="meanflow", ema=0.999)}
        for method, recipe in recipes.items():
            start = time.perf_counter()
            models[name, method, seed] = npflow.train(recipe, stream=None)
            seconds[name, method, seed] = time.perf_counter() - start
            print(f"seed {seed} {name:<16} {method:<12} trained in {seconds[name, method, seed]:5.1f} s", flush=True)
        start = time.perf_counter()
        pairs_file = os.path.join(scratch.name, f"{name}_{seed}.npz")
        pairs = npflow.reflow_pairs(models[name, "independent", seed], n_pairs, np.random.default_rng((1, seed)))
        npflow.save_pairs(pairs_file, *pairs)
        models[name, "reflow", seed] = npflow.train(npflow.reflow_config(config, pairs_file), stream=None)
        seconds[name, "reflow", seed] = time.perf_counter() - start
        print(f"seed {seed} {name:<16} {'reflow':<12} pairs made and trained in {seconds[name, 'reflow', seed]:5.1f} s",
              flush=True)

# %% [markdown]
# ## 2. W2 to the data after k steps, and straightness
#
# W2 is exact (an optimal assignment between n samples and n fresh data points), so even a
# perfect model scores above 0 at this n: compare rows, not against 0. A flow takes k Euler
# steps and a MeanFlow run k jumps (`Run.sample`), from the same noise (each seed its own). The
# straightness is measured along RK4 paths of 100 steps (MeanFlow's: 100 jumps). Each cell is
# the mean ± sd over the seeds.


# %%
def few_steps(run, x_0, k):
    """k steps of one network evaluation each: Euler for a flow, the jumps for a MeanFlow run."""
    return run.sample(x_0, None if run.config.objective == "meanflow" else "euler", steps=k)


# (dataset, method) -> W2 (seeds, steps), straightness (seeds,), and the first seed's one-step points
w2, straight, one_step = {}, {}, {}
for name in datasets:
    for method in methods:
        rows = []
        for seed in seeds:
            rng = np.random.default_rng((2, seed))
            data, x_0 = npflow.get_dataset(name).sample(n, rng), npflow.noise(n, 2, rng)
            run = models[name, method, seed]
            ends = {k: few_steps(run, x_0, k).x[-1] for k in euler_steps}
            fine = run.sample(x_0, None, steps=100)  # RK4 for a flow, 100 jumps for MeanFlow
            rows.append([wasserstein2(ends[k], data) for k in euler_steps] + [straightness(fine)])
            one_step.setdefault((name, method), ends[1])
        w2[name, method], straight[name, method] = np.array(rows)[:, :-1], np.array(rows)[:, -1]



header = "| dataset | model | " + " | ".join(f"W2, {k} step{'s' * (k > 1)}" for k in euler_steps)
lines = [header + " | straightness | training (s) |", "|" + "---|" * (len(euler_steps) + 4)]
for name in datasets:
    for method in methods:
        lines.append(f"| {name} | {method} | " + " | ".join(mean_sd(w) for w in w2[name, method].T)
                     + f" | {mean_sd(straight[name, method])} "
                     + f"| {np.mean([seconds[name, method, seed] for seed in seeds]):.1f} |")
table = "\n".join(lines)

# %% [markdown]
# ## 3. The verdicts: each way of pairing against the independent pairs
#
# At 1, 8 and 100 steps, W2 of each model against the independent model's, seed by seed.

# %%
verdict_lines = ["| dataset | model | steps | W2 - independent's W2, and the verdict |", "|---|---|---|---|"]
for name in datasets:
    for method in methods[1:]:
        for k in (1, 8, 100):
            j = euler_steps.index(k)
            mean, error, sign = paired_difference(w2[name, method][:, j], w2[name, "independent"][:, j])
            word = "quick: too small to conclude" if args.quick else {
                -1: "lower (better)", 1: "higher (worse)", 0: "no difference beyond the noise"}[sign]
            verdict_lines.append(f"| {name} | {method} | {k} | {mean:+.3f} ± {error:.3f}: {word} |")
verdicts = "\n".join(verdict_lines)
report = (f"{n} samples against {n} fresh data points, mean ± sd over seeds {' '.join(map(str, seeds))}; "
          f"{steps} steps, batch {batch_size}.\n\n{table}\n\n{verdicts}\n\n{DIFFERENCE_RULE}\n")
if args.quick:
    report = f"{QUICK_NOTE}\n\n{report}\n{QUICK_NOTE}\n"
print(report)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "couplings_compared.md"), "w") as file:
    file.write(report)

# %% [markdown]
# ## 4. The picture: W2 against steps (mean over the seeds), and where one step lands (the first seed)

# %%
fig = Figure(figsize=(19, 7), layout="constrained")
axes = fig.subplots(len(datasets), 1 + len(methods))
for row, name in zip(axes, datasets):
    for method in methods:
        row[0].semilogx(euler_steps, w2[name, method].mean(axis=0), marker="o", label=method)  # W2 within a decade
    row[0].set(title=f"{name}: W2 to the data", xlabel="steps (Euler; MeanFlow: jumps)", ylabel="W2")
    npflow.plumbing.plot.plain_log_ticks(row[0].xaxis)  # 1, 2, 5, 10, not 10^0 and 10^1
    data = npflow.get_dataset(name).sample(n, np.random.default_rng(3))
    (x_low, y_low), (x_high, y_high) = npflow.plumbing.plot.bounds_around(data)  # one frame for the row
    for ax, method in zip(row[1:], methods):
        ax.scatter(*data.T, s=2, c="lightgray", label="data")
        ax.scatter(*one_step[name, method].T, s=2, c="tab:blue", label=f"one step (seed {seeds[0]})")
        ax.set(title=f"{method}: one step, W2 {w2[name, method][0, 0]:.2f}", aspect="equal",
               xlim=(x_low, x_high), ylim=(y_low, y_high))
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower left", ncols=3, frameon=False)
fig.legend(*axes[0, 1].get_legend_handles_labels(), loc="outside lower center", ncols=2, markerscale=4, frameon=False)
npflow.plumbing.plot.mark_quick(fig, args.quick, QUICK_NOTE)  # so that a quick figure cannot pass for a full one
fig.savefig(os.path.join(args.out, "couplings_compared.png"), dpi=110)
print(f"table and figure written to {args.out}/")

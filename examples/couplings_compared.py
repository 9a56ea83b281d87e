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
#     python examples/couplings_compared.py [--quick] [--out DIR]

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
from npflow.core.metrics import straightness, wasserstein2
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Independent, OT, Sinkhorn, reflow and MeanFlow: W2 after few steps.")
parser.add_argument("--quick", action="store_true", help="short training and few points (seconds)")
parser.add_argument("--out", default="couplings_compared_out",
                    help="folder for the table and the figure [couplings_compared_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)

# %% [markdown]
# ## 1. Five models per dataset
#
# Every run uses the same network (128-128 ReLU), 3,000 steps at batch 256 with the tutorial's Adam
# (the hand-written backprop gradient, the same numbers as autograd's to rounding, only
# faster). The reflow starts from the independent model: 10,000 pairs solved with RK45 at a
# tolerance of 1e-6, then 3,000 steps. MeanFlow samples with a moving average of its weights
# (decay 0.999), the recipe its measurement in `npflow/meanflow.py` used; the flows sample
# with their last weights (tried on eight Gaussians, the average changed their one-step W2 by
# less than 0.02).

# %%
steps, batch_size, n_pairs, n = (300, 64, 500, 300) if args.quick else (3000, 256, 10_000, 2000)
euler_steps = [1, 2, 4, 8, 100]
datasets = ["eight_gaussians", "moons"]
methods = ["independent", "ot", "sinkhorn", "reflow", "meanflow"]
models, seconds = {}, {}
scratch = tempfile.TemporaryDirectory()  # for the pairs files
for name in datasets:
    config = npflow.TrainConfig(dataset=name, steps=steps, batch_size=batch_size, grad="backprop")
    recipes = {"independent": config, "ot": replace(config, coupling="ot"),
               "sinkhorn": replace(config, coupling="sinkhorn"),
               "meanflow": replace(config, objective="meanflow", ema=0.999)}
    for method, recipe in recipes.items():
        start = time.perf_counter()
        models[name, method] = npflow.train(recipe, stream=None)
        seconds[name, method] = time.perf_counter() - start
        print(f"{name:<16} {method:<12} trained in {seconds[name, method]:5.1f} s")
    start = time.perf_counter()
    pairs_file = os.path.join(scratch.name, f"{name}.npz")
    npflow.save_pairs(pairs_file, *npflow.reflow_pairs(models[name, "independent"], n_pairs, np.random.default_rng(1)))
    models[name, "reflow"] = npflow.train(npflow.reflow_config(config, pairs_file), stream=None)
    seconds[name, "reflow"] = time.perf_counter() - start
    print(f"{name:<16} {'reflow':<12} pairs made and trained in {seconds[name, 'reflow']:5.1f} s")

# %% [markdown]
# ## 2. W2 to the data after k steps, and straightness
#
# W2 is exact (an optimal assignment between n samples and n fresh data points), so even a
# perfect model scores above 0 at this n: compare rows, not against 0. A flow takes k Euler
# steps and a MeanFlow run k jumps (`Run.sample`), from the same noise. The last column's
# straightness is measured along RK4 paths of 100 steps (MeanFlow's: 100 jumps).


# %%
def few_steps(run, x_0, k):
    """k steps of one network evaluation each: Euler for a flow, the jumps for a MeanFlow run."""
    return run.sample(x_0, None if run.config.objective == "meanflow" else "euler", steps=k)


results = {}
for name in datasets:
    rng = np.random.default_rng(2)
    data, x_0 = npflow.get_dataset(name).sample(n, rng), npflow.noise(n, 2, rng)
    for method in methods:
        run = models[name, method]
        ends = {k: few_steps(run, x_0, k).x[-1] for k in euler_steps}
        fine = run.sample(x_0, None, steps=100)  # RK4 for a flow, 100 jumps for MeanFlow
        results[name, method] = {"w2": [wasserstein2(ends[k], data) for k in euler_steps],
                                 "straightness": straightness(fine), "one_step": ends[1]}

header = "| dataset | model | " + " | ".join(f"W2, {k} step{'s' * (k > 1)}" for k in euler_steps)
lines = [header + " | straightness | training (s) |", "|" + "---|" * (len(euler_steps) + 4)]
for (name, method), result in results.items():
    lines.append(f"| {name} | {method} | " + " | ".join(f"{w:.3f}" for w in result["w2"])
                 + f" | {result['straightness']:.3f} | {seconds[name, method]:.1f} |")
table = "\n".join(lines)
print(table)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "couplings_compared.md"), "w") as file:
    file.write(f"{n} samples against {n} fresh data points; {steps} steps, batch {batch_size}.\n\n{table}\n")

# %% [markdown]
# ## 3. The picture: W2 against steps, and where one step lands

# %%
fig = Figure(figsize=(19, 7), layout="constrained")
axes = fig.subplots(len(datasets), 1 + len(methods))
for row, name in zip(axes, datasets):
    for method in methods:
        row[0].semilogx(euler_steps, results[name, method]["w2"], marker="o", label=method)  # W2 within a decade
    row[0].set(title=f"{name}: W2 to the data", xlabel="steps (Euler; MeanFlow: jumps)", ylabel="W2")
    npflow.plumbing.plot.plain_log_ticks(row[0].xaxis)  # 1, 2, 5, 10, not 10^0 and 10^1
    data = npflow.get_dataset(name).sample(n, np.random.default_rng(3))
    (x_low, y_low), (x_high, y_high) = npflow.plumbing.plot.bounds_around(data)  # one frame for the row
    for ax, method in zip(row[1:], methods):
        ax.scatter(*data.T, s=2, c="lightgray", label="data")
        ax.scatter(*results[name, method]["one_step"].T, s=2, c="tab:blue", label="one step")
        ax.set(title=f"{method}: one step, W2 {results[name, method]['w2'][0]:.2f}", aspect="equal",
               xlim=(x_low, x_high), ylim=(y_low, y_high))
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower left", ncols=3, frameon=False)
fig.legend(*axes[0, 1].get_legend_handles_labels(), loc="outside lower center", ncols=2, markerscale=4, frameon=False)
fig.savefig(os.path.join(args.out, "couplings_compared.png"), dpi=110)
print(f"table and figure written to {args.out}/")

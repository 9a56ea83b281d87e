# %% [markdown]
# # Straighter flows: independent pairs, optimal transport and reflow
#
# Flow matching pairs each noise point x_0 with a data point x_1 and teaches the field the
# straight line between them. With the seed's **independent** pairs, lines from all over the
# noise cross on their way to all over the data, and the learned field must average across the
# crossings: its paths curve, and a sampler needs many steps to follow them. Two ways to pair
# better:
#
# - **OT**: in each batch, re-pair noise and data by exact optimal transport
#   (`--coupling ot`), so that each noise point goes to a nearby data point;
# - **reflow**: carry noise through a trained flow and train a new one on the straight lines
#   between those fixed pairs (`npflow reflow`). ODE paths never cross, so neither do these
#   lines, much.
#
# This example trains all three on eight Gaussians and on moons, then measures the W2 distance
# to the data after 1, 2, 4, 8 and 100 Euler steps, and the straightness of the paths (0 for
# straight lines walked at constant speed, when one Euler step is exact).
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
from npflow.metrics import straightness, wasserstein2
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Independent vs OT vs reflow couplings: W2 after few Euler steps.")
parser.add_argument("--quick", action="store_true", help="short training and few points (seconds)")
parser.add_argument("--out", default="couplings_compared_out",
                    help="folder for the table and the figure [couplings_compared_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)

# %% [markdown]
# ## 1. Three models per dataset
#
# Every run uses 3,000 steps at batch 256 with the seed's Adam (the hand-written backprop
# gradient, the same numbers as autograd's to rounding, only faster). The reflow starts from
# the independent model: 10,000 pairs solved with RK45 at a tolerance of 1e-6, then 3,000 steps.

# %%
steps, batch_size, n_pairs, n = (300, 64, 500, 300) if args.quick else (3000, 256, 10_000, 2000)
euler_steps = [1, 2, 4, 8, 100]
datasets = ["eight_gaussians", "moons"]
models = {}
scratch = tempfile.TemporaryDirectory()  # for the pairs files
for name in datasets:
    config = npflow.TrainConfig(dataset=name, steps=steps, batch_size=batch_size, grad="backprop")
    for coupling in ("independent", "ot"):
        start = time.perf_counter()
        models[name, coupling] = npflow.train(replace(config, coupling=coupling), stream=None)
        print(f"{name:<16} {coupling:<12} trained in {time.perf_counter() - start:5.1f} s")
    start = time.perf_counter()
    pairs_file = os.path.join(scratch.name, f"{name}.npz")
    npflow.save_pairs(pairs_file, *npflow.reflow_pairs(models[name, "independent"], n_pairs, np.random.default_rng(1)))
    models[name, "reflow"] = npflow.train(npflow.reflow_config(config, pairs_file), stream=None)
    print(f"{name:<16} {'reflow':<12} pairs made and trained in {time.perf_counter() - start:5.1f} s")

# %% [markdown]
# ## 2. W2 to the data after k Euler steps, and straightness
#
# W2 is exact (an optimal assignment between n samples and n fresh data points), so even a
# perfect model scores above 0 at this n: compare rows, not against 0. The last column's
# straightness is measured along RK4 paths of 100 steps.

# %%
methods = ["independent", "ot", "reflow"]
results = {}
for name in datasets:
    rng = np.random.default_rng(2)
    data, x_0 = npflow.get_dataset(name).sample(n, rng), npflow.noise(n, 2, rng)
    for method in methods:
        velocity = models[name, method].velocity
        ends = {k: npflow.generate(velocity, x_0, "euler", steps=k).x[-1] for k in euler_steps}
        results[name, method] = {
            "w2": [wasserstein2(ends[k], data) for k in euler_steps],
            "straightness": straightness(npflow.generate(velocity, x_0, "rk4", steps=100)),
            "one_step": ends[1]}

header = "| dataset | coupling | " + " | ".join(f"W2, {k} Euler" for k in euler_steps) + " | straightness |"
lines = [header, "|" + "---|" * (len(euler_steps) + 3)]
for (name, method), result in results.items():
    lines.append(f"| {name} | {method} | " + " | ".join(f"{w:.3f}" for w in result["w2"])
                 + f" | {result['straightness']:.3f} |")
table = "\n".join(lines)
print(table)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "couplings_compared.md"), "w") as file:
    file.write(f"{n} samples against {n} fresh data points; {steps} steps, batch {batch_size}.\n\n{table}\n")

# %% [markdown]
# ## 3. The picture: W2 against steps, and where one Euler step lands

# %%
fig = Figure(figsize=(13, 6.5), layout="constrained")
axes = fig.subplots(len(datasets), 1 + len(methods))
for row, name in zip(axes, datasets):
    for method in methods:
        row[0].semilogx(euler_steps, results[name, method]["w2"], marker="o", label=method)  # W2 within a decade
    row[0].set(title=f"{name}: W2 to the data", xlabel="Euler steps", ylabel="W2")
    npflow.plumbing.plot.plain_log_ticks(row[0].xaxis)  # 1, 2, 5, 10, not 10^0 and 10^1
    data = npflow.get_dataset(name).sample(n, np.random.default_rng(3))
    (x_low, y_low), (x_high, y_high) = npflow.plumbing.plot.bounds_around(data)  # one frame for the row
    for ax, method in zip(row[1:], methods):
        ax.scatter(*data.T, s=2, c="lightgray", label="data")
        ax.scatter(*results[name, method]["one_step"].T, s=2, c="tab:blue", label="one Euler step")
        ax.set(title=f"{method}: one Euler step, W2 {results[name, method]['w2'][0]:.2f}", aspect="equal",
               xlim=(x_low, x_high), ylim=(y_low, y_high))
fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower left", ncols=3, frameon=False)
fig.legend(*axes[0, 1].get_legend_handles_labels(), loc="outside lower center", ncols=2, markerscale=4, frameon=False)
fig.savefig(os.path.join(args.out, "couplings_compared.png"), dpi=110)
print(f"table and figure written to {args.out}/")

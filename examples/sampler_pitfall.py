# %% [markdown]
# # The tutorial's sampler pitfall, side by side
#
# The tutorial trains with **noise at t = 0 and data at t = 1**, then samples with
#
#     t_eval = torch.linspace(1, 0, timesteps); x0 = odeint(lambda t, x: -model(t, x), xT, t_eval)
#
# It starts from noise at *t = 1* and runs -v backward in time. The displacement it adds up
# is the same as running +v forward, but every call asks the field about the mirrored time:
# pure noise is pushed with v(1, x), the velocity learned for points that are almost data.
#
# This script trains the tutorial's recipe (or loads a run), samples both ways from the *same*
# noise, and measures both against fresh target samples.
#
#     python examples/sampler_pitfall.py [--run RUN_DIR] [--quick] [--out DIR]

# %%
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

import npflow
import npflow.plumbing.plot
from npflow.core.metrics import energy_distance, mode_fractions, mode_stds
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description=__doc__ or "The tutorial's sampler next to the correct one.")
parser.add_argument("--run", help="a run directory from 'npflow train' (default: train the tutorial's recipe)")
parser.add_argument("--quick", action="store_true", help="1,500 training steps and 1,000 samples (under a minute)")
parser.add_argument("--out", default="sampler_pitfall_out", help="folder for the figure [sampler_pitfall_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
# A quick model is short-trained and measured on few points: its numbers show that the code runs,
# not how far apart the samplers are.
QUICK_NOTE = "quick: too small to conclude (1,500 training steps, 1,000 samples)"
if args.quick:
    print(QUICK_NOTE)

# %% [markdown]
# ## 1. A trained field

# %%
if args.run:
    try:
        run = npflow.load_run(args.run)
    except npflow.RunError as error:
        sys.exit(f"sampler_pitfall.py: error: {error}")
    params, activation = run.params, run.config.activation
else:
    config = npflow.TrainConfig(steps=1500 if args.quick else 10_000)
    result = npflow.train(config, log_every=config.steps // 5)
    params, activation = result.params, config.activation


def v(t, x):
    return npflow.velocity(params, t, x, activation)


# %% [markdown]
# ## 2. The same noise, two samplers
#
# Correct: x(0) = noise, dx/dt = v(t, x), t from 0 to 1.
# Tutorial: x(1) = noise, dx/dt = -v(t, x), t from 1 to 0.

# %%
n = 1000 if args.quick else 4000
rng = np.random.default_rng(0)
x_0 = npflow.noise(n, 2, rng)
target = npflow.two_gaussians(n, rng)
trajectories = {
    "correct: +v forward, t 0 -> 1": npflow.generate(v, x_0, "rk4", steps=100),
    "tutorial: -v backward, t 1 -> 0": npflow.tutorial_generate(v, x_0, steps=100),
}
means = npflow.get_dataset("two_gaussians").means
for name, trajectory in trajectories.items():
    x = trajectory.x[-1]
    print(f"{name}\n    energy distance {energy_distance(x, target):.4f}, mode fractions "
          f"{mode_fractions(x, means).round(3)}, within-mode std (x, y) {mode_stds(x, means).round(2).tolist()}")

# %% [markdown]
# ## 3. Look at the paths
#
# Left: where each sampler ends, over the target. Right: the paths of 40 points from the same
# noise. The two sets of paths start together, but the tutorial's are pushed by the field
# of the wrong time, so they part ways.

# %%
fig = Figure(figsize=(13, 3.4), layout="constrained")
axes = fig.subplots(1, 3)
for ax, (name, trajectory) in zip(axes[:2], trajectories.items()):
    ax.scatter(target[:, 0], target[:, 1], s=2, c="0.75", label="target")
    ax.scatter(trajectory.x[-1, :, 0], trajectory.x[-1, :, 1], s=2, label="samples")
    ax.set(title=name, aspect="equal", xlim=(-9, 9), ylim=(-5, 5))
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower left", ncols=2, markerscale=4, frameon=False)
for (name, trajectory), colour in zip(trajectories.items(), ("C0", "C3")):
    paths = trajectory.x[:, :40]  # (steps + 1, 40, 2)
    axes[2].plot(paths[:, :, 0], paths[:, :, 1], c=colour, lw=0.7, alpha=0.7)
    axes[2].plot([], [], c=colour, label=name.split(":")[0])
axes[2].set(title="paths of 40 points from the same noise", aspect="equal", xlim=(-9, 9), ylim=(-5, 5))
fig.legend(*axes[2].get_legend_handles_labels(), loc="outside lower right", ncols=2, frameon=False)  # off the paths
os.makedirs(args.out, exist_ok=True)
npflow.plumbing.plot.mark_quick(fig, args.quick, QUICK_NOTE)  # so that a quick figure cannot pass for a full one
fig.savefig(os.path.join(args.out, "sampler_pitfall.png"), dpi=110)
print(f"figure written to {os.path.join(args.out, 'sampler_pitfall.png')}")

# %% [markdown]
# # The tutorial in NumPy, one piece at a time
#
# The tutorial's whole pipeline, written with npflow's parts so that each one can be looked
# at: the data, a batch on the conditional path, the training loop (written out here rather
# than hidden in `npflow.train`), and generation watched step by step.
#
#     python examples/tutorial_in_numpy.py [--quick] [--out DIR]

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np

import npflow
from npflow.core.metrics import energy_distance, mode_fractions
from npflow.core.solvers import rk4_stages
from npflow.plumbing import plot
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="The tutorial in NumPy, one piece at a time.")
parser.add_argument("--quick", action="store_true", help="1,500 training steps instead of 10,000 (under a minute)")
parser.add_argument("--out", default="tutorial_in_numpy_out", help="folder for the figures [tutorial_in_numpy_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
# A quick model is short-trained: its numbers show the code runs, not how the samplers compare.
QUICK_NOTE = "quick: too small to conclude (1,500 training steps)"
if args.quick:
    print(QUICK_NOTE)
rng = np.random.default_rng(42)  # the one source of randomness

# %% [markdown]
# ## 1. Data and one batch on the path
# x_1 is data, x_0 is noise, and x_t = t x_1 + (1 - t) x_0 lies between them (sigma_min = 0).
# The target velocity u_t = x_1 - x_0 points from the noise to the data.

# %%
path = npflow.LinearPath(sigma_min=0.0)
x_1 = npflow.two_gaussians(4, rng)  # (4, 2)
x_0 = rng.standard_normal(x_1.shape)  # (4, 2)
t = np.array([0.0, 0.25, 0.75, 1.0])  # (4,)
x_t, u_t = path.sample(x_0, x_1, t)
for i in range(4):
    print(f"t={t[i]:.2f}  x_0={x_0[i].round(2)}  x_1={x_1[i].round(2)}  x_t={x_t[i].round(2)}  u_t={u_t[i].round(2)}")

# %% [markdown]
# ## 2. Training, written out
# Each step draws t, x_1, x_0, and `npflow.training_step` does the rest: x_t and u_t on
# the path, the CFM loss and its gradient by autograd, and one Adam step.

# %%
steps = 1500 if args.quick else 10_000
params = npflow.init_mlp([3, 128, 128, 2], rng)  # input [t, x], output v in R^2
optimizer = npflow.Adam(lr=1e-3)
losses = np.empty(steps)
for step in range(steps):
    t = rng.random(128)
    x_1 = npflow.two_gaussians(128, rng)
    x_0 = rng.standard_normal(x_1.shape)
    params, losses[step] = npflow.training_step(params, optimizer, path, x_0, x_1, t)
    if step % 500 == 0 or step == steps - 1:
        print(f"step {step:5d}  loss {losses[step]:.4f}  (Adam has taken {optimizer.step_count} steps)")


def v(t, x):
    return npflow.velocity(params, t, x)


# %% [markdown]
# ## 3. Generation, watched
# `npflow.iterate` yields every RK4 step. Watch the noise split into two groups as t goes
# from 0 to 1: the spread along x grows from 1 (noise) to about 4.1 (the two modes).

# %%
x_0 = npflow.noise(2000, 2, rng)
for step in npflow.iterate(v, x_0, 0.0, 1.0, method="rk4", steps=100):
    if step.index % 20 == 0:
        print(f"t={step.t:.2f}  std of x={step.x[:, 0].std():.2f}  NFE so far={step.nfe}")
samples, rk4_nfe = step.x, step.nfe  # the last step holds the samples

# The four slopes of the first RK4 step, for the first point:
k1, k2, k3, k4 = rk4_stages(v, 0.0, x_0[:1], 0.01)
print("RK4 stages of the first step:", *(k.ravel().round(3) for k in (k1, k2, k3, k4)))

# %% [markdown]
# ## 4. Measure
# An adaptive solver (scipy's RK45) reaches the same samples with far fewer evaluations.

# %%
target = npflow.two_gaussians(2000, rng)
adaptive = npflow.generate(v, x_0, method="RK45", rtol=1e-5, atol=1e-5)
means = npflow.get_dataset("two_gaussians").means
for name, x, nfe in (("RK4, 100 steps", samples, rk4_nfe), ("RK45, 1e-5", adaptive.x[-1], adaptive.nfe)):
    print(f"{name:<15} NFE {nfe:4d}  energy distance {energy_distance(x, target):.4f}  "
          f"mode fractions {mode_fractions(x, means).round(3)}")

os.makedirs(args.out, exist_ok=True)
figure = plot.samples(target, {"RK4, 100 steps": samples, "RK45": adaptive.x[-1]})
plot.mark_quick(figure, args.quick, QUICK_NOTE)  # so that a quick figure cannot pass for a full one
figure.savefig(os.path.join(args.out, "samples.png"), dpi=110)
plot.loss(losses).savefig(os.path.join(args.out, "loss.png"), dpi=110)
print(f"figures written to {args.out}/")

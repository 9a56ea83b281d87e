# %% [markdown]
# # Backpropagation by hand, next to autograd and finite differences
#
# `autograd.grad` traces the forward pass and runs it backward. `npflow.core.backprop` writes the
# same chain rule out: a forward pass that caches each layer's input and pre-activation, and
# a backward pass from dL/dv down to dL/dW and dL/db. Here the three ways of getting the
# gradient of the CFM loss meet: autograd, the hand-written chain rule, and central
# differences, the slow referee that relies on nothing.
#
#     python examples/backprop_by_hand.py [--quick] [--out DIR]

# %%
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

import npflow
from npflow.core import backprop
from npflow.core.optim import tree_flatten
from npflow.core.training import loss_and_grad
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Backprop by hand against autograd and finite differences.")
parser.add_argument("--quick", action="store_true", help="fewer timing repeats")
parser.add_argument("--out", default="backprop_out", help="folder for the figure [backprop_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. One batch, one small network

# %%
params = npflow.init_mlp([3, 8, 8, 2], rng)
t, x_t, u_t = rng.random(32), rng.standard_normal((32, 2)), rng.standard_normal((32, 2))
output, cache = backprop.forward(params, np.column_stack([t, x_t]))
print("cached per layer (input, pre-activation):", [(h.shape, z.shape) for h, z in cache])

# %% [markdown]
# ## 2. Three gradients

# %%
_, by_autograd = loss_and_grad(params, t, x_t, u_t)
_, by_hand = backprop.loss_and_grad(params, t, x_t, u_t)
by_differences = backprop.numerical_gradient(lambda p: float(npflow.cfm_loss(p, t, x_t, u_t)), params)
g_autograd, g_hand, g_differences = (tree_flatten(g) for g in (by_autograd, by_hand, by_differences))
print(f"{len(g_hand)} parameters")
print(f"max |by hand - autograd|            = {np.abs(g_hand - g_autograd).max():.1e}")
print(f"max |by hand - central differences| = {np.abs(g_hand - g_differences).max():.1e}")

# %% [markdown]
# ## 3. What it costs, at the tutorial's size (128, 128)

# %%
big = npflow.init_mlp([3, 128, 128, 2], rng)
t, x_t, u_t = rng.random(128), rng.standard_normal((128, 2)), rng.standard_normal((128, 2))
repeats = 100 if args.quick else 1000
for name, gradient in (("autograd", loss_and_grad), ("by hand", backprop.loss_and_grad)):
    start = time.perf_counter()
    for _ in range(repeats):
        gradient(big, t, x_t, u_t)
    print(f"{name:>9}: {(time.perf_counter() - start) / repeats * 1e6:.0f} us per gradient")

fig = Figure(figsize=(6, 4), layout="constrained")
ax = fig.subplots()
ax.scatter(g_differences, g_hand, s=6)
ax.set(xlabel="central differences", ylabel="by hand", title="dL/dtheta, every parameter")
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "gradients.png"), dpi=110)
print(f"figure written to {os.path.join(args.out, 'gradients.png')}")

# %% [markdown]
# # Likelihood by the reverse ODE, and the density it draws
#
# `npflow.log_likelihood` runs the flow backward from a data point to the noise it came from,
# adding up the divergence of the field on the way:
#
#     log p_1(x) = log N(x(0); 0, I) - integral_0^1 div v(t, x(t)) dt
#
# This script checks it where the answer is known (the exact field of a Gaussian mixture),
# compares the exact divergence with Hutchinson's estimate, draws a trained model's density
# beside the target's, and measures how accurate "RK4, 100 steps" is for the likelihood of a
# ReLU network and of a SiLU one.
#
#     python examples/likelihood_and_density.py [--quick] [--out DIR]

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

import npflow
from npflow.plumbing import plot
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Likelihood by the reverse ODE, and the density it draws.")
parser.add_argument("--quick", action="store_true", help="a shorter training run and a coarser grid (under a minute)")
parser.add_argument("--out", default="likelihood_out", help="folder for the figures [likelihood_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Where the answer is known
# The flow of the exact field ends exactly at the mixture, so the reverse ODE must give back
# the mixture's own log-density.

# %%
gmm = npflow.GaussianMixture(means=[[-3.0, 0.0], [3.0, 1.0]], std=[0.8, 1.2], weights=[0.4, 0.6])
f = npflow.exact_velocity(gmm)
x = gmm.sample(200, rng)
for solver, options in (("rk4", {"steps": 100}), ("RK45", {"rtol": 1e-8, "atol": 1e-8})):
    log_p = npflow.log_likelihood(f, x, solver=solver, **options)
    print(f"{solver}: max |log p - true log p| = {np.abs(log_p - gmm.log_prob(x)).max():.1e}")

# %% [markdown]
# ## 2. Exact divergence against Hutchinson's estimate
# Hutchinson trades exactness for a cost that does not grow with the dimension; its noise
# falls like 1/sqrt(probes).

# %%
exact = npflow.log_likelihood(f, x, steps=50)
for probes in (1, 4, 16):
    estimate = npflow.log_likelihood(f, x, method="hutchinson", probes=probes, steps=50, rng=rng)
    print(f"Hutchinson, {probes:2d} probes: mean |error| = {np.abs(estimate - exact).mean():.4f} nats")

# %% [markdown]
# ## 3. A trained model's density, and KL to the target

# %%
run = npflow.train(npflow.TrainConfig(steps=1500 if args.quick else 10_000), log_every=500 if args.quick else 2000)
target = npflow.two_gaussians(1000, rng)
gap = npflow.data.datasets.TWO_GAUSSIANS.log_prob(target) - npflow.log_likelihood(run.velocity, target)
print(f"KL(target || model) = {gap.mean():.4f} +- {gap.std() / np.sqrt(len(gap)):.4f} nats")
fig = plot.density(lambda points: npflow.log_likelihood(run.velocity, points, steps=50), [[-8, -4], [8, 4]],
                   resolution=30 if args.quick else 80, target_log_p=npflow.data.datasets.TWO_GAUSSIANS.log_prob)
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "density.png"), dpi=110)
print(f"figure written to {os.path.join(args.out, 'density.png')}")

# %% [markdown]
# ## 4. How accurate is "RK4, 100 steps"? ReLU against SiLU
# RK4's error falls like h^4 when what it integrates is smooth. The likelihood integrates
# div v along each path, and the divergence of a ReLU network is piecewise constant in x: it
# jumps whenever a unit switches on or off along the path. So the integrand jumps in t, and
# RK4 keeps only first order: halving the step halves the error. SiLU is smooth, and RK4 keeps
# its fourth order. The observed order needs no reference: with d_K = |log p(K steps) -
# log p(2K steps)|, the order is log2(d_K / d_2K).

# %%
silu = npflow.train(npflow.TrainConfig(steps=1500 if args.quick else 10_000, activation="silu"),
                    log_every=500 if args.quick else 2000)
points = target[:100 if args.quick else 1000]
resolutions = (25, 50, 100, 200, 400) if args.quick else (25, 50, 100, 200, 400, 800)
gaps = {}
for name, model in (("relu", run), ("silu", silu)):
    log_p = [npflow.log_likelihood(model.velocity, points, steps=k) for k in resolutions]
    gaps[name] = [np.abs(fine - coarse).max() for coarse, fine in zip(log_p[:-1], log_p[1:])]  # d_K, largest
    orders = ", ".join(f"{np.log2(a / b):.1f}" for a, b in zip(gaps[name][:-1], gaps[name][1:]))
    print(f"{name}: RK4 with K steps against 2K, largest gap per point: "
          + ", ".join(f"{k}: {gap:.1e}" for k, gap in zip(resolutions, gaps[name])) + f" nats; observed orders {orders}")

fig = Figure(figsize=(6.0, 4.0), layout="constrained")
ax = fig.subplots()
for name, marker in (("relu", "o"), ("silu", "s")):
    ax.loglog(resolutions[:-1], gaps[name], marker=marker, label=f"{name} network")
k = np.array(resolutions[:-1], dtype=float)
for order, style in ((1, ":"), (4, "--")):  # reference slopes through the first ReLU and SiLU points
    start = gaps["relu" if order == 1 else "silu"][0]
    ax.loglog(k, start * (k[0] / k) ** order, c="0.5", ls=style, lw=1, label=f"slope of order {order}")
ax.set(xlabel="RK4 steps K", ylabel="largest |log p(K) - log p(2K)| (nats)",
       title="the likelihood's error under RK4")
ax.set_xticks(k, labels=[str(steps) for steps in resolutions[:-1]])  # one tick per K, plain numbers
ax.set_xticks([], minor=True)
plot.plain_log_ticks(ax.yaxis)
fig.legend(loc="outside right center", frameon=False)
fig.savefig(os.path.join(args.out, "rk4_likelihood_order.png"), dpi=110)
print(f"figure written to {os.path.join(args.out, 'rk4_likelihood_order.png')}")

# %% [markdown]
# # Solvers compared: error against cost, measured on the exact field
#
# The exact flow of a Gaussian mixture (`npflow.exact_velocity`) needs no training, so it is
# a fair test bench for ODE solvers: integrate the same noise with each method, and measure
# the error at t = 1 against a reference solved at a very tight tolerance. (The median over
# points: a few points that start between the modes are hard for every solver, and the
# maximum would show only them.) Plotted against the
# number of field evaluations (NFE, the cost that matters when the field is a network), each
# fixed-step method falls on a line of slope -p, its order: 1 for Euler, 2 for midpoint and
# Heun, 4 for RK4. The adaptive methods of scipy pick their own steps for a tolerance.
#
#     python examples/solvers_compared.py [--quick] [--out DIR]

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure

import npflow
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="ODE solvers compared on the exact flow of a Gaussian mixture.")
parser.add_argument("--quick", action="store_true", help="fewer points and step counts (seconds)")
parser.add_argument("--out", default="solvers_compared_out", help="folder for the figure [solvers_compared_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)

# %% [markdown]
# ## 1. The test problem: noise carried to a mixture with unequal modes

# %%
gmm = npflow.GaussianMixture(means=[[-4.0, 0.0], [3.0, 3.0]], std=[1.0, 0.5], weights=[0.6, 0.4])
f = npflow.exact_velocity(gmm)
x_0 = npflow.noise(200 if args.quick else 1000, 2, np.random.default_rng(0))
reference = npflow.decode(f, x_0, "DOP853", rtol=1e-12, atol=1e-12)

# %% [markdown]
# ## 2. Error at t = 1 against NFE

# %%
step_counts = [4, 8, 16, 32, 64, 128] if args.quick else [4, 8, 16, 32, 64, 128, 256, 512]
tolerances = [1e-3, 1e-5, 1e-7] if args.quick else [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
results = {}


def median_error(trajectory):
    """Median over points of the distance between the end point and the reference."""
    return np.median(np.linalg.norm(trajectory.x[-1] - reference, axis=1))


for method in ("euler", "midpoint", "heun", "rk4"):
    results[method] = [(t.nfe, median_error(t)) for t in (npflow.generate(f, x_0, method, steps=n) for n in step_counts)]
for method in ("RK23", "RK45", "DOP853"):
    results[method] = [(t.nfe, median_error(t))
                       for t in (npflow.generate(f, x_0, method, rtol=tol, atol=tol) for tol in tolerances)]

print(f"{'method':<9} {'observed order':>14}   (NFE, median error) ...")
for method, points in results.items():
    nfe, error = np.array(points).T
    # Fixed steps: the slope of log error against log NFE over the last halvings is the order.
    # (Adaptive methods choose their steps per tolerance, so no single slope describes them.)
    order = f"{-np.polyfit(np.log(nfe[-3:]), np.log(error[-3:]), 1)[0]:.2f}" if method.islower() else "adaptive"
    print(f"{method:<9} {order:>14}   " + "  ".join(f"({n:.0f}, {e:.1e})" for n, e in points))

# %% [markdown]
# ## 3. The picture

# %%
fig = Figure(figsize=(7, 5), layout="constrained")
ax = fig.subplots()
for method, points in results.items():
    nfe, error = np.array(points).T
    ax.loglog(nfe, error, marker="o" if method.islower() else "s", ls="-" if method.islower() else "--", label=method)
ax.set(xlabel="evaluations of the field (NFE)", ylabel="median error at t = 1",
       title="error against cost on the exact flow of a Gaussian mixture")
ax.legend()
os.makedirs(args.out, exist_ok=True)
fig.savefig(os.path.join(args.out, "solvers_compared.png"), dpi=110)
print(f"figure written to {os.path.join(args.out, 'solvers_compared.png')}")

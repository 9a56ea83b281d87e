# %% [markdown]
# # Watching one training run: the learned field converging to the exact one
#
# For the tutorial's target the exact marginal field is known (`npflow.exact_velocity`), so
# we can watch the distance to the truth while training, instead of only the loss. The loss
# stalls near 3: it is the field error plus the variance of u_t given x_t, which no model can
# remove. The field error keeps falling.
#
#     python examples/watching_training.py [--quick] [--out DIR]

# %%
import argparse
import os

import matplotlib

matplotlib.use("Agg")

import npflow
from npflow.plumbing import plot
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Watch the learned field converge to the exact one.")
parser.add_argument("--quick", action="store_true", help="2,000 steps instead of 10,000 (under a minute)")
parser.add_argument("--out", default="watching_training_out", help="folder for the figures [watching_training_out]")
args = parser.parse_args()
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)

# %% [markdown]
# ## 1. Train, logging the field error and keeping snapshots of the weights

# %%
steps = 2000 if args.quick else 10_000
snapshots = {}


def keep(step, loss, params):
    if (step + 1) in (steps // 20, steps // 4, steps):
        snapshots[step + 1] = params


run = npflow.train(npflow.TrainConfig(steps=steps), callback=keep, field_error_every=steps // 20,
                   log_every=steps // 4)
for step, error in run.field_errors[:: max(1, len(run.field_errors) // 5)]:
    print(f"step {step:6.0f}: field error {error:.4f}, mean loss of the last 100 steps "
          f"{run.losses[int(step) - 100:int(step)].mean():.3f}")

# %% [markdown]
# ## 2. The loss and the field error, together

# %%
os.makedirs(args.out, exist_ok=True)
plot.loss(run.losses, field_errors=run.field_errors).savefig(os.path.join(args.out, "loss.png"), dpi=110)

# %% [markdown]
# ## 3. The field at three moments of training, beside the exact one, at t = 0.5

# %%
exact = npflow.exact_velocity(npflow.data.datasets.TWO_GAUSSIANS)
for step, params in snapshots.items():
    fig = plot.field(lambda t, x, params=params: npflow.velocity(params, t, x), times=(0.25, 0.5, 0.75),
                     limits=[[-7, -4], [7, 4]], resolution=13, exact=exact)
    fig.suptitle(f"after {step} steps")
    fig.savefig(os.path.join(args.out, f"field_step_{step}.png"), dpi=90)
print(f"figures written to {args.out}/")

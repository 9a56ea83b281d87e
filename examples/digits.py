# %% [markdown]
# # Handwritten digits on a laptop CPU, measured like an image model
#
# The 8x8 digits (`npflow.digits`: 1,438 train and 359 test images of 64 pixels, 0..16) are
# points in R^64. This example trains a conditional flow on the train split with the `digits`
# recipe (the residual network of `npflow.resnet`, hand-written gradient, float32, Adam 3e-3
# with a cosine schedule, batch 256, EMA 0.999, 10,000 steps), draws a row of samples per
# class, and measures them as image models are measured, in NumPy (`npflow evaluate` prints
# the same): npflow's own classifier's reading of the samples, the Frechet distance in its
# features beside the train-test floor, the test split's bits/dim beside two Gaussians, and
# the memorization ratio.
#
#     python examples/digits.py [--quick] [--out DIR]
#
# From the command line:
#
#     npflow train --recipe digits --conditional --out digits_run
#     npflow evaluate digits_run --guidance 1
#     npflow plot digits_run --kind samples --guidance 1 --out digits.png

# %%
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np

import npflow
from npflow.plumbing.evaluate_images import evaluate_images, format_images
from npflow.plumbing.plot import image_grid
from npflow.digits import to_pixels
from npflow.run import RECIPES

parser = argparse.ArgumentParser(description="A conditional flow on the 8x8 digits, measured like an image model.")
parser.add_argument("--quick", action="store_true", help="a small model, trained in under a minute")
parser.add_argument("--out", default="digits_out", help="folder for the figure [digits_out]")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)

# %% [markdown]
# ## 1. Training
#
# `--quick` trains a small model (two blocks of 64, 600 steps): it draws blurry digits and its
# figures are not the recipe's. The full run trains the recipe as it is.

# %%
recipe = {**RECIPES["digits"], "conditional": True}
if args.quick:
    recipe.update(hidden=(64, 64), steps=600)
    print("--quick: a SMALL model (two blocks of 64, 600 steps), not the digits recipe; its numbers are not the recipe's")
start = time.perf_counter()
run = npflow.train(npflow.TrainConfig(**recipe), stream=None)
print(f"trained {run.step} steps in {time.perf_counter() - start:.1f} s, final loss {run.losses[-1]:.4f}")

# %% [markdown]
# ## 2. A row per class
#
# Ten samples of each class from the guided field v_w = (1 + w) v(t, x, y) - w v(t, x, no label)
# at w = 1, by rk4 in 100 steps, back in pixels (`to_pixels`).

# %%
columns, guidance, solver_steps = 10, 1.0, (20 if args.quick else 100)
y = np.repeat(np.arange(10), columns)
x_0 = np.random.default_rng(1).standard_normal((len(y), 64))
x_1 = npflow.generate(run.guided_velocity(y, guidance), x_0, "rk4", steps=solver_steps).x[-1]
grid = image_grid({str(k): row for k, row in enumerate(to_pixels(x_1).reshape(10, columns, 64))})
grid.savefig(os.path.join(args.out, "digits_samples.png"), dpi=110)

# %% [markdown]
# ## 3. Measured
#
# At w = 0 (the conditional field) and w = 1.

# %%
n = 300 if args.quick else 2000
for w in (0.0, guidance):
    report = evaluate_images(run, n=n, rng=np.random.default_rng(0), guidance=w, steps=solver_steps)
    print(f"\nguidance w = {w:g}\n" + format_images(report))

# %% [markdown]
# # Handwritten digits on a laptop CPU, measured like an image model
#
# The 8x8 digits (`npflow.data.digits`: 1,438 train and 359 test images of 64 pixels, 0..16) are
# points in R^64. This example trains the `digits` recipe (the residual network of
# `npflow.images.resnet`, hand-written gradient, float32, Adam 3e-3 with a cosine schedule, batch 256,
# EMA 0.999, 10,000 steps) twice: conditional on the class, and without labels. It draws what
# the conditional run makes (a row per class, digits on their way from noise, a grid per
# guidance weight, and a GIF), and measures both runs as image models are measured, in NumPy
# (`npflow evaluate` prints the same): npflow's own classifier's reading of the samples, the
# Frechet distance in its features beside the train-test floor, the test split's bits/dim
# beside two Gaussians, and the memorization ratio. It ends with the Markdown table of the
# README.
#
#     python examples/digits.py [--quick] [--out DIR]
#
# From the command line:
#
#     npflow train --recipe digits --conditional --out digits_run
#     npflow evaluate digits_run --label all --guidance 1
#     npflow plot digits_run --kind samples --label all --guidance 1 --out digits.png
#     npflow plot digits_run --kind trajectories --out strip.png     # and --kind guidance, animation

# %%
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np

import npflow
from npflow.images.pixels import to_pixels
from npflow.plumbing.evaluate_images import evaluate_images, format_images
from npflow.plumbing.labels import GUIDANCE_WEIGHTS
from npflow.plumbing.plot import weight_title
from npflow.plumbing.plot_images import image_animation, image_grid, image_grids, times_to_show
from npflow.plumbing.threads import use_threads
from npflow.models.registry import RECIPES

parser = argparse.ArgumentParser(description="Flows on the 8x8 digits, conditional and not, measured like image models.")
parser.add_argument("--quick", action="store_true", help="small models, trained in under a minute")
parser.add_argument("--out", default="digits_out", help="folder for the figures [digits_out]")
args = parser.parse_args()
use_threads(256 * 256 * 256)  # by the recipe's largest product, batch 256 by width 256 (NPFLOW_THREADS overrides)
os.makedirs(args.out, exist_ok=True)

# %% [markdown]
# ## 1. Training
#
# `--quick` trains small models (two blocks of 64, 600 steps): they draw blurry digits and
# their figures are not the recipe's. The full run trains the recipe as it is.

# %%
recipe = dict(RECIPES["digits"])
if args.quick:
    recipe.update(hidden=(64, 64), steps=600)
    print("--quick: SMALL models (two blocks of 64, 600 steps), not the digits recipe; their numbers are not the recipe's")
runs, seconds = {}, {}
for name, conditional in (("conditional", True), ("unconditional", False)):
    start = time.perf_counter()
    runs[name] = npflow.train(npflow.TrainConfig.from_settings({**recipe, "conditional": conditional}), stream=None)
    seconds[name] = time.perf_counter() - start
    print(f"{name}: trained {runs[name].step} steps in {seconds[name]:.1f} s, final loss {runs[name].losses[-1]:.4f}")
run = runs["conditional"]

# %% [markdown]
# ## 2. What the conditional run draws
#
# Samples of each class from the guided field v_w = (1 + w) v(t, x, y) - w v(t, x, no label),
# by rk4 in 100 steps, back in pixels (`to_pixels`): a row per class at w = 1; one digit per
# class on its way from noise (t = 0) to the digit (t = 1); and a grid per guidance weight w.


# %%
def flow_digits(w, columns, seed=1):
    """`columns` digits of each class from the field guided with w: the trajectory, x of shape (k, 10 columns, 64)."""
    y = np.repeat(np.arange(10), columns)
    x_0 = np.random.default_rng(seed).standard_normal((len(y), 64))
    return npflow.generate(run.guided_velocity(y, w), x_0, "rk4", steps=20 if args.quick else 100)


def class_rows(x):
    """Points of shape (10 columns, 64) as image_grid's rows: class -> pixels (columns, 64)."""
    return {str(k): row for k, row in enumerate(to_pixels(x).reshape(10, -1, 64))}


guidance = 1.0
trajectory = flow_digits(guidance, columns=10)
image_grid(class_rows(trajectory.x[-1])).savefig(os.path.join(args.out, "digits_samples.png"), dpi=110)
frames = to_pixels(trajectory.x).reshape(len(trajectory.t), 10, 10, 64)  # (time, class, column, pixel)
image_animation(frames, trajectory.t, os.path.join(args.out, "digits_flow.gif"), names=[str(k) for k in range(10)])

strip = flow_digits(guidance, columns=1)
k = times_to_show(strip.t, 11)  # 11 times from noise to digit
image_grid(class_rows(strip.x[k].transpose(1, 0, 2).reshape(-1, 64)), titles=[f"t = {t:.1f}" for t in strip.t[k]]
           ).savefig(os.path.join(args.out, "digits_trajectories.png"), dpi=110)

grids = {weight_title(w): class_rows(flow_digits(w, columns=4).x[-1]) for w in GUIDANCE_WEIGHTS}
image_grids(grids).savefig(os.path.join(args.out, "digits_guidance.png"), dpi=90)
print(f"figures written to {args.out}/")

# %% [markdown]
# ## 3. Measured
#
# The conditional run at w = 0 (its conditional field) and w = 1, and the unconditional run.
# Each measurement trains npflow's classifier afresh from the same seed, so each row is read
# by the same judge.

# %%
n = 300 if args.quick else 1000
measured = {}
for label, which, w in (("conditional, w = 0", "conditional", 0.0), ("conditional, w = 1", "conditional", 1.0),
                        ("unconditional", "unconditional", 0.0)):
    measured[label] = evaluate_images(runs[which], n=n, rng=np.random.default_rng(42), guidance=w,
                                      steps=20 if args.quick else 100)
    print(f"\n{label}\n" + format_images(measured[label]))

floor = measured["unconditional"]["frechet_floor"]
print(f"\n| run | read as the asked class | Frechet distance (floor {floor:.3f}) | test bits/dim | memorization ratio |")
print("|---|---|---|---|---|")
for label, report in measured.items():
    read = f"{100 * report['class_accuracy']:.1f} %" if "class_accuracy" in report else ""
    fd = report["frechet_distance"]
    print(f"| {label} | {read} | {fd:.3f} ({fd / report['frechet_floor']:.2f}x) | {report['bits_per_dim']:.3f} "
          f"| {report['memorization_ratio']:.2f} |")
baselines = measured["unconditional"]["baselines"]
print("\nGaussians fit to the train split, test bits/dim: "
      + ", ".join(f"{name} {bits:.3f}" for name, bits in baselines.items())
      + f"; the classifier reads {100 * measured['unconditional']['classifier_test_accuracy']:.1f} % of the test split"
      + f" right; training took {seconds['conditional']:.0f} s (conditional) and {seconds['unconditional']:.0f} s"
      + f" (unconditional); {n} samples a row.")

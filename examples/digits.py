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
# beside two Gaussians, and the memorization ratio. It ends with a Markdown table of both runs
# over seeds, and a verdict per comparison.
#
# One training run decides little: the Frechet distance of one run moves with its seed by as
# much as the gap between conditional and unconditional. So both runs are trained once per seed
# (`--seeds`, 0 1 2 by default), every figure of the table is the mean ± sd over the seeds, and
# two are called different only where the mean of the per-seed differences exceeds twice its
# standard error and every seed agrees on its sign (`npflow.core.metrics.paired_difference`).
# Six runs of the full recipe take twenty minutes or more on two cores; `--steps` trains
# fewer steps of the same recipe.
#
#     python examples/digits.py [--quick] [--seeds 0 1 2] [--steps 10000] [--out DIR]
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
import npflow.plumbing.plot
from npflow.core.metrics import DIFFERENCE_RULE, paired_difference
from npflow.images.pixels import to_pixels
from npflow.plumbing.error_bars import mean_sd
from npflow.plumbing.evaluate_images import evaluate_images, format_images
from npflow.plumbing.labels import GUIDANCE_WEIGHTS
from npflow.plumbing.plot import weight_title
from npflow.plumbing.plot_images import image_animation, image_grid, image_grids, times_to_show
from npflow.plumbing.threads import use_threads
from npflow.models.registry import RECIPES

parser = argparse.ArgumentParser(description="Flows on the 8x8 digits, conditional and not, measured like image models.")
parser.add_argument("--quick", action="store_true",
                    help="small models, two seeds, trained in about a minute: too small to conclude")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds [0 1 2; --quick: 0 1]")
parser.add_argument("--steps", type=int, help="Adam steps of each run [the recipe's 10000; --quick: 600]")
parser.add_argument("--out", default="digits_out", help="folder for the figures [digits_out]")
args = parser.parse_args()
if len(set(args.seeds)) < 2:
    parser.error("--seeds needs at least two different seeds: a comparison needs the spread over seeds")
use_threads(256 * 256 * 256)  # by the recipe's largest product, batch 256 by width 256 (NPFLOW_THREADS overrides)
os.makedirs(args.out, exist_ok=True)
seeds = args.seeds[:2] if args.quick else args.seeds
# Quick models are small and few: what they print shows that the code runs, not which run is better.
QUICK_NOTE = "quick: too small to conclude (small models, 600 steps, two seeds)"


def mark_quick(fig):
    """Write the quick note on a figure, so that a quick figure cannot pass for a full one."""
    return npflow.plumbing.plot.mark_quick(fig, args.quick, QUICK_NOTE)

# %% [markdown]
# ## 1. Training
#
# `--quick` trains small models (two blocks of 64, 600 steps): they draw blurry digits and
# their figures are not the recipe's. The full run trains the recipe as it is (or with
# `--steps` steps), conditional and not, once per seed.

# %%
recipe = dict(RECIPES["digits"])
if args.quick:
    recipe.update(hidden=(64, 64), steps=600)
    print("--quick: SMALL models (two blocks of 64, 600 steps), not the digits recipe; their numbers are not the recipe's")
    print(QUICK_NOTE)
if args.steps:
    recipe.update(steps=args.steps)
runs, seconds = {}, {}
for seed in seeds:
    for name, conditional in (("conditional", True), ("unconditional", False)):
        start = time.perf_counter()
        settings = {**recipe, "conditional": conditional, "seed": seed}
        runs[name, seed] = trained = npflow.train(npflow.TrainConfig.from_settings(settings), stream=None)
        seconds[name, seed] = time.perf_counter() - start
        print(f"seed {seed}, {name}: trained {trained.step} steps in {seconds[name, seed]:.1f} s, "
              f"final loss {trained.losses[-1]:.4f}", flush=True)
run = runs["conditional", seeds[0]]  # the figures are the first seed's

# %% [markdown]
# ## 2. What the conditional run draws
#
# Samples of each class from the guided field v_w = (1 + w) v(t, x, y) - w v(t, x, no label),
# by rk4 in 100 steps, back in pixels (`to_pixels`): a row per class at w = 1; one digit per
# class on its way from noise (t = 0) to the digit (t = 1); and a grid per guidance weight w.
# They are drawn by the first seed's conditional run.


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
mark_quick(image_grid(class_rows(trajectory.x[-1]))).savefig(os.path.join(args.out, "digits_samples.png"), dpi=110)
frames = to_pixels(trajectory.x).reshape(len(trajectory.t), 10, 10, 64)  # (time, class, column, pixel)
image_animation(frames, trajectory.t, os.path.join(args.out, "digits_flow.gif"), names=[str(k) for k in range(10)])

strip = flow_digits(guidance, columns=1)
k = times_to_show(strip.t, 11)  # 11 times from noise to digit
mark_quick(image_grid(class_rows(strip.x[k].transpose(1, 0, 2).reshape(-1, 64)),
                      titles=[f"t = {t:.1f}" for t in strip.t[k]])).savefig(
    os.path.join(args.out, "digits_trajectories.png"), dpi=110)

grids = {weight_title(w): class_rows(flow_digits(w, columns=4).x[-1]) for w in GUIDANCE_WEIGHTS}
mark_quick(image_grids(grids)).savefig(os.path.join(args.out, "digits_guidance.png"), dpi=90)
print(f"figures written to {args.out}/")

# %% [markdown]
# ## 3. Measured over seeds
#
# The conditional run at w = 0 (its conditional field) and w = 1, and the unconditional run, for
# each seed, each from its own draw of samples. Every run is read by the same judge, npflow's
# fixed classifier (`npflow/data/judge.npz`), whatever the seed.

# %%
n = 300 if args.quick else 1000
ROWS = {"conditional, w = 0": ("conditional", 0.0), "conditional, w = 1": ("conditional", 1.0),
        "unconditional": ("unconditional", 0.0)}
FIGURES = {"class_accuracy": "read as the asked class", "frechet_distance": "Frechet distance",
           "bits_per_dim": "test bits/dim", "memorization_ratio": "memorization ratio"}
measured = {}  # (row, seed) -> the report of evaluate_images
for seed in seeds:
    for label, (which, w) in ROWS.items():
        measured[label, seed] = report = evaluate_images(runs[which, seed], n=n, rng=np.random.default_rng((42, seed)),
                                                         guidance=w, steps=20 if args.quick else 100)
        print(f"\nseed {seed}, {label}\n" + format_images(report), flush=True)


def over_seeds(label, figure):
    """A figure of one row, shape (seeds,)."""
    return np.array([measured[label, seed][figure] for seed in seeds])



floor = over_seeds("unconditional", "frechet_floor")  # the train split against the test split: no run in it
print(f"\n{n} samples a row; mean ± sd over seeds {' '.join(map(str, seeds))}; {recipe['steps']} training steps"
      + (f"\n{QUICK_NOTE}" if args.quick else ""))
print(f"\n| run | {' | '.join(FIGURES.values())} |\n|---|---|---|---|---|")
for label in ROWS:
    cells = [mean_sd(over_seeds(label, figure)) if figure in measured[label, seeds[0]] else "" for figure in FIGURES]
    print(f"| {label} | " + " | ".join(cells) + " |")
print(f"| the floor: train split against test | | {mean_sd(floor)} | | |")

# %% [markdown]
# ## 4. The verdicts
#
# Seed by seed: does guidance (w = 1 against w = 0) move the Frechet distance, and is the
# conditional run (w = 0) nearer the test split, or better at its likelihood, than the
# unconditional one?

# %%
COMPARISONS = [("conditional, w = 1", "conditional, w = 0", "frechet_distance"),
               ("conditional, w = 0", "unconditional", "frechet_distance"),
               ("conditional, w = 0", "unconditional", "bits_per_dim"),
               ("conditional, w = 0", "unconditional", "memorization_ratio")]
print("\n| A | B | figure | A - B, and the verdict |\n|---|---|---|---|")
for a, b, figure in COMPARISONS:
    mean, error, sign = paired_difference(over_seeds(a, figure), over_seeds(b, figure))
    word = "quick: too small to conclude" if args.quick else {
        -1: "lower for A", 1: "higher for A", 0: "no difference beyond the noise"}[sign]
    print(f"| {a} | {b} | {FIGURES[figure]} | {mean:+.3f} ± {error:.3f}: {word} |")
print(DIFFERENCE_RULE)
baselines = measured["unconditional", seeds[0]]["baselines"]
print("\nGaussians fit to the train split, test bits/dim: "
      + ", ".join(f"{name} {bits:.3f}" for name, bits in baselines.items())
      + f"; the judge reads {100 * measured['unconditional', seeds[0]]['classifier_test_accuracy']:.1f} % of the test"
      + " split right; training took " + ", ".join(f"{np.mean([seconds[name, seed] for seed in seeds]):.0f} s ({name})"
                                                   for name in ("conditional", "unconditional"))
      + " on average.")
if args.quick:
    print(QUICK_NOTE)

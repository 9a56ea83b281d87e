"""MeanFlow's one-step W2 on eight_gaussians: the paper's training recipe beside npflow's default, over seeds.

    python benchmarks/meanflow_recipes.py [--quick] [--seeds 0 1 2] [--steps 2000] [--n 2000] [--recipes NAME ...]

Each recipe trains the same network on the same budget: the ``fast`` recipe's settings
(``npflow.models.RECIPES["fast"]``: 128-128 ReLU, batch 256, Adam 4e-3 with a cosine schedule,
weights averaged with decay 0.999, float32, the gradient by hand) with ``--objective meanflow``
and ``--steps`` steps; only MeanFlow's options differ (``npflow.models.meanflow.MeanFlowOptions``).
Each trained run then takes one jump from the same noise (``run.sample(x_0, steps=1)``), and
its W2 to the same fresh data (``npflow.core.metrics.wasserstein2``, n points of each, drawn from
a generator no training seed uses) is its figure; eight jumps are shown beside it.

The verdict compares each recipe with the default seed by seed (the same seed gives the same
first weights): it states a difference only where the mean of the per-seed differences is more
than twice its standard error (their sd / sqrt(seeds)) and every seed agrees on its sign;
otherwise "no difference beyond the noise". ``--quick`` trains tiny models for a smoke test:
too small to conclude anything, and the table says so.
"""
import argparse
import time
from dataclasses import replace

import numpy as np

import npflow
from npflow.core.metrics import paired_difference, wasserstein2
from npflow.data.datasets import get_dataset
from npflow.models.meanflow import PAPER_RECIPE, MeanFlowOptions
from npflow.runs.config import recipe

DEFAULT = MeanFlowOptions()
#: The recipes compared: npflow's default, the paper's, and each of the paper's three parts alone.
RECIPES = {
    "default": DEFAULT,
    "paper (all three)": PAPER_RECIPE,
    "weights p=1 only": replace(DEFAULT, weight_power=PAPER_RECIPE.weight_power, weight_eps=PAPER_RECIPE.weight_eps),
    "logit-normal only": replace(DEFAULT, times=PAPER_RECIPE.times, time_mean=PAPER_RECIPE.time_mean,
                                 time_std=PAPER_RECIPE.time_std),
    "share 0.75 only": replace(DEFAULT, share_equal=PAPER_RECIPE.share_equal),
}
EVALUATION_SEED = 2025  # the noise and the fresh data the runs are scored on; no training seed


def parse_arguments():
    parser = argparse.ArgumentParser(description="MeanFlow's one-step W2: the paper's recipe against the default.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds [0 1 2]")
    parser.add_argument("--steps", type=int, default=2000, help="Adam steps of each run [2000]")
    parser.add_argument("--n", type=int, default=2000, help="points sampled and fresh data points for W2 [2000]")
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES), metavar="NAME",
                        help=f"which recipes, the default first among them: {', '.join(map(repr, RECIPES))} [all]")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test in seconds: two recipes, two seeds, tiny models; too small to conclude")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.n, args.recipes = args.seeds[:2], 60, 300, args.recipes[:2]
    if args.recipes[0] != "default":
        parser.error("the first of --recipes must be 'default', the reference of the verdicts")
    return args


def measure(options, seed, args, x_0, data):
    """Train one run with MeanFlow ``options`` and ``seed``; its W2 to ``data`` after one and after eight jumps."""
    hidden = {"hidden": (16, 16)} if args.quick else {}
    config = recipe("fast", dataset="eight_gaussians", objective="meanflow", steps=args.steps, seed=seed, **hidden,
                    **vars(options))
    run = npflow.train(config, stream=None)
    return [wasserstein2(run.sample(x_0, steps=jumps).x[-1], data) for jumps in (1, 8)]


def verdict(figures, reference):
    """One line comparing per-seed one-step W2s ``figures`` with ``reference`` (both shape (seeds,))."""
    mean, error, sign = paired_difference(figures, reference)  # the same seed, so the same first weights
    word = {-1: "lower (better)", 1: "higher (worse)", 0: "no difference beyond the noise"}[sign]
    return f"{mean:+.3f} ± {error:.3f}: {word}"


def main():
    args = parse_arguments()
    rng = np.random.default_rng(EVALUATION_SEED)
    x_0, data = rng.standard_normal((args.n, 2)), get_dataset("eight_gaussians").sample(args.n, rng)  # (n, 2) each
    names = args.recipes
    w2 = {}  # name -> (seeds, 2): one jump, eight jumps
    started = time.perf_counter()
    for name in names:
        w2[name] = np.array([measure(RECIPES[name], seed, args, x_0, data) for seed in args.seeds])
    seconds = time.perf_counter() - started
    print(f"MeanFlow on eight_gaussians: recipe 'fast', {args.steps} steps, seeds {' '.join(map(str, args.seeds))}; "
          f"W2 of n = {args.n} samples to {args.n} fresh data points (mean ± sd over seeds); {seconds:.0f} s")
    if args.quick:
        print("quick: tiny models and few steps, too small to conclude anything")
    print(f"| {'recipe':<18} | {'W2, 1 jump':<13} | {'W2, 8 jumps':<13} | {'per seed, 1 jump':<22} | "
          f"{'1 jump against the default':<46} |")
    print(f"|{'-' * 20}|{'-' * 15}|{'-' * 15}|{'-' * 24}|{'-' * 48}|")
    for name in names:
        one, eight = w2[name][:, 0], w2[name][:, 1]
        against = "(the reference)" if name == "default" else verdict(one, w2["default"][:, 0])
        per_seed = " ".join(f"{value:.3f}" for value in one)
        print(f"| {name:<18} | {one.mean():.3f} ± {one.std(ddof=1):.3f} "
              f"| {eight.mean():.3f} ± {eight.std(ddof=1):.3f} | {per_seed:<22} | {against:<46} |")
    print("A difference is stated where the mean per-seed difference exceeds twice its standard error and every "
          "seed agrees on its sign.")


if __name__ == "__main__":
    main()

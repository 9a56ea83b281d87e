# %% [markdown]
# # Conditioning and classifier-free guidance, against the exact field
#
# A conditional field v(t, x, y) is told which class y to draw. Trained with label dropout
# (each label replaced by "no label" with probability p_uncond), one network also learns the
# unconditional field v(t, x, no label), and the two combine into Ho and Salimans' guided field
#
#     v_w(t, x, y) = (1 + w) v(t, x, y) - w v(t, x, no label)
#
# w = -1 is the unconditional field, w = 0 the conditional one, and w > 0 pushes harder
# towards the class. For a Gaussian-mixture target every one of these fields has a closed form
# (`npflow.exact_guided_velocity(gmm, label=k, guidance=w)`), so what guidance does can be measured
# twice: with the learned field and with the exact one.
#
# This example trains conditional runs on eight_gaussians and gmm and, for w in
# {-1, 0, 0.5, 1, 2, 4}, measures the share of samples that land in the asked class (nearest
# to its mode), their spread there against the class's own s_k, and how far their centre has
# moved from the mode. Then the learned field's error per label, w = -1 against an
# unconditional run, and the choice of p_uncond.
#
# Every run is trained once per seed (`--seeds`, 0 1 2 by default), each seed draws its own
# noise, and every figure is the mean ± sd over the seeds. Two figures are called different only
# where the mean of their per-seed differences exceeds twice its standard error and every seed
# agrees on its sign (`npflow.core.metrics.paired_difference`).
#
#     python examples/guidance.py [--quick] [--seeds 0 1 2] [--out DIR]

# %%
import argparse
import os
import time
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import numpy as np

import npflow
import npflow.plumbing.plot
from npflow.core.metrics import DIFFERENCE_RULE, field_error, mode_fractions
from npflow.core.oracle import points_on_path
from npflow.guidance.labels import equal_shares
from npflow.guidance.measures import class_measures, label_field_errors
from npflow.plumbing.error_bars import mean_sd, verdict
from npflow.plumbing.labels import GUIDANCE_WEIGHTS
from npflow.plumbing.threads import use_threads
from npflow.models.registry import RECIPES

parser = argparse.ArgumentParser(description="Classifier-free guidance, learned and exact, measured per class.")
parser.add_argument("--quick", action="store_true",
                    help="short training, few points, two seeds (seconds): too small to conclude")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds [0 1 2; --quick: 0 1]")
parser.add_argument("--out", default="guidance_out", help="folder for the tables and the figures [guidance_out]")
args = parser.parse_args()
if len(set(args.seeds)) < 2:
    parser.error("--seeds needs at least two different seeds: a comparison needs the spread over seeds")
use_threads()  # one BLAS thread for work this small (NPFLOW_THREADS overrides; see npflow/plumbing/threads.py)
seeds = args.seeds[:2] if args.quick else args.seeds
# Quick runs are short and few: what they print shows that the code runs, not what guidance does.
QUICK_NOTE = "quick: too small to conclude (short training, few points, two seeds)"
if args.quick:
    print(QUICK_NOTE)




# %% [markdown]
# ## 1. The recipe
#
# The `fast` recipe (hand-written backprop, float32, lr 2e-3 with a cosine schedule, batch 256,
# a moving average of the weights with decay 0.999) with `conditional=True` and 8,000 steps;
# p_uncond is the default, 0.2; one run per dataset and seed. From the command line:
#
#     npflow train --recipe fast --lr 2e-3 --dataset eight_gaussians --conditional --steps 8000 --out eg

# %%
steps, n, solver_steps = (600, 400, 20) if args.quick else (8000, 4000, 100)
datasets = ["eight_gaussians", "gmm"]
# the fast recipe at the learning rate the README's tables were measured with (the recipe's is now 4e-3)
recipe = npflow.TrainConfig.from_settings({**RECIPES["fast"], "conditional": True, "steps": steps, "lr": 2e-3})
runs = {}
for seed in seeds:
    for name in datasets:
        start = time.perf_counter()
        runs[name, seed] = npflow.train(replace(recipe, dataset=name, seed=seed), stream=None)
        print(f"seed {seed} {name:<16} conditional run trained in {time.perf_counter() - start:5.1f} s ({steps} steps)",
              flush=True)

# %% [markdown]
# ## 2. What guidance does
#
# From the same noise, n samples with the classes sharing them equally, for each w, with the
# learned field and with the exact one. "In class" is the share of the samples asked for k that
# land nearest to mode k: the smallest over the labels, and the mean. Spread and shift are
# measured on the samples that land in their class, in units of that class's s_k (both
# averaged over the labels): spread 1 is the class's own width, and shift is how far their centre
# sits from the mode. Each seed draws its own noise, for the exact field too, so the exact
# column's sd is the draw's. The last two columns compare the learned field with the exact one,
# seed by seed.

# %%
def guided_samples(name, field_of_w, seed):
    """n samples for each w, the classes sharing them equally, from the same noise: {w: (n, 2)}."""
    dataset = npflow.get_dataset(name)
    y = equal_shares(np.arange(dataset.num_classes), n)
    x_0 = np.random.default_rng((1, seed)).standard_normal((n, 2))
    return y, {w: npflow.generate(field_of_w(y, w), x_0, steps=solver_steps).x[-1] for w in GUIDANCE_WEIGHTS}


def summary(x, y, gmm):
    """(smallest share in class, mean share, mean spread / s_k, mean shift / s_k) over the labels."""
    measures = class_measures(x, y, gmm.means)
    return (measures["share"].min(), measures["share"].mean(), np.nanmean(measures["spread"] / gmm.stds),
            np.nanmean(measures["shift"] / gmm.stds))


samples, rows, in_class = {}, [], {}  # in_class[name]: (seeds, K), the share in class at w = 0
for name in datasets:
    gmm = npflow.get_dataset(name).mixture
    ours, truth = {}, {}  # w -> (seeds, 4): the summary of the learned field's samples, and of the exact one's
    for seed in seeds:
        y, learned = guided_samples(name, runs[name, seed].guided_velocity, seed)
        _, exact = guided_samples(name, lambda y, w: npflow.exact_guided_velocity(gmm, label=y, guidance=w), seed)
        samples.setdefault(name, (y, learned, exact))  # the first seed's, for the figures
        in_class.setdefault(name, []).append(class_measures(learned[0.0], y, gmm.means)["share"])
        for w in GUIDANCE_WEIGHTS:
            ours.setdefault(w, []).append(summary(learned[w], y, gmm))
            truth.setdefault(w, []).append(summary(exact[w], y, gmm))
    for w in GUIDANCE_WEIGHTS:
        a, b = np.array(ours[w]), np.array(truth[w])
        rows.append(f"| {name} | {w:g} | " + " | ".join(f"{mean_sd(a[:, j])} / {mean_sd(b[:, j])}" for j in range(4))
                    + f" | {verdict(a[:, 2], b[:, 2], 'learned narrower', 'learned wider', quick=args.quick)} "
                    + f"| {verdict(a[:, 3], b[:, 3], 'learned nearer the mode', 'learned further out', 3, args.quick)}"
                    + " |")
table = "\n".join(["| dataset | w | in class, smallest: learned / exact | in class, mean | spread / s_k | shift / s_k "
                   "| spread: learned - exact | shift: learned - exact |", "|---|---|---|---|---|---|---|---|", *rows])
print(table)

# %% [markdown]
# ## 3. The learned conditional field against the exact one, label by label
#
# The field error (the mean squared gap, `npflow.core.metrics.field_error`) of v(t, x, k) against the
# exact field given k, at n points (t, x_t) of class k's own path, and of the "no label" field
# against the exact field of the whole mixture. The share in class is that of w = 0 above. Both
# are the mean ± sd over the seeds.

# %%
def field_errors(run, gmm, seed):
    """The field error of v(t, x, k) for every label k, then of the "no label" field: shape (K + 1,)."""
    labels = np.arange(len(gmm.weights))
    errors = label_field_errors(lambda k: run.guided_velocity(k, 0.0), lambda k: npflow.exact_guided_velocity(gmm, label=k),
                                gmm, labels, n, np.random.default_rng((2, seed)))
    t, x_t = points_on_path(gmm.sample, npflow.LinearPath(), n, np.random.default_rng((3, seed)))
    return np.append(errors, field_error(run.velocity, npflow.exact_velocity(gmm), t, x_t))


error_rows = []
for name in datasets:
    gmm = npflow.get_dataset(name).mixture
    errors = np.array([field_errors(runs[name, seed], gmm, seed) for seed in seeds])  # (seeds, K + 1)
    shares = np.array(in_class[name])
    error_rows += [f"| {name} | {k} | {gmm.stds[k]:g} | {mean_sd(errors[:, k], 4)} | {mean_sd(shares[:, k])} |"
                   for k in range(len(gmm.weights))]
    error_rows.append(f"| {name} | no label | | {mean_sd(errors[:, -1], 4)} | |")
error_table = "\n".join(["| dataset | label k | s_k | field error of v(t, x, k) | in class at w = 0 |",
                         "|---|---|---|---|---|", *error_rows])
print(error_table)

# %% [markdown]
# ## 4. w = -1 is the unconditional model
#
# At w = -1 the guided field is v(t, x, no label) whatever the label asked. Its share of the
# samples nearest each mode, against a run trained without labels (the same recipe and seed,
# and the same noise), mode by mode over the seeds, and against the target's weights.

# %%
eight = npflow.get_dataset("eight_gaussians")
unlabelled, plain = [], []  # (seeds, 8) each: the share nearest each mode, at w = -1 and of the unconditional run
for seed in seeds:
    run = runs["eight_gaussians", seed]
    x_0 = np.random.default_rng((1, seed)).standard_normal((n, 2))
    y = equal_shares(np.arange(8), n)
    unlabelled.append(mode_fractions(npflow.generate(run.guided_velocity(y, -1.0), x_0, steps=solver_steps).x[-1],
                                     eight.means))
    unconditional = npflow.train(replace(recipe, dataset="eight_gaussians", seed=seed,
                                         options={"conditional": False}), stream=None)
    plain.append(mode_fractions(npflow.generate(unconditional.velocity, x_0, steps=solver_steps).x[-1], eight.means))
unlabelled, plain = np.array(unlabelled), np.array(plain)
share_rows = [("w = -1 (no label)", [mean_sd(column) for column in unlabelled.T]),
              ("unconditional run", [mean_sd(column) for column in plain.T]),
              ("target", [f"{weight:.3f}" for weight in eight.mixture.weights]),
              ("w = -1 - unconditional", [verdict(a, b, "fewer at w = -1", "more at w = -1", quick=args.quick)
                                          for a, b in zip(unlabelled.T, plain.T)])]
share_table = "\n".join(["| eight_gaussians | " + " | ".join(f"mode {k}" for k in range(8)) + " |", "|---" * 9 + "|"]
                        + [f"| {name} | " + " | ".join(cells) + " |" for name, cells in share_rows])
print(share_table)

# %% [markdown]
# ## 5. Why p_uncond = 0.2
#
# A dropped label teaches the "no label" field; a kept one the conditional field. The same
# recipe with p_uncond = 0.1: the error of the no-label field and the mean error over the labels,
# over the seeds, and p_uncond = 0.2 against 0.1 seed by seed.

# %%
dropout = {}  # p_uncond -> (seeds, 2): the field error of the no-label field, and the mean over the labels
for p_uncond in (0.1, 0.2):
    for seed in seeds:
        run = runs["eight_gaussians", seed] if p_uncond == 0.2 else npflow.train(
            replace(recipe, dataset="eight_gaussians", seed=seed, options=replace(recipe.options, p_uncond=p_uncond)),
            stream=None)
        errors = field_errors(run, eight.mixture, seed)
        dropout.setdefault(p_uncond, []).append([errors[-1], errors[:-1].mean()])
low, high = np.array(dropout[0.1]), np.array(dropout[0.2])
dropout_table = "\n".join(["| p_uncond | field error, no label | field error, mean over the labels |", "|---|---|---|",
                           f"| 0.1 | {mean_sd(low[:, 0], 4)} | {mean_sd(low[:, 1], 4)} |",
                           f"| 0.2 | {mean_sd(high[:, 0], 4)} | {mean_sd(high[:, 1], 4)} |",
                           "| 0.2 - 0.1 | " + " | ".join(
                               verdict(high[:, j], low[:, j], "lower at 0.2", "higher at 0.2", 4, args.quick)
                               for j in range(2)) + " |"])
print(dropout_table)
report = (f"{n} samples, RK4 with {solver_steps} steps; runs of {steps} steps; mean ± sd over seeds "
          f"{' '.join(map(str, seeds))}.\n\n{table}\n\n{error_table}\n\n{share_table}\n\n{dropout_table}\n\n"
          f"{DIFFERENCE_RULE}\n")
if args.quick:
    report = f"{QUICK_NOTE}\n\n{report}\n{QUICK_NOTE}\n"
    print(QUICK_NOTE)
os.makedirs(args.out, exist_ok=True)
with open(os.path.join(args.out, "guidance.md"), "w") as file:
    file.write(report)

# %% [markdown]
# ## 6. The picture
#
# One panel per w, the learned field above the exact one (the first seed's run and noise), each
# sample coloured by the label it was asked for; a cross marks each class's mode. (`npflow plot RUN --kind guidance` draws the
# same figure for any conditional run.)

# %%
for name in datasets:
    y, learned, exact = samples[name]
    target = npflow.get_dataset(name).sample(n, np.random.default_rng(4))
    figure = npflow.plumbing.plot.guidance(target, {"learned": learned, "exact": exact}, y,
                                           means=npflow.get_dataset(name).means)
    npflow.plumbing.plot.mark_quick(figure, args.quick, QUICK_NOTE)  # so that a quick figure cannot pass for a full one
    figure.savefig(os.path.join(args.out, f"guidance_{name}.png"), dpi=90)
print(f"tables and figures written to {args.out}/")

# %% [markdown]
# # Discrete flow matching, against an exact posterior
#
# Tokens do not move: they jump. A state is a sequence of D tokens over V symbols, and the
# mixture path shows each token its data x_1^i with probability kappa(t), else its source x_0^i
# (all MASK, or uniform over the V symbols). A network learns the posterior p(x_1^i | x_t) by
# cross-entropy, and a sampler turns it into jumps with the probability velocity
#
#     u_t(y | x_t) = kappa'(t) / (1 - kappa(t)) [p(x_1^i = y | x_t) - delta(y, x_t^i)]
#
# On a small state space the posterior has an exact answer, a sum over the data's table, and for
# D = 2 so has the law of the sampler's output (`npflow.discrete.exact`). This example walks
# through it on `grid_eight_gaussians` (pairs of tokens over V = 32, a table of 32 x 32 cells):
# the table, the mixture path's draws, the exact-posterior sampler's error against the number
# of steps N (which isolates the error of the steps), then the `discrete` recipe trained from
# both sources, its TV at each N beside the floor of i.i.d. draws and the exact-posterior
# sampler's, and the tokens unmasking over t.
#
# Every run is trained once per seed (`--seeds`, 0 1 2 by default), and every figure of a model
# is the mean ± sd over the seeds. Two figures are called different only where the mean of their
# per-seed differences exceeds twice its standard error and every seed agrees on its sign
# (`npflow.core.metrics.paired_difference`). The six runs and their samples take about a quarter
# of an hour on two cores.
#
#     python examples/discrete_flow.py [--quick] [--seeds 0 1 2] [--out DIR]
#
# From the command line:
#
#     npflow train --objective discrete --recipe discrete --dataset grid_eight_gaussians --source mask --out RUN
#     npflow sample RUN --steps 64 --n 100000 --out x.npy
#     npflow evaluate RUN --steps 64 --n 100000
#     npflow plot RUN --kind trajectories --steps 64 --n 100000 --out unmasking.png

# %%
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.ticker import NullFormatter

import npflow
import npflow.plumbing.plot
from npflow.core.metrics import DIFFERENCE_RULE
from npflow.discrete.exact import exact_law, exact_sampler, table_support
from npflow.discrete.metrics import histogram, sampling_floor, total_variation
from npflow.discrete.paths import sample_path
from npflow.discrete.sampling import sample_tokens
from npflow.discrete.schedulers import polynomial
from npflow.discrete.sources import SOURCES, draw_source, states
from npflow.models.discrete import posterior_of
from npflow.models.registry import RECIPES
from npflow.plumbing.error_bars import mean_sd, verdict
from npflow.plumbing.plot_parts import colour_bar, figure, plain_log_ticks
from npflow.plumbing.threads import use_threads

parser = argparse.ArgumentParser(description="Discrete flow matching on a grid, against its exact posterior.")
parser.add_argument("--quick", action="store_true",
                    help="small models, short training, few samples, two seeds (seconds): too small to conclude")
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds [0 1 2; --quick: 0 1]")
parser.add_argument("--out", default="discrete_flow_out", help="folder for the report and the figures "
                                                               "[discrete_flow_out]")
args = parser.parse_args()
if len(set(args.seeds)) < 2:
    parser.error("--seeds needs at least two different seeds: a comparison needs the spread over seeds")
use_threads(512 * 256 * 256)  # by the recipe's largest product, batch 512 by width 256 (NPFLOW_THREADS overrides)
seeds = args.seeds[:2] if args.quick else args.seeds
# Quick models are small and briefly trained: what they print shows that the code runs, not what a sampler does.
QUICK_NOTE = "quick: too small to conclude (small models, 400 steps, 5,000 samples, two seeds)"
if args.quick:
    print(QUICK_NOTE)

dataset = npflow.get_dataset("grid_eight_gaussians")
table, V, D = dataset.table, dataset.vocabulary, dataset.dim  # (32, 32), 32, 2
kappa = polynomial(1.0)  # kappa(t) = t, the recipe's scheduler
os.makedirs(args.out, exist_ok=True)


def save(fig, name):
    """Write the quick note on a figure (a quick figure cannot pass for a full one), and save it in --out."""
    npflow.plumbing.plot.mark_quick(fig, args.quick, QUICK_NOTE)
    npflow.plumbing.plot.save(fig, os.path.join(args.out, name))


def heat_map_rows(rows, title):
    """Heat maps of tables on one colour scale: ``rows`` is {row label: {panel title: table (m, m)}}.

    The scale tops at the data table's largest cell, and larger entries saturate (at t = 0 a masked
    source puts all its mass on one state, which would leave every other cell black).
    """
    columns = max(len(panels) for panels in rows.values())
    fig, axes = figure(columns, len(rows), width=2.9, height=2.7)
    top = float(table.max())
    for ax_row, (label, panels) in zip(axes, rows.items()):
        for ax, (name, panel) in zip(ax_row, panels.items()):
            image = ax.imshow(panel, cmap="viridis", vmin=0.0, vmax=top, origin="lower", interpolation="nearest")
            ax.set_title(name, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if len(panel) > V:  # a state over S = V + 1 symbols: MASK is the last
                ax.set_xticks([0, V], ["0", "M"])
                ax.set_yticks([0, V], ["0", "M"])
        ax_row[0].set_ylabel(f"{label}\nfirst token")
        for ax in ax_row[len(panels):]:
            ax.set_axis_off()
    colour_bar(fig, image, axes[0, -1], "probability", extend="max")
    fig.suptitle(title)
    return fig




# %% [markdown]
# ## 1. The data: a table
#
# `grid_eight_gaussians` is a table over the 32 x 32 cells (i, j): eight bumps of width 1.5 on a
# circle of radius 11 about the grid's centre. A sample is a pair of tokens (i, j). Its two
# tokens are far from independent: the table and the product of its two marginals,
# p_1^(1) ⊗ p_1^(2), differ by a TV of 0.4447, and that number comes back in section 3.

# %%
marginals = np.outer(table.sum(axis=1), table.sum(axis=0))  # (V, V): p_1^(1) ⊗ p_1^(2)
dependence = total_variation(table, marginals)
print(f"grid_eight_gaussians: {V} x {V} cells, {np.sum(table > 1e-6)} with mass above 1e-6, largest "
      f"{table.max():.4f}; TV(p_1, p_1^(1) ⊗ p_1^(2)) = {dependence:.6f}")
save(heat_map_rows({"": {"the table p_1(i, j)": table, "the product of its marginals": marginals,
                         "grid_checkerboard": npflow.get_dataset("grid_checkerboard").table}},
                   "the data: tables over 32 x 32 cells (pairs of tokens)"), "discrete_table.png")

# %% [markdown]
# ## 2. The mixture path, drawn
#
# Given a pair (x_0, x_1), each token of x_t is x_1^i with probability kappa(t), else x_0^i,
# independently: one uniform per token (`npflow.discrete.paths.sample_path`). With a masked
# source, x_t's MASK tokens are those not yet revealed, so the share of MASK is 1 - kappa(t);
# with a uniform one, a token that shows its data looks like any other, and the data's bumps
# rise out of a uniform haze. The histograms are over the S x S states (S = 33 with MASK, the
# last row and column; S = 32 uniform).

# %%
n_path = 20_000 if args.quick else 200_000
times = [0.0, 0.25, 0.5, 0.75, 1.0]
rng = np.random.default_rng(7)
x_1 = dataset.tokens(n_path, rng)  # (n, 2)
path_rows = {}
for source in SOURCES:
    S = states(source, V)
    x_0 = draw_source(source, n_path, D, V, rng)
    draws = {t: sample_path(x_0, x_1, np.full(n_path, t), kappa, rng) for t in times}
    path_rows[source] = {f"t = {t:g}": histogram(x_t, S) for t, x_t in draws.items()}
    if source == "mask":
        print("masked source, share of MASK tokens at t = " + ", ".join(
            f"{t:g}: {np.mean(x_t == V):.3f} (1 - kappa = {1 - t:g})" for t, x_t in draws.items()))
save(heat_map_rows(path_rows, f"the mixture path, kappa(t) = t: {n_path:,} draws of x_t over the states"),
     "discrete_path.png")

# %% [markdown]
# ## 3. The exact-posterior sampler: the error of the steps alone
#
# The sampler takes N steps of h = 1 / N; at each it asks the posterior p(x_1^i | x_t) and redraws
# every token from the step's probabilities. With the exact posterior of the table there is no
# learning error, and for D = 2 the law of its output is carried through the steps exactly, over
# all S^2 states, with no sampling noise (`npflow.discrete.exact.exact_law`). Two steps:
#
# - **Euler**: delta(y, x_t^i) + h u_t(y | x_t), clipped at zero and renormalised;
# - **flow_matching's** (`MixtureDiscreteEulerSolver`): a posterior draw with probability
#   1 - exp(-h kappa' / (1 - kappa)), else stay.
#
# For the masked source and kappa = t, Euler's TV is exactly TV(p_1, p_1^(1) ⊗ p_1^(2)) / N: each
# step unmasks with the path's own probability, and the only error is that two tokens unmasked in
# the same step are drawn from their marginals, independently. The fitted order is the slope of
# log TV against log N.

# %%
Ns = (4, 8, 16, 32) if args.quick else (16, 32, 64, 128, 256)
law_tv = {}  # (source, step) -> (len(Ns),): the TV of the exact law to the table
for source in SOURCES:
    for step in ("euler", "flow_matching"):
        law_tv[source, step] = np.array([total_variation(exact_law(table, N, kappa, source, step), table) for N in Ns])
print("\n| source | step | " + " | ".join(f"N = {N}" for N in Ns) + " | fitted order |\n"
      + "|---" * (len(Ns) + 3) + "|")
for (source, step), tv in law_tv.items():
    order = -np.polyfit(np.log(Ns), np.log(tv), 1)[0]
    print(f"| {source} | {step} | " + " | ".join(f"{v:.4f}" for v in tv) + f" | {order:.3f} |")
gap = np.max(np.abs(law_tv["mask", "euler"] * np.array(Ns) - dependence))
print(f"masked source, Euler: N TV = {dependence:.6f} = TV(p_1, p_1^(1) ⊗ p_1^(2)) at every N, to {gap:.1e}")

# %% [markdown]
# ## 4. The recipe, from both sources, over seeds
#
# The `discrete` recipe (`npflow/models/recipes.py`; its settings are printed below): the
# posterior MLP (two hidden layers of 256 on the one-hot tokens and t), cross-entropy on every
# token, Adam with a cosine decay, a moving average of the weights, the hand-written gradient in
# float32; once from the masked source and once from the uniform one, for each seed. Then, for
# each N, n sequences of the model's sampler (Euler steps) against the table, beside the same n
# from the exact-posterior sampler (its own draws, same seed) and the floor: the TV of n i.i.d.
# draws of the table itself, the sampling noise a sampler cannot go below. `--quick` trains
# small models (two layers of 64, 400 steps, a moving average of 0.99) that are not the recipe.

# %%
recipe = dict(RECIPES["discrete"])
if args.quick:
    recipe.update(hidden=(64, 64), steps=400, batch_size=256, ema=0.99)
    print("--quick: SMALL models (two layers of 64, 400 steps, average 0.99), not the discrete recipe; their "
          "numbers are not the recipe's")
print("the recipe: " + ", ".join(f"{name} {value}" for name, value in recipe.items()))
n = 5_000 if args.quick else 100_000
model_Ns = (8, 16) if args.quick else (8, 16, 32, 64, 128)
runs = {}
for seed in seeds:
    for source in SOURCES:
        start = time.perf_counter()
        runs[source, seed] = trained = npflow.train(npflow.TrainConfig.from_settings(
            {**recipe, "source": source, "seed": seed}), stream=None)
        print(f"seed {seed}, {source:<7}: trained {trained.step} steps in {time.perf_counter() - start:5.1f} s, "
              f"final cross-entropy {trained.losses[-1]:.4f}", flush=True)


def learned(source, seed):
    """The posterior p_theta(x_1^i | x_t) of the run of ``source`` and ``seed``, as the sampler takes it."""
    return posterior_of(runs[source, seed].config, runs[source, seed].field_params)


def sampled_tv(posterior, source, N, rng):
    """The TV to the table of n sequences of the sampler with ``posterior``, in N Euler steps from the source."""
    x_0 = draw_source(source, n, D, V, rng)
    return total_variation(histogram(sample_tokens(posterior, x_0, N, kappa, rng, states(source, V)).x, V), table)


model_tv, oracle_tv = {}, {}  # (source, N) -> (seeds,)
for source in SOURCES:
    oracle = exact_sampler(*table_support(table), kappa, source, V)
    for N in model_Ns:
        model_tv[source, N] = np.array([sampled_tv(learned(source, seed), source, N,
                                                   np.random.default_rng((1, seed, N))) for seed in seeds])
        oracle_tv[source, N] = np.array([sampled_tv(oracle, source, N, np.random.default_rng((2, seed, N)))
                                         for seed in seeds])
floor = np.array([sampling_floor(table, n, np.random.default_rng((3, seed)))[0] for seed in seeds])
exact_at = {(source, N): total_variation(exact_law(table, N, kappa, source), table)
            for source in SOURCES for N in model_Ns}
rows = [f"| {N} | {source} | {exact_at[source, N]:.4f} | {mean_sd(oracle_tv[source, N], 4)} | "
        f"{mean_sd(model_tv[source, N], 4)} | "
        f"{verdict(model_tv[source, N], oracle_tv[source, N], 'model below', 'model above', 4, args.quick)} |"
        for N in model_Ns for source in SOURCES]
table_md = "\n".join(["| N | source | exact law (no sampling noise) | exact-posterior sampler, n draws | model | "
                      "model - exact-posterior sampler |", "|---|---|---|---|---|---|", *rows])
masked_md = "\n".join(["| N | masked - uniform, the model's TV |", "|---|---|"] + [
    f"| {N} | {verdict(model_tv['mask', N], model_tv['uniform', N], 'masked below', 'masked above', 4, args.quick)} |"
    for N in model_Ns])
header = (f"n = {n:,} sequences, Euler steps, kappa = t; runs of {recipe['steps']} steps; mean ± sd over seeds "
          f"{' '.join(map(str, seeds))}; the floor (n i.i.d. draws of the table): {mean_sd(floor, 4)}")
print(f"\n{header}\n\n{table_md}\n\n{masked_md}\n\n{DIFFERENCE_RULE}")

# %% [markdown]
# The same as a picture: the exact law's TV against N for both steps and sources (lines), the
# model and the exact-posterior sampler with n draws (points: mean ± sd over seeds), and the
# floor. Sampled TVs cannot go below the floor, where the exact law's keeps falling as 1/N.

# %%
fig, axes = figure(1, width=9.5, height=4.8)
ticks = sorted(set(Ns) | set(model_Ns))
ax = axes[0, 0]
colours = {"mask": "tab:blue", "uniform": "tab:orange"}
for (source, step), tv in law_tv.items():
    ax.plot(Ns, tv, "-" if step == "euler" else ":", color=colours[source], label=f"exact law, {source}, {step}")
ax.plot(ticks, dependence / np.array(ticks), "k--", lw=0.8, label="0.4447 / N")
for source in SOURCES:
    for tvs, marker, name in ((model_tv, "o", "model"), (oracle_tv, "x", "exact posterior")):
        values = np.array([tvs[source, N] for N in model_Ns])  # (len(model_Ns), seeds)
        ax.errorbar(model_Ns, values.mean(axis=1), values.std(axis=1, ddof=1), fmt=marker, color=colours[source],
                    capsize=3, label=f"{name}, {source}, n = {n:,}")
ax.axhline(floor.mean(), color="grey", lw=1, label=f"floor: {n:,} i.i.d. draws")
ax.set(xscale="log", yscale="log", xlabel="steps N", ylabel="TV to the table",
       title="grid_eight_gaussians: TV against the number of steps")
ax.set_xticks(ticks, [str(N) for N in ticks])
ax.xaxis.set_minor_formatter(NullFormatter())
plain_log_ticks(ax.yaxis)
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
save(fig, "discrete_tv.png")

# %% [markdown]
# ## 5. Why more steps can hurt: the rate of leaving near t = 1
#
# A token that shows a data symbol leaves it at the rate c (1 - p(x_1^i = x_t^i | x_t)), with
# c = kappa' / (1 - kappa) = 1 / (1 - t), which grows without bound as t nears 1. With the exact
# posterior, 1 - p shrinks like 1 - t and the rate stays bounded; a learned posterior that is off
# by a little there leaves at a rate that grows like its error times c, and a sampler of more
# steps comes closer to t = 1 (its last step starts at 1 - 1/N). The mean of that rate over the
# revealed tokens of the path's x_t (all of them, from a uniform source, since a token there
# looks revealed whether it is or not), for the exact posterior and the models.

# %%
def leaving_rate(posterior, source, t, rng):
    """The mean of c (1 - p(x_1^i = x_t^i | x_t)) over the revealed tokens of n draws of the path's x_t at time t."""
    x_t = sample_path(draw_source(source, n, D, V, rng), dataset.tokens(n, rng), np.full(n, t), kappa, rng)
    revealed = x_t < V  # (n, D): from a masked source, the tokens that are not MASK
    stay = np.take_along_axis(posterior(t, x_t), np.minimum(x_t, V - 1)[..., None], axis=-1)[..., 0]  # (n, D)
    return float(np.mean((1.0 - stay[revealed]) / (1.0 - t)))


rate_rows = []
for source in SOURCES:
    oracle = exact_sampler(*table_support(table), kappa, source, V)
    for t in (0.5, 0.9, 0.99, 0.999):
        exact_rate = leaving_rate(oracle, source, t, np.random.default_rng(5))
        rates = [leaving_rate(learned(source, seed), source, t, np.random.default_rng(5)) for seed in seeds]
        rate_rows.append(f"| {source} | {t:g} | {exact_rate:.4f} | {mean_sd(rates, 4)} |")
rate_md = "\n".join(["| source | t | exact posterior | model |", "|---|---|---|---|", *rate_rows])
print(rate_md)

# %% [markdown]
# ## 6. Unmasking
#
# The first seed's runs sampled in N = 64 steps (16 with `--quick`), every state kept: the
# histograms of x_t over the S x S states at six times. From the masked source the mass leaves
# the MASK row and column (a token revealed) and the corner (both); with any posterior the share
# of MASK tokens after step k is 1 - t_k in expectation, since a masked token jumps with
# probability h kappa' / (1 - kappa) whatever the posterior says. From the uniform source the
# bumps condense out of the haze. Then the final samples beside the table.

# %%
N_show = 16 if args.quick else 64
unmasking, finals = {}, {"the table": table}
for source in SOURCES:
    rng = np.random.default_rng(11)
    x_0 = draw_source(source, n, D, V, rng)
    kept = sample_tokens(learned(source, seeds[0]), x_0, N_show, kappa, rng, states(source, V), keep=True)
    shown = np.unique(np.linspace(0, N_show, 6).round().astype(int))
    unmasking[source] = {f"t = {kept.t[k]:.2f}": histogram(kept.x[k], states(source, V)) for k in shown}
    finals[f"model, {source}, N = {N_show}"] = histogram(kept.x[-1], V)
    if source == "mask":
        print("the model's share of MASK tokens at t = " + ", ".join(f"{kept.t[k]:.2f}: {np.mean(kept.x[k] == V):.3f}"
                                                                    for k in shown))
save(heat_map_rows(unmasking, f"the model's sampler, {n:,} sequences over the states, N = {N_show}"),
     "discrete_unmasking.png")
save(heat_map_rows({"": finals}, f"{n:,} samples of the first seed's runs beside the table"), "discrete_samples.png")
report = f"{header}\n\n{table_md}\n\n{masked_md}\n\n{DIFFERENCE_RULE}\n\n{rate_md}\n"
if args.quick:
    report = f"{QUICK_NOTE}\n\n{report}\n{QUICK_NOTE}\n"
    print(QUICK_NOTE)
with open(os.path.join(args.out, "discrete_flow.md"), "w") as file:
    file.write(report)
print(f"report and figures written to {args.out}/")

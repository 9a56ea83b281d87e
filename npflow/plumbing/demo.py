"""The main job: the tutorial end to end, measured.

Train the tutorial's recipe, generate with RK4 (100 steps) and with scipy's RK45
(rtol = atol = 1e-5), generate once more with the tutorial's own sampler, and compare all three
with fresh target samples. ``npflow demo --out DIR`` runs it and writes into DIR:

- ``run/``: the trained run (load it with ``npflow.load_run``);
- ``summary.txt``: the table printed at the end;
- ``samples.png``: the samples of each sampler over the target;
- ``loss.png``: the training loss.
"""
import os
import sys
import time

import numpy as np

from ..core.metrics import energy_distance, mode_fractions, mode_stds
from ..core.sampling import generate, noise, tutorial_generate
from ..data.datasets import get_dataset
from ..runs.config import TrainConfig
from ..runs.loop import train
from . import plot
from .io import save_run
from .outputs import atomic_directory

__all__ = ["run_demo"]


def _row(name, x, target, means, nfe, seconds):
    fractions = " / ".join(f"{p:.3f}" for p in mode_fractions(x, means))
    stds = " / ".join(" ".join(f"{s:.2f}" for s in mode) for mode in mode_stds(x, means))
    nfe = "-" if nfe is None else str(nfe)
    seconds = "-" if seconds is None else f"{seconds:.2f}"
    return f"{name:<32} {nfe:>4} {seconds:>6} {energy_distance(x, target):>8.4f}   {fractions:<15}  {stds}"


def run_demo(out, steps=None, n=4000, force=False, seed=None, stream=sys.stderr):
    """Train the tutorial's recipe, sample three ways, measure, and write figures into ``out``.

    Parameters
    ----------
    out : str or path
        Directory to create (refused if it exists, unless ``force``).
    steps : int, optional
        Training steps; the recipe's (``TrainConfig().steps``) if None.
    n : int
        Samples per sampler, and fresh target samples to compare with.
    force : bool
    seed : int, optional
        Training seed, the recipe's if None; sampling uses the training seed + 1.
    stream : file-like or None
        Where training progress goes.

    Returns
    -------
    str
        The summary table.
    """
    chosen = {"steps": steps, "seed": seed}
    config = TrainConfig.from_settings({name: value for name, value in chosen.items() if value is not None})  # the rest: the tutorial's
    dataset = get_dataset(config.dataset)
    with atomic_directory(out, force, marker="summary.txt") as tmp:
        run = train(config, log_every=max(1, config.steps // 10), stream=stream)
        save_run(os.path.join(tmp, "run"), run)
        v = run.velocity
        rng = np.random.default_rng(config.seed + 1)
        x_0 = noise(n, dataset.dim, rng)  # (n, d), shared by all three samplers
        target = dataset.sample(n, rng)  # (n, d), fresh points from p_data
        samplers = {
            "RK4, 100 steps, t: 0 -> 1": lambda: generate(v, x_0, "rk4", steps=100),
            "RK45, rtol = atol = 1e-5": lambda: generate(v, x_0, "RK45", rtol=1e-5, atol=1e-5),
            "tutorial's sampler (wrong)": lambda: tutorial_generate(v, x_0, steps=100),
        }
        header = (f"{'sampler':<32} {'NFE':>4} {'time':>6} {'energy':>8}   {'mode fractions':<15}  within-mode std (x y)\n"
                  f"{'':<32} {'':>4} {'(s)':>6} {'dist.':>8}")
        rows, generated = [header], {}
        for name, sample in samplers.items():
            start = time.perf_counter()
            trajectory = sample()
            seconds = time.perf_counter() - start
            generated[name] = trajectory.x[-1]
            rows.append(_row(name, generated[name], target, dataset.means, trajectory.nfe, seconds))
        reference = dataset.sample(n, rng)
        rows.append(_row("target itself (a second draw)", reference, target, dataset.means, None, None))
        summary = (f"npflow demo: the tutorial's recipe, {config.steps} steps, final loss {run.losses[-1]:.4f}; "
                   f"{n} samples each\n\n" + "\n".join(rows) + "\n")
        with open(os.path.join(tmp, "summary.txt"), "w") as file:
            file.write(summary)
        plot.samples(target, generated, title="two Gaussians: samples over the target").savefig(
            os.path.join(tmp, "samples.png"), dpi=110)
        plot.loss(run.losses).savefig(os.path.join(tmp, "loss.png"), dpi=110)
    return summary

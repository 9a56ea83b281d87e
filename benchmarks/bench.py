"""npflow against the PyTorch tutorial it rebuilds, side by side, in one run.

    python benchmarks/bench.py [--threads 1] [--quick] [--out RESULTS.md]

Every figure is measured in this one process (or in child processes started by it), on this
machine, with the same thread count for NumPy's BLAS and for PyTorch, and printed as a ratio
npflow / PyTorch where PyTorch is installed. Install it for the benchmark alone:

    pip install torch==2.13.0 torchdiffeq

Without torch the script still reports npflow's own figures. Timings on a shared machine are
noisy: each is the best of several repeats, and only the ratios in one run mean much.
"""
import argparse
import os
import subprocess
import sys
import time

parser = argparse.ArgumentParser(description="Benchmark npflow against the PyTorch tutorial, side by side.")
parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads for both [1]")
parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller sweep (seconds, not minutes)")
parser.add_argument("--out", help="also write the Markdown table to this file")
parser.add_argument("--default-allocator", action="store_true",
                    help="leave glibc's allocator as it is, instead of tuning it as the npflow command does")
args = parser.parse_args()
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(args.threads)  # before numpy and torch are imported, so both obey it

import numpy as np  # noqa: E402

import npflow  # noqa: E402
from npflow.plumbing.memory import keep_freed_memory  # noqa: E402
from npflow.run import TrainConfig, start_run  # noqa: E402

# The npflow command keeps freed memory for reuse (npflow/plumbing/memory.py); so does this process, and
# the setting is the process's own, so PyTorch's tensors get it too: both run on the same allocator.
ALLOCATOR = "glibc default" if args.default_allocator else (
    "glibc tuned (keep_freed_memory)" if keep_freed_memory() else "default (not glibc)")

try:
    import torch
    import torchdiffeq

    from tutorial_torch import torch_model, torch_train_steps

    torch.set_num_threads(args.threads)
except ImportError:
    torch = torchdiffeq = None

REPEATS = 3 if args.quick else 5
STEPS = 200 if args.quick else 1000
MEMORY_STEPS = 300 if args.quick else 2000
SCORED = 300 if args.quick else 2000


def best_times(runs, repeats=REPEATS):
    """Best wall time of each ``run()`` over ``repeats`` rounds, in seconds; None for a None run.

    The runs take turns, one call each per round, so a slow spell of a shared machine falls on
    all of them alike instead of on whichever was being timed then. A first round, not timed,
    warms up caches and the heap.
    """
    times = [[] for _ in runs]
    for run in runs:
        if run is not None:
            run()
    for _ in range(repeats):
        for run, spent in zip(runs, times):
            if run is not None:
                start = time.perf_counter()
                run()
                spent.append(time.perf_counter() - start)
    return [min(spent) if spent else None for spent in times]


def per_step(seconds, steps):
    """Microseconds per step, from the time of ``steps`` steps (None stays None)."""
    return None if seconds is None else seconds / steps * 1e6


def npflow_train_steps(steps, batch_size=128, hidden=(128, 128), **recipe):
    """``steps`` steps of ``npflow.train``, exactly as users run it (start-up included, negligible)."""
    config = TrainConfig(steps=steps, batch_size=batch_size, hidden=hidden, **recipe)
    return lambda: npflow.train(config, stream=None)


def peak_memory_mib(code):
    """Peak resident memory (VmHWM, Linux) of a fresh Python process running ``code``, in MiB.

    VmHWM belongs to the new address space that exec creates; ru_maxrss would instead carry the
    peak of this large parent process over the fork.
    """
    tuned = "" if args.default_allocator else "from npflow.plumbing.memory import keep_freed_memory; keep_freed_memory()\n"
    probe = tuned + code + "\nprint([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.abspath(__file__))})
    return int(result.stdout.split()[-1]) / 1024


def import_seconds(module):
    code = f"import time; start = time.perf_counter(); import {module}; print(time.perf_counter() - start)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
               for _ in range(REPEATS))


rows = []  # (what, npflow, pytorch, ratio)


def report(what, ours, theirs=None, unit="", digits=3):
    def fmt(value):
        return "-" if value is None else f"{value:.{digits}f}{unit}"

    ratio = "-" if theirs is None else f"{ours / theirs:.2f}"
    rows.append((what, fmt(ours), fmt(theirs), ratio))
    print(f"{what:<58} npflow {fmt(ours):>12}  pytorch {fmt(theirs):>12}  ratio {ratio}", flush=True)


print(f"npflow {npflow.__version__}, numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
      f"{args.threads} thread(s), allocator {ALLOCATOR}\n", flush=True)

# 1. One training step of the seed's recipe.
recipes = [{}, {"grad": "backprop"}, {"grad": "backprop", "dtype": "float32"}, {"dtype": "float32"}]
*ours, theirs = best_times([npflow_train_steps(STEPS, **recipe) for recipe in recipes]
                           + [torch_train_steps(STEPS) if torch else None])
for recipe, seconds in zip(recipes, ours):
    options = " ".join(f"--{name} {value}" for name, value in recipe.items())
    what = f"  the same, npflow {options} (us)" if recipe else "train step, MLP 3-128-128-2, batch 128 (us)"
    report(what, per_step(seconds, STEPS), per_step(theirs, STEPS), digits=0)

# 2. Sampling 1,024 points with RK4, 100 steps, on the same network.
params = start_run(TrainConfig()).params
x_0 = np.random.default_rng(0).standard_normal((1024, 2))
params32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in params]
ours = [lambda p=p, x=x: npflow.generate(lambda t, y: npflow.velocity(p, t, y), x, "rk4", steps=100)
        for p, x in ((params, x_0), (params32, x_0.astype(np.float32)))]
torch_rk4 = None
if torch:
    _, field = torch_model(params=params)
    x_torch = torch.from_numpy(x_0).float()

    def torch_rk4():
        with torch.no_grad():
            torchdiffeq.odeint(field, x_torch, torch.tensor([0.0, 1.0]), method="rk4", options={"step_size": 0.01})
*ours, theirs = best_times(ours + [torch_rk4])
for label, seconds in zip(("float64", "float32"), ours):
    report(f"sample 1,024 points, RK4 100 steps, npflow {label} (s)", seconds, theirs)

# 3. Adaptive: scipy's RK45 against torchdiffeq's dopri5 at rtol = atol = 1e-5.
trajectory = npflow.generate(lambda t, x: npflow.velocity(params, t, x), x_0, "RK45", rtol=1e-5, atol=1e-5)
torch_dopri5 = theirs_nfe = None
if torch:
    calls = []

    def counted(t, x):
        calls.append(1)
        return field(t, x)

    def torch_dopri5():
        with torch.no_grad():
            torchdiffeq.odeint(field, x_torch, torch.tensor([0.0, 1.0]), rtol=1e-5, atol=1e-5)

    with torch.no_grad():
        torchdiffeq.odeint(counted, x_torch, torch.tensor([0.0, 1.0]), rtol=1e-5, atol=1e-5)
    theirs_nfe = len(calls)
ours, theirs = best_times([lambda: npflow.generate(lambda t, x: npflow.velocity(params, t, x), x_0, "RK45", rtol=1e-5,
                                                   atol=1e-5), torch_dopri5])
report("sample 1,024 points, RK45 vs dopri5, rtol = atol = 1e-5 (s)", ours, theirs)
report("  the same, function evaluations", trajectory.nfe, theirs_nfe, digits=0)

# 4. Exact log-likelihood of 2,000 target points by the reverse ODE, RK4 100 steps (npflow only).
x = npflow.two_gaussians(SCORED, np.random.default_rng(1))
report(f"log-likelihood of {SCORED:,} points, exact divergence, RK4 100 (s)",
       best_times([lambda: npflow.log_likelihood(lambda t, y: npflow.velocity(params, t, y), x, steps=100)], 1)[0])

# 5. Peak memory of a training run, each in a fresh process.
ours = peak_memory_mib(f"import npflow; npflow.train(npflow.TrainConfig(steps={MEMORY_STEPS}), stream=None)")
theirs = peak_memory_mib(f"import torch; torch.set_num_threads({args.threads})\n"
                         f"from tutorial_torch import torch_train_steps; torch_train_steps({MEMORY_STEPS})()"
                         ) if torch else None
report(f"peak memory of a {MEMORY_STEPS:,}-step training run (MiB)", ours, theirs, digits=0)

# 6. Start-up.
report("import time (s)", import_seconds("npflow"), import_seconds("torch") if torch else None)

# 7. Where the work turns from Python overhead to BLAS: per-step time against batch and width,
# each size in npflow's default float64 and in float32, PyTorch's dtype.
sweep_steps = 20 if args.quick else 100
sizes = [(f"width 128, batch {batch_size}", {"batch_size": batch_size})
         for batch_size in ((128, 1024) if args.quick else (128, 512, 2048, 8192))]
sizes += [(f"batch 128, width {width}", {"hidden": (width, width)}) for width in ((64, 512) if args.quick else (64, 256, 1024))]
for label, size in sizes:
    *ours, theirs = best_times([npflow_train_steps(sweep_steps, dtype=dtype, **size) for dtype in ("float64", "float32")]
                               + [torch_train_steps(sweep_steps, **size) if torch else None])
    for dtype, seconds in zip(("float64", "float32"), ours):
        report(f"train step, {label}, npflow {dtype} (us)", per_step(seconds, sweep_steps),
               per_step(theirs, sweep_steps), digits=0)

table = ["| measurement | npflow | PyTorch tutorial | npflow / PyTorch |", "|---|---|---|---|"]
table += [f"| {what} | {ours} | {theirs} | {ratio} |" for what, ours, theirs, ratio in rows]
print("\n" + "\n".join(table))
if args.out:
    with open(args.out, "w") as file:
        file.write("\n".join(table) + "\n")

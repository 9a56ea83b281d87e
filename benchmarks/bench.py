"""npflow against the PyTorch tutorial it rebuilds, and against its own references, side by side, in one run.

    python benchmarks/bench.py [--threads 1] [--quick] [--out RESULTS.md]

Every figure is measured in this one process (or in child processes started by it), on this
machine, with the same thread count for NumPy's BLAS and for PyTorch, and printed as a ratio
to its reference: the tutorial's PyTorch code where PyTorch is installed, a library's routine
(torchdiffeq, flow_matching), or another npflow setting (named in the row). Install the
references for the benchmark alone, in their own virtual environment:

    pip install torch==2.13.0 torchdiffeq flow-matching==1.0.10 tqdm

Without them the script still reports npflow's own figures. Timings on a shared machine are
noisy: each is the best of several repeats, and only the ratios in one run mean much. The
rows that run ``npflow train`` idle and beside a competing process mean what they say only
when nothing else runs on the machine.
"""
import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
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
from npflow.core.couplings import ot
from npflow.core.metrics import wasserstein2
from npflow.runs.scoring import scoring_field
from npflow.data.digits import load_digits
from npflow.images.pixels import to_model
from npflow.plumbing import threads
from npflow.cli import main as npflow_command
from npflow.plumbing.evaluate import evaluate
from npflow.plumbing.io import save_run
from npflow.plumbing.memory import keep_freed_memory
from npflow.models.registry import RECIPES
from npflow.runs.config import TrainConfig
from npflow.runs.run import start_run

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD_PATH = os.pathsep.join([HERE, os.path.dirname(HERE)])  # children import tutorial_torch and this npflow
SCRATCH = tempfile.TemporaryDirectory()  # runs and data files made for the benchmark

# The npflow command keeps freed memory for reuse (npflow/plumbing/memory.py); so does this process, and
# the setting is the process's own, so PyTorch's tensors get it too: both run on the same allocator.
ALLOCATOR = "glibc default" if args.default_allocator else (
    "glibc tuned (keep_freed_memory)" if keep_freed_memory() else "default (not glibc)")
if args.default_allocator:
    os.environ["NPFLOW_KEEP_FREED_MEMORY"] = "0"  # for the npflow command run in this process and in children

try:
    import torch
    import torchdiffeq
    from torch_references import digits_field, digits_train_steps, flow_matching_log_likelihood, wide_train_steps
    from tutorial_torch import torch_model, torch_train_steps

    torch.set_num_threads(args.threads)
except ImportError:
    torch = torchdiffeq = None
try:
    from flow_matching.solver import ODESolver
except ImportError:
    ODESolver = None

REPEATS = 3 if args.quick else 5
STEPS = 200 if args.quick else 1000
MEMORY_STEPS = 300 if args.quick else 2000
SCORED = 300 if args.quick else 2000
CLI_STEPS = 50 if args.quick else 3000  # npflow train in a fresh process, idle and beside a competing one
W2_STEPS = 100 if args.quick else 2000  # the short training before a one-Euler-step W2
RECIPE_SHARE = 0.02 if args.quick else 1.0  # of each recipe's own steps, for KL and time (--quick: a fiftieth)
# --coupling sinkhorn trains once TrainConfig has ot_reg and train.py hands the batch's rng to the coupling


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


def at_threads(count, run):
    """``run`` with NumPy's BLAS (and PyTorch, where installed) at ``count`` threads; None stays None."""
    if run is None:
        return None

    def counted():
        threads.set_blas_threads(count)
        if torch:
            torch.set_num_threads(count)
        run()

    return counted


@contextlib.contextmanager
def competing_process():
    """One CPU-bound process (a Python busy loop) running while the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def cli_train(setting, steps):
    """``npflow train`` of the tutorial's recipe in a fresh process with ``NPFLOW_THREADS=setting``.

    The child gets none of the thread variables this process set for itself, as a user's shell would not.
    """
    env = {name: value for name, value in os.environ.items()
           if name not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    command = [sys.executable, "-m", "npflow", "train", "--out", os.path.join(SCRATCH.name, "cli_run"), "--force",
               "--quiet", "--checkpoint-every", "0", "--steps", str(steps)]
    return lambda: subprocess.run(command, env={**env, "NPFLOW_THREADS": setting, "PYTHONPATH": CHILD_PATH},
                                  check=True, capture_output=True)


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
                            env={**os.environ, "PYTHONPATH": CHILD_PATH})
    return int(result.stdout.split()[-1]) / 1024


def import_seconds(module):
    code = f"import time; start = time.perf_counter(); import {module}; print(time.perf_counter() - start)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    env={**os.environ, "PYTHONPATH": CHILD_PATH}).stdout)
               for _ in range(REPEATS))


rows = []  # (what, npflow, reference, ratio)


def report(what, ours, theirs=None, unit="", digits=3):
    def fmt(value):
        return "-" if value is None else f"{value:.{digits}f}{unit}"

    ratio = "-" if theirs is None or ours is None else f"{ours / theirs:.2f}"
    rows.append((what, fmt(ours), fmt(theirs), ratio))
    print(f"{what:<84} npflow {fmt(ours):>12}  reference {fmt(theirs):>12}  ratio {ratio}", flush=True)


print(f"npflow {npflow.__version__}, numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
      f"{args.threads} thread(s), allocator {ALLOCATOR}\n", flush=True)

# 1. One training step of the tutorial's recipe.
recipes = [{}, {"grad": "backprop"}, {"grad": "backprop", "dtype": "float32"}, {"dtype": "float32"}]
*ours, theirs = best_times([npflow_train_steps(STEPS, **recipe) for recipe in recipes]
                           + [torch_train_steps(STEPS) if torch else None])
for recipe, seconds in zip(recipes, ours):
    options = " ".join(f"--{name} {value}" for name, value in recipe.items())
    what = f"  the same, npflow {options} (us)" if recipe else "train step, MLP 3-128-128-2, batch 128 (us)"
    report(what, per_step(seconds, STEPS), per_step(theirs, STEPS), digits=0)

# 2. Sampling 1,024 points with RK4, 100 steps, on the same network, by the run's own field (Run.sample, as every
# command samples: the MLP evaluated in place, npflow/plumbing/in_place.py).
tutorial_run = start_run(TrainConfig())
params = tutorial_run.params
x_0 = np.random.default_rng(0).standard_normal((1024, 2))
ours = [lambda r=r, x=x: r.sample(x, "rk4", steps=100)
        for r, x in ((tutorial_run, x_0), (tutorial_run.astype(np.float32), x_0.astype(np.float32)))]
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

# 2b. What a user runs: 'npflow sample RUN --out FILE' with the default flags, file reading and writing
# included, against the same torchdiffeq RK4.
run_dir = os.path.join(SCRATCH.name, "run")
save_run(run_dir, start_run(TrainConfig()))


def npflow_sample():  # its lines, and the note that the run is untrained, are not part of the table
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        npflow_command(["sample", run_dir, "--out", os.path.join(SCRATCH.name, "samples.npy"), "--force"])


ours, theirs = best_times([npflow_sample, torch_rk4])
report("npflow sample RUN, default flags, 1,024 points, against torchdiffeq RK4 (s)", ours, theirs)

# 3. Adaptive: scipy's RK45 against torchdiffeq's dopri5 at rtol = atol = 1e-5.
trajectory = npflow.generate(tutorial_run.velocity, x_0, "RK45", rtol=1e-5, atol=1e-5)
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
ours, theirs = best_times([lambda: npflow.generate(tutorial_run.velocity, x_0, "RK45", rtol=1e-5, atol=1e-5),
                           torch_dopri5])
report("sample 1,024 points, RK45 vs dopri5, rtol = atol = 1e-5 (s)", ours, theirs)
report("  the same, function evaluations", trajectory.nfe, theirs_nfe, digits=0)

# 4. Exact log-likelihood of 2,000 target points by the reverse ODE, RK4 100 steps, against flow_matching's
# ODESolver.compute_likelihood (exact divergence, the same classical RK4 steps, float32) on the same weights:
# what 'npflow logprob' runs (the closed-form divergence, float32 by default), and autograd's divergence.
x = npflow.two_gaussians(SCORED, np.random.default_rng(1))
fm_log_p = flow_matching_log_likelihood(params, x) if torch and ODESolver else None
log_p = {name: (lambda field=field: npflow.log_likelihood(field, x, steps=100)) for name, field in (
    ("float32", scoring_field(tutorial_run, "float32")), ("float64", scoring_field(tutorial_run, "float64")),
    ("autograd", tutorial_run.velocity))}
*ours, theirs = best_times([*log_p.values(), fm_log_p], 1 if args.quick else 2)
for seconds, what in zip(ours, (f"npflow logprob, {SCORED:,} points, exact divergence, RK4 100, against flow_matching",
                                "  the same, --dtype float64", "  the same, float64, divergence by autograd's passes")):
    report(f"{what} (s)", seconds, theirs)
exact = log_p["float64"]()
report("  largest gap of npflow's float32 log p from its float64 (nats)", np.max(np.abs(log_p["float32"]() - exact)),
       digits=7)
if fm_log_p:
    report("  largest gap of flow_matching's log p (float32) from npflow's float64 (nats)",
           np.max(np.abs(fm_log_p() - exact)), digits=7)

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

# 8. Threads chosen, not inherited: 'npflow train' of the tutorial's recipe in a fresh process, idle and beside
# one CPU-bound process, with NPFLOW_THREADS=auto and with every core (OpenBLAS's own default). Only on an
# otherwise idle machine do the idle rows mean what they say.
every_core = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
cli_repeats = 1 if args.quick else 2
idle_auto, idle_all = best_times([cli_train("auto", CLI_STEPS), cli_train(every_core, CLI_STEPS)], cli_repeats)
with competing_process():
    busy_auto, busy_all = best_times([cli_train("auto", CLI_STEPS), cli_train(every_core, CLI_STEPS)], cli_repeats)
report(f"npflow train, tutorial recipe, {CLI_STEPS:,} steps, idle: auto against {every_core} threads (s)",
       idle_auto, idle_all)
report(f"  the same beside one CPU-bound process: auto against {every_core} threads (s)", busy_auto, busy_all)
report("  auto beside one CPU-bound process against auto idle (s)", busy_auto, idle_auto)

# 9. Where a second BLAS thread starts to pay (threads.PAYS_FROM): a training step at two threads against one.
sweep = ((128, 128), (1024, 128)) if args.quick else ((128, 128), (512, 128), (1024, 128), (256, 256), (2048, 128),
                                                        (256, 512))
for batch_size, width in sweep:
    step = npflow_train_steps(sweep_steps, batch_size=batch_size, hidden=(width, width))
    two, one = best_times([at_threads(2, step), at_threads(1, step)])
    report(f"train step, batch {batch_size}, width {width} ({batch_size * width * width / 1e6:.0f}M multiply-adds), "
           "2 threads against 1 (us)", per_step(two, sweep_steps), per_step(one, sweep_steps), digits=0)
threads.set_blas_threads(args.threads)
if torch:
    torch.set_num_threads(args.threads)

# 10. Couplings at batch 256: a training step with exact OT and with Sinkhorn against an independent one, and
# ot's warm-started assignment against the plain one (the same pairs).
couplings = ["independent", "ot", "sinkhorn"]
independent_step, *others = best_times([npflow_train_steps(STEPS // 2, batch_size=256, coupling=coupling)
                                        for coupling in couplings])
for coupling, seconds in zip(["ot", "sinkhorn"], others + [None]):
    report(f"train step, batch 256, --coupling {coupling} against independent (us)", per_step(seconds, STEPS // 2),
           per_step(independent_step, STEPS // 2), digits=0)
rng = np.random.default_rng(4)
batches = [(rng.standard_normal((256, 2)), npflow.get_dataset("eight_gaussians").sample(256, rng)) for _ in range(20)]


def plain_ot():
    from scipy.optimize import linear_sum_assignment

    for x_0, x_1 in batches:
        linear_sum_assignment(np.sum((x_0[:, None, :] - x_1[None, :, :]) ** 2, axis=2))


ours, theirs = best_times([lambda: [ot(x_0, x_1) for x_0, x_1 in batches], plain_ot])
report("ot pairing of 256 points: warm-started against the plain assignment (us)", per_step(ours, len(batches)),
       per_step(theirs, len(batches)), digits=0)

# 11. One Euler step after a short training (batch 256, backprop): W2 to 2,000 data points, against exact OT's.
for name in ("eight_gaussians", "moons"):
    rng = np.random.default_rng(2)
    data, x_0 = npflow.get_dataset(name).sample(2000, rng), npflow.noise(2000, 2, rng)
    w2 = {}
    for coupling in couplings:
        config = TrainConfig(dataset=name, steps=W2_STEPS, batch_size=256, grad="backprop", coupling=coupling)
        velocity = npflow.train(config, stream=None).velocity
        w2[coupling] = wasserstein2(npflow.generate(velocity, x_0, "euler", steps=1).x[-1], data)
    for coupling in ("sinkhorn", "independent"):
        report(f"one-Euler-step W2, {name}, {W2_STEPS:,} steps: --coupling {coupling} against ot", w2.get(coupling),
               w2["ot"])

# 12. The digits network: width 512, batch 256, 64-d data, float32; npflow's backprop against PyTorch.
digits_file = os.path.join(SCRATCH.name, "digits_like.npy")
np.save(digits_file, np.random.default_rng(3).integers(0, 17, (1797, 64)).astype(float))  # 8 x 8 pixels in 0..16
digits_steps = 20 if args.quick else 200
for count in (1, 2):
    ours, theirs = best_times([
        at_threads(count, npflow_train_steps(digits_steps, batch_size=256, hidden=(512, 512), dataset=digits_file,
                                             grad="backprop", dtype="float32")),
        at_threads(count, wide_train_steps(digits_steps, np.load(digits_file)) if torch else None)])
    report(f"train step, 64-d, width 512, batch 256, float32, {count} thread(s) (us)", per_step(ours, digits_steps),
           per_step(theirs, digits_steps), digits=0)
threads.set_blas_threads(args.threads)
if torch:
    torch.set_num_threads(args.threads)

# 12b. The digits recipe's own network (npflow.images.resnet: time features, two residual blocks of 256, SiLU) against
# the same network in PyTorch: a training step at batch 256 on the bundled digits, and the sampling of 100 images
# (RK4, 100 steps, float32) with the same weights. Both train by the recipe as it is: Adam, the cosine schedule and
# the moving average of the weights (PyTorch by the tutorial's loop with those two added).
digits_config = TrainConfig.from_settings({**RECIPES["digits"], "steps": digits_steps})
pixels = to_model(load_digits("train").pixels, np.random.default_rng(5)).astype(np.float32)
for count in (1, 2):
    ours, theirs = best_times([at_threads(count, lambda: npflow.train(digits_config, stream=None)),
                               at_threads(count, digits_train_steps(digits_steps, pixels) if torch else None)])
    report(f"train step, the digits recipe (resnet, 2 blocks of 256), batch 256, float32, {count} thread(s) (us)",
           per_step(ours, digits_steps), per_step(theirs, digits_steps), digits=0)
threads.set_blas_threads(args.threads)
if torch:
    torch.set_num_threads(args.threads)
digits_run = start_run(digits_config)  # its weights are float32, as the recipe trains them
x_0 = np.random.default_rng(6).standard_normal((100, 64)).astype(np.float32)
torch_images = None
if torch:
    digits_torch_field, x_torch = digits_field(digits_run.params), torch.from_numpy(x_0)

    def torch_images():
        with torch.no_grad():
            return torchdiffeq.odeint(digits_torch_field, x_torch, torch.tensor([0.0, 1.0]), method="rk4",
                                      options={"step_size": 0.01})[-1].numpy()
ours, theirs = best_times([lambda: digits_run.sample(x_0, "rk4", steps=100), torch_images])
report("sample 100 digits, the digits recipe's network, RK4 100 steps, float32, against torchdiffeq (s)", ours, theirs)
if torch:  # the same network: the two fields agree to float32's rounding (the samples do not compare: torchdiffeq's
    # rk4 is the 3/8 rule, whose stages fall at other times, and the time features' sin(1000 t) tell those apart)
    with torch.no_grad():
        v_torch = digits_torch_field(0.5, x_torch).numpy()
    report("  the same, largest gap between the two fields at t = 0.5, relative to the largest entry of v",
           float(np.max(np.abs(digits_run.velocity(0.5, x_0) - v_torch)) / np.max(np.abs(v_torch))), digits=7)

# 13. Quality per second: the fast recipe against the tutorial's, seeds 0, 1, 2, trained in turns; KL(target ||
# model) as 'npflow evaluate' measures it (exact likelihood, RK4 100). Each recipe trains its own steps.
seconds, kl = {"fast": [], "tutorial": []}, {"fast": [], "tutorial": []}
for seed in (0, 1, 2):
    for recipe in ("fast", "tutorial"):
        steps = round(RECIPE_SHARE * RECIPES[recipe].get("steps", TrainConfig.steps))
        config = TrainConfig.from_settings({**RECIPES[recipe], "steps": steps, "seed": seed})
        start = time.perf_counter()
        run = npflow.train(config, stream=None)
        seconds[recipe].append(time.perf_counter() - start)
        kl[recipe].append(evaluate(run, n=SCORED, rng=np.random.default_rng(seed))["kl"])
report("--recipe fast against the tutorial's, each its own steps: mean KL, seeds 0, 1, 2 (nats)",
       np.mean(kl["fast"]), np.mean(kl["tutorial"]), digits=4)
report("  the same, mean training time (s)", np.mean(seconds["fast"]), np.mean(seconds["tutorial"]))

table = ["| measurement | npflow | reference: PyTorch unless named | npflow / reference |", "|---|---|---|---|"]
table += [f"| {what} | {ours} | {theirs} | {ratio} |" for what, ours, theirs, ratio in rows]
print("\n" + "\n".join(table))
if args.out:
    with open(args.out, "w") as file:
        file.write("\n".join(table) + "\n")

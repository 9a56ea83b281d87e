"""BLAS threads chosen by the size of the work, not inherited from the machine.

NumPy's matrix products run in OpenBLAS, which starts one thread per core and splits every
product large enough among them. For npflow's usual sizes that buys little and risks much. On a
2-core machine, with the tutorial's recipe (batch 128, width 128), ``npflow train`` took 3.2 s
with one thread or two when the machine was idle; with one other CPU-bound process running it
took 3.1 to 3.6 s with one thread, and 12 to 83 s with two: a product split in two waits for
the half whose thread the scheduler has just taken away. On the same machine busy with other
work, a (256, 512) x (512, 512) float32 product took 1.0 ms with one thread and 36 ms with two.
On an idle machine a second thread does pay for large products: a (1024, 128) x (128, 128) one
ran 1.9 times as fast.

**The setting.** ``NPFLOW_THREADS``, read when the ``npflow`` command starts:

- ``auto`` (the default): one thread, unless the largest matrix product of the command's work
  (rows x width x width multiply-adds, ``command_work``) is at least ``PAYS_FROM`` and more
  than one core is free at the start (cores the process may use, less the other runnable
  processes in ``/proc/loadavg``); then one thread per free core. An ``OPENBLAS_NUM_THREADS``
  or ``OMP_NUM_THREADS`` set by the user caps it.
- a positive integer: that many threads, whatever the work.

**How it is applied.** OpenBLAS reads ``OPENBLAS_NUM_THREADS`` once, when NumPy is imported,
which in a program that uses npflow has usually happened before npflow can act. So the count is
set at run time instead, by calling OpenBLAS's own ``openblas_set_num_threads`` in each copy of
OpenBLAS the process has loaded (NumPy's and SciPy's wheels each bring one, with their own
symbol names; they are found among the shared objects listed in ``/proc/self/maps``). A copy
loaded later keeps its own default: SciPy's comes with ``scipy.linalg``, which npflow's
training and sampling do not use.
Elsewhere (no ``/proc``, or a BLAS other than OpenBLAS, such as Accelerate or MKL) nothing
changes: set ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` before
Python starts. The thread count changes the speed only: OpenBLAS splits a product by blocks of
its result, each summed in the same order by whichever thread computes it, so a training run
gives the same bits at one thread and at two (``tests/test_threads.py``).

The ``npflow`` command, the examples and the test suite apply the setting when they start.
Importing npflow does not: the thread count belongs to the whole process, so a program or
notebook that uses npflow as a library opts in by calling ``use_threads()``.
"""
import ctypes
import json
import os

from .outputs import CONFIG_FILE

__all__ = ["PAYS_FROM", "SETTING", "use_threads", "threads_for", "requested", "command_work", "free_cores",
           "set_blas_threads", "blas_threads"]

#: The environment variable that holds the setting.
SETTING = "NPFLOW_THREADS"

#: Multiply-adds of a command's largest matrix product from which a second thread pays on an
#: idle machine. Provisional: single products ran 1.6 to 2 times as fast on two threads from 2
#: million multiply-adds up (a quiet 2-core machine), but a whole training step at the tutorial's
#: size (2 million) gained nothing, most of its time being elementwise work in one thread. The
#: rows "2 threads against 1" of ``benchmarks/bench.py``, run on an idle machine, place it.
PAYS_FROM = 2 ** 24  # about 16.8 million: batch 1,024 at width 128, batch 256 at width 256

# OpenBLAS's name for its setter, and the names in the wheels of NumPy (64-bit integers) and SciPy
_SETTERS = ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "scipy_openblas_set_num_threads64_")


def requested(environ=os.environ):
    """The setting in ``environ``: ``"auto"`` or a positive int. Raises ValueError (one line) for anything else."""
    text = environ.get(SETTING, "auto").strip().lower()
    if text in ("", "auto"):
        return "auto"
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"{SETTING} must be 'auto' or a positive integer, got {environ[SETTING]!r}")


def threads_for(work, cores_free, cap=None):
    """``auto``'s choice: 1 below ``PAYS_FROM`` multiply-adds, else every free core (at least 1, at most ``cap``)."""
    count = 1 if work < PAYS_FROM else max(1, cores_free)
    return count if cap is None else min(count, cap)


def free_cores():
    """Cores this process may use, less the other processes running now (from ``/proc/loadavg``)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        with open("/proc/loadavg") as file:
            running = int(file.read().split()[3].split("/")[0])  # "1/234": runnable now, this process included
    except (OSError, ValueError, IndexError):
        return cores
    return max(1, cores - (running - 1))


def _user_cap(environ):
    """The thread count the user set for OpenBLAS or OpenMP before starting, if any."""
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        text = environ.get(variable, "").strip()
        if text.isdigit() and int(text) > 0:
            return int(text)
    return None


def _openblas_libraries():
    """The OpenBLAS shared objects this process has loaded, by path; [] where /proc/self/maps is missing."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()}
    except OSError:
        return []
    return [ctypes.CDLL(path) for path in sorted(paths)]  # already loaded: dlopen returns the same copy


def _call_each(names, *args):
    """Call, in every loaded OpenBLAS, the first function of ``names`` it exports; returns the results."""
    results = []
    for library in _openblas_libraries():
        function = next((getattr(library, name) for name in names if hasattr(library, name)), None)
        if function is not None:
            results.append(function(*args))
    return results


def set_blas_threads(count):
    """Tell every loaded OpenBLAS to use ``count`` threads; returns how many libraries were told (0: none found)."""
    import numpy  # noqa: F401  (loads NumPy's OpenBLAS, so that it is there to be told)

    return len(_call_each(_SETTERS, ctypes.c_int(count)))


def blas_threads():
    """The thread count of NumPy's OpenBLAS (the first one loaded), or None where none is found."""
    import numpy  # noqa: F401

    counts = _call_each([name.replace("set", "get") for name in _SETTERS])
    return counts[0] if counts else None


def use_threads(work=0, environ=os.environ):
    """Apply the setting for work whose largest matrix product has ``work`` multiply-adds; returns the count.

    Raises ValueError (one line) for a setting that is neither ``auto`` nor a positive integer.
    """
    setting = requested(environ)
    count = setting if setting != "auto" else threads_for(work, free_cores(), cap=_user_cap(environ))
    set_blas_threads(count)
    return count


def command_work(options):
    """Multiply-adds of the largest matrix product an ``npflow`` command does: rows x width^2.

    ``options`` are the command's parsed arguments, as a dict: the rows are ``batch_size``
    (train), ``pairs`` (reflow) or ``n`` (sample, evaluate, plot); the width is the widest of
    ``hidden`` (train) or of the run that ``run_dir`` or ``resume`` names. What is not given is
    the tutorial's (batch 128, widths 128, 128), and so is ``demo``'s, whose time goes into
    training the tutorial's recipe.
    """
    if options.get("command") == "demo":
        return 128 * 128 * 128
    saved = _saved_config(options.get("run_dir") or options.get("resume"))
    rows = options.get("batch_size") or options.get("pairs") or options.get("n") or saved.get("batch_size") or 128
    width = max(options.get("hidden") or saved.get("hidden") or (128,))
    return rows * width * width


def _saved_config(run_dir):
    """The recipe saved in a run directory's config.json, as a dict; {} where there is none to read."""
    try:
        with open(os.path.join(run_dir, CONFIG_FILE)) as file:
            config = json.load(file).get("config", {})
    except (TypeError, OSError, ValueError, AttributeError):  # no run named, no such file, not a run's JSON
        return {}
    return config if isinstance(config, dict) else {}

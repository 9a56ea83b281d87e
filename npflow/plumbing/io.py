"""Runs on disk: save a training run and load it back, every array checked.

A run directory holds two files, and copies of the data files its recipe names:

- ``config.json``: ``{"format": "npflow-run", "format_version": 1, "status": ..., "config": {...}}``,
  the ``TrainConfig`` of the run (its ``steps`` is the step count the run is meant to reach),
  and how its training ended (``npflow.plumbing.status``): ``running``, ``finished``,
  ``interrupted``, ``diverged``, ``failed``, or ``stopped`` (saved from Python short of its steps);
- ``checkpoint.npz``: everything that changes as training goes:

  - ``W0, b0, W1, b1, ...``: the MLP's parameters;
  - ``adam_m, adam_v``: Adam's moments, one number per parameter (after step 1);
  - ``ema``: the moving average of the weights, flattened (when the recipe keeps one);
  - ``losses``: the loss of every step taken, shape (step,);
  - ``field_errors``: rows (step, field error), shape (m, 2), empty if not logged;
  - ``state``: a JSON string with the step, Adam's step count and the random generator's
    state, so that a resumed run draws exactly what an uninterrupted one would;

- ``data.npy``, ``source.npy``, ``pairs.npz``: when the recipe's dataset, source or pairs come
  from files, the run keeps its own copy of each, and ``config.json`` names the copy (points
  with labels, from an ``.npz`` file, as ``data.npz``). So a run
  resumes, samples and evaluates the same after the original files have moved or changed.

Loading trusts nothing: arrays are read by ``npflow.data.files``, which never unpickles (a
pickle can run code), and every key, shape, dtype and value is checked against the config. A
bad directory raises ``RunError`` with one line that says what is wrong.

Writing is atomic (``npflow.plumbing.outputs``): each file is written under a temporary name
and moved into place, so a crash mid-write leaves the previous checkpoint intact. While a
command trains a run, it holds the run's lock (``npflow.plumbing.lock``), and the directory
holds a third file, ``lock``.
"""
import json
import math
import os

import numpy as np

from ..version import __version__
from ..core.checks import check_points
from ..core.optim import Adam, tree_flatten, tree_unflatten
from ..data.datasets import is_data_file, load_data_file
from ..data.files import read_archive, read_array
from ..data.pairs import load_pairs
from ..runs.config import TrainConfig, check_data_files
from ..runs.run import Run
from .outputs import CHECKPOINT_FILE, CONFIG_FILE, atomic_directory, atomic_file, check_output_path

__all__ = ["FORMAT_VERSION", "STATUSES", "RunError", "save_pairs", "load_points", "save_run", "save_checkpoint",
           "set_status", "read_header", "load_run"]

FORMAT_VERSION = 1
#: How a run's training ended, as ``config.json`` records it (see the module docstring).
STATUSES = ("running", "finished", "interrupted", "diverged", "failed", "stopped")

#: Config fields that may name a file, and the name of the copy a run directory keeps of it.
KEPT_FILES = {"dataset": "data.npy", "source": "source.npy", "pairs_file": "pairs.npz"}


class RunError(ValueError):
    """A run directory that is missing, incomplete or corrupt."""


def save_pairs(path, x_0, x_1, force=False):
    """Write a table of pairs (``npflow.data.pairs.load_pairs`` reads it) as ``.npz``, atomically.

    Parameters
    ----------
    path : str or path
    x_0, x_1 : ndarray, shape (N, d)
    force : bool
        Replace an existing file.
    """
    check_output_path(path, force)
    with atomic_file(path) as tmp, open(tmp, "wb") as file:  # an open file: np.savez would add ".npz" to tmp
        np.savez(file, x_0=np.asarray(x_0), x_1=np.asarray(x_1))


def _names_a_file(field, value):
    """Whether a config field's value is a file: any non-empty pairs_file, or a .npy/.csv dataset or source."""
    return isinstance(value, str) and bool(value) and (field == "pairs_file" or is_data_file(value))


def _kept_name(field, value):
    """The name of the run's copy of the file ``value``: ``KEPT_FILES[field]``, as an .npz for points with labels."""
    kept = KEPT_FILES[field]
    return os.path.splitext(kept)[0] + ".npz" if value.lower().endswith(".npz") else kept


def _kept_files(config):
    """The config's file fields, as {field: file name} (``KEPT_FILES`` entries that name a file)."""
    return {field: _kept_name(field, getattr(config, field)) for field in KEPT_FILES
            if _names_a_file(field, getattr(config, field))}


def _write_kept_files(run_dir, config):
    """Copy the data files the config names into the run directory, as checked arrays."""
    for field, kept in _kept_files(config).items():
        if field == "pairs_file":
            save_pairs(os.path.join(run_dir, kept), *load_pairs(config.pairs_file))
        elif kept.endswith(".npz"):  # points with their labels
            x, y = load_data_file(getattr(config, field), labels=True)
            with open(os.path.join(run_dir, kept), "wb") as file:
                np.savez(file, x=x, y=y)
        else:
            np.save(os.path.join(run_dir, kept), load_data_file(getattr(config, field)), allow_pickle=False)


def _status_of(run, status):
    """``status``, checked; if None, what a run saved from Python is: finished at its last step, else stopped."""
    if status is None:
        return "finished" if run.step == run.config.steps else "stopped"
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    return status


def _write_config(path, config, status):
    fields = {**config.to_dict(), **_kept_files(config)}  # files are named by the run's own copies
    header = {"format": "npflow-run", "format_version": FORMAT_VERSION, "npflow_version": __version__,
              "status": status, "config": fields}
    with open(path, "w") as file:
        json.dump(header, file, indent=2)


def _write_checkpoint(path, run):
    arrays = {}
    for i, (W, b) in enumerate(run.params):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    adam_step = 0 if run.optimizer is None else run.optimizer.step_count
    if adam_step:
        arrays["adam_m"], arrays["adam_v"] = run.optimizer.m, run.optimizer.v
    if run.ema is not None:
        arrays["ema"] = tree_flatten(run.ema)
    state = {"step": run.step, "adam_step": adam_step,
             "rng": None if run.rng is None else run.rng.bit_generator.state}
    with open(path, "wb") as file:  # an open file: np.savez would add ".npz" to a temporary name
        np.savez(file, losses=np.asarray(run.losses, dtype=float),
                 field_errors=np.asarray(run.field_errors, dtype=float).reshape(-1, 2),
                 state=np.array(json.dumps(state)), **arrays)


def save_run(run_dir, run, force=False, status=None, lock=None):
    """Create a run directory holding ``run``, atomically.

    Parameters
    ----------
    run_dir : str or path
    run : Run
        From ``npflow.train`` or ``npflow.run.start_run``.
    force : bool
        Replace an existing run directory.
    status : str, optional
        How its training ended, one of ``STATUSES``; None: finished if ``run`` is at its last step, else stopped.
    lock : RunLock, optional
        A writer's lock (``npflow.plumbing.lock``) to take in the new directory before it appears
        under its name, so that no other writer can come between.
    """
    status = _status_of(run, status)
    with atomic_directory(run_dir, force, marker=CONFIG_FILE) as tmp:
        if lock is not None:
            lock.acquire(building=tmp)
        _write_kept_files(tmp, run.config)
        _write_config(os.path.join(tmp, CONFIG_FILE), run.config, status)
        _write_checkpoint(os.path.join(tmp, CHECKPOINT_FILE), run)


def save_checkpoint(run_dir, run, status=None):
    """Update an existing run directory with a newer state of the same run, one file at a time.

    Each file is replaced atomically. The config goes first: if a crash falls between the two,
    the directory still loads, as the older checkpoint of a run aiming at more steps (and
    ``npflow.plumbing.status`` checks a "finished" against the checkpoint's step).
    ``status`` is as for ``save_run``.
    """
    status = _status_of(run, status)
    with atomic_file(os.path.join(run_dir, CONFIG_FILE)) as tmp:
        _write_config(tmp, run.config, status)
    with atomic_file(os.path.join(run_dir, CHECKPOINT_FILE)) as tmp:
        _write_checkpoint(tmp, run)


def set_status(run_dir, status):
    """Record in ``config.json`` how the run's training ended, changing nothing else."""
    header = read_header(run_dir)
    header["status"] = _status_of(None, status)
    with atomic_file(os.path.join(run_dir, CONFIG_FILE)) as tmp, open(tmp, "w") as file:
        json.dump(header, file, indent=2)


def read_header(run_dir):
    """The JSON object of a run's ``config.json``, its format checked; a ``RunError`` if it is not a run's."""
    path = os.path.join(run_dir, CONFIG_FILE)
    try:
        with open(path) as file:
            header = json.load(file)
    except FileNotFoundError:
        raise RunError(f"{run_dir!r} is not an npflow run: {CONFIG_FILE} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"{path!r} is not valid JSON ({error})") from None
    if not isinstance(header, dict) or header.get("format") != "npflow-run":
        raise RunError(f"{path!r} is not an npflow run config (no \"format\": \"npflow-run\")")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise RunError(f"{path!r} has format_version {version!r}; this npflow reads version {FORMAT_VERSION}")
    return header


def _read_config(run_dir):
    path = os.path.join(run_dir, CONFIG_FILE)
    fields = read_header(run_dir).get("config")
    if not isinstance(fields, dict):
        raise RunError(f"{path!r} has no \"config\" object")
    for field, kept in KEPT_FILES.items():
        value = fields.get(field)
        if isinstance(value, str) and value == _kept_name(field, value):  # the run's own copy, named relative to it
            fields[field] = os.path.join(os.path.abspath(run_dir), value)
        elif _names_a_file(field, value):
            raise RunError(f"{path!r} names the file {value!r} as its {field}; a run reads only its own copy, {kept}")
    try:
        return check_data_files(TrainConfig.from_settings(fields))  # a run's own copies of its data files, read and checked
    except (TypeError, ValueError) as error:
        raise RunError(f"{path!r} holds an invalid config: {error}") from None


def _read_checkpoint(path):
    """The arrays of a checkpoint, as a dict, read without pickles; a ``RunError`` for anything unreadable."""
    try:
        return read_archive(path, "checkpoint")
    except ValueError as error:
        raise RunError(str(error)) from None


def _member(arrays, key, shape, path):
    """One array of a checkpoint, checked: shape, float dtype, finite."""
    _check_array(arrays[key], shape, f"{path}: {key}")
    return arrays[key]


def _check_array(array, shape, where):
    """Check shape (``None`` matches any length), floating dtype and finiteness."""
    if array.ndim != len(shape) or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        expected = str(tuple("n" if want is None else want for want in shape)).replace("'", "")  # e.g. (n, 2)
        raise RunError(f"{where} has shape {array.shape}, expected {expected}")
    if array.dtype.kind != "f":
        raise RunError(f"{where} has dtype {array.dtype}, expected floating point")
    if not np.all(np.isfinite(array)):
        raise RunError(f"{where} contains NaN or infinite values")


def _read_state(arrays, where):
    """The JSON ``state`` entry of a checkpoint: step, adam_step and the generator's state."""
    try:
        text = arrays["state"]
        if text.shape != () or text.dtype.kind != "U":
            raise ValueError("not a string")
        state = json.loads(str(text))
    except (KeyError, ValueError) as error:
        raise RunError(f"{where}: state is missing or unreadable ({error})") from None
    if not (isinstance(state, dict) and isinstance(state.get("step"), int) and isinstance(state.get("adam_step"), int)):
        raise RunError(f"{where}: state must hold integer 'step' and 'adam_step'")
    return state


def _restore_generator(rng_state, where):
    """A Generator in the saved state. Only numpy's default PCG64 is accepted."""
    if rng_state is None:
        return None
    if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != "PCG64":
        raise RunError(f"{where}: the random generator state is not a PCG64 state")
    bit_generator = np.random.PCG64()
    try:
        bit_generator.state = rng_state
    except (TypeError, ValueError, KeyError) as error:
        raise RunError(f"{where}: the random generator state is invalid ({error})") from None
    return np.random.Generator(bit_generator)


def load_run(run_dir):
    """Load and validate a run directory written by ``save_run`` (or ``npflow train``).

    Returns
    -------
    Run
        With its optimizer and generator, ready to sample from or to resume.

    Raises
    ------
    RunError
        If the directory is missing, incomplete, corrupt or inconsistent with its config.
    """
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise RunError(f"run directory {run_dir!r} does not exist")
    config = _read_config(run_dir)
    path = os.path.join(run_dir, CHECKPOINT_FILE)
    arrays = _read_checkpoint(path)
    state = _read_state(arrays, path)
    step, adam_step = state["step"], state["adam_step"]
    if not 0 <= step <= config.steps or adam_step not in (0, step):  # 0: saved without optimizer state
        raise RunError(f"{path}: step {step} (Adam step {adam_step}) does not fit a run of {config.steps} steps")
    sizes = config.layer_sizes
    shapes = [shape for fan_in, fan_out in zip(sizes[:-1], sizes[1:]) for shape in ((fan_in, fan_out), (fan_out,))]
    keys = [f"{kind}{i}" for i in range(len(sizes) - 1) for kind in "Wb"]
    moments = ["adam_m", "adam_v"] if adam_step else []
    average = ["ema"] if config.ema else []
    expected = {*keys, *moments, *average, "losses", "field_errors", "state"}
    if set(arrays) != expected:
        raise RunError(f"{path!r} holds arrays {sorted(arrays)}, expected {sorted(expected)}")
    leaves = [_member(arrays, key, shape, path) for key, shape in zip(keys, shapes)]
    if any(leaf.dtype != config.dtype for leaf in leaves):
        raise RunError(f"{path}: the parameters are not {config.dtype}, as the config says")
    params = [(leaves[i], leaves[i + 1]) for i in range(0, len(leaves), 2)]
    losses = _member(arrays, "losses", (step,), path)
    field_errors = _member(arrays, "field_errors", (None, 2), path)
    size = sum(math.prod(shape) for shape in shapes)  # P, the number of parameters
    ema = tree_unflatten(params, _member(arrays, "ema", (size,), path)) if config.ema else None
    optimizer = Adam(lr=config.lr) if adam_step == step else None
    if adam_step:
        optimizer.m = _member(arrays, "adam_m", (size,), path)
        optimizer.v = _member(arrays, "adam_v", (size,), path)
        if np.any(optimizer.v < 0):
            raise RunError(f"{path}: Adam's second moments must not be negative")
        optimizer.step_count = adam_step
    rng = _restore_generator(state.get("rng"), path)
    return Run(params=params, config=config, losses=losses, field_errors=field_errors, optimizer=optimizer, rng=rng,
               ema=ema)


def load_points(path, dim):
    """Load points to score or encode from an ``.npy`` or ``.csv`` file, refusing anything doubtful.

    Parameters
    ----------
    path : str or path
    dim : int
        The dimension d the points must have.

    Returns
    -------
    ndarray of float, shape (n, dim)

    Raises
    ------
    ValueError
        For a missing or unreadable file, a pickle, the wrong shape, or NaN/inf values.
    """
    points = read_array(path, "points")  # never unpickles
    return check_points(points, f"points file {os.fspath(path)!r}", dim)

"""Runs on disk: save a trained field, load it back, and never leave a half-written file.

A run directory holds these files:

- ``config.json``: ``{"format": "npflow-run", "format_version": 1, "config": {...}}``, the
  ``TrainConfig`` that made the run;
- ``params.npz``: the arrays ``W0, b0, W1, b1, ...`` of the MLP;
- ``losses.npy``: the loss at every training step, shape (steps,);
- ``field_errors.npy`` (only if they were logged): rows (step, field error).

Loading trusts nothing: arrays are read with ``allow_pickle=False`` (a pickle can run code),
and every key, shape, dtype and value is checked against the config. A bad directory raises
``RunError`` with one line that says what is wrong.

Writing is atomic: files go to a temporary sibling first and are moved into place with
``os.replace``/``os.rename``, so an interrupted write never leaves a corrupt run behind.
"""
import json
import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager

import numpy as np

from . import __version__
from .train import Run, TrainConfig

__all__ = ["FORMAT_VERSION", "RunError", "check_output_path", "atomic_directory", "save_run", "load_run", "save_array", "load_points"]

FORMAT_VERSION = 1
CONFIG_FILE, PARAMS_FILE, LOSSES_FILE, FIELD_ERRORS_FILE = "config.json", "params.npz", "losses.npy", "field_errors.npy"


def _umask_mode(path, mode):
    """Give a temporary file or directory the permissions a plain open/mkdir would have.

    ``tempfile`` makes them private (0600/0700); a saved run should not be.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


class RunError(ValueError):
    """A run directory that is missing, incomplete or corrupt."""


def check_output_path(path, force, marker=None):
    """Refuse to write over ``path`` unless ``force``; raise ``FileExistsError`` saying why.

    With ``force``, a file may only replace a file (``marker=None``), and a directory only an
    empty directory or one holding the file ``marker`` (e.g. ``config.json`` for a run), so a
    slip of the keyboard cannot wipe a folder of other work. Call it before long work, so a
    refusal costs nothing and changes nothing.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {parent!r} does not exist")
    if not os.path.lexists(path):
        return
    if not force:
        raise FileExistsError(f"{path!r} already exists; pass --force to replace it")
    if marker is None and not os.path.isfile(path):
        raise FileExistsError(f"refusing to replace {path!r}: it is not a file")
    if marker is not None and not (os.path.isdir(path) and (
            os.path.isfile(os.path.join(path, marker)) or not os.listdir(path))):
        raise FileExistsError(f"refusing to replace {path!r}: it is not a directory that npflow wrote")


@contextmanager
def atomic_directory(path, force=False, marker=CONFIG_FILE):
    """Build a directory in a temporary sibling and move it to ``path`` only when it is whole.

    Yields the temporary directory to write into. If the block raises (or is interrupted), the
    temporary directory is removed and ``path`` is untouched. An existing ``path`` is checked
    with ``check_output_path(path, force, marker)`` on entry and swapped out only at the end.
    """
    path = os.path.abspath(os.fspath(path))
    check_output_path(path, force, marker)
    parent, name = os.path.split(path)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        _umask_mode(tmp, 0o777)
        yield tmp
        if os.path.lexists(path):
            old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.rename(path, os.path.join(old, name))
            os.rename(tmp, path)
            shutil.rmtree(old)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_array(path, array, force=False):
    """Write one array as ``.npy``, atomically (temporary file, then ``os.replace``)."""
    check_output_path(path, force)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".npflow-", suffix=".npy.tmp", dir=directory)
    try:
        _umask_mode(tmp, 0o666)
        with os.fdopen(fd, "wb") as file:
            np.save(file, np.asarray(array), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_run(run_dir, run, force=False):
    """Write a run directory atomically.

    Parameters
    ----------
    run_dir : str or path
    run : Run
        What ``npflow.train`` returned.
    force : bool
        Replace an existing run directory.
    """
    with atomic_directory(run_dir, force, marker=CONFIG_FILE) as tmp:
        header = {"format": "npflow-run", "format_version": FORMAT_VERSION,
                  "npflow_version": __version__, "config": run.config.to_dict()}
        with open(os.path.join(tmp, CONFIG_FILE), "w") as file:
            json.dump(header, file, indent=2)
        arrays = {}
        for i, (W, b) in enumerate(run.params):
            arrays[f"W{i}"], arrays[f"b{i}"] = W, b
        np.savez(os.path.join(tmp, PARAMS_FILE), **arrays)
        np.save(os.path.join(tmp, LOSSES_FILE), np.asarray(run.losses, dtype=float))
        if run.field_errors is not None:
            np.save(os.path.join(tmp, FIELD_ERRORS_FILE), np.asarray(run.field_errors, dtype=float))


def _read_config(run_dir):
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
    fields = header.get("config")
    if not isinstance(fields, dict):
        raise RunError(f"{path!r} has no \"config\" object")
    try:
        return TrainConfig(**fields)
    except (TypeError, ValueError) as error:
        raise RunError(f"{path!r} holds an invalid config: {error}") from None


def _read_array(path, what):
    """np.load without pickles, one clear error for anything unreadable."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise RunError(f"{what} file {path!r} is missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise RunError(f"{what} file {path!r} is unreadable or corrupt ({error})") from None


def _archive_member(archive, key, shape, path):
    """One array of an .npz, read without pickles and checked: shape, float dtype, finite."""
    where = f"{path}: {key}"
    try:
        array = archive[key]
    except ValueError as error:  # numpy refuses object (pickled) arrays when allow_pickle=False
        raise RunError(f"{where} cannot be read without running a pickle ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise RunError(f"{where} is corrupt ({error})") from None
    _check_array(array, shape, where)
    return array


def _check_array(array, shape, where):
    if array.shape != tuple(shape):
        raise RunError(f"{where} has shape {array.shape}, expected {tuple(shape)}")
    if array.dtype.kind != "f":
        raise RunError(f"{where} has dtype {array.dtype}, expected floating point")
    if not np.all(np.isfinite(array)):
        raise RunError(f"{where} contains NaN or infinite values")


def load_run(run_dir):
    """Load and validate a run directory written by ``save_run`` (or ``npflow train``).

    Returns
    -------
    Run

    Raises
    ------
    RunError
        If the directory is missing, incomplete, corrupt or inconsistent with its config.
    """
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise RunError(f"run directory {run_dir!r} does not exist")
    config = _read_config(run_dir)
    params_path = os.path.join(run_dir, PARAMS_FILE)
    archive = _read_array(params_path, "parameter")
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise RunError(f"parameter file {params_path!r} is not an .npz archive")
    sizes = config.layer_sizes
    expected = {f"{kind}{i}" for i in range(len(sizes) - 1) for kind in "Wb"}
    with archive:
        if set(archive.files) != expected:
            raise RunError(f"{params_path!r} holds arrays {sorted(archive.files)}, expected {sorted(expected)}")
        params = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            W = _archive_member(archive, f"W{i}", (fan_in, fan_out), params_path)
            b = _archive_member(archive, f"b{i}", (fan_out,), params_path)
            params.append((W, b))
    losses = _read_array(os.path.join(run_dir, LOSSES_FILE), "loss")
    if not isinstance(losses, np.ndarray) or losses.shape != (config.steps,) or losses.dtype.kind != "f":
        raise RunError(f"loss file in {run_dir!r} does not hold {config.steps} floating-point losses")
    field_errors = None
    if os.path.exists(os.path.join(run_dir, FIELD_ERRORS_FILE)):  # optional: only when they were logged
        field_errors = _read_array(os.path.join(run_dir, FIELD_ERRORS_FILE), "field error")
        if not isinstance(field_errors, np.ndarray) or field_errors.ndim != 2 or field_errors.shape[1:] != (2,):
            raise RunError(f"field error file in {run_dir!r} does not hold rows of (step, error)")
    return Run(params=params, config=config, losses=losses, field_errors=field_errors)


def load_points(path, dim):
    """Load points to score or encode from an ``.npy`` file, refusing anything doubtful.

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
    points = _read_array(os.fspath(path), "points")
    if not isinstance(points, np.ndarray) or points.dtype.kind not in "fiu":
        raise ValueError(f"points file {os.fspath(path)!r} must hold one numeric array")
    if points.ndim != 2 or points.shape[1] != dim or points.shape[0] == 0:
        raise ValueError(f"points in {os.fspath(path)!r} have shape {points.shape}, expected (n, {dim}) with n >= 1")
    if not np.all(np.isfinite(points)):
        bad = int(np.sum(~np.all(np.isfinite(points), axis=1)))
        raise ValueError(f"points in {os.fspath(path)!r} include {bad} row(s) with NaN or infinite values")
    return points.astype(float)

"""Runs on disk: save a trained field, load it back, and never leave a half-written file.

A run directory holds three files:

- ``config.json``: ``{"format": "npflow-run", "format_version": 1, "config": {...}}``, the
  ``TrainConfig`` that made the run;
- ``params.npz``: the arrays ``W0, b0, W1, b1, ...`` of the MLP;
- ``losses.npy``: the loss at every training step, shape (steps,).

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
from dataclasses import dataclass

import numpy as np

from . import __version__
from .mlp import velocity
from .train import TrainConfig

__all__ = ["FORMAT_VERSION", "Run", "RunError", "check_output_path", "save_run", "load_run", "save_array"]

FORMAT_VERSION = 1
CONFIG_FILE, PARAMS_FILE, LOSSES_FILE = "config.json", "params.npz", "losses.npy"


class RunError(ValueError):
    """A run directory that is missing, incomplete or corrupt."""


@dataclass
class Run:
    """A trained run, as ``load_run`` returns it.

    Attributes
    ----------
    params : list of (W, b)
    config : TrainConfig
    losses : ndarray, shape (steps,)
    """

    params: list
    config: TrainConfig
    losses: np.ndarray

    @property
    def dim(self):
        """Dimension d of the data."""
        return self.config.dim

    def velocity(self, t, x):
        """The learned field v_theta(t, x), with x of shape (n, d); returns shape (n, d)."""
        if np.ndim(x) != 2 or np.shape(x)[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got shape {np.shape(x)}")
        return velocity(self.params, t, x, self.config.activation)


def check_output_path(path, force, kind="run"):
    """Refuse to write over ``path`` unless ``force``; raise ``FileExistsError`` saying why.

    With ``force``, a run directory may only replace an npflow run directory (or an empty
    one), and a file only a file, so a slip of the keyboard cannot wipe a folder of other work.
    Call it before long work, so a refusal costs nothing and changes nothing.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {parent!r} does not exist")
    if not os.path.lexists(path):
        return
    if not force:
        raise FileExistsError(f"{path!r} already exists; pass --force to replace it")
    if kind == "run":
        is_run = os.path.isfile(os.path.join(path, CONFIG_FILE))
        if not os.path.isdir(path) or not (is_run or not os.listdir(path)):
            raise FileExistsError(f"refusing to replace {path!r}: it is not an npflow run directory")
    elif not os.path.isfile(path):
        raise FileExistsError(f"refusing to replace {path!r}: it is not a file")


def save_array(path, array, force=False):
    """Write one array as ``.npy``, atomically (temporary file, then ``os.replace``)."""
    check_output_path(path, force, kind="file")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".npflow-", suffix=".npy.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            np.save(file, np.asarray(array), allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_run(run_dir, params, config, losses, force=False):
    """Write a run directory atomically.

    Parameters
    ----------
    run_dir : str or path
    params : list of (W, b)
    config : TrainConfig
    losses : ndarray, shape (steps,)
    force : bool
        Replace an existing run directory.
    """
    run_dir = os.path.abspath(os.fspath(run_dir))
    check_output_path(run_dir, force, kind="run")
    parent, name = os.path.split(run_dir)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    try:
        header = {"format": "npflow-run", "format_version": FORMAT_VERSION,
                  "npflow_version": __version__, "config": config.to_dict()}
        with open(os.path.join(tmp, CONFIG_FILE), "w") as file:
            json.dump(header, file, indent=2)
        arrays = {f"{kind}{i}": array for i, (W, b) in enumerate(params) for kind, array in (("W", W), ("b", b))}
        np.savez(os.path.join(tmp, PARAMS_FILE), **arrays)
        np.save(os.path.join(tmp, LOSSES_FILE), np.asarray(losses, dtype=float))
        if os.path.lexists(run_dir):  # --force: swap the old run out only once the new one is whole
            old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
            os.rename(run_dir, os.path.join(old, name))
            os.rename(tmp, run_dir)
            shutil.rmtree(old)
        else:
            os.rename(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
            try:
                W, b = archive[f"W{i}"], archive[f"b{i}"]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
                raise RunError(f"{params_path!r} is corrupt ({error})") from None
            _check_array(W, (fan_in, fan_out), f"{params_path}: W{i}")
            _check_array(b, (fan_out,), f"{params_path}: b{i}")
            params.append((W, b))
    losses = _read_array(os.path.join(run_dir, LOSSES_FILE), "loss")
    if not isinstance(losses, np.ndarray) or losses.shape != (config.steps,) or losses.dtype.kind != "f":
        raise RunError(f"loss file in {run_dir!r} does not hold {config.steps} floating-point losses")
    return Run(params=params, config=config, losses=losses)

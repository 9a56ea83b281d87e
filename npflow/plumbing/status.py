"""How a run's training ended, in one line for someone about to use the run.

A run directory is written at step 0, before training starts, so that it can always be
resumed; a run that diverged at its second step, or that was killed, still loads and samples
(its untrained weights). ``config.json`` records how training ended (``npflow.plumbing.io``),
and the commands that read a run (``sample``, ``evaluate``, ``plot``) print ``unfinished``'s
line on stderr when the run is not a finished one.

A run whose lock a live process holds is being trained. A run recorded as ``running`` whose lock
no live process holds was stopped without a word: its process was killed (by an out-of-memory
kill, say, or SIGKILL).
"""
import os

from .io import read_header
from .lock import is_locked, lock_holder

__all__ = ["status", "unfinished"]


def status(run_dir, run):
    """How the run's training ended: ``"finished"``, ``"running"``, ``"killed"``, ``"interrupted"``,
    ``"diverged"``, ``"failed"`` or ``"stopped"`` (short of its steps, reason unknown).

    A "finished" is believed only at the run's last step (a crash can fall between writing the
    config and the checkpoint); a run from before statuses were recorded is "finished" at its
    last step and "stopped" before it.
    """
    if is_locked(run_dir):
        return "running"
    recorded = read_header(run_dir).get("status")
    if recorded == "running":  # and nobody holds the lock
        return "killed"
    if recorded in ("interrupted", "diverged", "failed"):
        return recorded
    return "finished" if run.step == run.config.steps else "stopped"


def unfinished(run_dir, run):
    """One line saying what a run that is not a finished one holds, or None for a finished run.

    Parameters
    ----------
    run_dir : str or path
    run : Run
        The run loaded from ``run_dir``.
    """
    state, where = status(run_dir, run), os.fspath(run_dir)
    if state == "finished":
        return None
    step = f"step {run.step} of {run.config.steps}" + (" (untrained weights)" if run.step == 0 else "")
    resume = f"; resume with: npflow train --resume {where}"
    return {
        "running": f"{where!r} is still training ({lock_holder(run_dir)}); this is its checkpoint at {step}",
        "killed": f"{where!r} stopped at {step} without a word (its process was killed?){resume}",
        "interrupted": f"{where!r} was interrupted at {step}{resume}",
        "diverged": f"{where!r} diverged in training; it holds its last good checkpoint, {step}",
        "failed": f"{where!r} stopped at {step} on an error{resume}",
        "stopped": f"{where!r} holds {step}{resume}",
    }[state]

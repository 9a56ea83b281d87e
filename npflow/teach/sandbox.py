"""One exercise of a student, in a fresh interpreter that holds their code and nothing of the grader's.

The rule: **student code computes values, the grader judges them, and only the grader writes
results.** ``run_child`` starts ``python -I -S -B`` on the graded copy (the blank copy with the
student's blocks spliced in): isolated from the environment, without ``site`` (so that no
installed or editable reference npflow can be found), on a ``sys.path`` of the copy and the
folders of NumPy, SciPy and autograd. Before it runs, the child gets its limits
(``resource.setrlimit``): address space, CPU time, processes, file size; it runs in a session
of its own, as another user where the grader may switch (root), and its stdout and stderr are
files the grader opened, of which only the first ``output_kb`` are read. When it ends, or its
time is up, its process group and every process it left behind are killed
(``npflow.teach.reaper``) before the grader reads anything.
"""
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from . import reaper

__all__ = ["Limits", "Run", "run_child", "library_paths", "student_user"]

_BOOTSTRAP = "import sys; sys.path[:0] = {paths!r}; from npflow.teach.child import main; sys.exit(main())"
#: One thread for BLAS and OpenMP: the limits count threads as processes, and the cases are tiny.
_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8",
        "PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class Limits:
    """What one exercise's process may use: wall and CPU seconds, memory, processes, file size, output."""

    timeout: float = 20.0
    cpu: int = 60
    memory_mb: int = 2048
    processes: int = 64
    file_mb: int = 16
    output_kb: int = 64

    def apply(self):
        """Set the limits on this process (in the child, between fork and exec); soft and hard alike."""
        mb = 1024 * 1024
        for kind, value in ((resource.RLIMIT_AS, self.memory_mb * mb), (resource.RLIMIT_CPU, self.cpu),
                            (resource.RLIMIT_NPROC, self.processes), (resource.RLIMIT_FSIZE, self.file_mb * mb),
                            (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(kind, (value, value))


@dataclass
class Run:
    """How a child ended: its exit status (negative: the signal), the output it printed, and why it stopped."""

    returncode: int
    output: str
    stopped: str = ""
    left_behind: bool = False


def library_paths():
    """The folders the child imports NumPy, SciPy and autograd from (never one holding an npflow)."""
    import autograd
    import scipy

    folders = {os.path.dirname(os.path.dirname(os.path.abspath(m.__file__))) for m in (np, scipy, autograd)}
    return sorted(folder for folder in folders if not os.path.isdir(os.path.join(folder, "npflow")))


def student_user():
    """(uid, gid) of the unprivileged user ``npflow-student`` when this process is root and it exists; else None."""
    if os.geteuid() != 0:
        return None
    try:
        import pwd
        entry = pwd.getpwnam(os.environ.get("NPFLOW_STUDENT_USER", "npflow-student"))
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def _read_capped(file, limit):
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    text = file.read(limit).decode("utf-8", errors="replace")
    return text + (f"\n[... output cut: {size} bytes printed, the first {limit} shown]" if size > limit else "")


def run_child(tree, request, answer, limits, user=None):
    """Run ``npflow.teach.child`` of the copy in ``tree`` on the request file; wait; kill all it left.

    Parameters
    ----------
    tree : str
        The folder holding the graded copy's ``npflow/``; also the child's working folder.
    request, answer : str
        The ``.npz`` file the child reads, and the one it writes.
    limits : Limits
    user : (int, int), optional
        The uid and gid to run as.

    Returns
    -------
    Run
    """
    code = _BOOTSTRAP.format(paths=[tree, *library_paths()])
    with tempfile.TemporaryFile() as output:
        since = reaper.boot_ticks() - 2  # the clocks of /proc and of this call may differ by a tick
        kwargs = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
        child = subprocess.Popen([sys.executable, "-I", "-S", "-B", "-c", code, request, answer], cwd=tree,
                                 env=_ENV, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                 start_new_session=True, preexec_fn=limits.apply, **kwargs)
        started, stopped = time.monotonic(), ""
        try:
            child.wait(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            stopped = f"stopped after {limits.timeout:g} s: an infinite loop, or far too slow"
        reaper.kill_group(child.pid)
        child.wait()  # reaped here, before the sweep reaps what was re-parented to the grader
        left = not reaper.sweep(child.pid, since)
        if not stopped and child.returncode in (-9, -24) and time.monotonic() - started < limits.timeout:
            stopped = f"killed: over its CPU time ({limits.cpu} s) or another limit"
        return Run(child.returncode, _read_capped(output, limits.output_kb * 1024), stopped, left)

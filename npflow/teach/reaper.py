"""Nothing of a student outlives its exercise: the grader adopts every orphan, and kills them all.

A student's process may fork, leave its process group (``setsid``) and let its parent die, so
that the grandchild lives on and writes ``results.json`` after grading. On Linux the grader
makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): an orphan among its
descendants is re-parented to the grader instead of to init, so it stays a descendant the
grader can find in ``/proc`` and kill. ``sweep`` kills every descendant started since a
given moment and reaps those re-parented to the grader, until none is left.
"""
import ctypes
import os
import signal
import time

__all__ = ["become_subreaper", "descendants", "kill_group", "sweep", "boot_ticks"]

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make this process the subreaper of its descendants; False where the system has none (not Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid):
    """(parent pid, start time in clock ticks since boot, state) of ``pid``, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            text = file.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name, in parentheses, may hold spaces
    return int(fields[1]), int(fields[19]), fields[0]


def kill_group(group):
    """SIGKILL to every process of the process group ``group`` (none left is fine)."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def boot_ticks():
    """Now, in the clock ticks since boot that ``/proc/PID/stat`` counts start times in."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))


def descendants(root=None, since=0):
    """The live descendants of ``root`` (this process) started at ``since`` ticks or later: {pid: parent}."""
    root = root or os.getpid()
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[2] != "Z":
                table[int(entry)] = stat
    children = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = {}, [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            if table[pid][1] >= since:
                found[pid] = table[pid][0]
            todo.append(pid)
    return found


def _reap():
    """Reap the zombies re-parented to this process, without waiting."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(group, since, keep=(), patience=5.0):
    """Kill process group ``group`` (None: no group) and every descendant started at ``since`` or later, except
    ``keep``.

    Returns True when none is left (within ``patience`` seconds).
    """
    deadline = time.monotonic() + patience
    while True:
        if group:
            kill_group(group)
        left = [pid for pid in descendants(since=since) if pid not in keep]
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap()
        if not left or time.monotonic() > deadline:
            return not left
        time.sleep(0.02)

"""One writer per run directory: a lock file that names its holder.

Two ``npflow train`` commands writing one run would each overwrite the other's checkpoints,
and both would report success. So a command that writes a run first takes its lock: the file
``RUN_DIR/lock``, which holds the writer's process id and command line, and on which the writer
holds an exclusive ``flock``. A second writer finds the lock held and is refused, in one line
that names the holder.

The operating system releases an ``flock`` when its process ends, however it ends (a crash, an
out-of-memory kill, SIGKILL), so a lock file left behind by a dead writer is free: the next
writer takes it over, without anyone having to delete it by hand. (A lock that is only a
file's existence could not tell a dead holder from a live one.) Where ``flock`` does not
exist (Windows), runs are not locked.
"""
import os
import sys

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

__all__ = ["LOCK_FILE", "RunBusy", "RunLock", "lock_holder", "is_locked"]

LOCK_FILE = "lock"


class RunBusy(ValueError):
    """Another process is writing the run directory."""


def lock_holder(run_dir):
    """The holder a run's lock file names, as one line ("pid 123: npflow train ..."), or None if it has none."""
    try:
        with open(os.path.join(run_dir, LOCK_FILE)) as file:
            pid, _, command = file.read().partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return f"pid {pid.strip()}: {command.strip()}" if pid.strip() else None


def is_locked(run_dir):
    """Whether a live process holds the run's lock (False where runs are not locked)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(os.path.join(run_dir, LOCK_FILE), os.O_RDONLY)
    except OSError:  # no lock file: nobody holds it
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # granted only if no writer holds it
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # which also lets the shared lock go


def _names(path, fd):
    """Whether the file at ``path`` is the open file ``fd``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


class RunLock:
    """The lock of one run directory, held from ``acquire`` (or ``with``) to ``release``.

    Parameters
    ----------
    run_dir : str or path
        The run directory; it must exist.
    command : str, optional
        What the holder is doing, written into the lock file; the process's command line if None.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as run_dir, RunLock(run_dir):
    ...     RunLock(run_dir).acquire()
    Traceback (most recent call last):
    ...
    npflow.plumbing.lock.RunBusy: ... is being written by another process (pid ...); ...
    """

    def __init__(self, run_dir, command=None):
        self.run_dir = os.fspath(run_dir)
        self.path = os.path.join(self.run_dir, LOCK_FILE)
        self.command = command or " ".join(["npflow", *sys.argv[1:]])
        self.fd = None

    def acquire(self, building=None):
        """Take the lock, or raise ``RunBusy`` naming the process that holds it.

        Parameters
        ----------
        building : str or path, optional
            The temporary directory the run is being built in, which will be renamed to
            ``run_dir``: the lock is taken there, and moves with the directory.
        """
        if fcntl is None:
            return self
        path = self.path if building is None else os.path.join(building, LOCK_FILE)
        while self.fd is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunBusy(f"{self.run_dir!r} is being written by another process ({lock_holder(self.run_dir)}); "
                              "wait for it to end, or stop it first") from None
            if _names(path, fd):
                self.fd = fd
            else:  # the file was replaced or removed between our open and our flock: lock the new one
                os.close(fd)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n{self.command}\n".encode())
        return self

    def release(self):
        """Remove the lock file and let the lock go (removing it first, so nobody can lock a removed file)."""
        if self.fd is None:
            return
        if _names(self.path, self.fd):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()

"""Writing a command's output: never over what should not be replaced, never half-written.

Before any long work, a command checks where it will write: ``check_output_path`` refuses to
replace a file without ``--force`` (and with it, anything npflow did not write), and
``check_not_an_input`` refuses an output that is the command's own input or lies inside a run
directory. Then ``atomic_file`` and ``atomic_directory`` write under a temporary name beside the
destination and move the result into place only when it is whole (``os.replace``, or a rename
of a directory built aside), so a crash or Ctrl-C mid-write leaves what was there before.

A write the system refuses (a read-only folder, a full disk, a name too long) raises a
``WriteError``, an ``OSError`` whose one line names the file npflow meant to write, not its
temporary name.
"""
import os
import shutil
import tempfile
from contextlib import contextmanager

import numpy as np

__all__ = ["CONFIG_FILE", "CHECKPOINT_FILE", "WriteError", "check_output_path", "is_run_directory",
           "check_not_an_input", "atomic_directory", "atomic_file", "save_array"]

#: The two files that make a directory a run (``npflow.plumbing.io`` writes and reads them).
CONFIG_FILE, CHECKPOINT_FILE = "config.json", "checkpoint.npz"


def _umask_mode(path, mode):
    """Give a temporary file or directory the permissions a plain open/mkdir would have.

    ``tempfile`` makes them private (0600/0700); what npflow saves should not be.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


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


def is_run_directory(path):
    """Whether ``path`` is a directory holding a run's two files."""
    return all(os.path.isfile(os.path.join(path, name)) for name in (CONFIG_FILE, CHECKPOINT_FILE))


def check_not_an_input(path, inputs=()):
    """Refuse an output ``path`` that is one of the command's ``inputs`` or lies inside a run directory.

    ``--force`` replaces what npflow wrote, and a run's own files are that too: without this
    check, ``npflow sample RUN --out RUN/checkpoint.npz --force`` would destroy the run it
    samples. Symbolic links are followed, so another name for the same file is refused too.

    Raises
    ------
    ValueError
        Naming the input, or the run directory, that ``path`` would overwrite.
    """
    target = os.path.realpath(path)
    for given in inputs:
        if os.path.realpath(given) == target:
            raise ValueError(f"--out {os.fspath(path)!r} is this command's own input; write the output elsewhere")
    folder = os.path.dirname(target)
    while True:
        if is_run_directory(folder):
            raise ValueError(f"--out {os.fspath(path)!r} lies inside the run directory {folder!r}; write it "
                             "elsewhere (a run's folder holds only what training writes)")
        folder, child = os.path.dirname(folder), folder
        if folder == child:  # the root
            return


class WriteError(OSError):
    """The system refused a write; the one line names the file npflow meant to write and the reason."""


def _cannot_write(path, error):
    """``error`` as a ``WriteError`` naming ``path`` (the file meant, not a temporary name) and the system's reason."""
    if isinstance(error, WriteError):  # already names its file
        return error
    return WriteError(f"cannot write {os.fspath(path)!r}: {error.strerror or error}")


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
    try:
        tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent)
    except OSError as error:
        raise _cannot_write(path, error) from None
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
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError) and not isinstance(error, (FileExistsError, FileNotFoundError)):
            raise _cannot_write(path, error) from None  # (those two already name their file, and say what to do)
        raise


@contextmanager
def atomic_file(path):
    """Yield a temporary path beside ``path``; on success move it over ``path`` with ``os.replace``.

    If the block raises (or is interrupted), the temporary file is removed and ``path`` keeps
    whatever it held before.
    """
    path = os.path.abspath(os.fspath(path))
    extension = os.path.splitext(path)[1]  # kept, for writers that choose the format by it (.png, .gif)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".tmp{extension}",
                                   dir=os.path.dirname(path))
    except OSError as error:
        raise _cannot_write(path, error) from None
    os.close(fd)
    try:
        _umask_mode(tmp, 0o666)
        yield tmp
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise _cannot_write(path, error) from None
        raise


def save_array(path, array, force=False):
    """Write one array as ``.npy``, atomically, refusing to replace a file unless ``force``."""
    check_output_path(path, force)
    with atomic_file(path) as tmp, open(tmp, "wb") as file:
        np.save(file, np.asarray(array), allow_pickle=False)

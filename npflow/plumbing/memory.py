"""Keep freed memory for reuse, so that large temporary arrays do not cost page faults.

Every intermediate NumPy array is a fresh ``malloc``. glibc's allocator serves large ones
(above a threshold that starts at 128 KiB and rises to the largest block freed so far) from
fresh memory maps, and returns the top of its heap to the kernel whenever more than twice that
threshold is free there. A loop that makes and frees arrays of several sizes, as each network
evaluation does, so keeps giving memory back and taking it again, and every 4 KiB page taken
again costs a page fault when it is first written. Measured on a virtual machine, one
evaluation of the network on 1,024 points took 352 page faults, and 1.8 times as long as
without them.

``keep_freed_memory`` asks glibc (``mallopt``) to serve arrays up to 32 MiB from the heap and to
give freed heap memory back only beyond 128 MiB. Both settings are needed: setting either one
alone switches off glibc's moving threshold and made things worse. The price is that a process
keeps up to 128 MiB of memory it has freed; the peak memory of a training run measured 50 MiB
before and 51 MiB after.

The ``npflow`` command does this when it starts (set ``NPFLOW_KEEP_FREED_MEMORY=0`` to leave
the allocator alone). Importing npflow does not: the settings belong to the whole process, so a
program or notebook that uses npflow as a library opts in by calling ``keep_freed_memory()``.
"""
import ctypes
import os

__all__ = ["keep_freed_memory", "wanted"]

# glibc's mallopt parameter numbers, from <malloc.h>
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory(mmap_threshold=32 << 20, trim_threshold=128 << 20):
    """Ask glibc to keep freed memory for reuse (see the module docstring). Returns whether it could.

    Parameters
    ----------
    mmap_threshold : int
        Allocations up to this many bytes come from the heap.
    trim_threshold : int
        Free memory at the top of the heap is returned to the kernel only beyond this many bytes.

    Returns
    -------
    bool
        False, changing nothing, where the C library is not glibc (macOS, Windows, musl).
    """
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # names glibc's version, and only glibc has one
        libc = ctypes.CDLL("libc.so.6")  # glibc's name on every Linux
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (ValueError, OSError, AttributeError):  # no such name to ask, no glibc to load, no mallopt
        return False


def wanted(environ=os.environ):
    """Whether the environment lets the ``npflow`` command tune the allocator (not ``NPFLOW_KEEP_FREED_MEMORY=0``)."""
    return environ.get("NPFLOW_KEEP_FREED_MEMORY", "1").strip().lower() not in ("0", "false", "no", "off")

"""Keep freed memory for reuse, so that large temporary arrays do not cost page faults.

Every intermediate NumPy array is a fresh ``malloc``. At the sizes npflow samples with, such
as the (1024, 128) activations of one layer (512 KiB in float32), glibc's allocator hands each
freed array back to the kernel, and the next array of that size then pays one page fault for
every 4 KiB page it writes: measured on a virtual machine, that made one evaluation of the
network 1.8 times slower than the arithmetic alone. npflow asks glibc to keep such memory
instead, with two settings (``mallopt``): serve arrays up to 32 MiB from the heap rather than
from fresh memory maps, and give freed heap memory back to the kernel only beyond 128 MiB. The
peak memory of a run does not change; what changes is that memory once used is kept for the
next step.

It is done once, when npflow is imported, and only where the C library is glibc (Linux). The
settings belong to the process, so other libraries in it (PyTorch, in the benchmark) get them too.
Set the environment variable ``NPFLOW_KEEP_FREED_MEMORY=0`` before importing npflow to leave
the allocator alone.
"""
import ctypes
import os
import platform

__all__ = ["keep_freed_memory", "KEEPING_FREED_MEMORY"]

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
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")  # the soname of glibc on every Linux it runs on
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError, TypeError):  # no C library to load, or no mallopt in it
        return False


#: Whether importing npflow set the allocator to keep freed memory.
KEEPING_FREED_MEMORY = os.environ.get("NPFLOW_KEEP_FREED_MEMORY", "1") != "0" and keep_freed_memory()

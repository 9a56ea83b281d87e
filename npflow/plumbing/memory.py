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

**Requests that cannot fit.** ``npflow sample --n 1000000000000`` would fail deep inside NumPy,
and ``--n 20000000`` would fill the machine's memory until the kernel kills the process. So the
command estimates the bytes its arrays need and refuses, before any work, a request larger
than the memory this machine has available (``check_fits``), naming the largest ``--n`` that
would fit (``largest_fitting``, rounded down to two significant digits). The estimate of a network
evaluation is ``network_bytes``: ``NETWORK_FACTOR`` arrays the size of all the layers'
outputs per point, an upper bound on what tracemalloc measured (2 to 4.5 times, for sampling,
the likelihood and a training step). And points are flowed in chunks of ``chunk_rows``
points, so that sampling and scoring many points never hold more than ``CHUNK_BYTES`` of
network intermediates at once.
"""
import ctypes
import os

__all__ = ["keep_freed_memory", "wanted", "available_bytes", "check_fits", "largest_fitting", "network_bytes",
           "chunk_rows", "CHUNK_BYTES"]

#: Network intermediates per point, in arrays the size of all the layers' outputs (see above).
NETWORK_FACTOR = 8
#: The most memory one chunk of points may take in network intermediates.
CHUNK_BYTES = 64 << 20

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


def available_bytes(meminfo="/proc/meminfo"):
    """The memory this machine can give a new process now, in bytes, or None where it cannot tell.

    Linux's ``MemAvailable`` (free memory plus caches it can drop), else the free pages that
    ``os.sysconf`` reports.
    """
    try:
        with open(meminfo) as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # given in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n_bytes):
    """Bytes for a person: ``1.5 GB``."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1000


def check_fits(needed, what, available=None, instead=None):
    """Refuse work whose arrays need more memory than this machine has available.

    Parameters
    ----------
    needed : int
        Estimated bytes.
    what : str
        The request, for the message (``"--n 1000000000000"``).
    available : int, optional
        Bytes available; ``available_bytes()`` if None (and no check where that is unknown).
    instead : callable, optional
        ``instead(available) -> str``: what would fit, said after "ask for less" (``"--n 450000000 fits"``).

    Raises
    ------
    ValueError
        One line with the estimate, what is available, and what would fit.
    """
    available = available_bytes() if available is None else available
    if available is not None and needed > available:
        would_fit = "" if instead is None else f": {instead(available)}"
        raise ValueError(f"{what} needs about {_size(needed)} of memory for its arrays, and this machine has "
                         f"{_size(available)} available; ask for less{would_fit}")


def largest_fitting(bytes_of, available, below):
    """The largest n < ``below`` whose ``bytes_of(n)`` fits in ``available`` bytes, two significant digits; 0 if none.

    ``bytes_of`` grows with n, so bisection finds the largest n, which is then rounded down to
    a number one can type (457,142,857 to 450,000,000).

    Examples
    --------
    >>> largest_fitting(lambda n: 48 * n + 1000, 10**9, 10**12)
    20000000
    """
    low, high = 0, below  # bytes_of(low) fits (or low is 0), bytes_of(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if bytes_of(middle) <= available else (low, middle)
    unit = 10 ** max(len(str(low)) - 2, 0)
    return low // unit * unit


def network_bytes(layer_sizes, points, itemsize=8):
    """Estimated bytes of network intermediates for one evaluation (or one training step) on ``points`` points."""
    return NETWORK_FACTOR * itemsize * sum(layer_sizes) * points


def chunk_rows(layer_sizes, itemsize=8, budget=None):
    """How many points to flow at once so that the network's intermediates stay within ``budget`` bytes.

    A multiple of 64, at least 64: ``npflow.plumbing.chunks`` says why. ``budget`` defaults to
    ``CHUNK_BYTES`` as the module holds it when called.
    """
    budget = CHUNK_BYTES if budget is None else budget
    return max(64, budget // network_bytes(layer_sizes, 64, itemsize) * 64)

"""glibc's malloc, tuned for a step's large, short-lived tensors: every ``ganrepro`` command calls
``tune`` first.

By default glibc serves an allocation above its mmap threshold (128 KiB, rising with use to at most
32 MiB) with a fresh mapping and gives it back on free, and returns the heap's free top to the
kernel above 128 KiB. A step frees and re-allocates tens of MiB per batch (activations, the
nearest-neighbour distance blocks), so the kernel zero-fills those pages again every time (what
that costs, measured: docs/performance.md). With the thresholds below, allocations up to 256 MiB
come from the heap and freed memory up to 1 GiB stays with the process for the next batch.

Nothing changes where the C library is not glibc (macOS, musl): ``tune`` returns False there.
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the environment win over these values.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 256 << 20
TRIM_THRESHOLD = 1 << 30


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it)
        return libc
    except (OSError, AttributeError):
        return None


def tune() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where that is not glibc."""
    libc = _libc()
    if libc is None:
        return False
    done = True
    for option, value, env in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"),
                               (M_TRIM_THRESHOLD, TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_")):
        if env not in os.environ:
            done = bool(libc.mallopt(option, value)) and done
    return done

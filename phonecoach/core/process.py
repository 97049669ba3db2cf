"""Process-wide settings, made once where a phonecoach process starts (the command, each batch
worker) and nowhere else: a library call never changes the process it runs in.

glibc maps every allocation over its 128 KB threshold afresh and faults its pages in on each use;
the listener's numpy temporaries (0.1-2 MB, thousands per call) measured 40 % more CPU for it,
all of it system time. Raising the threshold (to glibc's 32 MB maximum) keeps them on the heap.

numpy's BLAS starts a thread per core for every matrix product, however small. phonecoach's are
small (the speech detector's batches of a few hundred windows), and the cores are Vosk's: the
extra threads only spun, and doubled the detector's CPU. One BLAS thread per process.
"""
from __future__ import annotations

import ctypes
from functools import cache

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@cache
def tune_process() -> bool:
    """Keep large temporaries on the heap (glibc) and numpy's BLAS on one thread; elsewhere
    nothing changes. Once per process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 64 << 20))
    except (OSError, AttributeError):
        return False


def release_memory() -> None:
    """Hand what a finished piece of work held back to the system: collect the cycles now (a
    finished call's recognisers are freed with them, not at some later collection) and trim
    every malloc arena (glibc keeps freed heap, and each thread has its own arena). A process
    that lives all day (a shift) calls it after each call, so its memory does not grow."""
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass

"""Keep the C heap from holding on to memory that long-running services freed long ago.

Python's small objects come from its own arenas, but larger buffers (Kafka fetch responses,
JSON documents, record batches, SQLite pages) come from glibc's ``malloc``. glibc serves a
buffer above its *mmap threshold* with a mapping of its own that goes back to the system
when freed, but it raises that threshold each time such a buffer is freed (up to 32 MiB on
64-bit systems). After the first few fetches, every fetch buffer is therefore carved out of
the heap, and the heap's pages stay resident when the buffers are freed. A service's
resident size then creeps up with traffic although nothing is kept.

Pinning both the mmap threshold and the trim threshold (the same as setting the
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` variables) stops that: large
buffers come and go as mappings, and the top of the heap is given back as it frees up. In a
soak of 300,000 events through translator, router and timeline (docs/benchmark.md) the
resident size after 300,000 events went from 283 to 238 MB with the same throughput.

Only glibc has ``mallopt``; elsewhere (musl, macOS) this does nothing. An operator's own
``MALLOC_*_`` variables win: glibc read them at start-up, and they are not overridden.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys

log = logging.getLogger(__name__)

#: ``mallopt`` parameters from glibc's ``malloc.h``.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's own starting value for both; pinned instead of left to grow.
THRESHOLD_BYTES = 128 * 1024
_ENV = {M_TRIM_THRESHOLD: "MALLOC_TRIM_THRESHOLD_", M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_"}

_applied: dict[str, int] | None = None


def pin_malloc_thresholds(threshold: int = THRESHOLD_BYTES) -> dict[str, int]:
    """Pin glibc's mmap and trim thresholds once per process; returns what was set."""
    global _applied  # noqa: PLW0603 - one process-wide setting, applied once
    if _applied is not None:
        return _applied
    applied: dict[str, int] = {}
    mallopt = _mallopt()
    if mallopt is not None:
        for param, variable in _ENV.items():
            if variable in os.environ:
                continue
            if mallopt(param, threshold) == 1:
                applied[variable] = threshold
            else:
                log.warning("mallopt(%d, %d) refused", param, threshold)
    _applied = applied
    return applied


def _mallopt() -> ctypes._NamedFuncPointer | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def freeze_startup_heap() -> int:
    """Move every object alive now out of the garbage collector's reach; returns how many.

    A started service holds a few hundred thousand long-lived objects: modules, pydantic
    and SQLAlchemy schemas, FastAPI routes. CPython's full collections traverse all of them,
    which took 100 to 180 ms each in a one-hop worker (docs/benchmark.md), and every record
    in flight waits that long: those pauses made the p99 latency. Frozen objects are never
    traversed, so a full collection only looks at what the service made since. Objects
    frozen here are never freed by the cycle collector; they live as long as the process.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

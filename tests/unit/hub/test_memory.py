"""Pinned malloc thresholds: a large buffer stays a mapping of its own after others were freed.

Each case runs in a fresh interpreter, because the thresholds are process-wide and glibc
only moves them when a mapped buffer is freed.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
import textwrap

import pytest

from hub.runtime import memory

GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "gnu_get_libc_version")

#: Frees a 1 MiB mapping (glibc then raises its mmap threshold unless pinned) and reports
#: whether a following 512 KiB buffer is still a mapping (mallinfo2's ``hblkhd``).
PROBE = textwrap.dedent(
    """
    import ctypes, json, sys
    from hub.runtime.memory import pin_malloc_thresholds

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = (ctypes.c_size_t,)
    libc.free.argtypes = (ctypes.c_void_p,)
    libc.mallinfo2.restype = MallInfo2
    applied = pin_malloc_thresholds() if sys.argv[1] == "pin" else {}
    libc.free(libc.malloc(1 << 20))
    before = libc.mallinfo2().hblkhd
    buffer = libc.malloc(512 * 1024)
    mapped = libc.mallinfo2().hblkhd - before >= 512 * 1024
    libc.free(buffer)
    print(json.dumps({"applied": applied, "mapped": mapped}))
    """
)


def _probe(mode: str, **env: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        env=environment | env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(not GLIBC, reason="mallopt and mallinfo2 are glibc's")
def test_without_pinning_a_freed_mapping_moves_large_buffers_onto_the_heap() -> None:
    assert _probe("leave") == {"applied": {}, "mapped": False}


@pytest.mark.skipif(not GLIBC, reason="mallopt and mallinfo2 are glibc's")
def test_pinned_thresholds_keep_large_buffers_as_mappings() -> None:
    result = _probe("pin")
    assert result["mapped"] is True
    assert result["applied"] == {
        "MALLOC_TRIM_THRESHOLD_": memory.THRESHOLD_BYTES,
        "MALLOC_MMAP_THRESHOLD_": memory.THRESHOLD_BYTES,
    }


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_an_operators_variable_is_not_overridden() -> None:
    result = _probe("pin", MALLOC_MMAP_THRESHOLD_="4194304")
    assert result["applied"] == {"MALLOC_TRIM_THRESHOLD_": memory.THRESHOLD_BYTES}
    assert result["mapped"] is False  # 512 KiB is below the operator's 4 MiB threshold


def test_freezing_takes_the_live_heap_out_of_collections() -> None:
    survivor: list[list[int]] = [[i] for i in range(10)]
    gc.collect()
    assert any(o is survivor for o in gc.get_objects(2))
    try:
        # (the count only shrinks afterwards: reference counting still frees frozen objects)
        assert memory.freeze_startup_heap() >= len(survivor) + 1
        assert not any(o is survivor for o in gc.get_objects(2))
    finally:
        gc.unfreeze()

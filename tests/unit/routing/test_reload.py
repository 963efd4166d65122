"""Rules reload: a changed or SIGHUP-ed hub.yaml is validated and swapped in; an invalid
one is rejected with its reason and the old rules stay."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from hub.config import load_config
from hub.routing.reload import RulesHolder

BEFORE = """
routing:
  rules:
    - {name: orders, types: [order.*], to: [sales]}
"""
AFTER = """
routing:
  rules:
    - {name: orders, types: [order.*], to: [finance]}
"""
INVALID = """
routing:
  rules:
    - {name: orders, types: [order.*], to: [nobody]}
"""


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    stamp = path.stat().st_mtime + bump
    os.utime(path, (stamp, stamp))


@pytest.fixture
def holder(tmp_path: Path) -> RulesHolder:
    path = tmp_path / "hub.yaml"
    path.write_text(BEFORE)
    return RulesHolder(load_config(path), path, interval=0.05)


def test_a_changed_file_is_swapped_in(holder: RulesHolder) -> None:
    assert holder.current.departments("order.placed", {}) == ["sales"]
    assert holder.check() is False, "unchanged file: nothing to do"
    old = holder.current
    assert holder.path is not None
    _write(holder.path, AFTER, 1)
    assert holder.check() is True
    assert holder.current is not old, "swapped as a whole"
    assert holder.current.departments("order.placed", {}) == ["finance"]
    assert old.departments("order.placed", {}) == ["sales"], "a batch in flight keeps its rules"


def test_an_invalid_file_is_rejected_with_the_reason_and_old_rules_stay(
    holder: RulesHolder, caplog: pytest.LogCaptureFixture
) -> None:
    assert holder.path is not None
    _write(holder.path, INVALID, 1)
    with caplog.at_level(logging.ERROR):
        assert holder.check() is False
    assert holder.current.departments("order.placed", {}) == ["sales"]
    assert holder.last_error is not None
    assert "unknown department 'nobody'" in holder.last_error
    assert "unknown department 'nobody'" in caplog.text
    _write(holder.path, "routing: [not, a, mapping", 2)
    assert holder.check() is False
    assert "not valid YAML" in (holder.last_error or "")
    _write(holder.path, AFTER, 3)
    assert holder.check() is True
    assert holder.last_error is None


def test_new_departments_need_a_restart(holder: RulesHolder) -> None:
    assert holder.path is not None
    _write(holder.path, "departments: {sales: {}, legal: {}}\n", 1)
    assert holder.check() is False
    assert "legal" in (holder.last_error or "")


async def test_the_watcher_follows_the_file(holder: RulesHolder) -> None:
    assert holder.path is not None
    task = asyncio.create_task(holder.watch())
    try:
        await asyncio.sleep(0.1)
        _write(holder.path, AFTER, 1)
        for _ in range(250):
            if holder.reloads:
                break
            await asyncio.sleep(0.02)
        assert holder.reloads == 1
        assert holder.current.departments("order.placed", {}) == ["finance"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_sighup_reloads_even_when_the_modification_time_did_not_change(
    holder: RulesHolder,
) -> None:
    assert holder.path is not None
    # no polling in this test: only the signal can cause a reload
    holder.interval = 3600
    stamp = holder.path.stat().st_mtime
    holder.path.write_text(AFTER)
    os.utime(holder.path, (stamp, stamp))
    task = asyncio.create_task(holder.watch())
    try:
        for _ in range(100):  # until the watcher has installed its SIGHUP handler
            if signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL:
                break
            await asyncio.sleep(0)
        assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL
        await asyncio.sleep(0.05)
        assert holder.reloads == 0, "nothing reloads without the signal"
        assert holder.current.departments("order.placed", {}) == ["sales"]
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(250):
            if holder.reloads:
                break
            await asyncio.sleep(0.02)
        assert holder.reloads == 1
        assert holder.current.departments("order.placed", {}) == ["finance"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

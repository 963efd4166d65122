"""Helpers shared by the tests of connectors that run against a local vendor emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.kit.runner import InstanceRunner


class Clock:
    """A settable clock for an emulator (tests step it explicitly)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass(frozen=True)
class Pause:
    """One sleep of a runner: how long, and the runner's state and reason when it began."""

    seconds: float
    state: str
    reason: str | None


async def pauses_until_resumed(
    build: Callable[[Callable[[float], Awaitable[None]]], InstanceRunner],
) -> list[Pause]:
    """Run the runner that ``build(sleep)`` returns until its second sleep; both sleeps.

    For rate-limit tests: the first sleep is the back-off, the second the idle wait after
    the runner went on (the run is cancelled there)."""
    pauses: list[Pause] = []

    async def sleep(seconds: float) -> None:
        pauses.append(Pause(seconds, run.status.state, run.status.reason))
        if len(pauses) == 2:
            raise asyncio.CancelledError

    run = build(sleep)
    try:
        await run.run()
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError(f"the runner ended after {len(pauses)} sleep(s) instead of pausing")
    return pauses


__all__ = ["Clock", "Pause", "pauses_until_resumed"]

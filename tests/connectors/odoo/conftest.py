"""An Odoo emulator on a free loopback port, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from connectors.odoo import CONNECTOR
from connectors.odoo.emulator import OdooEmulator
from connectors.odoo.settings import OdooSettings
from connectors.odoo.source import OdooSource

DB = "demo"
LOGIN = "integration@example.com"
API_KEY = "5c1f0d6b2a8e4b7c9d3e1f0a2b4c6d8e"


class Clock:
    """Naive UTC time that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 20, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> OdooEmulator:
    emu = OdooEmulator(db=DB, login=LOGIN, password="a long passphrase", clock=clock)
    emu.add_api_key(LOGIN, API_KEY)
    return emu


@pytest.fixture
async def odoo_url(emulator: OdooEmulator) -> AsyncIterator[str]:
    async with emulator.running() as url:
        yield url


def make_settings(url: str, **overrides: Any) -> OdooSettings:
    values: dict[str, Any] = {
        "url": url,
        "database": DB,
        "login": LOGIN,
        "api_key": API_KEY,
        "page_size": 100,
        "settle_seconds": 2,
        **overrides,
    }
    settings = CONNECTOR.parse_settings(values)
    assert isinstance(settings, OdooSettings)
    return settings


def make_source(url: str, clock: Clock, **overrides: Any) -> OdooSource:
    source = CONNECTOR.build_source(make_settings(url, **overrides), "erp")
    assert isinstance(source, OdooSource)
    # the poller's clock runs ahead of the emulator's so that every written second is over
    source.clock = lambda: clock.now + timedelta(seconds=10)
    return source

"""A HubSpot emulator on a free loopback port, one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.hubspot.emulator import EmulatorServer, HubSpotEmulator
from tests.connectors.emulators import Clock

TOKEN = "pat-eu1-test-token"
SECRET = "client-secret-for-tests"
WEBHOOK_URL = "https://hooks.example.com/v1/webhooks/crm"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def crm(clock: Clock) -> HubSpotEmulator:
    return HubSpotEmulator(tokens={TOKEN: None}, clock=clock)


@pytest.fixture
async def base_url(crm: HubSpotEmulator) -> AsyncIterator[str]:
    async with EmulatorServer(crm) as url:
        yield url

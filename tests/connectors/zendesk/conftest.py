"""A Zendesk emulator on a free loopback port, one per test, and a settable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.zendesk.emulator import EmulatorServer, ZendeskEmulator
from tests.connectors.emulators import Clock

EMAIL = "integration@acme.example"
TOKEN = "zd-api-token-for-tests"
OAUTH = "zd-oauth-token-for-tests"
SECRET = "dGhpcy1pcy1hLXNpZ25pbmctc2VjcmV0"
ORDER_FIELD = 360001


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))


@pytest.fixture
def desk(clock: Clock) -> ZendeskEmulator:
    return ZendeskEmulator(
        api_tokens={EMAIL: TOKEN}, oauth_tokens=[OAUTH], clock=clock, export_lag_seconds=0
    )


@pytest.fixture
async def base_url(desk: ZendeskEmulator) -> AsyncIterator[str]:
    async with EmulatorServer(desk) as url:
        yield url


def settings(base_url: str, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "base_url": base_url,
        "email": EMAIL,
        "api_token": TOKEN,
        "webhook_signing_secret": SECRET,
        "export_lag_seconds": 0,
        "order_field_id": ORDER_FIELD,
    }
    values.update(overrides)
    return values

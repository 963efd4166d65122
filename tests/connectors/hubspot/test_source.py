"""The source in the kit's runner against the emulator: polling, resume, 429, bad tokens."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.hubspot import CONNECTOR
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.source import HubSpotSource
from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.runner import InstanceRunner
from connectors.testing import MemoryPublisher
from schemas import Envelope
from tests.connectors.emulators import Clock, pauses_until_resumed

from .conftest import SECRET, TOKEN, WEBHOOK_URL

STREAMS = ("contact", "company", "deal")


def runner(
    base_url: str,
    publisher: MemoryPublisher,
    checkpoints: MemoryCheckpoints,
    sleep: Any = None,
    **settings: Any,
) -> InstanceRunner:
    values = {
        "base_url": base_url,
        "access_token": TOKEN,
        "client_secret": SECRET,
        "webhook_url": WEBHOOK_URL,
        "settle_seconds": 0,
        "backoff_initial_seconds": 0.01,
        **settings,
    }
    extra = {"sleep": sleep} if sleep is not None else {}
    return InstanceRunner(
        "crm",
        CONNECTOR,
        CONNECTOR.parse_settings(values),
        publisher=publisher,
        checkpoints=checkpoints,
        **extra,
    )


async def poll_all(run: InstanceRunner) -> None:
    await run.source.open()
    try:
        for stream in STREAMS:
            await run.poll_stream(stream)
    finally:
        await run.source.close()


def seed(crm: HubSpotEmulator, clock: Clock) -> dict[str, str]:
    clock.advance(seconds=1)
    acme = crm.add_company(name="Acme GmbH", domain="acme.de", erp_customer_number="10042")
    clock.advance(seconds=1)
    jana = crm.add_contact(
        email="Jana@Acme.de",
        firstname="Jana",
        lastname="Weber",
        company_id=acme,
        lifecyclestage="lead",
    )
    clock.advance(seconds=1)
    deal = crm.add_deal(
        dealname="Oak desks", amount="12000", currency="EUR", company_id=acme, contact_ids=[jana]
    )
    clock.advance(minutes=5)
    crm.set_property("contacts", jana, "lifecyclestage", "customer")
    clock.advance(seconds=1)
    crm.close_deal_won(deal)
    return {"company": acme, "contact": jana, "deal": deal}


def translated(events: list[tuple[str, Envelope]]) -> list[str]:
    return [e.type for _, raw in events for e in CONNECTOR.translate(raw)]


async def test_poll_publishes_full_objects_that_translate(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(crm, clock)
    publisher = MemoryPublisher()
    await poll_all(runner(base_url, publisher, MemoryCheckpoints()))
    raw = publisher.raw()
    assert [topic for topic, _ in raw] == ["raw.crm.contact", "raw.crm.company", "raw.crm.deal"]
    contact = raw[0][1]
    assert contact.type == "raw.hubspot.contact"
    assert contact.subject == ids["contact"] == contact.partitionkey
    assert contact.data["associations"]["companies"]["results"][0]["id"] == ids["company"]
    assert contact.data["properties"]["hs_lifecyclestage_lead_date"]
    assert contact.data["_handoff"]["external_id_properties"] == {
        "erp_customer_number": "erp_customer_number"
    }
    assert raw[1][1].data["properties"]["erp_customer_number"] == "10042"
    assert translated(raw) == [
        "customer.updated",
        "lead.created",
        "lead.converted",
        "customer.created",
        "opportunity.won",
    ]


async def test_resume_after_restart_reads_only_what_changed(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(crm, clock)
    checkpoints = MemoryCheckpoints()
    await poll_all(runner(base_url, MemoryPublisher(), checkpoints))
    assert set(checkpoints.cursors) == {f"crm:{s}" for s in STREAMS}
    clock.advance(seconds=5)
    crm.set_property("companies", ids["company"], "domain", "acme.com")
    clock.advance(seconds=1)
    newcomer = crm.add_contact(email="ole@nordlicht.example", firstname="Ole")
    again = MemoryPublisher()  # a new process: new runner, new source, same checkpoints
    await poll_all(runner(base_url, again, checkpoints))
    assert [(t, e.subject) for t, e in again.raw()] == [
        ("raw.crm.contact", newcomer),
        ("raw.crm.company", ids["company"]),
    ]
    caught_up = MemoryPublisher()
    await poll_all(runner(base_url, caught_up, checkpoints))
    assert caught_up.sent == []


async def test_search_waits_for_its_interval_unless_a_webhook_says_otherwise(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    seed(crm, clock)
    run = runner(base_url, MemoryPublisher(), MemoryCheckpoints(), search_interval_seconds=600)
    await poll_all(run)
    searches = len(crm.requests)
    await poll_all(run)
    assert len(crm.requests) == searches, "a search ran before it was due"
    source = run.source
    assert isinstance(source, HubSpotSource)
    source.mark_changed("deal", int(clock.now.timestamp() * 1000))
    await poll_all(run)
    assert [body for _, path, body in crm.requests[searches:] if path.endswith("/search")]
    assert all("/deals/" in path for _, path, _ in crm.requests[searches:])


async def test_rate_limit_backs_off_for_retry_after_then_goes_on(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    seed(crm, clock)
    crm.rate_limit(1, retry_after=7)
    publisher = MemoryPublisher()
    backoff, after = await pauses_until_resumed(
        lambda sleep: runner(base_url, publisher, MemoryCheckpoints(), sleep=sleep)
    )
    assert backoff.state == "backing_off"
    assert "secondly limit" in str(backoff.reason)
    assert backoff.seconds >= 7
    assert after.state == "running"
    assert len(publisher.raw()) == 3


@pytest.mark.parametrize("expired", [False, True])
async def test_bad_or_expired_token_fails_the_instance_without_a_retry_loop(
    crm: HubSpotEmulator, clock: Clock, base_url: str, expired: bool
) -> None:
    seed(crm, clock)
    if expired:
        crm.expire_token(TOKEN)
        token, category = TOKEN, "EXPIRED_AUTHENTICATION"
    else:
        token, category = "pat-revoked", "INVALID_AUTHENTICATION"
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    run = runner(base_url, MemoryPublisher(), MemoryCheckpoints(), sleep=sleep, access_token=token)
    await asyncio.wait_for(run.run(), timeout=10)
    assert run.status.state == "failed"
    assert category in str(run.status.reason)
    assert token not in str(run.status.reason)
    assert sleeps == []
    assert len(crm.requests) == 0  # refused before any request was logged as served


def test_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="webhook_url is required with client_secret"):
        CONNECTOR.parse_settings({"access_token": TOKEN, "client_secret": SECRET})
    with pytest.raises(ValidationError) as caught:
        CONNECTOR.parse_settings(
            {"access_token": TOKEN, "search_page_limit": 500, "default_currency": "EURO"}
        )
    assert {e["loc"][0] for e in caught.value.errors()} == {"search_page_limit", "default_currency"}
    polling_only = CONNECTOR.parse_settings({"access_token": TOKEN})
    assert isinstance(polling_only, HubSpotSettings)
    assert polling_only.base_url == "https://api.hubapi.com"
    assert "pat-eu1" not in repr(polling_only)

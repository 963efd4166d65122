"""Signed webhook batches from the emulator's sender to the kit's webhook route."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import orjson
import pytest
from fastapi import FastAPI

from connectors.hubspot import CONNECTOR
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.hubspot.signature import decode_uri, sign_v3
from connectors.hubspot.source import HubSpotSource
from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.config import ConnectorInstance
from connectors.kit.host import ConnectorHost
from connectors.kit.routes import connector_routes
from connectors.kit.webhook import SignatureError
from connectors.testing import MemoryPublisher

from .conftest import SECRET, TOKEN, WEBHOOK_URL


@dataclass
class Hub:
    crm: HubSpotEmulator
    http: httpx.AsyncClient
    publisher: MemoryPublisher
    source: HubSpotSource


def now_ms() -> int:
    return int(time.time() * 1000)


@asynccontextmanager
async def running_hub(crm: HubSpotEmulator | None = None) -> AsyncIterator[Hub]:
    """A connector host with its webhook route; a second one over the same ``crm`` is the
    hub after a restart (nothing kept in memory, such as the log of deliveries seen)."""
    publisher = MemoryPublisher()
    settings = {
        "base_url": "http://127.0.0.1:9",
        "access_token": TOKEN,
        "client_secret": SECRET,
        "webhook_url": WEBHOOK_URL,
        "settle_seconds": 0,
    }
    host = ConnectorHost(
        {"crm": ConnectorInstance(type="hubspot", settings=settings)},
        publisher=publisher,
        checkpoints=MemoryCheckpoints(),
        types={"hubspot": CONNECTOR},
    )
    runner = host.runners["crm"]
    runner.set_state("running")
    app = FastAPI()
    app.include_router(connector_routes(host))
    if crm is None:
        crm = HubSpotEmulator(tokens={TOKEN: None})  # real clock: signatures are time-bound
        crm.set_webhook_target(WEBHOOK_URL, client_secret=SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport) as http:
        assert isinstance(runner.source, HubSpotSource)
        yield Hub(crm, http, publisher, runner.source)


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    async with running_hub() as running:
        yield running


def seed(crm: HubSpotEmulator) -> None:
    acme = crm.add_company(name="Acme GmbH", domain="acme.de")
    jana = crm.add_contact(email="jana@acme.de", company_id=acme, lifecyclestage="lead")
    deal = crm.add_deal(dealname="Desks", amount="10", company_id=acme, contact_ids=[jana])
    crm.close_deal_won(deal)


async def test_signed_batch_is_published_as_webhook_events(hub: Hub) -> None:
    seed(hub.crm)
    (delivery,) = await hub.crm.deliver_webhooks(http=hub.http)
    assert delivery.status == 202
    raw = hub.publisher.raw()
    assert len(raw) == len(delivery.events) == 6
    assert {topic for topic, _ in raw} == {"raw.crm.webhook_event"}
    first = raw[0][1]
    assert first.type == "raw.hubspot.webhook_event"
    assert first.data["subscriptionType"] == "company.creation"
    assert first.partitionkey == str(first.data["objectId"])
    changes = [e.data for _, e in raw if e.data["subscriptionType"] == "deal.propertyChange"]
    assert {c["propertyName"]: c["propertyValue"] for c in changes}["dealstage"] == "closedwon"
    assert hub.crm.pending_events == []
    # the events woke the search of every object type they name
    assert all(hub.source.search_due(s, time.time()) for s in ("contact", "company", "deal"))


async def test_replayed_delivery_is_accepted_once(hub: Hub) -> None:
    seed(hub.crm)
    events = list(hub.crm.pending_events)
    first = await hub.crm.send_batch(events, http=hub.http, timestamp_ms=now_ms())
    again = await hub.crm.send_batch(events, http=hub.http, timestamp_ms=now_ms())
    retried = [{**e, "attemptNumber": 1} for e in events]  # HubSpot's retry of the batch
    retry = await hub.crm.send_batch(retried, http=hub.http, timestamp_ms=now_ms())
    assert (first.status, again.status, retry.status) == (202, 202, 202)
    assert len(hub.publisher.raw()) == len(events)


async def test_retry_after_restart_gives_the_same_raw_event_ids(hub: Hub) -> None:
    seed(hub.crm)
    events = list(hub.crm.pending_events)
    await hub.crm.send_batch(events, http=hub.http)
    ids = [e.id for _, e in hub.publisher.raw()]
    retried = [{**e, "attemptNumber": 3} for e in events]
    async with running_hub(hub.crm) as restarted:
        delivery = await restarted.crm.send_batch(retried, http=restarted.http)
        again = [e.id for _, e in restarted.publisher.raw()]
    assert delivery.status == 202
    assert again == ids, "the retried batch, stored again after the restart, keeps its ids"
    assert len(set(ids)) == len(ids) == len(events)


async def test_forged_signature_is_401(hub: Hub) -> None:
    seed(hub.crm)
    delivery = await hub.crm.send_batch(
        hub.crm.pending_events, http=hub.http, signature="bm90IGEgc2lnbmF0dXJl"
    )
    assert delivery.status == 401
    assert hub.publisher.sent == []


async def test_tampered_body_is_401(hub: Hub) -> None:
    seed(hub.crm)
    signed_for = orjson.dumps(hub.crm.pending_events[:1])
    stamp = str(now_ms())
    signature = sign_v3(SECRET, "POST", WEBHOOK_URL, signed_for, stamp)
    delivery = await hub.crm.send_batch(
        hub.crm.pending_events,
        http=hub.http,
        timestamp_ms=int(stamp),
        signature=signature,
    )
    assert delivery.status == 401


async def test_wrong_client_secret_is_401(hub: Hub) -> None:
    seed(hub.crm)
    hub.crm.set_webhook_target(WEBHOOK_URL, client_secret="someone-elses-secret")
    (delivery,) = await hub.crm.deliver_webhooks(http=hub.http)
    assert delivery.status == 401
    assert hub.crm.pending_events == [], "HubSpot does not retry a 4xx"


async def test_stale_timestamp_is_401(hub: Hub) -> None:
    seed(hub.crm)
    six_minutes_ago = now_ms() - 6 * 60 * 1000
    delivery = await hub.crm.send_batch(
        hub.crm.pending_events, http=hub.http, timestamp_ms=six_minutes_ago
    )
    assert delivery.status == 401
    four_minutes_ago = now_ms() - 4 * 60 * 1000
    delivery = await hub.crm.send_batch(
        hub.crm.pending_events, http=hub.http, timestamp_ms=four_minutes_ago
    )
    assert delivery.status == 202


async def test_body_that_is_not_an_event_array_is_400(hub: Hub) -> None:
    delivery = await hub.crm.send_batch([], http=hub.http, body=b'{"eventId": 1}')
    assert delivery.status == 400


async def test_unavailable_hub_keeps_events_for_hubspots_retry(hub: Hub) -> None:
    seed(hub.crm)
    count = len(hub.crm.pending_events)
    hub.crm.set_webhook_target("http://127.0.0.1:9/v1/webhooks/crm", client_secret=SECRET)
    async with httpx.AsyncClient(timeout=2) as http:
        (delivery,) = await hub.crm.deliver_webhooks(http=http)
    assert delivery.status == 0
    assert len(hub.crm.pending_events) == count
    assert {e["attemptNumber"] for e in hub.crm.pending_events} == {1}


async def test_query_string_with_encoded_characters_is_signed_decoded(hub: Hub) -> None:
    url = "https://hooks.example.com/v1/webhooks/crm?team=%40sales&scope=a%2Cb"
    hub.crm.set_webhook_target(url, client_secret=SECRET)
    seed(hub.crm)
    (delivery,) = await hub.crm.deliver_webhooks(http=hub.http)
    assert delivery.status == 202
    body = orjson.dumps(delivery.events)
    stamp = delivery.headers["X-HubSpot-Request-Timestamp"]
    decoded = "https://hooks.example.com/v1/webhooks/crm?team=@sales&scope=a,b"
    assert delivery.headers["X-HubSpot-Signature-v3"] == sign_v3(
        SECRET, "POST", decoded, body, stamp
    )


def test_documented_escapes_are_decoded_and_others_kept() -> None:
    encoded = "%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B"
    assert decode_uri(encoded) == ":/?@!$'()*,;"
    assert decode_uri(encoded.lower()) == ":/?@!$'()*,;"
    assert decode_uri("a%20b%26c%3D") == "a%20b%26c%3D"


def test_signature_matches_the_documented_construction() -> None:
    body = b'[{"eventId":1}]'
    expected = base64.b64encode(
        hmac.new(
            b"secret",
            b"POSThttps://example.com/hook?x=:" + body + b"1700000000000",
            hashlib.sha256,
        ).digest()
    ).decode()
    assert sign_v3("secret", "POST", "https://example.com/hook?x=%3A", body, "1700000000000") == (
        expected
    )


async def test_without_a_client_secret_every_webhook_is_refused() -> None:
    settings = CONNECTOR.parse_settings({"access_token": TOKEN})
    source = CONNECTOR.build_source(settings, "crm")
    assert isinstance(source, HubSpotSource)
    body = b"[]"
    stamp = str(now_ms())
    headers = {
        "X-HubSpot-Request-Timestamp": stamp,
        "X-HubSpot-Signature-v3": sign_v3("", "POST", "/v1/webhooks/crm", body, stamp),
    }
    with pytest.raises(SignatureError):
        source.signature.verify(source.secret(), "POST", "/v1/webhooks/crm", body, headers)


async def test_deliver_forever_sends_what_the_seed_api_queues(hub: Hub) -> None:
    task = asyncio.create_task(hub.crm.deliver_forever(interval=0.01, http=hub.http))
    try:
        company = hub.crm.add_company(name="Later GmbH")
        for _ in range(200):
            if hub.publisher.raw():
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    (_, event), *_ = hub.publisher.raw()
    assert event.data["objectId"] == int(company)

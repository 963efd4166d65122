"""Signed event webhooks from the emulator's sender to the kit's webhook route."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from fastapi import FastAPI

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.config import ConnectorInstance
from connectors.kit.host import ConnectorHost
from connectors.kit.routes import connector_routes
from connectors.kit.webhook import SignatureError
from connectors.testing import MemoryPublisher
from connectors.zendesk import CONNECTOR
from connectors.zendesk.emulator import ZendeskEmulator
from connectors.zendesk.signature import ZendeskSignature, iso_timestamp, sign
from connectors.zendesk.source import ZendeskSource

from .conftest import EMAIL, SECRET, TOKEN, settings

URL = "http://hub.test/v1/webhooks/helpdesk"


@dataclass
class Hub:
    desk: ZendeskEmulator
    http: httpx.AsyncClient
    publisher: MemoryPublisher
    source: ZendeskSource


def make_app(publisher: MemoryPublisher) -> tuple[FastAPI, ZendeskSource]:
    host = ConnectorHost(
        {"helpdesk": ConnectorInstance(type="zendesk", settings=settings("http://127.0.0.1:9"))},
        publisher=publisher,
        checkpoints=MemoryCheckpoints(),
        types={"zendesk": CONNECTOR},
    )
    runner = host.runners["helpdesk"]
    runner.set_state("running")
    app = FastAPI()
    app.include_router(connector_routes(host))
    assert isinstance(runner.source, ZendeskSource)
    return app, runner.source


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    publisher = MemoryPublisher()
    app, source = make_app(publisher)
    desk = ZendeskEmulator(api_tokens={EMAIL: TOKEN})  # real clock: signatures are time-bound
    desk.set_webhook_target(URL, signing_secret=SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield Hub(desk, http, publisher, source)


def seed(desk: ZendeskEmulator) -> int:
    org = desk.add_organization("Muster GmbH", domain_names=["muster.de"])
    jana = desk.add_user("Jana Weber", "jana@muster.de", organization_id=org)
    ticket = desk.open_ticket(jana, "Where is S00042?", "Not arrived.")
    desk.set_priority(ticket, "urgent")
    return ticket


def stamp(**delta: float) -> str:
    return iso_timestamp(datetime.now(UTC) + timedelta(**delta))


async def test_signed_events_are_published_and_wake_the_export(hub: Hub) -> None:
    ticket = seed(hub.desk)
    hub.source._last_export = datetime.now(UTC).timestamp()  # an export just ran
    assert not hub.source.export_due(datetime.now(UTC).timestamp())
    deliveries = await hub.desk.deliver_webhooks(http=hub.http)
    assert [d.status for d in deliveries] == [202, 202]
    raw = hub.publisher.raw()
    assert [topic for topic, _ in raw] == ["raw.helpdesk.webhook_event"] * 2
    created, priority = (event for _, event in raw)
    assert created.type == "raw.zendesk.webhook_event"
    assert created.subject == created.partitionkey == str(ticket)
    assert created.data["type"] == "zen:event-type:ticket.created"
    assert priority.data["event"]["current"] == "URGENT"
    assert hub.desk.pending == []
    assert hub.source.export_due(datetime.now(UTC).timestamp())  # export_lag_seconds is 0
    assert all(CONNECTOR.translate(event) == [] for _, event in raw)


async def test_replayed_delivery_is_accepted_once(hub: Hub) -> None:
    seed(hub.desk)
    item = hub.desk.pending[0]
    first = await hub.desk.send(item.event, http=hub.http, invocation_id=item.invocation_id)
    again = await hub.desk.send(item.event, http=hub.http, invocation_id=item.invocation_id)
    assert (first.status, again.status) == (202, 202)
    assert len(hub.publisher.raw()) == 1
    answer = await hub.http.post(URL, content=orjson.dumps(item.event), headers=again.headers)
    assert answer.json()["status"] == "duplicate"


async def test_without_invocation_id_the_event_id_deduplicates(hub: Hub) -> None:
    seed(hub.desk)
    event = hub.desk.pending[0].event
    body = orjson.dumps(event)
    at = stamp()
    headers = {
        "X-Zendesk-Webhook-Signature-Timestamp": at,
        "X-Zendesk-Webhook-Signature": sign(SECRET, at, body),
    }
    answers = [(await hub.http.post(URL, content=body, headers=headers)).json() for _ in range(2)]
    assert [a["status"] for a in answers] == ["accepted", "duplicate"]
    assert answers[0]["delivery_id"].startswith("zendesk-event-")


async def test_retry_after_restart_gives_the_same_raw_event_id(hub: Hub) -> None:
    seed(hub.desk)
    event = hub.desk.pending[0].event
    await hub.desk.send(event, http=hub.http, invocation_id="1001")
    restarted = MemoryPublisher()  # a new process: the delivery log is gone
    app, _ = make_app(restarted)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        delivery = await hub.desk.send(event, http=http, invocation_id="1002")
    assert delivery.status == 202
    assert [e.id for _, e in restarted.raw()] == [e.id for _, e in hub.publisher.raw()]


async def test_forged_signature_is_401(hub: Hub) -> None:
    seed(hub.desk)
    delivery = await hub.desk.send(
        hub.desk.pending[0].event, http=hub.http, signature="bm90IGEgc2lnbmF0dXJl"
    )
    assert delivery.status == 401
    assert hub.publisher.sent == []


async def test_tampered_body_is_401(hub: Hub) -> None:
    seed(hub.desk)
    event = hub.desk.pending[0].event
    at = stamp()
    signature = sign(SECRET, at, orjson.dumps(event))
    tampered = orjson.dumps({**event, "subject": "zen:ticket:1"})
    delivery = await hub.desk.send(
        event, http=hub.http, timestamp=at, signature=signature, body=tampered
    )
    assert delivery.status == 401


async def test_wrong_signing_secret_is_401_and_not_retried(hub: Hub) -> None:
    seed(hub.desk)
    hub.desk.set_webhook_target(URL, signing_secret="someone-elses-secret")
    deliveries = await hub.desk.deliver_webhooks(http=hub.http)
    assert {d.status for d in deliveries} == {401}
    assert hub.desk.pending == []


@pytest.mark.parametrize(("minutes", "status"), [(-6, 401), (-4, 202), (4, 202), (6, 401)])
async def test_timestamp_outside_five_minutes_is_401(hub: Hub, minutes: int, status: int) -> None:
    seed(hub.desk)
    delivery = await hub.desk.send(
        hub.desk.pending[0].event, http=hub.http, timestamp=stamp(minutes=minutes)
    )
    assert delivery.status == status


async def test_missing_or_unreadable_timestamp_is_401(hub: Hub) -> None:
    seed(hub.desk)
    event = hub.desk.pending[0].event
    body = orjson.dumps(event)
    for at in ("", "yesterday"):
        headers = {
            "X-Zendesk-Webhook-Signature-Timestamp": at,
            "X-Zendesk-Webhook-Signature": sign(SECRET, at, body),
        }
        answer = await hub.http.post(URL, content=body, headers=headers)
        assert answer.status_code == 401
    answer = await hub.http.post(URL, content=body)
    assert answer.status_code == 401


async def test_trigger_webhook_with_a_custom_body_is_400(hub: Hub) -> None:
    delivery = await hub.desk.send(
        {}, http=hub.http, body=b'{"ticket_id": 35440, "status": "solved"}'
    )
    assert delivery.status == 400
    assert hub.publisher.sent == []


async def test_unavailable_hub_keeps_the_invocation_for_a_retry(hub: Hub) -> None:
    seed(hub.desk)
    before = [p.invocation_id for p in hub.desk.pending]
    hub.desk.set_webhook_target("http://127.0.0.1:9/v1/webhooks/helpdesk", signing_secret=SECRET)
    async with httpx.AsyncClient(timeout=2) as http:
        deliveries = await hub.desk.deliver_webhooks(http=http)
    assert {d.status for d in deliveries} == {0}
    assert [p.invocation_id for p in hub.desk.pending] == before
    assert {p.attempts for p in hub.desk.pending} == {1}


def test_signature_matches_the_documented_construction() -> None:
    body = b'{"type":"zen:event-type:ticket.created"}'
    at = "2021-03-25T05:09:27Z"
    expected = base64.b64encode(
        hmac.new(b"secret", at.encode() + body, hashlib.sha256).digest()
    ).decode()
    assert sign("secret", at, body) == expected
    verifier = ZendeskSignature()
    now = datetime(2021, 3, 25, 5, 10, tzinfo=UTC).timestamp()
    headers = {
        "x-zendesk-webhook-signature": expected,
        "x-zendesk-webhook-signature-timestamp": at,
    }
    verifier.verify(b"secret", "POST", "/anything", body, headers, now=now)
    with pytest.raises(SignatureError) as caught:
        verifier.verify(b"secret", "POST", "/anything", body + b" ", headers, now=now)
    assert caught.value.reason == "signature"


def test_the_verifier_reads_the_headers_it_is_given_and_iso_or_unix_timestamps() -> None:
    body, at = b"{}", "2021-03-25T05:09:27Z"
    now = datetime(2021, 3, 25, 5, 10, tzinfo=UTC).timestamp()
    relayed = ZendeskSignature(header="X-Relay-Signature", timestamp_header="X-Relay-Time")
    headers = {"X-Relay-Signature": sign("secret", at, body), "X-Relay-Time": at}
    relayed.verify(b"secret", "POST", "/", body, headers, now=now)
    with pytest.raises(SignatureError) as caught:  # Zendesk's own header names are not read
        relayed.verify(
            b"secret",
            "POST",
            "/",
            body,
            {"X-Zendesk-Webhook-Signature": headers["X-Relay-Signature"]},
            now=now,
        )
    assert caught.value.reason == "missing"
    unix = str(int(now))
    unix_headers = {"X-Relay-Signature": sign("secret", unix, body), "X-Relay-Time": unix}
    relayed.verify(b"secret", "POST", "/", body, unix_headers, now=now)
    with pytest.raises(SignatureError) as caught:
        relayed.verify(b"secret", "POST", "/", body, headers, now=now + 3600)
    assert caught.value.reason == "stale"


def test_without_a_signing_secret_every_webhook_is_refused() -> None:
    values = settings("https://acme.zendesk.com")
    del values["webhook_signing_secret"]
    source = CONNECTOR.build_source(CONNECTOR.parse_settings(values), "helpdesk")
    assert isinstance(source, ZendeskSource)
    body, at = b"{}", stamp()
    headers = {
        "X-Zendesk-Webhook-Signature-Timestamp": at,
        "X-Zendesk-Webhook-Signature": sign("", at, body),
    }
    with pytest.raises(SignatureError):
        source.signature.verify(source.secret(), "POST", "/v1/webhooks/helpdesk", body, headers)


async def test_deliver_forever_sends_what_the_seed_api_queues(hub: Hub) -> None:
    task = asyncio.create_task(hub.desk.deliver_forever(interval=0.01, http=hub.http))
    try:
        ticket = seed(hub.desk)
        for _ in range(300):
            if len(hub.publisher.raw()) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert [e.subject for _, e in hub.publisher.raw()] == [str(ticket)] * 2

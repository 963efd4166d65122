"""POST /v1/webhooks/{connector}: 404, 413, 401, 400, duplicates, 202 only after the ack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from connectors.kit import BadRecord, ConnectorType, PollingSource, Record, WebhookSource
from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.config import ConnectorInstance
from connectors.kit.host import ConnectorHost
from connectors.kit.routes import connector_routes
from connectors.kit.source import SourceContext
from connectors.kit.webhook import HmacSha256, SignatureError
from connectors.testing import MemoryPublisher
from hub.runtime.metrics import HubMetrics
from schemas import stable_event_id
from schemas.envelope import KafkaRecord
from tests.unit.kit.sources import HOOK, SCRIPTED, HookSettings, HookSource, translate_item

SECRET = "whsec-test-1234"
BODY = orjson.dumps([{"ticket_id": 7, "at": "2026-11-20T08:00:00+00:00", "status": "open"}])


class Hub:
    def __init__(self, publisher: MemoryPublisher | None = None) -> None:
        self.publisher = publisher or MemoryPublisher()
        self.metrics = HubMetrics.create()
        self.host = ConnectorHost(
            {
                "desk": ConnectorInstance(type="hook", settings={"webhook_secret": SECRET}),
                "poller": ConnectorInstance(type="scripted"),
            },
            publisher=self.publisher,
            checkpoints=MemoryCheckpoints(),
            metrics=self.metrics,
            types={"hook": HOOK, "scripted": SCRIPTED},
        )
        self.host.runners["desk"].set_state("running")
        self.host.runners["desk"].accepting_webhooks = True
        self.app = FastAPI()
        self.app.include_router(connector_routes(self.host, self.metrics))
        self.client = TestClient(self.app)

    def signed(
        self, body: bytes = BODY, *, delivery: str = "d-1", connector: str = "desk"
    ) -> dict[str, str]:
        ts = str(int(time.time()))
        signature = HookSource.signature.sign(
            SECRET.encode(), "POST", f"/v1/webhooks/{connector}", body, ts
        )
        return {"X-Signature": signature, "X-Timestamp": ts, "X-Delivery-Id": delivery}

    def post(
        self,
        body: bytes = BODY,
        *,
        delivery: str = "d-1",
        stamp: float | None = None,
        secret: str = SECRET,
        connector: str = "desk",
        headers: dict[str, str] | None = None,
    ) -> object:
        ts = str(int(time.time() if stamp is None else stamp))
        signature = HookSource.signature.sign(
            secret.encode(), "POST", f"/v1/webhooks/{connector}", body, ts
        )
        sent = {"X-Signature": signature, "X-Timestamp": ts, "X-Delivery-Id": delivery}
        return self.client.post(
            f"/v1/webhooks/{connector}", content=body, headers={**sent, **(headers or {})}
        )

    def rejections(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "hub_webhook_rejections_total", {"connector": "desk", "reason": reason}
        )
        return value or 0.0


@pytest.fixture
def hub() -> Hub:
    return Hub()


def test_a_signed_delivery_is_accepted_once_published(hub: Hub) -> None:
    response = hub.post()
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert response.json() == {"status": "accepted", "delivery_id": "d-1", "events": 1}  # type: ignore[attr-defined]
    [(topic, event)] = hub.publisher.raw()
    assert topic == "raw.desk.ticket"
    assert event.type == "raw.hook.ticket"
    assert event.id == stable_event_id("desk", "ticket", "7", "d-1"), "id from the delivery id"


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_senders_trace_context_rides_on_the_raw_event(hub: Hub) -> None:
    response = hub.post(headers={"traceparent": TRACEPARENT})
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    [(_topic, event)] = hub.publisher.raw()
    assert event.traceparent == TRACEPARENT
    assert ("ce_traceparent", TRACEPARENT.encode()) in event.to_kafka().headers


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "garbage",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff: invalid
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # no trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # no parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        TRACEPARENT + "-extra",  # version 00 has exactly four fields
    ],
)
def test_a_malformed_trace_context_is_left_out_and_the_delivery_taken(
    hub: Hub, malformed: str
) -> None:
    response = hub.post(headers={"traceparent": malformed})
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    [(_topic, event)] = hub.publisher.raw()
    assert event.traceparent is None


def test_a_repeated_delivery_is_not_published_again(hub: Hub) -> None:
    assert hub.post().status_code == 202  # type: ignore[attr-defined]
    again = hub.post()
    assert again.status_code == 202  # type: ignore[attr-defined]
    assert again.json()["status"] == "duplicate"  # type: ignore[attr-defined]
    assert len(hub.publisher.raw()) == 1


def test_wrong_missing_or_stale_signatures_are_401(hub: Hub) -> None:
    assert hub.post(secret="not-the-secret").status_code == 401  # type: ignore[attr-defined]
    assert hub.post(stamp=time.time() - 3600).status_code == 401  # type: ignore[attr-defined]
    unsigned = hub.client.post("/v1/webhooks/desk", content=BODY)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"] == "missing"
    assert hub.rejections("signature") == 1
    assert hub.rejections("stale") == 1
    assert not hub.publisher.sent


def test_oversized_bodies_are_413_before_reading_them(hub: Hub) -> None:
    big = b"[" + b" " * 4096 + b"]"
    assert hub.post(big).status_code == 413  # type: ignore[attr-defined]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream is capped while reading
        yield b"[" + b" " * 1500
        yield b" " * 1500 + b"]"

    streamed = hub.client.post("/v1/webhooks/desk", content=chunks())
    assert streamed.status_code == 413
    assert hub.rejections("too_large") == 2


def test_a_body_the_vendor_would_not_send_is_400_with_a_json_error(hub: Hub) -> None:
    response = hub.post(b"{not json")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert response.json()["error"] == "bad_body"  # type: ignore[attr-defined]
    assert hub.post(b'{"an": "object"}', delivery="d-2").status_code == 400  # type: ignore[attr-defined]
    assert not hub.publisher.sent


def test_unknown_or_non_webhook_connectors_are_404(hub: Hub) -> None:
    assert hub.client.post("/v1/webhooks/nobody", content=BODY).status_code == 404
    assert hub.client.post("/v1/webhooks/poller", content=BODY).status_code == 404


def test_when_the_broker_does_not_acknowledge_the_answer_is_503(hub: Hub) -> None:
    hub.publisher.fail_after = 0
    assert hub.post().status_code == 503  # type: ignore[attr-defined]
    hub.publisher.fail_after = None
    assert hub.post().status_code == 202, "not remembered as delivered"  # type: ignore[attr-defined]


class GatedPublisher(MemoryPublisher):
    """Holds every send until :attr:`gate` opens; then acknowledges or (``fail``) fails it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0
        self.fail = False

    async def send(self, topic: str, record: KafkaRecord) -> asyncio.Future[object]:
        self.waiting += 1
        await self.gate.wait()
        if self.fail:
            self.fail = False  # only the first delivery's publish fails
            future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            future.set_exception(ConnectionError("broker unavailable (simulated)"))
            return future
        return await super().send(topic, record)


async def _post_twice_concurrently(hub: Hub, gated: GatedPublisher) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=hub.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        headers = hub.signed()
        first = asyncio.create_task(client.post("/v1/webhooks/desk", content=BODY, headers=headers))
        for _ in range(200):  # until the first request is publishing (held at the gate)
            if gated.waiting:
                break
            await asyncio.sleep(0.005)
        assert gated.waiting == 1
        second = asyncio.create_task(
            client.post("/v1/webhooks/desk", content=BODY, headers=headers)
        )
        for _ in range(20):  # the second has verified the signature and met the first
            await asyncio.sleep(0.005)
        gated.gate.set()
        return list(await asyncio.gather(first, second))


async def test_two_identical_concurrent_deliveries_publish_once() -> None:
    gated = GatedPublisher()
    hub = Hub(gated)
    first, second = await _post_twice_concurrently(hub, gated)
    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert first.json()["status"] == "accepted"
    assert second.json()["status"] == "duplicate", "the second waited for the first's outcome"
    assert gated.waiting == 1, "the duplicate never reached the publisher"
    assert len(hub.publisher.raw()) == 1


async def test_when_the_first_of_two_concurrent_deliveries_fails_the_second_publishes() -> None:
    gated = GatedPublisher()
    gated.fail = True
    hub = Hub(gated)
    first, second = await _post_twice_concurrently(hub, gated)
    assert first.status_code == 503, first.text
    assert second.status_code == 202, second.text
    assert second.json()["status"] == "accepted", "unmarked after the failed publish"
    assert len(hub.publisher.raw()) == 1
    assert hub.post().json()["status"] == "duplicate"  # type: ignore[attr-defined]


async def test_a_publish_that_never_completes_is_503_in_time_and_the_retry_is_taken() -> None:
    """A broker that takes the send and never answers: the vendor gets 503 at the
    source's publish deadline (10 s by default), not 202 and not a hung request."""
    gated = GatedPublisher()
    hub = Hub(gated)
    source = hub.host.runners["desk"].source
    source.publish_timeout_seconds = 0.2  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=hub.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        started = time.monotonic()
        hung = await client.post("/v1/webhooks/desk", content=BODY, headers=hub.signed())
        waited = time.monotonic() - started
        assert hung.status_code == 503, hung.text
        assert hung.json()["detail"] == "TimeoutError: not stored"
        assert 0.2 <= waited < 5, waited
        assert hub.publisher.raw() == []
        gated.gate.set()  # the broker answers again: the vendor's retry is stored
        retry = await client.post("/v1/webhooks/desk", content=BODY, headers=hub.signed())
    assert retry.status_code == 202, retry.text
    assert retry.json()["status"] == "accepted", "not taken for a duplicate of the timed-out one"
    assert len(hub.publisher.raw()) == 1


def test_connectors_are_listed_with_state(hub: Hub) -> None:
    listed = hub.client.get("/v1/connectors").json()["connectors"]
    assert {(c["instance"], c["kind"], c["state"]) for c in listed} == {
        ("desk", "webhook", "running"),
        ("poller", "polling", "starting"),
    }


def test_signature_schemes_cover_common_vendor_shapes() -> None:
    github = HmacSha256(header="X-Hub-Signature-256", prefix="sha256=")
    body = b'{"action":"opened"}'
    value = github.sign(b"k", "POST", "/x", body)
    github.verify(b"k", "POST", "/x", body, {"x-hub-signature-256": value})
    over_uri = HmacSha256(header="X-Sig", template="{method}{uri}{body}", encoding="base64")
    value = over_uri.sign(b"k", "POST", "/v1/webhooks/a?x=1", body)
    over_uri.verify(b"k", "POST", "/v1/webhooks/a?x=1", body, {"X-Sig": value})
    with pytest.raises(SignatureError) as caught:
        over_uri.verify(b"k", "POST", "/v1/webhooks/b?x=1", body, {"X-Sig": value})
    assert caught.value.reason == "signature"
    millis = HmacSha256(header="S", template="{timestamp}:{body}", timestamp_header="T")
    stamp = str(int(time.time() * 1000))
    millis.verify(
        b"k", "POST", "/", body, {"S": millis.sign(b"k", "POST", "/", body, stamp), "T": stamp}
    )


def test_webhooks_are_taken_while_polling_backs_off_but_not_once_failed(hub: Hub) -> None:
    desk = hub.host.runners["desk"]
    desk.set_state("backing_off", "RetriableError: 429")
    assert hub.post(delivery="d-7").status_code == 202  # type: ignore[attr-defined]
    desk.set_state("failed", "FatalError: 401")
    refused = hub.post(delivery="d-8")
    assert refused.status_code == 503  # type: ignore[attr-defined]
    assert refused.json()["detail"] == "connector is failed"  # type: ignore[attr-defined]


class TunedSettings(HookSettings):
    signature_header: str = "X-Signature"
    tolerance_seconds: float = 300


class TunedSource(PollingSource[TunedSettings], WebhookSource[TunedSettings]):
    """Both kinds; its signature depends on the instance's settings."""

    entities = ("ticket",)

    def __init__(self, settings: TunedSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.signature = HmacSha256(
            header=settings.signature_header,
            template="{timestamp}.{body}",
            timestamp_header="X-Timestamp",
            tolerance_seconds=settings.tolerance_seconds,
        )

    delivery_id = HookSource.delivery_id
    parse = HookSource.parse

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        nothing: tuple[Record, ...] = ()
        for record in nothing:
            yield record


TUNED = ConnectorType(
    name="tuned", settings_model=TunedSettings, source=TunedSource, translate=translate_item
)


def test_each_instance_verifies_with_its_own_signature_and_kind_is_polling_and_webhook() -> None:
    publisher = MemoryPublisher()
    host = ConnectorHost(
        {
            "eu": ConnectorInstance(
                type="tuned", settings={"webhook_secret": SECRET, "signature_header": "X-Eu-Sig"}
            ),
            "us": ConnectorInstance(
                type="tuned", settings={"webhook_secret": SECRET, "tolerance_seconds": 5}
            ),
        },
        publisher=publisher,
        checkpoints=MemoryCheckpoints(),
        types={"tuned": TUNED},
    )
    for runner in host.runners.values():
        runner.set_state("running")
    app = FastAPI()
    app.include_router(connector_routes(host))
    client = TestClient(app)
    eu, us = host.runners["eu"].source, host.runners["us"].source
    assert isinstance(eu, WebhookSource)
    assert isinstance(us, WebhookSource)
    assert (eu.signature.header, us.signature.header) == ("X-Eu-Sig", "X-Signature")

    def post(instance: str, header: str, stamp: float, delivery: str) -> int:
        ts = str(int(stamp))
        value = HmacSha256(header=header, template="{timestamp}.{body}").sign(
            SECRET.encode(), "POST", f"/v1/webhooks/{instance}", BODY, ts
        )
        sent = {header: value, "X-Timestamp": ts, "X-Delivery-Id": delivery}
        response = client.post(f"/v1/webhooks/{instance}", content=BODY, headers=sent)
        return int(response.status_code)

    now = time.time()
    assert post("eu", "X-Eu-Sig", now, "e1") == 202
    assert post("eu", "X-Signature", now, "e2") == 401, "eu signs into its own header"
    assert post("us", "X-Signature", now - 60, "u1") == 401, "us allows 5 s"
    assert post("us", "X-Signature", now, "u2") == 202
    assert post("eu", "X-Eu-Sig", now - 60, "e3") == 202, "eu keeps the default 300 s"
    assert TUNED.kind == "polling+webhook"
    listed = client.get("/v1/connectors").json()["connectors"]
    assert {c["kind"] for c in listed} == {"polling+webhook"}
    assert {r.status.kind for r in host.runners.values()} == {"polling+webhook"}


def test_hub_connector_shows_polling_and_webhook_for_sources_that_are_both(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from hub.commands.connector import app  # noqa: PLC0415

    described = CliRunner().invoke(app, ["describe", "hubspot"])
    assert described.exit_code == 0, described.output
    assert described.output.startswith("hubspot (polling+webhook):")
    config = tmp_path / "hub.yaml"
    config.write_text("")
    listed = CliRunner().invoke(
        app, ["list"], env={"HUB_CONFIG": str(config), "KAFKA_BOOTSTRAP_SERVERS": ""}
    )
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line.split()[1] for line in listed.output.splitlines()[1:6]}
    assert rows["hubspot"] == "polling+webhook"
    assert rows["zendesk"] == "polling+webhook"
    assert rows["jsonl"] == "polling"

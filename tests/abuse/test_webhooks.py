"""Abuse of ``POST /v1/webhooks/{instance}`` with the real HubSpot and Zendesk sources.

Each hostile request gets the right 4xx as JSON and nothing reaches a raw topic: malformed
JSON, a wrong content type, bad and missing signatures, stale timestamps, replays, 10 MB
bodies (declared and streamed), deeply nested JSON, invalid UTF-8. SQL- and script-looking
strings are data, not code: where the vendor sends free text they are stored byte for byte,
where it sends a typed value they are refused with 400; never a 5xx.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from connectors.hubspot import CONNECTOR as HUBSPOT
from connectors.hubspot.signature import SIGNATURE_HEADER as HS_SIGNATURE
from connectors.hubspot.signature import TIMESTAMP_HEADER as HS_TIMESTAMP
from connectors.hubspot.signature import sign_v3
from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.config import ConnectorInstance
from connectors.kit.host import ConnectorHost
from connectors.kit.registry import ConnectorType
from connectors.kit.routes import connector_routes
from connectors.testing import MemoryPublisher
from connectors.zendesk import CONNECTOR as ZENDESK
from connectors.zendesk.signature import INVOCATION_HEADER, iso_timestamp
from connectors.zendesk.signature import SIGNATURE_HEADER as ZD_SIGNATURE
from connectors.zendesk.signature import TIMESTAMP_HEADER as ZD_TIMESTAMP
from connectors.zendesk.signature import sign as sign_zendesk
from hub.runtime.metrics import HubMetrics

SECRET = "abuse-suite-secret"
PUBLIC = "https://hooks.example.com"
SQL = "1'; DROP TABLE timeline_events; --"
SCRIPT = "<script>alert(document.cookie)</script>"
TEN_MB = 10 * 1024 * 1024


def ten_megabytes() -> bytes:
    """A delivery body over the 10 MB cap that is valid JSON (built when asked, not kept)."""
    return b"[" + b'{"a": "' + b"x" * TEN_MB + b'"}]'


@dataclass(frozen=True)
class Vendor:
    """How one vendor signs and shapes its deliveries."""

    name: str
    connector: ConnectorType
    settings: dict[str, Any]
    #: a valid delivery body with ``text`` in a free-text field
    body: Callable[[str], Any]
    #: a valid delivery with ``text`` where the vendor sends a typed value
    typed: Callable[[str], Any]
    #: signed headers for ``body`` at ``when`` (Unix seconds) with ``delivery`` as its id
    sign: Callable[[bytes, float, str], dict[str, str]]
    #: the header that carries the signature
    signature_header: str


def hubspot_body(text: str) -> list[dict[str, Any]]:
    return [
        {
            "eventId": 1001,
            "subscriptionId": 7,
            "portalId": 62515,
            "appId": 11,
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": "company.propertyChange",
            "attemptNumber": 0,
            "objectId": 5001,
            "propertyName": "name",
            "propertyValue": text,
            "changeSource": "CRM_UI",
        }
    ]


def hubspot_typed(text: str) -> list[dict[str, Any]]:
    return [{**hubspot_body("x")[0], "occurredAt": text}]


def hubspot_sign(body: bytes, when: float, delivery: str) -> dict[str, str]:
    stamp = str(int(when * 1000))
    url = f"{PUBLIC}/v1/webhooks/crm"
    return {
        "Content-Type": "application/json",
        HS_TIMESTAMP: stamp,
        HS_SIGNATURE: sign_v3(SECRET, "POST", url, body, stamp),
    }


def zendesk_body(text: str) -> dict[str, Any]:
    return {
        "type": "zen:event-type:ticket.subject_changed",
        "account_id": 1,
        "id": "01HZX-event-1",
        "time": iso_timestamp(datetime.now(UTC)),
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:35440",
        "detail": {"id": "35440", "subject": text},
        "event": {"current": text, "previous": "old"},
    }


def zendesk_typed(text: str) -> dict[str, Any]:
    return {**zendesk_body("x"), "subject": text}


def zendesk_sign(body: bytes, when: float, delivery: str) -> dict[str, str]:
    stamp = iso_timestamp(datetime.fromtimestamp(when, UTC))
    return {
        "Content-Type": "application/json; charset=utf-8",
        INVOCATION_HEADER: delivery,
        ZD_TIMESTAMP: stamp,
        ZD_SIGNATURE: sign_zendesk(SECRET, stamp, body),
    }


VENDORS = {
    "hubspot": Vendor(
        "hubspot",
        HUBSPOT,
        {
            "base_url": "http://127.0.0.1:9",
            "access_token": "pat-test",
            "client_secret": SECRET,
            "webhook_url": f"{PUBLIC}/v1/webhooks/crm",
        },
        hubspot_body,
        hubspot_typed,
        hubspot_sign,
        HS_SIGNATURE,
    ),
    "zendesk": Vendor(
        "zendesk",
        ZENDESK,
        {
            "base_url": "http://127.0.0.1:9",
            "email": "agent@example.com",
            "api_token": "zd-token",
            "webhook_signing_secret": SECRET,
        },
        zendesk_body,
        zendesk_typed,
        zendesk_sign,
        ZD_SIGNATURE,
    ),
}


@dataclass
class Hub:
    vendor: Vendor
    http: httpx.AsyncClient
    publisher: MemoryPublisher
    metrics: HubMetrics

    async def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post("/v1/webhooks/crm", content=body, headers=headers)

    async def signed(
        self, body: bytes, *, when: float | None = None, delivery: str = "inv-1", **extra: str
    ) -> httpx.Response:
        headers = self.vendor.sign(body, time.time() if when is None else when, delivery)
        return await self.post(body, headers | extra)

    def raw(self) -> list[Any]:
        return self.publisher.raw()


@pytest.fixture(params=sorted(VENDORS))
async def hub(request: pytest.FixtureRequest) -> AsyncIterator[Hub]:
    vendor = VENDORS[request.param]
    publisher = MemoryPublisher()
    metrics = HubMetrics.create()
    host = ConnectorHost(
        {"crm": ConnectorInstance(type=vendor.name, settings=vendor.settings)},
        publisher=publisher,
        checkpoints=MemoryCheckpoints(),
        types={vendor.name: vendor.connector},
    )
    host.runners["crm"].set_state("running")
    app = FastAPI()
    app.include_router(connector_routes(host, metrics))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as http:
        yield Hub(vendor, http, publisher, metrics)


def assert_rejected(response: httpx.Response, status: int, hub: Hub) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body.get("error"), body
    assert "Traceback" not in response.text
    assert hub.publisher.sent == [], "a rejected delivery wrote something"
    return body


async def test_a_good_delivery_is_accepted(hub: Hub) -> None:
    """The baseline every abuse case differs from by one thing."""
    response = await hub.signed(orjson.dumps(hub.vendor.body("hello")))
    assert response.status_code == 202, response.text
    assert len(hub.raw()) == 1


async def test_malformed_json_is_400(hub: Hub) -> None:
    assert_rejected(await hub.signed(b'[{"eventId": 1,'), 400, hub)


async def test_json_that_is_not_the_vendors_shape_is_400(hub: Hub) -> None:
    for body in (
        b"null",
        b"42",
        b'"text"',
        b"{}",
        b"[1, 2]",
        b"[]" if hub.vendor.name == "zendesk" else b"{}",
    ):
        assert_rejected(await hub.signed(body), 400, hub)


async def test_wrong_content_type_is_400(hub: Hub) -> None:
    body = orjson.dumps(hub.vendor.body("hello"))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/html"):
        response = await hub.signed(body, **{"Content-Type": content_type})
        assert_rejected(response, 400, hub)
        assert response.json()["error"] == "content_type"


async def test_a_bad_signature_is_401_whatever_the_content_type(hub: Hub) -> None:
    """The signature is checked first: an unsigned caller learns nothing of the rest."""
    body = orjson.dumps(hub.vendor.body("hello"))
    signed = hub.vendor.sign(body, time.time(), "inv-1")
    for content_type in ("text/plain", "application/json"):
        forged = signed | {hub.vendor.signature_header: "bm90IGEgc2lnbmF0dXJl"}
        response = await hub.post(body, forged | {"Content-Type": content_type})
        assert assert_rejected(response, 401, hub)["error"] == "signature"
        unsigned = {k: v for k, v in signed.items() if k != hub.vendor.signature_header}
        response = await hub.post(body, unsigned | {"Content-Type": content_type})
        assert assert_rejected(response, 401, hub)["error"] == "missing"


async def test_missing_signature_is_401(hub: Hub) -> None:
    body = orjson.dumps(hub.vendor.body("hello"))
    headers = hub.vendor.sign(body, time.time(), "inv-1")
    del headers[hub.vendor.signature_header]
    assert assert_rejected(await hub.post(body, headers), 401, hub)["error"] == "missing"


@pytest.mark.parametrize(
    "forged", ["", "not base64 at all", "bm90IGEgc2lnbmF0dXJl", "A" * 10_000, "sha256=" + "0" * 64]
)
async def test_bad_signature_is_401(hub: Hub, forged: str) -> None:
    body = orjson.dumps(hub.vendor.body("hello"))
    headers = hub.vendor.sign(body, time.time(), "inv-1") | {hub.vendor.signature_header: forged}
    assert_rejected(await hub.post(body, headers), 401, hub)


async def test_signature_by_another_secret_or_for_another_body_is_401(hub: Hub) -> None:
    body = orjson.dumps(hub.vendor.body("hello"))
    other = orjson.dumps(hub.vendor.body("tampered"))
    headers = hub.vendor.sign(body, time.time(), "inv-1")
    assert assert_rejected(await hub.post(other, headers), 401, hub)["error"] == "signature"


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(hours=30), -timedelta(minutes=6)])
async def test_stale_or_future_timestamp_is_401(hub: Hub, age: timedelta) -> None:
    body = orjson.dumps(hub.vendor.body("hello"))
    response = await hub.signed(body, when=time.time() - age.total_seconds())
    assert assert_rejected(response, 401, hub)["error"] == "stale"


async def test_replayed_delivery_is_stored_once_and_a_late_replay_is_401(hub: Hub) -> None:
    body = orjson.dumps(hub.vendor.body("hello"))
    sent = time.time()
    first = await hub.signed(body, when=sent, delivery="inv-9")
    again = await hub.signed(body, when=sent, delivery="inv-9")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["status"] == "duplicate"
    assert len(hub.raw()) == 1, "a replay within the window is acknowledged, not stored again"
    headers = hub.vendor.sign(body, sent - 600, "inv-9")
    late = await hub.post(body, headers)
    assert late.status_code == 401
    assert len(hub.raw()) == 1


async def test_ten_megabyte_body_is_413_declared_or_streamed(hub: Hub) -> None:
    huge = ten_megabytes()
    signed = await hub.signed(huge)
    assert_rejected(signed, 413, hub)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap still holds
        for start in range(0, len(huge), 1 << 20):
            yield huge[start : start + (1 << 20)]

    headers = hub.vendor.sign(huge, time.time(), "inv-2")
    streamed = await hub.http.post("/v1/webhooks/crm", content=chunks(), headers=headers)
    assert_rejected(streamed, 413, hub)


@pytest.mark.parametrize("depth", [200, 5_000, 100_000])
async def test_deeply_nested_json_is_400(hub: Hub, depth: int) -> None:
    body = b"[" * depth + b"]" * depth
    assert_rejected(await hub.signed(body), 400, hub)
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    assert_rejected(await hub.signed(nested), 400, hub)


async def test_invalid_utf8_is_400(hub: Hub) -> None:
    text = orjson.dumps(hub.vendor.body("PLACEHOLDER"))
    for bad in (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"):
        assert_rejected(await hub.signed(text.replace(b"PLACEHOLDER", bad)), 400, hub)


@pytest.mark.parametrize("text", [SQL, SCRIPT, "${jndi:ldap://x/a}", "../../../etc/passwd"])
async def test_hostile_strings_in_typed_fields_are_400(hub: Hub, text: str) -> None:
    assert_rejected(await hub.signed(orjson.dumps(hub.vendor.typed(text))), 400, hub)


@pytest.mark.parametrize("text", [SQL, SCRIPT, "\u202eevil", "a\x00b"])
async def test_hostile_strings_in_free_text_are_stored_as_data(hub: Hub, text: str) -> None:
    body = orjson.dumps(hub.vendor.body(text))
    response = await hub.signed(body)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("application/json")
    ((_, event),) = hub.raw()
    sent = orjson.loads(body)
    assert event.data == (sent[0] if isinstance(sent, list) else sent), "stored as sent"


async def test_unknown_instance_is_404_and_rejections_are_counted(hub: Hub) -> None:
    response = await hub.http.post("/v1/webhooks/nope", content=b"{}")
    assert_rejected(response, 404, hub)
    huge = await hub.http.post(f"/v1/webhooks/{'n' * 20_000}", content=b"{}")
    assert assert_rejected(huge, 404, hub)["detail"].endswith("... (20,000 characters)")
    assert len(huge.content) < 300
    await hub.signed(b"{not json")
    await hub.post(b"{}", {"Content-Type": "application/json"})
    text = hub.metrics.registry.get_sample_value(
        "hub_webhook_rejections_total", {"connector": "crm", "reason": "missing"}
    )
    assert text == 1.0

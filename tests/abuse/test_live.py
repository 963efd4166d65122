"""The same abuse over real HTTP against ``hub up`` on a real broker, for every webhook
vendor (HubSpot and Zendesk): the rejections are answered by the running server, and
afterwards each raw topic holds only the good deliveries, hostile free text byte for byte.
Also: a service whose broker vanishes answers webhooks 503 (the vendor retries), never 202
for something it could not store."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from hub.api.auth import token_sha256
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, EmbeddedBroker, KafkaCluster
from tests.abuse.test_webhooks import (
    SCRIPT,
    SQL,
    VENDORS,
    Vendor,
    hubspot_body,
    hubspot_sign,
    ten_megabytes,
)
from tests.integration.hub_process import HubProcess, free_port
from tests.integration.kafka_helpers import consume_all

TOKEN = "live-finance-token-0123456789"
#: vendor -> its instance in the running hub (HubSpot signs the URL, which names ``crm``)
INSTANCES = {"hubspot": "crm", "zendesk": "desk"}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, EmbeddedBroker]]:
    config = {
        "smoke": {"enabled": False},
        "departments": {"finance": {"token_sha256": token_sha256(TOKEN)}},
        "connectors": {
            instance: {
                "type": VENDORS[vendor].name,
                **VENDORS[vendor].settings,
                "base_url": f"http://127.0.0.1:{free_port()}",  # nobody answers: backing off
            }
            for vendor, instance in INSTANCES.items()
        },
    }
    (tmp_path / "hub.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    broker = EmbeddedBroker(log_dir=tmp_path)
    broker.start()
    process = HubProcess(
        "up",
        port=free_port(),
        env={
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "HUB_CONFIG": str(tmp_path / "hub.yaml"),
            "HUB_STATE_DIR": str(tmp_path / "state"),
            "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'timeline.db'}",
            "HUB_SHUTDOWN_GRACE_SECONDS": "3",
        },
        cwd=tmp_path,
    )
    try:
        process.wait_for(lambda: process.status("/readyz") == 200, 90, "readyz 200")
        yield process, broker
    finally:
        process.kill()
        broker.stop()


def post(
    process: HubProcess, body: bytes, headers: dict[str, str], instance: str = "crm"
) -> httpx.Response:
    return httpx.post(
        f"{process.url}/v1/webhooks/{instance}", content=body, headers=headers, timeout=120
    )


def streamed_post(
    process: HubProcess, body: bytes, headers: dict[str, str], instance: str
) -> httpx.Response:
    """``body`` sent in chunks without a Content-Length: the size cap must hold anyway."""

    async def send() -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 1 << 20):
                yield body[start : start + (1 << 20)]

        async with httpx.AsyncClient(timeout=120) as client:
            return await client.post(
                f"{process.url}/v1/webhooks/{instance}", content=chunks(), headers=headers
            )

    return asyncio.run(send())


def numbered(data: Any, number: int) -> bytes:
    """A delivery with an event id of its own: HubSpot sends a list of events with
    ``eventId``, Zendesk one event with ``id``."""
    if isinstance(data, list):
        return orjson.dumps([{**data[0], "eventId": 2000 + number}])
    return orjson.dumps({**data, "id": f"01HZX-event-{number}"})


def abuse(vendor: Vendor, now: float) -> list[tuple[str, bytes, dict[str, str], int]]:
    """(what, body, headers, expected status) of every rejected delivery for ``vendor``."""
    good = orjson.dumps(vendor.body("hello"))

    def signed(body: bytes, when: float = now, **extra: str) -> dict[str, str]:
        return vendor.sign(body, when, "inv-abuse") | extra

    unsigned = signed(good)
    del unsigned[vendor.signature_header]
    nested = b"[" * 100_000 + b"]" * 100_000
    invalid = orjson.dumps(vendor.body("PLACEHOLDER")).replace(b"PLACEHOLDER", b"\xff\xfe")
    typed = orjson.dumps(vendor.typed(SQL))
    huge = ten_megabytes()
    return [
        ("malformed JSON", good[:-3], signed(good[:-3]), 400),
        ("wrong content type", good, signed(good, **{"Content-Type": "text/plain"}), 400),
        ("bad signature", good, signed(good, **{vendor.signature_header: "AAAA"}), 401),
        ("missing signature", good, unsigned, 401),
        ("stale timestamp", good, signed(good, now - 3600), 401),
        ("deeply nested JSON", nested, signed(nested), 400),
        ("invalid UTF-8", invalid, signed(invalid), 400),
        ("SQL-looking typed value", typed, signed(typed), 400),
        ("10 MB body", huge, signed(huge), 413),
    ]


def raw_request(process: HubProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", process.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_abuse_over_http_leaves_only_the_good_delivery_on_the_raw_topic(
    hub: tuple[HubProcess, EmbeddedBroker],
) -> None:
    process, broker = hub
    cluster = KafkaCluster(broker.bootstrap_servers, "embedded", EMBEDDED_CAPABILITIES)
    for name, instance in INSTANCES.items():
        vendor = VENDORS[name]
        for what, body, headers, status in abuse(vendor, time.time()):
            response = post(process, body, headers, instance)
            assert response.status_code == status, (name, what, response.text[:300])
            assert response.headers["content-type"].startswith("application/json"), what
            assert response.json()["error"], (name, what)
        big = ten_megabytes()
        streamed = streamed_post(process, big, vendor.sign(big, time.time(), "i"), instance)
        assert streamed.status_code == 413, (name, streamed.text[:300])

        hostile = [numbered(vendor.body(text), n) for n, text in enumerate((SQL, SCRIPT))]
        for number, body in enumerate(hostile):
            headers = vendor.sign(body, time.time(), f"inv-good-{number}")
            accepted = post(process, body, headers, instance)
            assert accepted.status_code == 202, (name, accepted.text)
        again = vendor.sign(hostile[0], time.time(), "inv-good-0")
        replay = post(process, hostile[0], again, instance)
        assert replay.json()["status"] == "duplicate", (name, replay.text)

        topic = f"raw.{instance}.webhook_event"
        records = asyncio.run(consume_all(cluster, topic, expected=3, timeout=5))
        stored = [orjson.loads(r.value) for r in records]
        sent = [orjson.loads(body) for body in hostile]
        assert stored == [s[0] if isinstance(s, list) else s for s in sent], (
            f"{name}: only the good deliveries, hostile free text as sent"
        )

    # the timeline API over real HTTP: a huge id and a traversal id are clean 4xx
    auth = {"Authorization": f"Bearer {TOKEN}"}
    huge = httpx.get(f"{process.url}/v1/orders/{'9' * 60_000}/timeline", headers=auth, timeout=30)
    assert huge.status_code in (400, 404, 414, 431), huge.text[:200]
    assert "Traceback" not in huge.text
    traversal = raw_request(
        process,
        b"GET /v1/orders/../../../../etc/passwd/timeline HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + TOKEN.encode() + b"\r\nConnection: close\r\n\r\n",
    )
    status_line = traversal.split(b"\r\n", 1)[0]
    assert status_line.split()[1] in (b"400", b"404"), status_line
    assert b"root:" not in traversal

    # the broker goes away: a delivery it cannot store is 503, not 202
    broker.kill()
    fresh = orjson.dumps(hubspot_body("after the broker left"))
    deadline = time.monotonic() + 60
    while True:
        asked = time.monotonic()
        answer = post(process, fresh, hubspot_sign(fresh, time.time(), ""))
        took = time.monotonic() - asked
        if answer.status_code != 202 or time.monotonic() > deadline:
            break
    assert answer.status_code == 503, answer.text
    assert took < 15, f"answered after {took:.0f}s: vendors time out sooner and retry"
    assert process.process.poll() is None, "the service stays up without its broker"

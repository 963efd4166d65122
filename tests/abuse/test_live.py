"""The same abuse over real HTTP against ``hub up`` on a real broker: the rejections are
answered by the running server, and afterwards the raw topic holds only the one good
delivery. Also: a service whose broker vanishes answers webhooks 503 (the vendor retries),
never 202 for something it could not store."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from hub.api.auth import token_sha256
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, EmbeddedBroker, KafkaCluster
from tests.abuse.test_webhooks import PUBLIC, SECRET, TEN_MB, hubspot_body, hubspot_sign
from tests.integration.hub_process import HubProcess, free_port
from tests.integration.kafka_helpers import consume_all

TOKEN = "live-finance-token-0123456789"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, EmbeddedBroker]]:
    config = {
        "smoke": {"enabled": False},
        "departments": {"finance": {"token_sha256": token_sha256(TOKEN)}},
        "connectors": {
            "crm": {
                "type": "hubspot",
                "base_url": f"http://127.0.0.1:{free_port()}",  # nobody answers: backing off
                "access_token": "pat-test",
                "client_secret": SECRET,
                "webhook_url": f"{PUBLIC}/v1/webhooks/crm",
            }
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


def post(process: HubProcess, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{process.url}/v1/webhooks/crm", content=body, headers=headers, timeout=120)


def raw_request(process: HubProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", process.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_abuse_over_http_leaves_only_the_good_delivery_on_the_raw_topic(
    hub: tuple[HubProcess, EmbeddedBroker],
) -> None:
    process, broker = hub
    good = orjson.dumps(hubspot_body("hello"))
    now = time.time()
    cases = [
        (b'[{"eventId": 1,', hubspot_sign(b'[{"eventId": 1,', now, ""), 400),
        (good, hubspot_sign(good, now, "") | {"Content-Type": "text/plain"}, 400),
        (good, hubspot_sign(good, now, "") | {"X-HubSpot-Signature-v3": "AAAA"}, 401),
        (good, hubspot_sign(good, now - 3600, ""), 401),
        (
            b"[" * 100_000 + b"]" * 100_000,
            hubspot_sign(b"[" * 100_000 + b"]" * 100_000, now, ""),
            400,
        ),
        (
            good.replace(b"hello", b"\xff\xfe"),
            hubspot_sign(good.replace(b"hello", b"\xff\xfe"), now, ""),
            400,
        ),
        (b"x" * TEN_MB, hubspot_sign(b"x" * TEN_MB, now, ""), 413),
    ]
    for body, headers, status in cases:
        response = post(process, body, headers)
        assert response.status_code == status, (status, response.text[:300])
        assert response.headers["content-type"].startswith("application/json")
    accepted = post(process, good, hubspot_sign(good, time.time(), ""))
    assert accepted.status_code == 202, accepted.text
    assert post(process, good, hubspot_sign(good, time.time(), "")).json()["status"] == "duplicate"

    cluster = KafkaCluster(broker.bootstrap_servers, "embedded", EMBEDDED_CAPABILITIES)
    records = asyncio.run(consume_all(cluster, "raw.crm.webhook_event", expected=2, timeout=5))
    assert len(records) == 1, "only the good delivery reached the raw topic"
    assert orjson.loads(records[0].value) == orjson.loads(good)[0]

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

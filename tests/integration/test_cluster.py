"""Broker selection and the embedded broker's lifecycle, on the real thing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.runtime.cluster import (
    EMBEDDED_CAPABILITIES,
    EmbeddedBroker,
    EmbeddedBrokerError,
    KafkaCluster,
    detect_capabilities,
    provide_cluster,
)
from hub.runtime.settings import KafkaSettings
from schemas import Envelope, stable_event_id
from tests.integration.kafka_helpers import consume_all, make_topics, produce

REPO = Path(__file__).resolve().parents[2]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_embedded_broker_starts_on_a_free_loopback_port_and_stops_cleanly() -> None:
    broker = EmbeddedBroker()
    broker.start()
    try:
        assert broker.is_running()
        assert _listening(broker.port)
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
    finally:
        broker.stop()
    assert not broker.is_running()
    assert not _listening(broker.port)


_OWNER = """
import sys, time
from hub.runtime.cluster import EmbeddedBroker
broker = EmbeddedBroker()
broker.start()
print(broker.pid, broker.port, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone as far as anyone can use it
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_the_embedded_broker_dies_with_a_killed_owner() -> None:
    """``hub up`` killed (kill -9, the OOM killer) leaves no broker holding its memory and
    port: the broker gets SIGKILL when the process that started it dies."""
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert owner.stdout is not None
    pid, port = (int(v) for v in owner.stdout.readline().split())
    try:
        assert _alive(pid)
        assert _listening(port)
        owner.kill()
        owner.wait(10)
        deadline = time.monotonic() + 10
        # the leader thread may show as a zombie while the others still close its sockets
        while (_alive(pid) or _listening(port)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the broker outlived the process that started it"
        assert not _listening(port)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_taken_port_is_refused_rather_than_silently_shared() -> None:
    with EmbeddedBroker() as first, pytest.raises(EmbeddedBrokerError, match="already in use"):
        EmbeddedBroker(port=first.port).start()


async def test_capability_probe_agrees_with_the_embedded_flags() -> None:
    with EmbeddedBroker() as broker:
        probed = await detect_capabilities(
            KafkaSettings(bootstrap_servers=broker.bootstrap_servers), timeout=5
        )
    assert probed.idempotent_producer is EMBEDDED_CAPABILITIES.idempotent_producer is False


def test_bootstrap_servers_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedBroker() as broker:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
        with provide_cluster(allow_container=True) as cluster:
            assert cluster.kind == "external"
            assert cluster.bootstrap_servers == broker.bootstrap_servers
            assert cluster.capabilities.idempotent_producer is False, "probed, not assumed"


def test_without_configuration_the_embedded_broker_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with provide_cluster() as cluster:
        assert cluster.kind == "embedded"
        assert cluster.producer_options()["enable_idempotence"] is False
        port = int(cluster.bootstrap_servers.rsplit(":", 1)[1])
        assert _listening(port)
    assert not _listening(port), "the broker stops with the context"


async def test_envelopes_survive_the_wire(kafka_cluster: KafkaCluster, unique: str) -> None:
    topic = f"test.envelope.{unique}"
    await make_topics(kafka_cluster, topic)
    events = [
        Envelope(
            id=stable_event_id("test", unique, str(i)),
            source="/test",
            type="order.placed",
            partitionkey=f"SO{i % 3}",
            data={"n": i, "note": "grüße"},
        )
        for i in range(30)
    ]
    await produce(kafka_cluster, topic, [e.to_kafka() for e in events])
    records = await consume_all(kafka_cluster, topic, expected=30)
    decoded = [Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers) for r in records]
    assert sorted(decoded, key=lambda e: e.data["n"]) == events
    by_key: dict[str, list[int]] = {}
    for event in decoded:
        by_key.setdefault(event.partitionkey or "", []).append(event.data["n"])
    assert all(ns == sorted(ns) for ns in by_key.values()), "per-key order holds"

"""Broker selection and the embedded broker's lifecycle, on the real thing."""

from __future__ import annotations

import socket

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

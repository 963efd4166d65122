"""A service whose broker goes away says so (503, one clear log line) and does not crash;
one started before its broker waits, reports not-ready, and becomes ready once it answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, EmbeddedBroker, KafkaCluster
from hub.topics import catalog, create_topics
from tests.integration.hub_process import HubProcess, free_port

REPO = Path(__file__).resolve().parents[2]


def _create_catalog(broker: EmbeddedBroker) -> None:
    cluster = KafkaCluster(broker.bootstrap_servers, "embedded", EMBEDDED_CAPABILITIES)
    asyncio.run(create_topics(cluster, catalog(HubConfig())))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(log_dir=tmp_path)
    yield broker
    broker.stop()


def _run_passthrough(broker: EmbeddedBroker, tmp_path: Path) -> HubProcess:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "HUB_STATE_DIR": str(tmp_path / "state"),
    }
    return HubProcess("run", "smoke-passthrough", port=free_port(), env=env, cwd=REPO)


def test_killed_broker_makes_the_service_unready_not_dead(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    broker.start()
    _create_catalog(broker)
    service = _run_passthrough(broker, tmp_path)
    try:
        service.wait_for(lambda: service.status("/readyz") == 200, 40, "readyz 200")
        broker.kill()
        took = service.wait_for(lambda: service.status("/readyz") == 503, 15, "readyz 503")
        body = service.get("/readyz").json()
        assert body["status"] == "not ready"
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["broker"]["error"]
        time.sleep(3)
        assert service.process.poll() is None, "the service stays up and keeps reporting"
        assert service.status("/healthz") == 200
        unreachable = [line for line in service.stderr if "kafka cluster unreachable" in line]
        assert len(unreachable) == 1, "the loss is logged once, clearly, not per retry"
        assert broker.bootstrap_servers in unreachable[0]
        print(f"readyz went 503 {took:.1f} s after the broker was killed")  # noqa: T201 - the figure, not a bound
    finally:
        assert service.stop() == 0
    assert "Traceback" not in "".join(service.stderr)


def test_service_started_before_its_broker_waits_then_becomes_ready(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    service = _run_passthrough(broker, tmp_path)
    try:
        service.wait_for(lambda: service.status("/healthz") == 200, 20, "healthz 200")
        body = service.get("/readyz").json()
        assert service.status("/readyz") == 503
        assert body["checks"]["broker"]["ok"] is False
        broker.start()
        service.wait_for(
            lambda: "topics missing" in str(service.get("/readyz").json()), 20, "missing topics"
        )
        _create_catalog(broker)
        service.wait_for(lambda: service.status("/readyz") == 200, 60, "readyz 200")
    finally:
        assert service.stop() == 0

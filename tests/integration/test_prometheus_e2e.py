"""A real Prometheus server scrapes `hub up` on loopback and answers PromQL on catalog metrics."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.integration.hub_process import HubProcess, free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(
        self, promql: str, timeout: float, accept: Callable[[list[dict[str, Any]]], bool] = bool
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                result = self.query(promql)
            except httpx.HTTPError:
                result = []
            if accept(result):
                return result
            time.sleep(0.5)
        targets = httpx.get(f"{self.url}/api/v1/targets", timeout=5).json()
        raise AssertionError(f"{promql!r} gave {result} after {timeout}s; targets: {targets}")


def start_prometheus(tmp_path: Path, target_port: int) -> PrometheusServer:
    binary = shutil.which("prometheus")
    assert binary, "Debian's prometheus is missing: run 'make deploy-tools'"
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(REPO / "deploy/helm/handoff/files/prometheus-rules.yaml")],
                "scrape_configs": [
                    {
                        "job_name": "handoff",
                        "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}],
                    }
                ],
            }
        )
    )
    log = tmp_path / "prometheus.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return PrometheusServer(f"http://127.0.0.1:{port}", process, log)


def write_exports(root: Path) -> None:
    """A small jsonl export: a customer, an order placed and confirmed a minute ago (end-to-end
    latency) and an order placed two days ago and never confirmed (an SLA breach)."""
    now = datetime.now(UTC)
    recent, old = (now - timedelta(minutes=1)).isoformat(), (now - timedelta(days=2)).isoformat()
    line = {"sku": "CHAIR-OAK", "description": "Oak chair", "quantity": 2, "unit_price": "60.00"}
    order = {"customer_id": "C-1", "currency": "EUR", "total": "120.00", "lines": [line]}
    files = {
        "customer": [
            {
                "id": "C-1",
                "name": "Muster GmbH",
                "emails": ["info@muster.example"],
                "created_at": old,
                "updated_at": old,
            }
        ],
        "order": [
            {
                **order,
                "id": "SO-1",
                "number": "SO/1",
                "status": "placed",
                "placed_at": recent,
                "updated_at": recent,
            },
            {
                **order,
                "id": "SO-1",
                "number": "SO/1",
                "status": "confirmed",
                "placed_at": recent,
                "updated_at": now.isoformat(),
            },
            {
                **order,
                "id": "SO-2",
                "number": "SO/2",
                "status": "placed",
                "placed_at": old,
                "updated_at": old,
            },
        ],
    }
    for entity, records in files.items():
        (root / entity).mkdir(parents=True)
        (root / entity / "export.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
        )


@pytest.fixture
def hub_and_prometheus(tmp_path: Path) -> Iterator[tuple[HubProcess, PrometheusServer]]:
    """`hub up` with the shipped hub.yaml (processes and SLAs), the smoke path on, plus a jsonl
    connector instance ``shop``, and Prometheus scraping it every second."""
    write_exports(tmp_path / "exports")
    config = yaml.safe_load((REPO / "hub.yaml").read_text(encoding="utf-8"))
    config["smoke"] = {"enabled": True, "events_per_second": 5}
    config["connectors"] = {
        "shop": {
            "type": "jsonl",
            "directory": str(tmp_path / "exports"),
            "poll_interval_seconds": 0.2,
        }
    }
    (tmp_path / "hub.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    hub = HubProcess(
        "up",
        port=free_port(),
        env={
            "HUB_CONFIG": str(tmp_path / "hub.yaml"),
            "HUB_STATE_DIR": str(tmp_path / "state"),
            # a fresh timeline store: SLA breaches are recorded once per store
            "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'timeline.db'}",
            "KAFKA_BOOTSTRAP_SERVERS": "",
        },
        cwd=tmp_path,
    )
    prometheus = start_prometheus(tmp_path, hub.port)
    try:
        yield hub, prometheus
    finally:
        prometheus.process.terminate()
        try:
            prometheus.process.wait(15)
        except subprocess.TimeoutExpired:
            prometheus.process.kill()
        hub.kill()


def _values(result: list[dict[str, Any]]) -> list[float]:
    return [float(r["value"][1]) for r in result]


def test_prometheus_queries_lag_flow_latency_and_sla_metrics_of_hub_up(
    hub_and_prometheus: tuple[HubProcess, PrometheusServer],
) -> None:
    hub, prometheus = hub_and_prometheus
    hub.wait_for(lambda: hub.status("/readyz") == 200, 40, "readyz 200")
    assert len(prometheus.wait_for('up{job="handoff"} == 1', 30)) == 1

    # consumer lag per group and partition, from the fetched high watermark
    lag = prometheus.wait_for(
        'hub_consumer_lag{group="hub-smoke-passthrough", topic="raw.smoke.order"}',
        30,
        accept=lambda r: len(r) == 3,
    )
    assert sorted(r["metric"]["partition"] for r in lag) == ["0", "1", "2"]
    assert all(v >= 0 for v in _values(lag))
    groups = prometheus.wait_for("hub:consumer_lag:sum_by_group", 30, accept=lambda r: len(r) >= 3)
    assert {"hub-smoke-passthrough", "hub-translator", "hub-router"} <= {
        r["metric"]["group"] for r in groups
    }

    # flow, broker and connector state
    flow = prometheus.wait_for('increase(hub_events_out_total{topic="hub.orders"}[10s]) > 0', 30)
    assert _values(flow)[0] > 0
    assert _values(prometheus.query("hub_broker_up")) == [1.0]
    assert prometheus.wait_for('hub_connector_state{connector="shop", state="running"} == 1', 30)
    assert prometheus.query("sum(hub_received_messages_total) > 0"), "FastStream middleware"

    # end-to-end latency from the source event's time to the department topic
    latency = prometheus.wait_for(
        'hub_end_to_end_latency_seconds_count{department="sales"} > 0', 60
    )
    assert _values(latency)[0] >= 2  # order.placed and order.confirmed of SO-1 at least
    p99 = prometheus.query(
        "histogram_quantile(0.99, sum by (le) "
        '(hub_end_to_end_latency_seconds_bucket{department="sales"}))'
    )
    assert p99
    assert _values(p99)[0] > 0

    # SLA: SO-2 was placed two days ago and never confirmed
    breaches = prometheus.wait_for("sum by (process, owner) (hub_sla_breaches_total) > 0", 60)
    assert {r["metric"]["process"] for r in breaches} == {"order_to_delivery"}
    assert prometheus.wait_for("sum by (process, stage, owner) (hub_timeline_open_items) > 0", 30)

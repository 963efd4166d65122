"""A real Prometheus server scrapes `hub up` on loopback and answers PromQL on catalog metrics."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@pytest.fixture
def hub_and_prometheus(tmp_path: Path) -> Iterator[tuple[HubProcess, PrometheusServer]]:
    hub = HubProcess(
        "up",
        port=free_port(),
        env={"HUB_STATE_DIR": str(tmp_path / "state"), "KAFKA_BOOTSTRAP_SERVERS": ""},
        cwd=REPO,
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


def test_prometheus_scrapes_lag_flow_and_broker_state_from_hub_up(
    hub_and_prometheus: tuple[HubProcess, PrometheusServer],
) -> None:
    hub, prometheus = hub_and_prometheus
    hub.wait_for(lambda: hub.status("/readyz") == 200, 40, "readyz 200")

    up = prometheus.wait_for('up{job="handoff"} == 1', 30)
    assert len(up) == 1

    lag = prometheus.wait_for(
        'hub_consumer_lag{group="hub-smoke-passthrough", topic="raw.smoke.order"}',
        30,
        accept=lambda r: len(r) == 3,
    )
    assert sorted(r["metric"]["partition"] for r in lag) == ["0", "1", "2"]
    assert all(v >= 0 for v in _values(lag))

    flow = prometheus.wait_for('increase(hub_events_out_total{topic="hub.orders"}[10s]) > 0', 30)
    assert _values(flow)[0] > 0
    assert _values(prometheus.query("hub_broker_up")) == [1.0]
    # the recording rule over the catalog metric evaluates on real samples too
    prometheus.wait_for('hub:consumer_lag:sum_by_group{group="hub-smoke-passthrough"}', 15)
    # the FastStream middleware's per-message basics are scraped under the same prefix
    assert prometheus.query("sum(hub_received_messages_total) > 0")


@pytest.mark.xfail(
    strict=True,
    reason="end-to-end latency and SLA metrics need the router, the timeline and 'hub up "
    "--demo' traffic, which are not on main yet",
)
def test_prometheus_scrapes_latency_and_sla_metrics_from_hub_up_demo(tmp_path: Path) -> None:
    hub = HubProcess(
        "up",
        "--demo",
        port=free_port(),
        env={"HUB_STATE_DIR": str(tmp_path / "state"), "KAFKA_BOOTSTRAP_SERVERS": ""},
        cwd=REPO,
    )
    prometheus = start_prometheus(tmp_path, hub.port)
    try:
        hub.wait_for(lambda: hub.status("/readyz") == 200, 40, "readyz 200")
        latency = prometheus.wait_for("sum(hub_end_to_end_latency_seconds_count) > 0", 45)
        assert _values(latency)[0] > 0
        p95 = prometheus.wait_for(
            "histogram_quantile(0.95, sum by (le) "
            "(rate(hub_end_to_end_latency_seconds_bucket[30s])))",
            30,
        )
        assert _values(p95)[0] >= 0
        prometheus.wait_for("sum by (process, stage, owner) (hub_timeline_open_items)", 60)
        prometheus.wait_for("sum(hub_sla_breaches_total) > 0", 120)
    finally:
        prometheus.process.terminate()
        prometheus.process.wait(15)
        hub.kill()

"""``hub up`` with a configured jsonl instance: raw events flow, state and cursors are visible."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.hub_process import HubProcess, free_port

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tests" / "connectors" / "jsonl" / "fixtures" / "source"


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:{{([^}}]*)}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


@pytest.fixture
def hub_with_connector(tmp_path: Path) -> Iterator[tuple[HubProcess, Path]]:
    exports = tmp_path / "exports"
    shutil.copytree(SOURCE, exports)
    config = tmp_path / "hub.yaml"
    config.write_text(
        "smoke:\n  enabled: false\n"
        "connectors:\n"
        "  shop:\n"
        "    type: jsonl\n"
        "    directory: ${SHOP_EXPORTS}\n"
        "    poll_interval_seconds: 0.2\n"
    )
    env = {
        "HUB_CONFIG": str(config),
        "HUB_STATE_DIR": str(tmp_path / "state"),
        "KAFKA_BOOTSTRAP_SERVERS": "",
        "SHOP_EXPORTS": str(exports),
    }
    process = HubProcess("up", port=free_port(), env=env, cwd=tmp_path)
    yield process, exports
    process.kill()


@pytest.mark.slow
def test_hub_up_runs_a_configured_connector(
    hub_with_connector: tuple[HubProcess, Path],
) -> None:
    hub, exports = hub_with_connector
    hub.wait_for(lambda: hub.status("/readyz") == 200, 40, "readyz 200")

    def instance() -> dict[str, object]:
        [shop] = hub.get("/v1/connectors").json()["connectors"]
        return shop  # type: ignore[no-any-return]

    customer_end = (exports / "customer" / "2026-11-21.jsonl").stat().st_size
    order_end = (exports / "order" / "2026-11-20.jsonl").stat().st_size
    ends = {
        "customer": f"2026-11-21.jsonl:{customer_end}",
        "order": f"2026-11-20.jsonl:{order_end}",
    }
    hub.wait_for(
        lambda: instance()["cursors"] == ends,
        30,
        "both streams read to the end",
    )
    shop = instance()
    assert shop["state"] == "running", shop
    assert shop["published"] == 7
    assert shop["dead_letters"] == 2

    metrics = hub.get("/metrics").text
    assert _metric(metrics, "hub_connector_events_total", connector="shop") == 7
    assert _metric(metrics, "hub_connector_state", connector="shop", state="running") == 1
    assert _metric(metrics, "hub_connector_state", connector="shop", state="failed") == 0
    assert _metric(metrics, "hub_dlq_events_total", stage="connector:shop") == 2

    with (exports / "order" / "2026-11-20.jsonl").open("a") as handle:
        handle.write(
            '{"id": "SO-4", "status": "cancelled", "updated_at": "2026-11-22T09:00:00+00:00"}\n'
        )
    hub.wait_for(lambda: instance()["published"] == 8, 20, "an appended line is picked up")

    listed = subprocess.run(
        [sys.executable, "-m", "hub", "connector", "list", "--url", hub.url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"^shop\s+jsonl\s+running\s+customer=", listed.stdout, re.M), listed.stdout

    bootstrap = re.search(r"Kafka\s+(\S+)", "".join(hub.stdout))
    assert bootstrap is not None
    offline = subprocess.run(
        [sys.executable, "-m", "hub", "connector", "list"],
        capture_output=True,
        text=True,
        check=False,
        cwd=exports.parent,
        env={
            **os.environ,
            "HUB_CONFIG": str(exports.parent / "hub.yaml"),
            "SHOP_EXPORTS": str(exports),
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap.group(1),
        },
    )
    assert offline.returncode == 0, offline.stderr
    assert re.search(r"^  jsonl\s+polling\s+Customers and orders", offline.stdout, re.M)
    assert re.search(r"^  shop\s+jsonl\s+configured\s+.*directory=", offline.stdout, re.M)
    assert f"cursor order: 2026-11-20.jsonl:{order_end + 81}" in offline.stdout, offline.stdout

    assert hub.stop(signal.SIGINT) == 0
    assert "Traceback" not in "".join(hub.stderr)

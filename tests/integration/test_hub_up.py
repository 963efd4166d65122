"""``hub up`` as a user meets it: banner, readiness, metrics showing flow, clean Ctrl-C."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.hub_process import HubProcess, free_port

REPO = Path(__file__).resolve().parents[2]


def _metric(text: str, name: str) -> float:
    values = [float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)]
    return sum(values)


def _start(tmp_path: Path, **extra_env: str) -> HubProcess:
    """``hub up`` on the shipped hub.yaml with the smoke path turned on: events flow with no
    connector configured."""
    config = yaml.safe_load((REPO / "hub.yaml").read_text(encoding="utf-8"))
    config["smoke"] = {"enabled": True, "events_per_second": 5}
    (tmp_path / "hub.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {
        "HUB_CONFIG": str(tmp_path / "hub.yaml"),
        "HUB_STATE_DIR": str(tmp_path / "state"),
        "HUB_LOG_FORMAT": "json",
        "KAFKA_BOOTSTRAP_SERVERS": "",
        **extra_env,
    }
    return HubProcess("up", port=free_port(), env=env, cwd=REPO)


@pytest.fixture
def hub_up(tmp_path: Path) -> Iterator[HubProcess]:
    process = _start(tmp_path)
    yield process
    process.kill()


def test_hub_up_runs_ready_flows_and_stops_cleanly(hub_up: HubProcess) -> None:
    banner_after = hub_up.wait_for(
        lambda: any("Press Ctrl-C to stop." in line for line in hub_up.stdout), 20, "banner"
    )
    banner = "".join(hub_up.stdout)
    assert "embedded Tansu broker" in banner
    assert f"http://127.0.0.1:{hub_up.port}/readyz" in banner
    assert banner_after < 20

    hub_up.wait_for(lambda: hub_up.status("/healthz") == 200, 10, "healthz 200")
    hub_up.wait_for(lambda: hub_up.status("/readyz") == 200, 30, "readyz 200")
    ready = hub_up.get("/readyz").json()
    assigned = ready["checks"]["consumers"]["assigned_partitions"]
    assert assigned["hub-smoke-passthrough"] == 3
    # every stage's consumer group has partitions before the hub calls itself ready
    assert {"hub-translator", "hub-router", "hub-timeline"} <= set(assigned)
    assert "hub-translate-and-route" not in assigned
    assert all(count > 0 for count in assigned.values()), assigned

    hub_up.wait_for(
        lambda: _metric(hub_up.get("/metrics").text, "hub_smoke_forwarded_events_total") >= 5,
        30,
        "events forwarded",
    )
    metrics = hub_up.get("/metrics").text
    assert _metric(metrics, "hub_received_messages_total") > 0, "FastStream middleware counts"
    assert _metric(metrics, "hub_broker_up") == 1
    assert 'hub_events_out_total{topic="hub.orders"}' in metrics

    code = hub_up.stop(signal.SIGINT)
    assert code == 0
    output = "".join(hub_up.stdout + hub_up.stderr)
    assert "Traceback" not in output
    assert "Handoff stopped." in "".join(hub_up.stdout)


def test_sigterm_is_a_graceful_stop(hub_up: HubProcess) -> None:
    hub_up.wait_for(lambda: hub_up.status("/readyz") == 200, 40, "readyz 200")
    assert hub_up.stop(signal.SIGTERM) == 0
    assert "Traceback" not in "".join(hub_up.stderr)
    assert any('"services stopped"' in line for line in hub_up.stderr), "shutdown is logged"


def test_one_hop_runs_translate_and_route_instead_of_translator_and_router(
    tmp_path: Path,
) -> None:
    """``HUB_ONE_HOP=true``: one service translates and routes each batch; translator and
    router do not run (they would deliver the same events twice)."""
    process = _start(tmp_path, HUB_ONE_HOP="true")
    try:
        process.wait_for(lambda: process.status("/readyz") == 200, 40, "readyz 200")
        assigned = process.get("/readyz").json()["checks"]["consumers"]["assigned_partitions"]
        assert assigned.get("hub-translate-and-route", 0) > 0, assigned
        assert "hub-translator" not in assigned
        assert "hub-router" not in assigned
        banner = "".join(process.stdout)
        assert "translate-and-route" in banner
        assert process.stop(signal.SIGINT) == 0
    finally:
        process.kill()

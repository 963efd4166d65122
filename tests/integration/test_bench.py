"""``hub bench --events 2000`` on the embedded broker: every figure is in the JSON, every
input reached its departments exactly once, and the ratios are computed from the figures.

No timing thresholds here (the machine is shared): presence, counts and arithmetic only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from hub.bench.driver import BASELINE_FACTOR, FLOOR_FACTOR, quix_importable
from hub.cli import app

EVENTS = 2000


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "--events",
            str(EVENTS),
            "--latency-seconds",
            "2",
            "--compare-quix",
            "--out",
            str(out),
            "--work-dir",
            str(folder / "work"),
        ],
        env=env,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return orjson.loads(Path(out).read_bytes()), result.output


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and value > 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_figure_is_present_and_sane(run: tuple[dict[str, Any], str]) -> None:
    figures, _ = run
    assert figures["records"]["count"] == EVENTS
    assert figures["records"]["mean_bytes"] > 300
    assert _positive(figures["in_process"]["events_per_s"])

    base = figures["baseline"]
    assert base["inputs_delivered"] == base["inputs_expected"] == EVENTS * BASELINE_FACTOR
    assert _positive(base["events_per_s"])
    assert _positive(base["peak_rss_mb"])
    # run before the hub's phases and again after them; the ratios divide by the mean
    assert len(base["runs"]) == 2
    for one in base["runs"]:
        assert one["complete"] is True
        assert one["inputs_delivered"] == one["inputs_expected"] == EVENTS * BASELINE_FACTOR
        assert _positive(one["events_per_s"])
    assert base["events_per_s"] == pytest.approx(
        sum(one["events_per_s"] for one in base["runs"]) / 2, abs=0.1
    )

    for name in ("translate_route", "combined"):
        stage = figures[name]
        assert stage["complete"] is True, name
        assert stage["inputs_delivered"] == EVENTS, name
        assert stage["deliveries"] == stage["deliveries_expected"] > EVENTS, name
        assert stage["duplicates"] == 0, name
        assert _positive(stage["events_per_s"]), name
        assert stage["ratio_to_baseline"] == pytest.approx(
            stage["events_per_s"] / base["events_per_s"], abs=1e-3
        )
        assert _positive(stage["peak_rss_mb"]), name
    # the one-hop service's Kafka work alone, and the two services', deliver what their stage
    # code would have
    for name in ("floor", "pipeline_floor"):
        floor = figures[name]
        assert floor["complete"] is True, name
        assert floor["inputs_delivered"] == EVENTS * FLOOR_FACTOR, name
        assert floor["deliveries"] == floor["deliveries_expected"] > EVENTS * FLOOR_FACTOR, name
        assert floor["duplicates"] == 0, name
        assert floor["ratio_to_baseline"] == pytest.approx(
            floor["events_per_s"] / base["events_per_s"], abs=1e-3
        )

    tr = figures["translate_route"]
    assert tr["per_department"].keys() >= {"dept.sales", "dept.finance", "dept.support"}
    assert sum(tr["per_department"].values()) == tr["deliveries"] + tr["merge_events"]

    latency = figures["latency"]
    assert latency["complete"] is True
    assert latency["inputs_delivered"] == latency["inputs"]
    assert latency["deliveries"] >= latency["inputs"]
    assert 0 < latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]

    # the plain loop's latency at the one-hop phase's rate, over the same broker's state
    one_hop, loop = figures["combined"]["latency"], figures["baseline_latency"]
    assert loop["complete"] is True
    assert loop["inputs_delivered"] == loop["deliveries"] == loop["inputs"] > 0
    assert loop["target_rate_per_s"] == pytest.approx(one_hop["rate_per_s"], rel=0.01)
    assert 0 < loop["p50_ms"] <= loop["p99_ms"] <= loop["max_ms"]

    timeline = figures["timeline"]
    assert timeline["stored"] == timeline["distinct_events"] > 0
    assert timeline["canonical_records"] >= timeline["distinct_events"]
    assert _positive(timeline["events_per_s"])
    assert _positive(timeline["peak_rss_mb"])

    names = {row["target"] for row in figures["targets"]}
    assert "timeline ingestion (events/s)" in names
    for row in figures["targets"]:
        assert row["met"] in (True, False, None)
        assert (row["met"] is None) == (row["measured"] is None)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_report_splits_a_record_into_kafka_work_and_stage_code(
    run: tuple[dict[str, Any], str],
) -> None:
    figures, output = run
    # the hub's floor lines, two services first (with Quix Streams there is a third one,
    # without the split)
    lines = [x for x in output.splitlines() if "us of it Kafka work" in x]
    assert len(lines) == 2
    for line, whole_name, floor_name in zip(
        lines, ("translate_route", "combined"), ("pipeline_floor", "floor"), strict=True
    ):
        whole = 1e6 / figures[whole_name]["events_per_s"]
        kafka = 1e6 / figures[floor_name]["events_per_s"]
        assert f"per record {whole:.0f} us in all, {kafka:.0f} us of it Kafka work" in line


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quix_comparison_without_quix_prints_how_to_install(
    run: tuple[dict[str, Any], str],
) -> None:
    figures, output = run
    if quix_importable(None):
        assert figures["quix"]["available"] is True
        assert figures["quix"]["ratio_hub_to_quix"] == pytest.approx(
            figures["translate_route"]["events_per_s"] / figures["quix"]["events_per_s"],
            abs=1e-3,
        )
        floor = figures["quix"]["floor"]
        assert floor["complete"] is True
        assert floor["deliveries"] == floor["deliveries_expected"] == figures["floor"]["deliveries"]
        assert figures["floor"]["ratio_to_quix_floor"] == pytest.approx(
            figures["floor"]["events_per_s"] / floor["events_per_s"], abs=1e-3
        )
    else:
        assert figures["quix"] == {"available": False, "hint": figures["quix"]["hint"]}
        assert "pip install 'handoff[bench]'" in output

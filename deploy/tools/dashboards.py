"""Generate the Grafana dashboards in deploy/helm/handoff/dashboards/ from short panel lists.

Run ``python deploy/tools/dashboards.py`` after changing a panel; ``--check`` fails when the
committed JSON differs (``make check-deploy`` runs it). Every query may use only metrics of
the catalog (docs/metrics.md) and the recording rules; the checks in checks.py prove it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "helm" / "handoff" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


@dataclass
class P:
    """One panel: title, queries as (expr, legend), visualisation and width."""

    title: str
    queries: list[tuple[str, str]]
    type: str = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _panel(panel: P, pid: int, x: int, y: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": pid,
        "type": panel.type,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": panel.options,
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
                "range": panel.type != "table",
                "instant": panel.type == "table",
            }
            for i, (expr, legend) in enumerate(panel.queries)
        ],
    }
    return out


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
    }


def dashboard(
    uid: str, title: str, description: str, panels: list[P], variables: list[dict[str, Any]]
) -> dict[str, Any]:
    placed: list[dict[str, Any]] = []
    x = y = row_height = 0
    for pid, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append(_panel(panel, pid, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    datasource_var = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {"text": "Prometheus", "value": "prometheus"},
    }
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["handoff"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "templating": {"list": [datasource_var, *variables]},
        "annotations": {"list": []},
        "links": [],
        "panels": placed,
    }


def overview() -> dict[str, Any]:
    lat = "hub_end_to_end_latency_seconds_bucket"
    return dashboard(
        "handoff-overview",
        "Handoff / Hub overview",
        "Flow through the hub, consumer lag, dead letters and end-to-end latency.",
        [
            P("Kafka reachable (all pods)", [("min(hub_broker_up)", "broker up")], "stat", width=6),
            P(
                "Dead letters in range",
                [("sum(increase(hub_dlq_events_total[$__range]))", "dead letters")],
                "stat",
                width=6,
            ),
            P(
                "End-to-end latency p95",
                [(f"histogram_quantile(0.95, sum by (le) (rate({lat}[{RATE}])))", "p95")],
                "stat",
                unit="s",
                width=6,
            ),
            P(
                "Total consumer lag",
                [("sum(hub_consumer_lag)", "records behind")],
                "stat",
                width=6,
            ),
            P(
                "Records consumed per topic",
                [(f"sum by (topic) (rate(hub_events_in_total[{RATE}]))", "{{topic}}")],
                unit="ops",
            ),
            P(
                "Records produced per topic",
                [(f"sum by (topic) (rate(hub_events_out_total[{RATE}]))", "{{topic}}")],
                unit="ops",
            ),
            P(
                "Delivered to departments per event type",
                [
                    (
                        f"sum by (department, type) (rate(hub_routed_events_total[{RATE}]))",
                        "{{department}} {{type}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Handler throughput (FastStream)",
                [
                    (
                        f"sum by (handler, status) "
                        f"(rate(hub_received_processed_messages_total[{RATE}]))",
                        "{{handler}} {{status}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Consumer lag per group",
                [("hub:consumer_lag:sum_by_group", "{{group}}")],
                description="Records behind the high watermark (computed by each consumer).",
            ),
            P(
                "Consumer lag per partition",
                [("max by (group, topic, partition) (hub_consumer_lag)", "")],
                "table",
            ),
            P(
                "Dead letters per stage (rate)",
                [
                    (
                        f"sum by (stage, error_class) (rate(hub_dlq_events_total[{RATE}]))",
                        "{{stage}} {{error_class}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Dead letters written per stage in range",
                [("sum by (stage) (increase(hub_dlq_events_total[$__range]))", "{{stage}}")],
                "bargauge",
            ),
            P(
                "Translation failures by reason",
                [
                    (
                        "sum by (connector, reason) "
                        f"(rate(hub_translation_failures_total[{RATE}]))",
                        "{{connector}} {{reason}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Routing failures by reason",
                [(f"sum by (reason) (rate(hub_routing_failures_total[{RATE}]))", "{{reason}}")],
                unit="ops",
            ),
            P(
                "End-to-end latency (source time to department topic)",
                [
                    (f"histogram_quantile(0.5, sum by (le) (rate({lat}[{RATE}])))", "p50"),
                    (f"histogram_quantile(0.95, sum by (le) (rate({lat}[{RATE}])))", "p95"),
                    (f"histogram_quantile(0.99, sum by (le) (rate({lat}[{RATE}])))", "p99"),
                ],
                unit="s",
            ),
            P(
                "End-to-end latency p95 per department",
                [
                    (
                        f"histogram_quantile(0.95, sum by (le, department) (rate({lat}[{RATE}])))",
                        "{{department}}",
                    )
                ],
                unit="s",
            ),
            P(
                "Share of events slower than the 60 s objective",
                [
                    ("hub:end_to_end_latency:slow_ratio_rate5m", "5m"),
                    ("hub:end_to_end_latency:slow_ratio_rate1h", "1h"),
                ],
                unit="percentunit",
            ),
            P(
                "Handler duration p95 (FastStream)",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, handler) "
                        f"(rate(hub_received_processed_messages_duration_seconds_bucket[{RATE}])))",
                        "{{handler}}",
                    )
                ],
                unit="s",
            ),
        ],
        [],
    )


def connectors() -> dict[str, Any]:
    sel = 'connector=~"$connector"'
    return dashboard(
        "handoff-connectors",
        "Handoff / Connectors",
        "State, throughput, checkpoints and webhook rejections of each connector instance.",
        [
            P(
                "Connector state",
                [(f"max by (connector, state) (hub_connector_state{{{sel}}}) == 1", "")],
                "table",
                width=8,
                description="The state each instance is in now (failed connectors stay listed).",
            ),
            P(
                "Failed connectors",
                [(f'sum(hub_connector_state{{{sel}, state="failed"}})', "failed")],
                "stat",
                width=4,
            ),
            P(
                "State over time",
                [
                    (
                        f"max by (connector, state) (hub_connector_state{{{sel}}}) * "
                        "on (state) group_left() "
                        '(label_replace(vector(1), "state", "running", "", "") or '
                        'label_replace(vector(2), "state", "backing_off", "", "") or '
                        'label_replace(vector(3), "state", "failed", "", ""))',
                        "{{connector}} {{state}}",
                    )
                ],
                "state-timeline",
                width=12,
                description="1 running, 2 backing off, 3 failed.",
            ),
            P(
                "Raw events published per entity",
                [
                    (
                        f"sum by (connector, entity) "
                        f"(rate(hub_connector_events_total{{{sel}}}[{RATE}]))",
                        "{{connector}} {{entity}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Checkpoint age",
                [
                    (
                        "max by (connector, stream) "
                        f"(hub_connector_checkpoint_age_seconds{{{sel}}})",
                        "{{connector}} {{stream}}",
                    )
                ],
                unit="s",
            ),
            P(
                "Webhook rejections by reason",
                [
                    (
                        f"sum by (connector, reason) "
                        f"(rate(hub_webhook_rejections_total{{{sel}}}[{RATE}]))",
                        "{{connector}} {{reason}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Translation failures",
                [
                    (
                        f"sum by (connector, reason) "
                        f"(rate(hub_translation_failures_total{{{sel}}}[{RATE}]))",
                        "{{connector}} {{reason}}",
                    )
                ],
                unit="ops",
            ),
            P(
                "Translator lag on raw topics",
                [
                    (
                        'sum by (topic) (hub_consumer_lag{topic=~"raw\\\\..*"})',
                        "{{topic}}",
                    )
                ],
                width=24,
            ),
        ],
        [_variable("connector", "Connector", "label_values(hub_connector_state, connector)")],
    )


def process() -> dict[str, Any]:
    sel = 'process=~"$process"'
    return dashboard(
        "handoff-process",
        "Handoff / Process view",
        "For department heads: orders and tickets per stage, time in stage, SLA breaches.",
        [
            P(
                "Open items per stage",
                [(f"sum by (stage) (hub_timeline_open_items{{{sel}}})", "{{stage}}")],
                "bargauge",
            ),
            P(
                "Open items per owning department",
                [(f"sum by (owner) (hub_timeline_open_items{{{sel}}})", "{{owner}}")],
                "piechart",
            ),
            P(
                "Time in stage (p50)",
                [
                    (
                        "histogram_quantile(0.5, sum by (le, stage) "
                        f"(rate(hub_timeline_stage_duration_seconds_bucket{{{sel}}}[$__range])))",
                        "{{stage}}",
                    )
                ],
                "bargauge",
                unit="s",
            ),
            P(
                "Time in stage (p90)",
                [
                    (
                        "histogram_quantile(0.9, sum by (le, stage) "
                        f"(rate(hub_timeline_stage_duration_seconds_bucket{{{sel}}}[$__range])))",
                        "{{stage}}",
                    )
                ],
                "bargauge",
                unit="s",
            ),
            P(
                "SLA breaches per department in range",
                [
                    (
                        f"sum by (owner) (increase(hub_sla_breaches_total{{{sel}}}[$__range]))",
                        "{{owner}}",
                    )
                ],
                "bargauge",
            ),
            P(
                "SLA breaches per stage over time",
                [
                    (
                        f"sum by (stage, owner) (increase(hub_sla_breaches_total{{{sel}}}[1h]))",
                        "{{stage}} ({{owner}})",
                    )
                ],
            ),
            P(
                "Order events per hour",
                [
                    (
                        "max by (type) (increase(hub_routed_events_total"
                        '{type=~"order\\\\..*|payment\\\\..*|invoice\\\\..*|shipment\\\\..*|return\\\\..*"}[1h]))',
                        "{{type}}",
                    )
                ],
                width=24,
            ),
        ],
        [_variable("process", "Process", "label_values(hub_timeline_open_items, process)")],
    )


DASHBOARDS = {"overview": overview, "connectors": connectors, "process": process}


def rendered() -> dict[str, str]:
    return {
        f"{name}.json": json.dumps(build(), indent=2, sort_keys=False) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed JSON differs")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")  # noqa: T201 - a command-line tool
    if stale:
        print(  # noqa: T201
            f"out of date: {', '.join(stale)}; run python deploy/tools/dashboards.py",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generated ops files match the catalogs; dashboards and rules query only catalog metrics."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import checks
import yaml
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

from hub.commands.ops import (
    METRICS_DOC,
    TOPICS_FILE,
    known_series,
    metrics_markdown,
    topics_document,
    topics_yaml,
)
from hub.config import HubConfig
from hub.runtime.metrics import MIDDLEWARE_METRICS, PREFIX, HubMetrics
from hub.topics import catalog

REPO = Path(__file__).resolve().parents[2]


def test_metrics_doc_is_generated_from_the_catalog() -> None:
    assert (REPO / METRICS_DOC).read_text(encoding="utf-8") == metrics_markdown(), (
        "docs/metrics.md drifted from hub/runtime/metrics.py; run 'hub ops metrics-doc'"
    )


def test_metrics_doc_names_every_catalog_metric() -> None:
    doc = (REPO / METRICS_DOC).read_text(encoding="utf-8")
    metrics = HubMetrics.create()
    for attribute in HubMetrics.catalog():
        assert f"`metrics.{attribute}`" in doc
    for family in metrics.registry.collect():
        assert f"`{family.name}`" in doc or f"`{family.name.removesuffix('_info')}`" in doc


def test_chart_topics_are_the_topic_catalog() -> None:
    committed = (REPO / TOPICS_FILE).read_text(encoding="utf-8")
    assert committed == topics_yaml(), "run 'hub ops topics'"
    names = [t["name"] for t in yaml.safe_load(committed)["topics"]]
    assert names == [s.name for s in catalog(HubConfig())]


def test_rendered_kafka_topics_follow_the_catalog_and_overrides() -> None:
    rendered = checks.helm_template(values=checks.VALUES_CASES["everything"])
    topics = {
        d["spec"]["topicName"]: d for d in checks.documents(rendered) if d["kind"] == "KafkaTopic"
    }
    for spec in topics_document()["topics"]:
        assert (
            topics[spec["name"]]["spec"]["config"]["cleanup.policy"]
            == spec["config"]["cleanup.policy"]
        )
    assert topics["hub.orders"]["spec"]["partitions"] == 12  # values override
    assert topics["hub.dlq"]["spec"]["partitions"] == 3  # catalog default
    assert topics["raw.odoo.sale_order"]["metadata"]["name"] == "raw.odoo.sale-order"


def _middleware_families() -> dict[str, tuple[str, tuple[str, ...]]]:
    """What FastStream's middleware really registers, scraped from a registry."""
    registry = CollectorRegistry()
    broker = KafkaBroker(
        middlewares=[KafkaPrometheusMiddleware(registry=registry, metrics_prefix=PREFIX)]
    )

    @broker.subscriber("in", group_id="g")
    async def forward(body: dict[str, int]) -> None:
        await broker.publish(body, "out")

    @broker.subscriber("out", group_id="g2")
    async def fail(body: dict[str, int]) -> None:
        raise ValueError("exceptions are counted too")

    async def drive() -> None:
        async with TestKafkaBroker(broker) as test_broker:
            with contextlib.suppress(ValueError):
                await test_broker.publish({"n": 1}, "in")

    asyncio.run(drive())
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for family in registry.collect():
        labels = sorted({k for s in family.samples for k in s.labels if k != "le"})
        out[family.name] = (family.type, tuple(labels))
    return out


def test_middleware_metric_list_matches_what_faststream_exports() -> None:
    declared = {name: (kind, tuple(sorted(labels))) for name, kind, labels, _ in MIDDLEWARE_METRICS}
    assert _middleware_families() == declared


def test_dashboards_and_rules_query_only_catalog_metrics() -> None:
    known = known_series() | checks.recorded_series()
    dashboards = sorted(checks.DASHBOARDS.glob("*.json"))
    assert len(dashboards) == 3
    result = checks.unknown_metrics(checks.dashboard_exprs(dashboards), known)
    assert result.ok, result.detail
    result = checks.unknown_metrics(checks.rule_exprs(), known)
    assert result.ok, result.detail
    # the panels cover what operators and department heads asked for
    queried = {
        m
        for e in checks.dashboard_exprs(dashboards).values()
        for x in e
        for m in checks.metric_names(x)
    }
    for needed in (
        "hub_consumer_lag",
        "hub_dlq_events_total",
        "hub_end_to_end_latency_seconds_bucket",
        "hub_connector_state",
        "hub_connector_checkpoint_age_seconds",
        "hub_webhook_rejections_total",
        "hub_timeline_open_items",
        "hub_timeline_stage_duration_seconds_bucket",
        "hub_sla_breaches_total",
        "hub_received_processed_messages_total",
    ):
        assert needed in queried, needed


def test_metric_name_extraction() -> None:
    expr = (
        'sum by (group, topic) (rate(hub_events_in_total{topic=~"raw\\\\..*", service="x"}[5m]))'
        " / on (group) group_left() hub:consumer_lag:sum_by_group"
        " unless histogram_quantile(0.9, sum by (le)"
        " (rate(hub_x_bucket[$__rate_interval] offset 1h)))"
    )
    assert checks.metric_names(checks._grafana_to_promql(expr)) == {
        "hub_events_in_total",
        "hub:consumer_lag:sum_by_group",
        "hub_x_bucket",
    }


def test_each_connector_pod_gets_a_hub_yaml_with_only_its_instance() -> None:
    docs = checks.documents(checks.helm_template(values=checks.VALUES_CASES["everything"]))
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for instance in ("odoo", "zammad"):
        pod = deployments[f"handoff-connector-{instance}"]["spec"]["template"]["spec"]
        assert pod["containers"][0]["args"] == ["run", "connectors"]
        config_map = pod["volumes"][0]["configMap"]["name"]
        hub_yaml = yaml.safe_load(maps[config_map]["data"]["hub.yaml"])
        assert list(hub_yaml["connectors"]) == [instance]
        assert hub_yaml["departments"]  # the rest of hub.yaml is the same
    translator = deployments["handoff-translator"]["spec"]["template"]["spec"]
    assert translator["volumes"][0]["configMap"]["name"] == "handoff-config"

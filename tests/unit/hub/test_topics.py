"""The topic catalog covers the contract's topics and follows hub.yaml."""

from __future__ import annotations

from hub.config import parse_config
from hub.topics import catalog


def test_catalog_has_every_contract_topic() -> None:
    names = {spec.name for spec in catalog(parse_config("", env={}))}
    assert {
        "hub.orders",
        "hub.customers",
        "hub.support",
        "hub.identity",
        "hub.checkpoints",
        "hub.dlq",
    } <= names
    assert {
        f"dept.{d}" for d in ("sales", "finance", "logistics", "support", "marketing", "management")
    } <= names


def test_state_topics_are_compacted_and_event_topics_retained() -> None:
    specs = {spec.name: spec for spec in catalog(parse_config("", env={}))}
    for name in ("hub.identity", "hub.checkpoints"):
        assert specs[name].configs() == {"cleanup.policy": "compact"}
    assert specs["hub.orders"].configs()["cleanup.policy"] == "delete"
    assert int(specs["hub.dlq"].configs()["retention.ms"]) > int(
        specs["hub.orders"].configs()["retention.ms"]
    ), "dead letters outlive the events they came from"


def test_departments_and_partition_overrides_come_from_config() -> None:
    config = parse_config(
        "departments: {sales: {}, legal: {}}\ntopics: {partitions: {hub.orders: 12}}", env={}
    )
    specs = {spec.name: spec for spec in catalog(config, raw_streams=[("odoo", "sale_order")])}
    assert "dept.legal" in specs
    assert "dept.finance" not in specs
    assert specs["hub.orders"].partitions == 12
    assert specs["raw.odoo.sale_order"].key == "source record id"
    assert len(specs) == len(set(specs)), "no topic declared twice"

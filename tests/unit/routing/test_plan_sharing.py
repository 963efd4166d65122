"""Departments with equal policies share one field plan; the router encodes each view once."""

from __future__ import annotations

from types import SimpleNamespace

import orjson

from hub.config import HubConfig
from hub.routing.policy import PolicyTable
from hub.routing.reload import RulesHolder
from hub.services.router import RouterStage


def test_equal_policies_share_a_plan_and_different_ones_do_not() -> None:
    table = PolicyTable(HubConfig())
    sales = table.plan("order.placed", 1, "sales")
    assert table.plan("order.placed", 1, "finance") is sales  # same clearance and pii
    assert table.plan("order.placed", 1, "marketing") is not sales
    assert table.plan("order.confirmed", 1, "finance") is not sales


def test_departments_under_one_plan_get_the_same_bytes() -> None:
    data = {
        "order_id": "o-1",
        "customer_ref": {"system": "erp", "id": "7"},
        "customer_id": "c-1",
        "total": {"amount": "20000.00", "currency": "EUR"},
    }
    headers = [
        ("ce_type", b"order.placed"),
        ("ce_id", b"e-1"),
        ("ce_dataschema", b"urn:handoff:schema:order.placed:v1"),
    ]
    record = SimpleNamespace(
        topic="hub.orders", key=b"o-1", value=orjson.dumps(data), headers=headers
    )
    holder = RulesHolder(HubConfig())
    outputs = dict(RouterStage(holder).handle(record))  # type: ignore[arg-type]
    assert {"dept.sales", "dept.finance"} <= set(outputs)
    assert outputs["dept.sales"].value is outputs["dept.finance"].value
    table = holder.current.policies
    for topic, out in outputs.items():
        department = topic.removeprefix("dept.")
        expected = table.plan("order.placed", 1, department).apply(data)
        assert orjson.loads(out.value) == expected

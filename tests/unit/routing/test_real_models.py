"""The shipped policies against the real canonical models and their field labels."""

from __future__ import annotations

from typing import Any

import pytest

from hub.config import HubConfig
from hub.routing.config import FieldAction, level_rank
from hub.routing.policy import apply_policy
from schemas import Envelope, dataschema_uri, event_types, field_labels, model_for

CONFIG = HubConfig()


def _example(event_type: str) -> Envelope:
    model = model_for(event_type)
    return Envelope(
        id="e1",
        source="/test",
        type=event_type,
        dataschema=dataschema_uri(event_type, model.version),
        data=model.example().model_dump(mode="json"),
    )


def _leaves(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(node, list):
        return [p for item in node for p in _leaves(item, prefix + "[]")]
    return [prefix]


def _allowed_override(fields: dict[str, FieldAction], path: str) -> bool:
    return any(
        action is FieldAction.ALLOW and (path == p or path.startswith((p + ".", p + "[]")))
        for p, action in fields.items()
    )


def clearance_violations(
    config: HubConfig, department: str, event_type: str, data: Any
) -> list[str]:
    """Paths in ``data`` (as delivered to ``department``) that it may not see."""
    labels = field_labels(model_for(event_type))
    policy = config.routing.policy(department)
    problems: list[str] = []
    for path in _leaves(data):
        # a leaf inside a field labelled as a whole (external_ids: dict[str, str])
        label = next(
            (
                labels[p]
                for p in (path, path.removesuffix("[]"), path.rsplit(".", 1)[0])
                if p in labels
            ),
            None,
        )
        if label is None:
            problems.append(f"undeclared {path}")
        elif _allowed_override(policy.fields, path):
            continue
        elif level_rank(label.classification) > policy.rank:
            problems.append(f"{path} is {label.classification}")
        elif label.pii and not policy.pii:
            problems.append(f"{path} is personal data")
    return problems


@pytest.mark.parametrize("event_type", event_types())
@pytest.mark.parametrize("department", list(CONFIG.departments))
def test_no_field_above_clearance_reaches_a_department(event_type: str, department: str) -> None:
    seen = apply_policy(_example(event_type), department, CONFIG)
    assert seen.data
    assert clearance_violations(CONFIG, department, event_type, seen.data) == []


@pytest.mark.parametrize("event_type", event_types())
def test_a_new_undeclared_field_never_leaks(event_type: str) -> None:
    event = _example(event_type)
    event = event.model_copy(update={"data": {**event.data, "brand_new_secret": "x"}})
    for department in CONFIG.departments:
        assert "brand_new_secret" not in apply_policy(event, department, CONFIG).data


def test_marketing_sees_no_personal_data_of_a_customer() -> None:
    seen = apply_policy(_example("customer.created"), "marketing", CONFIG).data
    assert not {"name", "emails", "phones", "contacts", "addresses", "vat_id", "tax_id"} & set(seen)
    assert seen["customer_ref"]["system"]


def test_finance_sees_order_amounts_and_logistics_the_address_but_not_prices() -> None:
    order = _example("order.placed")
    assert apply_policy(order, "finance", CONFIG).data["total"] == order.data["total"]
    logistics = apply_policy(order, "logistics", CONFIG).data
    assert "total" not in logistics
    assert logistics["shipping_address"] == order.data["shipping_address"]
    assert all("unit_price" not in line for line in logistics["lines"])


def test_the_clearance_check_itself_catches_leaks() -> None:
    raw = _example("customer.created").data | {"brand_new": 1}
    problems = clearance_violations(CONFIG, "marketing", "customer.created", raw)
    assert "undeclared brand_new" in problems
    assert "name is personal data" in problems or any(p.startswith("name") for p in problems)

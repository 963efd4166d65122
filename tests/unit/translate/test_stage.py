"""The translation stage without a broker: translator, validation, identity, topic and key."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from connectors.kit.errors import UntranslatableRecord
from connectors.kit.registry import UnknownConnectorType
from hub.config import parse_config
from hub.identity.resolver import golden_id
from hub.runtime.producer import Output
from hub.topics import CUSTOMERS, IDENTITY, ORDERS, SUPPORT
from hub.translate.stage import NotARawEvent, TranslationStage, connector_type_of
from hub.translate.topics import UnroutableEvent, topic_and_key
from schemas import Envelope, SchemaError
from tests.unit.translate.table import T0, TestTranslators, raw_event

CONFIG = parse_config(
    """
identity:
  rules:
    - {kind: cross_reference, field: erp_customer_number, system: erp}
    - {kind: email}
    - {kind: vat_id}
""",
    env={},
)


def _decode(outputs: list[Output], topic: str) -> list[Envelope]:
    return [
        Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers)
        for t, r in outputs
        if t == topic
    ]


def _order(n: int, amount: str = "100.00", customer: str = "C1") -> Envelope:
    data = {"order": f"SO{n}", "state": "placed", "amount": amount, "customer": customer}
    return raw_event("erp", "order", f"SO{n}", 1, data, "erp")


def test_an_order_goes_to_hub_orders_keyed_by_order_id_with_the_golden_id() -> None:
    stage = TranslationStage(CONFIG, TestTranslators())
    raw = _order(1)
    outputs = stage.translate(raw)
    [event] = _decode(outputs, ORDERS)
    assert event.type == "order.placed"
    assert event.partitionkey == "erp:SO1"
    assert event.causationid == raw.id
    assert event.data["customer_id"] == golden_id("erp:C1")
    identity = [orjson.loads(r.value) for t, r in outputs if t == IDENTITY]
    assert identity == [{"customer_id": golden_id("erp:C1"), "evidence": []}]


def test_crm_cross_reference_joins_the_erp_customer() -> None:
    stage = TranslationStage(CONFIG, TestTranslators())
    erp = stage.translate(raw_event("erp", "customer", "C7", 1, {"n": 7, "customer": "C7"}, "erp"))
    crm = stage.translate(
        raw_event("crm", "company", "company/7", 1, {"n": 7, "customer": "company/7"}, "crm")
    )
    [a] = _decode(erp, CUSTOMERS)
    [b] = _decode(crm, CUSTOMERS)
    assert a.data["customer_id"] == b.data["customer_id"] == a.partitionkey == b.partitionkey


def test_a_later_cross_reference_emits_customer_merged() -> None:
    stage = TranslationStage(CONFIG, TestTranslators())
    # the CRM company and the ERP customer first look unrelated ...
    stage.translate(_order(1, customer="C9"))
    crm = {"n": 99, "customer": "company/9"}
    stage.translate(raw_event("crm", "company", "company/9", 1, crm, "crm"))
    # ... until the CRM record names the ERP customer number
    linked = {"n": 9, "customer": "company/9"}
    outputs = stage.translate(raw_event("crm", "company", "company/9", 2, linked, "crm"))
    merged = [e for e in _decode(outputs, CUSTOMERS) if e.type == "customer.merged"]
    assert len(merged) == 1
    survivor = merged[0].data["survivor_id"]
    assert survivor == min(golden_id("erp:C9"), golden_id("crm:company/9"))
    assert merged[0].partitionkey == survivor
    assert stage.resolver.resolve("erp", "C9") == stage.resolver.resolve("crm", "company/9")
    again = stage.translate(raw_event("crm", "company", "company/9", 2, linked, "crm"))
    assert not [e for e in _decode(again, CUSTOMERS) if e.type == "customer.merged"]


def test_tickets_go_to_hub_support_keyed_by_customer() -> None:
    stage = TranslationStage(CONFIG, TestTranslators())
    data = {"ticket": "T1", "priority": "urgent", "complaint": True, "customer": "user/1"}
    [event] = _decode(stage.translate(raw_event("desk", "ticket", "T1", 1, data, "desk")), SUPPORT)
    assert event.type == "complaint.opened"
    assert event.partitionkey == golden_id("desk:user/1")


@pytest.mark.parametrize(
    ("raw", "error", "match"),
    [
        (
            raw_event("erp", "order", "X", 1, {"poison": "bad total", "customer": "C1"}, "erp"),
            UntranslatableRecord,
            "poisoned",
        ),
        (raw_event("leg", "thing", "X", 1, {}, "legacy"), UnknownConnectorType, "legacy"),
        (
            raw_event(
                "erp",
                "order",
                "X",
                1,
                {"order": "SO1", "state": "placed", "amount": "1", "customer": "C1"},
                "erp",
            ).model_copy(update={"type": "order.placed"}),
            NotARawEvent,
            "raw.<connector type>",
        ),
        (
            raw_event(
                "erp",
                "order",
                "X",
                1,
                {"order": "SO1", "state": "placed", "amount": "-x", "customer": "C1"},
                "erp",
            ),
            ArithmeticError,
            None,
        ),
    ],
)
def test_failures_raise_and_leave_identity_alone(
    raw: Envelope, error: Any, match: str | None
) -> None:
    stage = TranslationStage(CONFIG, TestTranslators())
    with pytest.raises(error, match=match):
        stage.translate(raw)
    assert len(stage.resolver) == 0
    assert stage.unacked == []


def test_an_invalid_canonical_event_fails_validation_naming_the_field() -> None:
    stage = TranslationStage(CONFIG, lambda _: lambda raw: [_bad_currency(raw)])
    with pytest.raises(SchemaError, match="currency"):
        stage.translate(_order(1))
    assert len(stage.resolver) == 0


def _bad_currency(raw: Envelope) -> Envelope:
    [good] = TestTranslators().erp(raw)
    data = dict(good.data)
    data["total"] = {"amount": "1.00", "currency": "EURO"}
    return good.model_copy(update={"data": data})


@pytest.mark.parametrize(
    ("event_type", "data", "expected"),
    [
        ("order.placed", {"order_id": "o1"}, (ORDERS, "o1")),
        ("payment.received", {"order_id": "o1"}, (ORDERS, "o1")),
        ("return.requested", {"order_id": "o1"}, (ORDERS, "o1")),
        ("customer.created", {"customer_id": "c1"}, (CUSTOMERS, "c1")),
        ("lead.created", {"customer_id": None, "lead_id": "l1"}, (CUSTOMERS, "l1")),
        ("ticket.opened", {"customer_id": "c1", "ticket_id": "t1"}, (SUPPORT, "c1")),
        ("ticket.opened", {"customer_id": None, "ticket_id": "t1"}, (SUPPORT, "t1")),
        ("sla.breached", {"order_id": "o1", "customer_id": "c1"}, (ORDERS, "o1")),
        (
            "sla.breached",
            {"order_id": "o1", "ticket_id": "t1", "customer_id": "c1"},
            (SUPPORT, "c1"),
        ),
    ],
)
def test_topic_and_key(event_type: str, data: dict[str, Any], expected: tuple[str, str]) -> None:
    assert topic_and_key(event_type, data) == expected


def test_unknown_families_and_missing_keys_are_unroutable() -> None:
    with pytest.raises(UnroutableEvent):
        topic_and_key("smoke.order", {})
    with pytest.raises(UnroutableEvent):
        topic_and_key("order.placed", {})


def test_connector_type_of() -> None:
    assert connector_type_of("raw.odoo.sale_order") == "odoo"
    with pytest.raises(NotARawEvent):
        connector_type_of("order.placed")


def test_the_smoke_path_records_are_not_the_translators() -> None:
    from hub.services.smoke import smoke_record  # noqa: PLC0415

    stage = TranslationStage(CONFIG, TestTranslators())
    assert stage.translate(smoke_record("run", 1, T0)) == []

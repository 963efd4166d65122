"""Routing and field-policy cases as a table: event in, departments and visible fields out.

The labels here are a small stand-in model so that the policy machinery is tested on its
own; tests/unit/routing/test_real_models.py checks the same rules against the real schemas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from hub.config import HubConfig, parse_config
from hub.routing.policy import MASK, Label, PolicyTable, keyed_hash
from hub.routing.route import route
from schemas import Envelope


@dataclass(frozen=True)
class L:
    classification: str
    pii: bool = False


ORDER_LABELS: dict[str, L] = {
    "order_id": L("internal"),
    "customer_id": L("internal"),
    "customer_ref": L("internal"),
    "customer_ref.system": L("internal"),
    "customer_ref.id": L("internal"),
    "status": L("public"),
    "total": L("internal"),
    "total.amount": L("confidential"),
    "total.currency": L("internal"),
    "lines[].sku": L("internal"),
    "lines[].quantity": L("internal"),
    "lines[].unit_price.amount": L("confidential"),
    "lines[].unit_price.currency": L("internal"),
    "shipping_address.street": L("confidential", pii=True),
    "shipping_address.city": L("internal"),
    "contact_email": L("internal", pii=True),
    "internal_note": L("restricted"),
}
CUSTOMER_LABELS: dict[str, L] = {
    "customer_id": L("internal"),
    "name": L("internal"),
    "emails[]": L("internal", pii=True),
    "domain": L("public"),
    "vat_id": L("confidential"),
    "external_ids": L("internal"),
}
LABELS: dict[str, dict[str, L]] = {
    "order.placed": ORDER_LABELS,
    "customer.created": CUSTOMER_LABELS,
}


def stub_labels(event_type: str, version: int | None) -> Mapping[str, Label]:
    return LABELS.get(event_type, {})


ORDER = {
    "order_id": "odoo:SO1",
    "customer_id": "cust-1",
    "customer_ref": {"system": "odoo", "id": "42"},
    "status": "placed",
    "total": {"amount": "12500.00", "currency": "EUR"},
    "lines": [
        {"sku": "A", "quantity": 2, "unit_price": {"amount": "10.00", "currency": "EUR"}},
        {"sku": "B", "quantity": 1, "unit_price": {"amount": "5.00", "currency": "EUR"}},
    ],
    "shipping_address": {"street": "Hauptstr. 1", "city": "Berlin"},
    "contact_email": "a@acme.test",
    "internal_note": "VIP",
}
SMALL_ORDER = {**ORDER, "total": {"amount": "99.50", "currency": "EUR"}}
CUSTOMER = {
    "customer_id": "cust-1",
    "name": "ACME GmbH",
    "emails": ["a@acme.test", "b@acme.test"],
    "domain": "acme.test",
    "vat_id": "DE123",
    "external_ids": {"erp": "10042"},
    "brand_new_field": "surprise",
}

DEFAULT = HubConfig()
THRESHOLD_500 = parse_config(
    """
routing:
  rules:
    - name: orders
      types: [order.*]
      to: [sales]
    - name: big
      types: [order.placed]
      when: [{field: total.amount, op: gte, value: 500}]
      to: [finance, management]
    - name: eur-only
      types: [payment.received]
      when: [{field: amount.currency, op: in, value: [EUR, CHF]}]
      to: [finance]
    - name: no-ticket
      types: [sla.breached]
      when: [{field: ticket_id, op: exists, value: false}]
      to: [logistics]
""",
    env={},
)
EXTRA_DEPT = parse_config(
    """
departments:
  sales: {}
  legal: {}
routing:
  rules:
    - {name: all-complaints, types: [complaint.opened], to: [legal]}
    - name: not-low
      types: ['ticket.*']
      when: [{field: priority, op: ne, value: low}]
      to: [sales]
""",
    env={},
)

# (case, config, type, data, expected departments in order)
ROUTES: list[tuple[str, HubConfig, str, dict[str, Any], list[str]]] = [
    ("small order to sales only", DEFAULT, "order.placed", SMALL_ORDER, ["sales"]),
    ("large order also to finance", DEFAULT, "order.placed", ORDER, ["sales", "finance"]),
    (
        "large confirmed order also to finance",
        DEFAULT,
        "order.confirmed",
        ORDER,
        ["sales", "finance"],
    ),
    (
        "order exactly at threshold stays",
        DEFAULT,
        "order.placed",
        {**ORDER, "total": {"amount": "10000", "currency": "EUR"}},
        ["sales"],
    ),
    ("cancelled order to sales", DEFAULT, "order.cancelled", {"order_id": "x"}, ["sales"]),
    ("order without total to sales", DEFAULT, "order.placed", {"order_id": "x"}, ["sales"]),
    (
        "non-numeric total ignored",
        DEFAULT,
        "order.placed",
        {"total": {"amount": "lots"}},
        ["sales"],
    ),
    ("payment to sales and finance", DEFAULT, "payment.received", {}, ["sales", "finance"]),
    ("invoice to sales and finance", DEFAULT, "invoice.issued", {}, ["sales", "finance"]),
    ("shipment dispatched to logistics", DEFAULT, "shipment.dispatched", {}, ["logistics"]),
    ("shipment delivered to logistics", DEFAULT, "shipment.delivered", {}, ["logistics"]),
    ("return to logistics and finance", DEFAULT, "return.requested", {}, ["logistics", "finance"]),
    (
        "customer created to sales+marketing",
        DEFAULT,
        "customer.created",
        CUSTOMER,
        ["sales", "marketing"],
    ),
    ("customer merged to sales+marketing", DEFAULT, "customer.merged", {}, ["sales", "marketing"]),
    ("lead to sales+marketing", DEFAULT, "lead.created", {}, ["sales", "marketing"]),
    ("opportunity won to sales+marketing", DEFAULT, "opportunity.won", {}, ["sales", "marketing"]),
    ("ticket opened to support", DEFAULT, "ticket.opened", {"priority": "urgent"}, ["support"]),
    (
        "ticket escalated also to management",
        DEFAULT,
        "ticket.escalated",
        {},
        ["support", "management"],
    ),
    (
        "normal complaint to support",
        DEFAULT,
        "complaint.opened",
        {"priority": "normal"},
        ["support"],
    ),
    (
        "urgent complaint also to management",
        DEFAULT,
        "complaint.opened",
        {"priority": "urgent"},
        ["support", "management"],
    ),
    (
        "sla breach to management and owner",
        DEFAULT,
        "sla.breached",
        {"owner": "logistics"},
        ["management", "logistics"],
    ),
    (
        "sla breach owned by management once",
        DEFAULT,
        "sla.breached",
        {"owner": "management"},
        ["management"],
    ),
    ("sla breach with unknown owner", DEFAULT, "sla.breached", {"owner": "nobody"}, ["management"]),
    ("unknown type goes nowhere", DEFAULT, "smoke.order", ORDER, []),
    ("type glob does not match prefix only", DEFAULT, "orderly.placed", {}, []),
    (
        "custom threshold below",
        THRESHOLD_500,
        "order.placed",
        {"total": {"amount": 499.99}},
        ["sales"],
    ),
    (
        "custom threshold at (gte)",
        THRESHOLD_500,
        "order.placed",
        {"total": {"amount": 500}},
        ["sales", "finance", "management"],
    ),
    ("custom rules replace defaults", THRESHOLD_500, "shipment.dispatched", {}, []),
    (
        "in-list matches",
        THRESHOLD_500,
        "payment.received",
        {"amount": {"currency": "CHF"}},
        ["finance"],
    ),
    ("in-list misses", THRESHOLD_500, "payment.received", {"amount": {"currency": "USD"}}, []),
    (
        "exists false holds when absent",
        THRESHOLD_500,
        "sla.breached",
        {"order_id": "o"},
        ["logistics"],
    ),
    ("exists false fails when present", THRESHOLD_500, "sla.breached", {"ticket_id": "t"}, []),
    ("configured extra department", EXTRA_DEPT, "complaint.opened", {}, ["legal"]),
    ("ne condition holds", EXTRA_DEPT, "ticket.updated", {"priority": "high"}, ["sales"]),
    ("ne condition fails", EXTRA_DEPT, "ticket.updated", {"priority": "low"}, []),
    ("ne with missing field fails", EXTRA_DEPT, "ticket.updated", {}, []),
]


def _event(event_type: str, data: dict[str, Any]) -> Envelope:
    return Envelope(id="e1", source="/test", type=event_type, data=data)


@pytest.mark.parametrize(
    ("config", "event_type", "data", "expected"),
    [case[1:] for case in ROUTES],
    ids=[case[0] for case in ROUTES],
)
def test_route(
    config: HubConfig, event_type: str, data: dict[str, Any], expected: list[str]
) -> None:
    assert route(_event(event_type, data), config) == expected


HASHING = parse_config(
    """
routing:
  hash_key: s3cret
  departments:
    marketing:
      fields:
        customer_ref.id: hash
        emails[]: hash
    logistics:
      clearance: internal
      pii: true
      fields:
        shipping_address.street: allow
        internal_note: mask
    sales:
      clearance: internal
      denied: mask
    support:
      clearance: internal
      fields:
        brand_new_field: allow
    management:
      clearance: restricted
""",
    env={},
)
KEY = b"s3cret"
#: Explicit clearances, so that these cases do not move with the shipped defaults.
PC = parse_config(
    """
routing:
  departments:
    sales: {clearance: internal, pii: true}
    finance: {clearance: confidential, pii: true}
    logistics: {clearance: internal, pii: true, fields: {}}
    support: {clearance: internal, pii: true}
    marketing: {clearance: internal, pii: false}
    management: {clearance: confidential, pii: false}
""",
    env={},
)


# (case, config, type, department, data, expected data)
POLICIES: list[tuple[str, HubConfig, str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "finance sees confidential amounts and pii, not restricted",
        PC,
        "order.placed",
        "finance",
        ORDER,
        {k: v for k, v in ORDER.items() if k != "internal_note"},
    ),
    (
        "sales (internal) loses amounts and the confidential street",
        PC,
        "order.placed",
        "sales",
        ORDER,
        {
            "order_id": "odoo:SO1",
            "customer_id": "cust-1",
            "customer_ref": {"system": "odoo", "id": "42"},
            "status": "placed",
            "total": {"currency": "EUR"},
            "lines": [
                {"sku": "A", "quantity": 2, "unit_price": {"currency": "EUR"}},
                {"sku": "B", "quantity": 1, "unit_price": {"currency": "EUR"}},
            ],
            "shipping_address": {"city": "Berlin"},
            "contact_email": "a@acme.test",
        },
    ),
    (
        "marketing (internal, no pii) loses the e-mail too",
        PC,
        "order.placed",
        "marketing",
        ORDER,
        {
            "order_id": "odoo:SO1",
            "customer_id": "cust-1",
            "customer_ref": {"system": "odoo", "id": "42"},
            "status": "placed",
            "total": {"currency": "EUR"},
            "lines": [
                {"sku": "A", "quantity": 2, "unit_price": {"currency": "EUR"}},
                {"sku": "B", "quantity": 1, "unit_price": {"currency": "EUR"}},
            ],
            "shipping_address": {"city": "Berlin"},
        },
    ),
    (
        "management (confidential, no pii) sees amounts, not pii",
        PC,
        "order.placed",
        "management",
        ORDER,
        {
            k: v
            for k, v in ORDER.items()
            if k not in ("internal_note", "contact_email", "shipping_address")
        }
        | {"shipping_address": {"city": "Berlin"}},
    ),
    (
        "unknown department sees public only",
        parse_config("departments: {sales: {}, audit: {}}", env={}),
        "order.placed",
        "audit",
        ORDER,
        {"status": "placed"},
    ),
    (
        "undeclared field dropped for everyone, even finance",
        PC,
        "customer.created",
        "finance",
        CUSTOMER,
        {k: v for k, v in CUSTOMER.items() if k != "brand_new_field"},
    ),
    (
        "an undeclared field can be allowed explicitly",
        HASHING,
        "customer.created",
        "support",
        CUSTOMER,
        {k: v for k, v in CUSTOMER.items() if k != "vat_id"},
    ),
    (
        "pii list dropped for marketing by default",
        PC,
        "customer.created",
        "marketing",
        CUSTOMER,
        {
            "customer_id": "cust-1",
            "name": "ACME GmbH",
            "domain": "acme.test",
            "external_ids": {"erp": "10042"},
        },
    ),
    (
        "hash override: keyed hash of each e-mail for marketing",
        HASHING,
        "customer.created",
        "marketing",
        CUSTOMER,
        {
            "customer_id": "cust-1",
            "name": "ACME GmbH",
            "emails": [keyed_hash(KEY, "a@acme.test"), keyed_hash(KEY, "b@acme.test")],
            "domain": "acme.test",
            "external_ids": {"erp": "10042"},
        },
    ),
    (
        "hash override on a nested field",
        HASHING,
        "order.placed",
        "marketing",
        {"customer_ref": {"system": "odoo", "id": "42"}},
        {"customer_ref": {"system": "odoo", "id": keyed_hash(KEY, "42")}},
    ),
    (
        "allow override beats clearance, mask override keeps the key",
        HASHING,
        "order.placed",
        "logistics",
        {"shipping_address": {"street": "Hauptstr. 1", "city": "Berlin"}, "internal_note": "VIP"},
        {"shipping_address": {"street": "Hauptstr. 1", "city": "Berlin"}, "internal_note": MASK},
    ),
    (
        "denied: mask keeps the shape of denied fields",
        HASHING,
        "order.placed",
        "sales",
        {"total": {"amount": "1.00", "currency": "EUR"}, "internal_note": "VIP", "extra": 1},
        {"total": {"amount": MASK, "currency": "EUR"}, "internal_note": MASK},
    ),
    (
        "restricted clearance sees the restricted note",
        HASHING,
        "order.placed",
        "management",
        {"internal_note": "VIP", "status": "placed"},
        {"internal_note": "VIP", "status": "placed"},
    ),
    (
        "unknown type: every field denied",
        PC,
        "smoke.order",
        "finance",
        {"id": 1, "name": "x"},
        {},
    ),
    (
        "undeclared nested field dropped",
        PC,
        "order.placed",
        "finance",
        {"total": {"amount": "1", "currency": "EUR", "fx_rate": "1.1"}},
        {"total": {"amount": "1", "currency": "EUR"}},
    ),
    (
        "null values of visible fields are kept",
        PC,
        "order.placed",
        "sales",
        {"customer_id": None, "customer_ref": None},
        {"customer_id": None, "customer_ref": None},
    ),
]


@pytest.mark.parametrize(
    ("config", "event_type", "department", "data", "expected"),
    [case[1:] for case in POLICIES],
    ids=[case[0] for case in POLICIES],
)
def test_policy(
    config: HubConfig,
    event_type: str,
    department: str,
    data: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    table = PolicyTable(config, stub_labels)
    seen = table.apply(_event(event_type, data), department)
    assert seen.data == expected
    assert seen.id == "e1", "the envelope stays intact"


def test_the_table_is_big_enough() -> None:
    assert len(ROUTES) + len(POLICIES) >= 40


def test_hash_without_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="hash_key"):
        parse_config("routing:\n  departments:\n    sales:\n      denied: hash\n", env={})


def test_policy_for_unconfigured_department_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown department 'legal'"):
        parse_config("routing:\n  departments:\n    legal: {clearance: public}\n", env={})

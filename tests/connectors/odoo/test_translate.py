"""The translator on recorded Odoo records (fixtures/raw/*.json, shaped as search_read
returns them): event types, field mapping, stable ids, and clear errors."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.kit.errors import UntranslatableRecord
from connectors.odoo import CONNECTOR
from connectors.testing import load_raw_fixtures, raw_fixture_event, translate_checked
from schemas.envelope import Envelope

FIXTURES = Path(__file__).parent / "fixtures"
INSTANCE = "erp"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((FIXTURES / "raw" / f"{name}.json").read_bytes())
    return loaded


def raw(fixture_name: str, instance: str = INSTANCE, **changes: Any) -> Envelope:
    content = copy.deepcopy(fixture(fixture_name))
    content["data"].update(changes)
    if "write_date" in changes:
        content["revision"] = changes["write_date"]
    return raw_fixture_event(CONNECTOR, instance, f"{fixture_name}.json", content)


def translated(fixture_name: str, **changes: Any) -> list[Envelope]:
    return translate_checked(CONNECTOR, raw(fixture_name, **changes), fixture_name)


@pytest.mark.parametrize(
    ("name", "content"), load_raw_fixtures(FIXTURES), ids=lambda v: v if isinstance(v, str) else ""
)
def test_fixture_translates_to_expected_types(name: str, content: dict[str, Any]) -> None:
    event = raw_fixture_event(CONNECTOR, INSTANCE, name, content)
    expect = content["expect"]
    if isinstance(expect, dict):
        with pytest.raises(UntranslatableRecord):
            CONNECTOR.translate(event)
        return
    events = translate_checked(CONNECTOR, event, name)
    assert [e.type for e in events] == expect
    for out in events:
        assert out.source == f"/connectors/{INSTANCE}"
        assert out.causationid == event.id
        assert out.time is not None
        assert out.time.tzinfo is not None


def test_confirmed_order() -> None:
    placed, confirmed = translated("sale_order_confirmed")
    assert placed.partitionkey == confirmed.partitionkey == "S00001"
    data = placed.data
    assert data["order_id"] == data["order_number"] == "S00001"
    assert data["customer_ref"] == {"system": INSTANCE, "id": "1"}
    assert data["customer_id"] is None
    assert data["placed_at"] == "2026-11-16T13:23:17Z"  # create_date
    assert data["requested_delivery_date"] == "2026-11-24"
    assert [(line["line_no"], line["sku"], line["description"]) for line in data["lines"]] == [
        (1, "CHAIR-OAK", "[CHAIR-OAK] Oak chair"),
        (2, "TABLE-OAK", "[TABLE-OAK] Oak table"),
    ]  # the section line carries no goods
    first = data["lines"][0]
    assert Decimal(first["quantity"]) == 4
    assert first["unit"] == "Units"
    assert first["unit_price"] == {"amount": "60.0", "currency": "EUR"}
    assert first["line_total"] == {"amount": "240.0", "currency": "EUR"}
    assert data["total"] == {"amount": "714.6", "currency": "EUR"}
    assert data["tax_total"] == {"amount": "114.1", "currency": "EUR"}
    assert confirmed.data["confirmed_at"] == "2026-11-16T15:53:17Z"  # date_order
    assert confirmed.time == datetime(2026, 11, 16, 15, 53, 17, tzinfo=UTC)
    assert confirmed.data["promised_delivery_date"] == "2026-11-24"


def test_transition_ids_survive_later_revisions() -> None:
    before = translated("sale_order_confirmed")
    after = translated("sale_order_confirmed", write_date="2026-11-30 10:00:00", state="done")
    assert [e.id for e in before] == [e.id for e in after]
    sent = translated("sale_order_sent")
    cancelled = translated("sale_order_cancelled")
    assert sent[0].type == "order.placed"
    assert cancelled[0].type == "order.cancelled"
    assert sent[0].id != cancelled[0].id
    reconfirmed = translated("sale_order_confirmed", date_order="2026-11-18 08:00:00")
    assert reconfirmed[0].id == before[0].id
    assert reconfirmed[1].id != before[1].id  # confirmed again: a new transition


def test_ids_are_per_instance() -> None:
    one = CONNECTOR.translate(raw("sale_order_confirmed", instance="erp"))
    two = CONNECTOR.translate(raw("sale_order_confirmed", instance="erp-at"))
    assert {e.id for e in one}.isdisjoint({e.id for e in two})
    assert two[0].data["customer_ref"]["system"] == "erp-at"


def test_partners_carry_identity_evidence() -> None:
    [company] = translated("partner_company_updated")
    assert company.type == "customer.updated"
    data = company.data
    assert data["kind"] == "company"
    assert data["emails"] == ["einkauf@muster.de"]
    assert data["phones"] == ["+49 30 1234567"]
    assert data["domain"] == "muster.de"
    assert data["vat_id"] == "DE123456789"
    assert data["external_ids"] == {"ref": "10042"}
    assert data["addresses"][0]["country"] == "DE"
    assert data["customer_ref"] == {"system": INSTANCE, "id": "1"}
    [person] = translated("partner_contact_created")
    assert person.type == "customer.created"
    assert person.data["kind"] == "person"
    assert person.data["domain"] is None
    assert person.data["external_ids"] == {"parent_id": "1"}
    mixed = translated("partner_contact_created", email="J.Weber@Muster.de; not-an-address")
    assert mixed[0].data["emails"] == ["j.weber@muster.de"]
    # each revision of a partner is its own customer event
    later = translated("partner_contact_created", write_date="2026-11-30 10:00:00")
    assert later[0].type == "customer.updated"
    assert later[0].id != person.id


def test_shipment_promise_and_delivery() -> None:
    dispatched, delivered = translated("picking_delivered")
    assert dispatched.data["order_id"] == "S00001"
    assert dispatched.data["shipment_id"] == "WH/OUT/00001"
    assert dispatched.data["carrier"] == "DHL Express"
    assert dispatched.data["tracking_number"] == "00340434161094042557"
    assert dispatched.data["dispatched_at"] == "2026-11-17T16:10:17Z"
    assert dispatched.data["promised_delivery_date"] == "2026-11-24"  # date_deadline
    assert delivered.data["delivered_at"] == "2026-11-19T17:06:50Z"
    no_deadline = translated("picking_done", date_deadline=False, carrier_id=False)
    assert no_deadline[0].data["promised_delivery_date"] == "2026-11-18"  # scheduled_date
    assert no_deadline[0].data["carrier"] == "unspecified"
    from_origin = translated("picking_done", sale_id=False)
    assert from_origin[0].data["order_id"] == "S00001"
    with pytest.raises(UntranslatableRecord, match="neither sale_id nor origin"):
        translated("picking_done", sale_id=False, origin=False)


def test_return_request() -> None:
    [event] = translated("picking_return_requested")
    assert event.type == "return.requested"
    assert event.partitionkey == event.subject == "S00001"
    assert event.data["order_id"] == "S00001"
    assert event.data["customer_ref"] == {"system": INSTANCE, "id": "1"}
    assert event.data["return_id"] == "WH/IN/00004"
    assert event.data["requested_at"] == "2026-11-20T09:30:12Z"  # create_date
    assert (event.data["reason"], event.data["comment"]) == ("wrong_item", None)
    # two moves of one article add up
    assert event.data["lines"] == [
        {"sku": "CHAIR-OAK", "quantity": "2.0"},
        {"sku": "TABLE-OAK", "quantity": "1.0"},
    ]
    # the id is the transition's: validating the return (done) gives the same event again
    [received] = translated(
        "picking_return_requested",
        state="done",
        date_done="2026-11-22 10:00:00",
        write_date="2026-11-22 10:00:00",
    )
    assert received.id == event.id
    assert received.data == event.data


def test_return_order_reasons_and_what_is_no_return() -> None:
    # no sale_id: the order of the delivery it returns
    [event] = translated("picking_return_received")
    assert event.data["order_id"] == "S00002"
    assert (event.data["reason"], event.data["comment"]) == (
        "other",
        "Customer ordered the wrong size",
    )
    delivery = fixture("picking_return_received")["data"]["returned_picking"]
    [by_origin] = translated(
        "picking_return_received", returned_picking={**delivery, "sale_id": False}
    )
    assert by_origin.data["order_id"] == "S00002"  # the delivery's origin
    for text, reason in (("Damaged", "damaged"), ("not as described", "not_as_described")):
        [one] = translated("picking_return_requested", x_return_reason=text)
        assert one.data["reason"] == reason
    [plain] = translated("picking_return_requested", x_return_reason=False)
    assert (plain.data["reason"], plain.data["comment"]) == ("other", None)
    # drafts and cancelled returns ask for nothing yet; a receipt is no return
    assert translated("picking_return_requested", state="draft") == []
    assert translated("picking_return_requested", state="cancel") == []
    assert translated("picking_incoming_receipt") == []
    assert translated("picking_incoming_receipt", move_records=False) == []
    with pytest.raises(UntranslatableRecord, match="no order to attach it to"):
        translated("picking_return_received", sale_id=False, returned_picking=False)
    with pytest.raises(UntranslatableRecord, match=r"WH/OUT/00003\) has neither"):
        CONNECTOR.translate(raw("picking_return_without_order"))
    moves = fixture("picking_return_requested")["data"]["move_records"]
    empty = [{**m, "product_uom_qty": 0.0} for m in moves]
    with pytest.raises(UntranslatableRecord, match="no quantity"):
        translated("picking_return_requested", move_records=empty)


def test_invoice_and_payment() -> None:
    issued, paid = translated("invoice_paid")
    assert issued.data["invoice_id"] == issued.data["invoice_number"] == "INV/2026/00001"
    assert issued.data["order_id"] == "S00001"
    assert issued.data["issued_at"] == "2026-11-17T16:11:17Z"  # created the invoice day
    assert date.fromisoformat(issued.data["due_date"]) == date(2026, 12, 1)
    assert issued.data["total"] == {"amount": "714.6", "currency": "EUR"}
    assert paid.data["amount"] == {"amount": "714.6", "currency": "EUR"}
    assert paid.data["payment_reference"] == "INV/2026/00001"
    assert paid.data["received_at"] == "2026-11-19T18:06:50Z"
    in_payment = translated("invoice_paid", payment_state="in_payment")
    assert [e.id for e in in_payment] == [issued.id, paid.id]
    backdated = translated("invoice_posted", invoice_date="2026-11-10")
    assert backdated[0].data["issued_at"] == "2026-11-10T00:00:00Z"
    several = translated("invoice_posted", invoice_origin="S00001, S00007")
    assert several[0].data["order_id"] == "S00001"
    assert translated("invoice_paid", payment_state="partial")[-1].type == "invoice.issued"


@pytest.mark.parametrize(
    ("fixture_name", "changes", "words"),
    [
        ("sale_order_confirmed", {"currency_id": [3, "Euro"]}, "not ISO 4217"),
        ("sale_order_confirmed", {"partner_id": "Muster GmbH"}, "not a many2one"),
        ("sale_order_confirmed", {"date_order": "16.11.2026"}, "not a datetime"),
        ("sale_order_confirmed", {"order_line_records": None}, "order_line_records"),
        ("sale_order_confirmed", {"amount_total": "lots"}, "not a number"),
        ("invoice_posted", {"name": "/"}, "no number"),
        ("partner_company_updated", {"name": False}, "no name"),
    ],
)
def test_broken_records_name_the_problem(
    fixture_name: str, changes: dict[str, Any], words: str
) -> None:
    with pytest.raises(UntranslatableRecord, match=words):
        CONNECTOR.translate(raw(fixture_name, **changes))


def test_foreign_raw_types_are_rejected() -> None:
    event = raw("sale_order_confirmed")
    with pytest.raises(UntranslatableRecord, match="no entity"):
        CONNECTOR.translate(event.model_copy(update={"type": "raw.odoo.crm_lead"}))
    with pytest.raises(UntranslatableRecord, match="not a raw event type"):
        CONNECTOR.translate(event.model_copy(update={"type": "order.placed"}))
    with pytest.raises(UntranslatableRecord, match="instance"):
        CONNECTOR.translate(event.model_copy(update={"source": "/hub/router"}))

"""Invalid data is rejected, and the error names the field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import (
    Envelope,
    Money,
    OrderPlaced,
    SchemaError,
    canonical_event,
    model_for,
    parse_data,
    validate_event,
)
from schemas.codes import CURRENCY_CODES


def _order(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = OrderPlaced.example().model_dump(mode="json")
    data.update(changes)
    return data


def _rejected(data: dict[str, Any] | bytes) -> SchemaError:
    with pytest.raises(SchemaError) as caught:
        parse_data("order.placed", 1, data)
    return caught.value


def _paths(error: SchemaError) -> list[str]:
    return [path for path, _ in error.errors]


def test_wrong_currency_code_names_the_field() -> None:
    data = _order(total={"amount": "1.00", "currency": "EURO"})
    error = _rejected(data)
    assert _paths(error) == ["total.currency"]
    assert "order.placed v1: total.currency" in str(error)


def test_unknown_but_well_formed_currency_is_rejected() -> None:
    lines = _order()["lines"]
    lines[0]["unit_price"]["currency"] = "ABC"
    assert _paths(_rejected(_order(lines=lines))) == ["lines.0.unit_price.currency"]


def test_naive_timestamp_names_the_field() -> None:
    error = _rejected(_order(placed_at="2026-11-23T09:15:00"))
    assert _paths(error) == ["placed_at"]
    assert "timezone" in str(error)


def test_negative_quantity_names_the_line() -> None:
    lines = _order()["lines"]
    lines[1]["quantity"] = "-1"
    error = _rejected(_order(lines=lines))
    assert _paths(error) == ["lines.1.quantity"]
    assert "greater than or equal to 0" in str(error)


def test_unknown_enum_value_names_the_field() -> None:
    assert _paths(_rejected(_order(channel="carrier_pigeon"))) == ["channel"]


def test_unknown_field_is_rejected() -> None:
    assert _paths(_rejected(_order(discount_code="X"))) == ["discount_code"]


def test_several_problems_are_reported_together() -> None:
    error = _rejected(_order(placed_at="2026-11-23T09:15:00", channel="fax"))
    assert sorted(_paths(error)) == ["channel", "placed_at"]


def test_not_json_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="Invalid JSON"):
        parse_data("order.placed", 1, b"{nope")


def test_json_strings_are_accepted_for_decimals_and_times() -> None:
    data = _order()
    parsed = parse_data("order.placed", 1, orjson.dumps(data))
    assert isinstance(parsed, OrderPlaced)
    assert parsed.total.amount == Decimal("714.60")
    assert parsed.placed_at.tzinfo is not None


def test_python_construction_is_strict() -> None:
    with pytest.raises(ValueError, match="amount"):
        Money(amount=1.5, currency="EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency"):
        Money(amount=Decimal("1.5"), currency="eur")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=65, max_codepoint=90), min_size=1, max_size=4))
def test_only_iso_4217_codes_pass(code: str) -> None:
    data = _order(total={"amount": "1", "currency": code})
    if code in CURRENCY_CODES:
        assert parse_data("order.placed", 1, data).total.currency == code  # type: ignore[attr-defined]
    else:
        assert _paths(_rejected(data)) == ["total.currency"]


@settings(max_examples=60, deadline=None)
@given(
    st.decimals(
        min_value=Decimal("-1000000"),
        max_value=Decimal("1000000"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_quantities_round_trip_exactly_or_are_rejected(quantity: Decimal) -> None:
    lines = _order()["lines"]
    lines[0]["quantity"] = str(quantity)
    data = _order(lines=lines)
    if quantity < 0:
        assert _paths(_rejected(data)) == ["lines.0.quantity"]
        return
    parsed = parse_data("order.placed", 1, data)
    assert parsed.lines[0].quantity == quantity  # type: ignore[attr-defined]
    again = parse_data("order.placed", 1, parsed.model_dump_json().encode())
    assert again == parsed


@pytest.mark.parametrize(
    ("event_type", "change", "path"),
    [
        ("ticket.opened", {"priority": "critical"}, "priority"),
        ("ticket.updated", {"status": "archived"}, "status"),
        ("sla.breached", {"deadline": "2026-11-25T10:00:00"}, "deadline"),
        ("payment.received", {"amount": {"amount": "5", "currency": "eur"}}, "amount.currency"),
        ("payment.received", {"payer_iban": "DE89 3704"}, "payer_iban"),
        ("return.requested", {"lines": [{"sku": "A", "quantity": "-2"}]}, "lines.0.quantity"),
        ("return.requested", {"lines": []}, "lines"),
        (
            "shipment.dispatched",
            {"shipping_address": {"street": "x", "city": "y", "country": "XX"}},
            "shipping_address.country",
        ),
        ("customer.created", {"emails": ["no-at-sign"]}, "emails.0"),
        ("invoice.issued", {"due_date": "2026-13-01"}, "due_date"),
    ],
)
def test_invalid_data_of_other_types_names_the_field(
    event_type: str, change: dict[str, Any], path: str
) -> None:
    model = model_for(event_type)
    data = {**model.example().model_dump(mode="json"), **change}
    with pytest.raises(SchemaError) as caught:
        parse_data(event_type, model.version, data)
    assert [p for p, _ in caught.value.errors] == [path]
    assert f"{event_type} v{model.version}: {path}" in str(caught.value)


@settings(max_examples=40, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.timezones(),
    )
)
def test_any_aware_time_survives_the_envelope(moment: datetime) -> None:
    order = OrderPlaced.example().model_copy(update={"placed_at": moment})
    event = canonical_event(order, source="/s", id_parts=("1",), time=moment)
    record = event.to_kafka()
    read = validate_event(Envelope.from_kafka(key=None, value=record.value, headers=record.headers))
    placed_at = read.placed_at  # type: ignore[attr-defined]
    # the same instant and offset; == alone is false for a repeated wall-clock hour (fold)
    assert placed_at.timestamp() == moment.timestamp()
    assert placed_at.utcoffset() == moment.utcoffset()

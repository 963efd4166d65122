"""Invalid data is rejected, and the error names the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Money, OrderPlaced, SchemaError, parse_data
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

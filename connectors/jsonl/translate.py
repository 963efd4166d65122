"""``jsonl`` raw records to canonical events: a pure function, one record at a time.

- ``customer`` -> ``customer.created`` when ``created_at`` equals ``updated_at`` (or is
  missing), else ``customer.updated``;
- ``order`` -> ``order.placed``, ``order.confirmed`` or ``order.cancelled`` by ``status``.

Anything that does not fit raises :class:`UntranslatableRecord` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from connectors.kit.errors import UntranslatableRecord
from schemas import (
    CanonicalModel,
    CustomerCreated,
    CustomerUpdated,
    Envelope,
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    SourceRef,
    canonical_event,
)

ORDER_STATUSES = ("placed", "confirmed", "cancelled")
_ORDER_EVENTS = (OrderPlaced, OrderConfirmed, OrderCancelled)


def translate(raw: Envelope) -> Sequence[Envelope]:
    """One raw ``raw.jsonl.<entity>`` event to its canonical events."""
    parts = raw.type.split(".")
    if len(parts) != 3 or parts[0] != "raw":
        raise UntranslatableRecord(f"not a raw event type: {raw.type!r}")
    entity = parts[2]
    instance = raw.source.rsplit("/", 1)[-1]
    data = raw.data
    if not isinstance(data, Mapping):
        raise UntranslatableRecord("data is not a JSON object")
    try:
        if entity == "customer":
            payload: CanonicalModel = _customer(instance, data)
        elif entity == "order":
            payload = _order(instance, data)
        else:
            raise UntranslatableRecord(f"unknown entity {entity!r}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UntranslatableRecord(f"{entity} {raw.subject}: {where}: {first['msg']}") from exc
    key = payload.order_id if isinstance(payload, _ORDER_EVENTS) else f"{instance}:{raw.subject}"
    return [
        canonical_event(
            payload,
            source=raw.source,
            id_parts=[raw.id],
            time=raw.time or _time(data, "updated_at"),
            partitionkey=key,
            subject=raw.subject,
            causationid=raw.id,
            correlationid=raw.correlationid or raw.id,
        )
    ]


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None or value == "":
        raise UntranslatableRecord(f"field {name!r} is missing")
    return str(value)


def _time(data: Mapping[str, Any], name: str) -> datetime:
    text = _text(data, name)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UntranslatableRecord(f"field {name!r} is not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise UntranslatableRecord(f"field {name!r} has no UTC offset: {text!r}")
    return moment


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise UntranslatableRecord(f"field {name!r} is not a number: {value!r}") from None


def _customer(instance: str, data: Mapping[str, Any]) -> CanonicalModel:
    ref = SourceRef(system=instance, id=_text(data, "id"))
    emails = data.get("emails") or ([data["email"]] if data.get("email") else [])
    if not isinstance(emails, list):
        raise UntranslatableRecord(f"field 'emails' is not a list: {emails!r}")
    external = (
        {"customer_number": str(data["customer_number"])} if data.get("customer_number") else {}
    )
    common: dict[str, Any] = {
        "customer_ref": ref,
        "kind": "person" if data.get("kind") == "person" else "company",
        "name": _text(data, "name"),
        "emails": [str(e) for e in emails],
        "domain": data.get("domain"),
        "vat_id": data.get("vat_id"),
        "external_ids": external,
    }
    updated = _time(data, "updated_at")
    created = _time(data, "created_at") if data.get("created_at") else updated
    if created == updated:
        return CustomerCreated(**common, created_at=created)
    return CustomerUpdated(**common, updated_at=updated)


def _order(instance: str, data: Mapping[str, Any]) -> CanonicalModel:
    status = data.get("status", "placed")
    if status not in ORDER_STATUSES:
        raise UntranslatableRecord(
            f"field 'status' is {status!r}; expected one of {ORDER_STATUSES}"
        )
    order_id = f"{instance}:{_text(data, 'id')}"
    customer = data.get("customer_id")
    ref = SourceRef(system=instance, id=str(customer)) if customer else None
    currency = str(data.get("currency") or "EUR")
    if status == "cancelled":
        return OrderCancelled(
            order_id=order_id,
            customer_ref=ref,
            cancelled_at=_time(data, "updated_at"),
            reason=data.get("cancel_reason"),
        )
    total = Money(amount=_decimal(data.get("total"), "total"), currency=currency)
    if status == "confirmed":
        return OrderConfirmed(
            order_id=order_id, customer_ref=ref, confirmed_at=_time(data, "updated_at"), total=total
        )
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise UntranslatableRecord("field 'lines' must be a non-empty list")
    lines = []
    for number, line in enumerate(raw_lines, start=1):
        if not isinstance(line, Mapping):
            raise UntranslatableRecord(f"lines[{number - 1}] is not an object")
        quantity = _decimal(line.get("quantity"), f"lines[{number - 1}].quantity")
        price = _decimal(line.get("unit_price"), f"lines[{number - 1}].unit_price")
        lines.append(
            OrderLine(
                line_no=number,
                sku=_text(line, "sku"),
                description=line.get("description"),
                quantity=quantity,
                unit_price=Money(amount=price, currency=currency),
                line_total=Money(amount=quantity * price, currency=currency),
            )
        )
    return OrderPlaced(
        order_id=order_id,
        order_number=data.get("number"),
        customer_ref=ref,
        placed_at=_time(data, "placed_at") if data.get("placed_at") else _time(data, "updated_at"),
        lines=lines,
        total=total,
    )

"""Raw ERP rows -> canonical events, driven only by the instance's ``mapping`` in hub.yaml.

The translator is pure: one raw event in, canonical events out, decided from the row alone.
It needs the instance's table settings (column names), so each instance has its own
translator, built from its settings by :func:`translator` (the connector type's
``translator_factory``: the translator service builds one per configured instance from
``hub.yaml``). It reads the instance name from the raw event's ``source``
(``/connectors/<instance>``) and the table by the entity in its type
(``raw.sqltable.<entity>``).

Transitions are emitted from the state the row shows, cumulatively, with event ids made of
``(entity, row id, transition)`` rather than the row's revision: a confirmed order read
again after an unrelated edit yields the same ``order.placed`` and ``order.confirmed`` ids,
which downstream de-duplicates. Profile changes (``customer.updated``) carry the revision.

==========  ======================================================================
kind        events
==========  ======================================================================
customer    customer.created (when ``created_at`` is mapped and set), customer.updated
            (when the row's timestamp differs from ``created_at``, or it is not mapped)
order       by ``status_values``: placed -> order.placed; confirmed -> order.placed +
            order.confirmed; cancelled -> order.placed (if it has lines) + order.cancelled;
            ignore -> nothing; an unlisted status -> bad record
shipment    shipment.dispatched once ``dispatched_at`` is set, shipment.delivered once
            ``delivered_at`` is set
invoice     invoice.issued once ``issued_at`` is set
payment     payment.received once ``received_at`` is set
==========  ======================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.kit.errors import UntranslatableRecord
from connectors.kit.registry import Translator
from connectors.sqltable.settings import (
    CustomerMapping,
    InvoiceMapping,
    LineColumns,
    OrderMapping,
    PaymentMapping,
    ShipmentMapping,
    SqlTableSettings,
    TableSettings,
    _OrderSide,
    typed_columns,
)
from schemas.base import CanonicalModel
from schemas.codes import CURRENCY_CODES
from schemas.customers import CustomerCreated, CustomerUpdated
from schemas.envelope import Envelope
from schemas.events import canonical_event
from schemas.orders import (
    InvoiceIssued,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    PaymentReceived,
    ShipmentDelivered,
    ShipmentDispatched,
)
from schemas.parts import Address, Money, OrderLine, SourceRef

TYPE_NAME = "sqltable"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()./ \-]{3,40}$")


class _Row:
    """Typed access to a raw row's columns; every failure names the column and the value."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def bad(self, column: str, problem: str) -> UntranslatableRecord:
        value = self.data.get(column)
        return UntranslatableRecord(f"{self.where}: column {column!r} = {value!r} {problem}")

    def text(self, column: str | None) -> str | None:
        if column is None:
            return None
        value = self.data.get(column)
        if value is None:
            return None
        text = str(value).strip()
        return text or None

    def need_text(self, column: str) -> str:
        text = self.text(column)
        if text is None:
            raise self.bad(column, "is empty")
        return text

    def decimal(self, column: str | None) -> Decimal | None:
        if column is None or self.data.get(column) in (None, ""):
            return None
        value = self.data[column]
        if isinstance(value, bool):
            raise self.bad(column, "is not a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.bad(column, "is not a number") from None
        if not number.is_finite():
            raise self.bad(column, "is not a finite number")
        return number

    def need_decimal(self, column: str) -> Decimal:
        number = self.decimal(column)
        if number is None:
            raise self.bad(column, "is empty")
        return number

    def time(self, column: str | None) -> datetime | None:
        if column is None or self.data.get(column) in (None, ""):
            return None
        value = self.data[column]
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise self.bad(column, "is not a date-time") from None
        # Date-time columns arrive aware from the source; a date or text column does not.
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def need_time(self, column: str) -> datetime:
        moment = self.time(column)
        if moment is None:
            raise self.bad(column, "is empty")
        return moment

    def day(self, column: str | None) -> date | None:
        if column is None or self.data.get(column) in (None, ""):
            return None
        text = str(self.data[column])
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise self.bad(column, "is not a date") from None

    def money(self, column: str, currency: str) -> Money:
        return Money(amount=self.need_decimal(column), currency=currency)

    def maybe_money(self, column: str | None, currency: str) -> Money | None:
        amount = self.decimal(column)
        if amount is None:
            return None
        return Money(amount=amount, currency=currency)

    def currency(self, column: str | None, default: str | None) -> str:
        code = (self.text(column) or default or "").upper()
        if code not in CURRENCY_CODES:
            if column is not None:
                raise self.bad(column, "is not an ISO 4217 currency code")
            raise UntranslatableRecord(f"{self.where}: currency {code!r} is not ISO 4217")
        return code


class _Context:
    """Where a raw event came from, and how its canonical events are enveloped."""

    def __init__(self, raw: Envelope, instance: str, entity: str, table: TableSettings) -> None:
        self.raw = raw
        self.instance = instance
        self.entity = entity
        self.table = table
        if not isinstance(raw.data, Mapping):
            raise UntranslatableRecord(f"raw event {raw.id}: data is not a JSON object")
        self.row = _Row(raw.data, f"{entity} {raw.subject or '?'}")
        self.row_id = raw.subject or self.row.need_text(table.id_column)
        self.modified = self.row.need_time(table.timestamp_column)
        self.revision = str(raw.data.get(table.timestamp_column))

    def ref(self, column: str | None) -> SourceRef | None:
        value = self.row.text(column)
        return None if value is None else SourceRef(system=self.instance, id=value)

    def event(
        self, build: Callable[[], CanonicalModel], moment: datetime, key: str, *id_parts: str
    ) -> Envelope:
        try:
            model = build()
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise UntranslatableRecord(f"{self.row.where}: {problems}") from exc
        return canonical_event(
            model,
            source=self.raw.source,
            id_parts=[self.entity, self.row_id, *id_parts],
            time=moment,
            partitionkey=key,
            subject=key,
            correlationid=self.raw.correlationid or self.raw.id,
            causationid=self.raw.id,
        )


def _order_id(ctx: _Context, mapping: _OrderSide) -> str:
    if mapping.order_number is not None:
        return ctx.row.need_text(mapping.order_number)
    assert mapping.order_key is not None  # noqa: S101 - the settings model checks it
    return f"{ctx.instance}:{ctx.row.need_text(mapping.order_key)}"


def _customer(ctx: _Context, m: CustomerMapping) -> list[Envelope]:
    row = ctx.row
    emails = list(
        dict.fromkeys(
            e.lower() for c in m.emails if (e := row.text(c)) is not None and _EMAIL.match(e)
        )
    )
    phones = list(
        dict.fromkeys(p for c in m.phones if (p := row.text(c)) is not None and _PHONE.match(p))
    )
    domain = row.text(m.domain)
    if domain is not None:
        domain = re.sub(r"^(https?://)?(www\.)?", "", domain.lower()).split("/")[0] or None
    addresses = []
    if m.address is not None:
        a = m.address
        street, city, country = row.text(a.street), row.text(a.city), row.text(a.country)
        if street and city and country:
            addresses.append(
                Address(
                    name=row.text(a.name),
                    street=street,
                    postal_code=row.text(a.postal_code),
                    city=city,
                    region=row.text(a.region),
                    country=country.upper(),  # validated by the model
                )
            )
    profile: dict[str, Any] = {
        "customer_ref": SourceRef(system=ctx.instance, id=ctx.row_id),
        "kind": m.customer_kind,
        "name": row.need_text(m.name),
        "emails": emails,
        "phones": phones,
        "domain": domain,
        "vat_id": (row.text(m.vat_id) or "").replace(" ", "").upper() or None,
        "external_ids": {k: v for k, c in m.external_ids.items() if (v := row.text(c))},
        "addresses": addresses,
    }
    key = f"{ctx.instance}:{ctx.row_id}"
    out = []
    created = row.time(m.created_at)
    if created is not None:
        out.append(
            ctx.event(
                lambda: CustomerCreated(**profile, created_at=created), created, key, "created"
            )
        )
    if created is None or created != ctx.modified:
        out.append(
            ctx.event(
                lambda: CustomerUpdated(**profile, updated_at=ctx.modified),
                ctx.modified,
                key,
                ctx.revision,
            )
        )
    return out


def _lines(ctx: _Context, spec: LineColumns, currency: str) -> list[OrderLine]:
    raw_lines = ctx.raw.data.get("lines") or []
    if not isinstance(raw_lines, list):
        raise UntranslatableRecord(f"{ctx.row.where}: 'lines' is not a list")
    out = []
    for index, data in enumerate(raw_lines, start=1):
        if not isinstance(data, Mapping):
            raise UntranslatableRecord(f"{ctx.row.where}: line {index} is not an object")
        line = _Row(data, f"{ctx.row.where} line {data.get(spec.id_column, index)}")
        quantity = line.need_decimal(spec.quantity)
        price = line.need_decimal(spec.unit_price)
        total = line.decimal(spec.line_total)
        rate = line.decimal(spec.tax_rate)
        if rate is not None and rate > 1:
            rate = rate / 100  # a percentage column (19 -> 0.19)
        position = line.decimal(spec.position)
        if spec.position is not None and position is not None and not 1 <= position < 2**63:
            # a line number; a larger one would not even fit the event's JSON encoding
            raise line.bad(spec.position, "is not a line number")
        out.append(
            OrderLine(
                line_no=int(position) if position is not None else index,
                sku=line.need_text(spec.sku),
                description=line.text(spec.description),
                quantity=quantity,
                unit=line.text(spec.unit) or "pcs",
                unit_price=Money(amount=price, currency=currency),
                line_total=Money(
                    amount=total if total is not None else quantity * price,
                    currency=currency,
                ),
                tax_rate=rate,
            )
        )
    return out


def _order(ctx: _Context, m: OrderMapping) -> list[Envelope]:
    row = ctx.row
    status = row.text(m.status)
    stage = m.status_values.get(status or "")
    if stage is None:
        raise row.bad(m.status, f"is not listed in status_values ({', '.join(m.status_values)})")
    if stage == "ignore":
        return []
    number = row.text(m.number)
    order_id = number or f"{ctx.instance}:{ctx.row_id}"
    currency = row.currency(m.currency, m.default_currency)
    customer = ctx.ref(m.customer)
    total = row.money(m.total, currency)
    lines = _lines(ctx, m.lines, currency) if m.lines is not None else []
    out = []
    if stage in ("placed", "confirmed") or lines:
        if not lines:
            raise UntranslatableRecord(f"{row.where}: order {order_id} has no lines")
        placed_at = row.need_time(m.placed_at)
        out.append(
            ctx.event(
                lambda: OrderPlaced(
                    order_id=order_id,
                    order_number=number,
                    customer_ref=customer,
                    placed_at=placed_at,
                    channel=m.channel,
                    lines=lines,
                    total=total,
                    tax_total=row.maybe_money(m.tax_total, currency),
                    requested_delivery_date=row.day(m.requested_delivery_date),
                ),
                placed_at,
                order_id,
                "placed",
            )
        )
    if stage == "confirmed":
        confirmed_at = row.time(m.confirmed_at) or ctx.modified
        out.append(
            ctx.event(
                lambda: OrderConfirmed(
                    order_id=order_id,
                    customer_ref=customer,
                    confirmed_at=confirmed_at,
                    promised_delivery_date=row.day(m.promised_delivery_date),
                    total=total,
                ),
                confirmed_at,
                order_id,
                "confirmed",
            )
        )
    if stage == "cancelled":
        cancelled_at = row.time(m.cancelled_at) or ctx.modified
        out.append(
            ctx.event(
                lambda: OrderCancelled(
                    order_id=order_id,
                    customer_ref=customer,
                    cancelled_at=cancelled_at,
                    reason=row.text(m.cancel_reason),
                ),
                cancelled_at,
                order_id,
                "cancelled",
            )
        )
    return out


def _shipment(ctx: _Context, m: ShipmentMapping) -> list[Envelope]:
    row = ctx.row
    dispatched_at = row.time(m.dispatched_at)
    delivered_at = row.time(m.delivered_at)
    if dispatched_at is None and delivered_at is None:
        return []
    order_id = _order_id(ctx, m)
    common: dict[str, Any] = {
        "order_id": order_id,
        "customer_ref": ctx.ref(m.customer),
        "shipment_id": f"{ctx.instance}:{ctx.row_id}",
        "carrier": row.text(m.carrier) or m.default_carrier,
        "tracking_number": row.text(m.tracking_number),
    }
    out = []
    if dispatched_at is not None:
        out.append(
            ctx.event(
                lambda: ShipmentDispatched(**common, dispatched_at=dispatched_at),
                dispatched_at,
                order_id,
                "dispatched",
            )
        )
    if delivered_at is not None:
        out.append(
            ctx.event(
                lambda: ShipmentDelivered(
                    **common, delivered_at=delivered_at, received_by=row.text(m.received_by)
                ),
                delivered_at,
                order_id,
                "delivered",
            )
        )
    return out


def _invoice(ctx: _Context, m: InvoiceMapping) -> list[Envelope]:
    row = ctx.row
    issued_at = row.time(m.issued_at)
    if issued_at is None:
        return []
    order_id = _order_id(ctx, m)
    currency = row.currency(m.currency, m.default_currency)
    number = row.need_text(m.number)
    total = row.money(m.total, currency)
    tax_total = row.maybe_money(m.tax_total, currency)
    return [
        ctx.event(
            lambda: InvoiceIssued(
                order_id=order_id,
                customer_ref=ctx.ref(m.customer),
                invoice_id=f"{ctx.instance}:{number}",
                invoice_number=number,
                issued_at=issued_at,
                due_date=row.day(m.due_date),
                total=total,
                tax_total=tax_total,
            ),
            issued_at,
            order_id,
            "issued",
        )
    ]


def _payment(ctx: _Context, m: PaymentMapping) -> list[Envelope]:
    row = ctx.row
    received_at = row.time(m.received_at)
    if received_at is None:
        return []
    order_id = _order_id(ctx, m)
    currency = row.currency(m.currency, m.default_currency)
    amount = row.money(m.amount, currency)
    invoice = row.text(m.invoice_number)
    method = m.method_values.get(row.text(m.method) or "", m.default_method)
    return [
        ctx.event(
            lambda: PaymentReceived(
                order_id=order_id,
                customer_ref=ctx.ref(m.customer),
                payment_id=f"{ctx.instance}:{ctx.row_id}",
                invoice_id=f"{ctx.instance}:{invoice}" if invoice else None,
                received_at=received_at,
                amount=amount,
                method=method,
                payment_reference=row.text(m.reference),
            ),
            received_at,
            order_id,
            "received",
        )
    ]


def check_row(data: Mapping[str, Any], table: TableSettings, where: str) -> str | None:
    """Why a row read from ``table`` cannot be a record (a number or date-time column that
    does not parse, e.g. a text amount ``'12,50 EUR'``), or None when it can."""
    checks: list[tuple[Mapping[str, Any], BaseModel, str]] = [(data, table.mapping, where)]
    lines = getattr(table.mapping, "lines", None)
    if isinstance(lines, LineColumns):
        for index, line in enumerate(data.get("lines") or [], start=1):
            if isinstance(line, Mapping):
                checks.append((line, lines, f"{where} line {line.get(lines.id_column, index)}"))
    try:
        for values, spec, place in checks:
            row = _Row(values, place)
            numbers, times = typed_columns(spec)
            for column in numbers:
                row.decimal(column)
            for column in times:
                row.time(column)
    except UntranslatableRecord as exc:
        return str(exc)
    return None


def parse_origin(raw: Envelope) -> tuple[str, str]:
    """``(instance, entity)`` of a raw sqltable event."""
    prefix = f"raw.{TYPE_NAME}."
    if not raw.type.startswith(prefix) or not raw.source.startswith("/connectors/"):
        raise UntranslatableRecord(
            f"raw event {raw.id} (type {raw.type!r}, source {raw.source!r}) is not a "
            "sqltable record"
        )
    return raw.source.removeprefix("/connectors/"), raw.type.removeprefix(prefix)


def translate_with(
    raw: Envelope, instance: str, entity: str, table: TableSettings
) -> list[Envelope]:
    """Translate with explicit table settings (the pure core of :func:`translate`)."""
    ctx = _Context(raw, instance, entity, table)
    mapping = table.mapping
    try:
        if isinstance(mapping, CustomerMapping):
            return _customer(ctx, mapping)
        if isinstance(mapping, OrderMapping):
            return _order(ctx, mapping)
        if isinstance(mapping, ShipmentMapping):
            return _shipment(ctx, mapping)
        if isinstance(mapping, InvoiceMapping):
            return _invoice(ctx, mapping)
        return _payment(ctx, mapping)
    except ValidationError as exc:  # a value object (Money, Address, line) rejected a value
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise UntranslatableRecord(f"{ctx.row.where}: {problems}") from exc


def translator(settings: SqlTableSettings) -> Translator:
    """The translator of the instance configured with ``settings`` (its tables' mappings)."""
    tables = dict(settings.tables)

    def translate(raw: Envelope) -> Sequence[Envelope]:
        """One raw ``raw.sqltable.<entity>`` event -> its canonical events."""
        instance, entity = parse_origin(raw)
        table = tables.get(entity)
        if table is None:
            raise UntranslatableRecord(f"instance {instance!r} has no table for entity {entity!r}")
        return translate_with(raw, instance, entity, table)

    return translate


__all__ = [
    "TYPE_NAME",
    "check_row",
    "parse_origin",
    "translate_with",
    "translator",
]

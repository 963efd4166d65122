"""Raw Odoo records -> canonical events. Pure and stateless: everything comes from the record.

Each canonical event marks a *transition* whose time Odoo keeps on the record, and its id
is derived from the record id, the transition and that time, so re-reading any later
revision of the record yields the same event id again (downstream drops the duplicate):

================  ======================================  ====================================
raw entity        condition                               events (time; id parts)
================  ======================================  ====================================
res_partner       always                                  customer.created if create_date ==
                                                          write_date else customer.updated
                                                          (write_date; id, write_date)
sale_order        state sent/sale/done                    order.placed (create_date; id,
                                                          "placed")
sale_order        state sale/done                         order.confirmed (date_order, which
                                                          ``action_confirm`` sets; id,
                                                          "confirmed", date_order)
sale_order        state cancel                            order.cancelled (write_date; id,
                                                          "cancelled")
stock_picking     picking_type_code outgoing, state done  shipment.dispatched (date_done; id,
                                                          "dispatched", date_done)
stock_picking     ... and x_delivered_date set            shipment.delivered (x_delivered_date)
stock_picking     incoming with a move returning a        return.requested (create_date; id,
                  delivered move (origin_returned_        "requested")
                  move_id), state waiting/confirmed/
                  assigned/done
account_move      out_invoice, state posted               invoice.issued (invoice_date; id,
                                                          "issued", name)
account_move      ... and payment_state paid/in_payment   payment.received (write_date; id,
                                                          "paid")
================  ======================================  ====================================

Everything else (draft quotations and carts, vendor receipts and internal transfers, vendor
bills, credit notes, partial payments) yields no event. A record in scope that lacks what its
event needs (an order without lines, a delivery, return or invoice without its sale order)
raises :class:`~connectors.kit.errors.UntranslatableRecord` saying what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, get_args
from urllib.parse import urlparse

from connectors.kit.errors import UntranslatableRecord
from connectors.odoo.domain import DATE_FORMAT, parse_datetime
from connectors.odoo.source import LINES_KEY, MOVES_KEY, RETURN_REASON_FIELD, RETURNED_KEY
from schemas.base import CanonicalModel, field_value
from schemas.customers import CustomerCreated, CustomerUpdated
from schemas.envelope import Envelope
from schemas.events import canonical_event
from schemas.orders import (
    InvoiceIssued,
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    PaymentReceived,
    ReturnReason,
    ReturnRequested,
    ShipmentDelivered,
    ShipmentDispatched,
)
from schemas.parts import Address, ItemQuantity, Money, SourceRef

_PRODUCT_CODE = re.compile(r"^\[(?P<code>[^\]]+)\]\s*")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()./ \-]{3,40}$")
_CARRIER_UNKNOWN = "unspecified"


class _Raw:
    """One raw Odoo record with the helpers every mapping needs."""

    def __init__(self, raw: Envelope) -> None:
        if not isinstance(raw.data, dict):
            raise UntranslatableRecord(f"{raw.type} {raw.subject}: data is not a JSON object")
        self.envelope = raw
        self.data: dict[str, Any] = raw.data
        if not raw.source.startswith("/connectors/") or raw.source == "/connectors/":
            raise UntranslatableRecord(f"raw source {raw.source!r} is not /connectors/<instance>")
        self.instance = raw.source.removeprefix("/connectors/")
        record_id = self.data.get("id")
        if not isinstance(record_id, int):
            raise UntranslatableRecord(f"{raw.type}: record has no integer id")
        self.id = record_id
        self.what = f"{raw.type} {record_id}"

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is False or value is None:
            return None
        text = str(value).strip()
        return text or None

    def many2one(self, name: str) -> tuple[int, str] | None:
        value = self.data.get(name)
        if value is False or value is None:
            return None
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int):
            return value[0], str(value[1])
        raise UntranslatableRecord(f"{self.what}: {name} is not a many2one [id, name]: {value!r}")

    def when(self, name: str) -> datetime | None:
        value = self.data.get(name)
        if value is False or value is None:
            return None
        try:
            return _utc_datetime(str(value))
        except ValueError as exc:
            raise UntranslatableRecord(f"{self.what}: {name} {value!r} is not a datetime") from exc

    def required_when(self, name: str) -> datetime:
        moment = self.when(name)
        if moment is None:
            raise UntranslatableRecord(f"{self.what}: {name} is empty")
        return moment

    def day(self, name: str) -> date | None:
        value = self.data.get(name)
        if value is False or value is None:
            return None
        try:
            return _date(str(value))
        except ValueError as exc:
            raise UntranslatableRecord(f"{self.what}: {name} {value!r} is not a date") from exc

    def money(self, name: str, currency: str) -> Money:
        return Money(**self.amount(name, currency))

    def amount(self, name: str, currency: str) -> dict[str, Any]:
        """The data of a :class:`Money`, for a model that validates it with itself."""
        return _money(self.data.get(name), f"{self.what}: {name}", currency)

    def currency(self) -> str:
        currency = self.many2one("currency_id")
        if currency is None:
            raise UntranslatableRecord(f"{self.what}: currency_id is empty")
        code = currency[1].strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise UntranslatableRecord(f"{self.what}: currency {currency[1]!r} is not ISO 4217")
        return code

    def customer_ref(self, name: str = "partner_id") -> SourceRef | None:
        ref = self.customer(name)
        return None if ref is None else SourceRef(**ref)

    def customer(self, name: str = "partner_id") -> dict[str, str] | None:
        """The data of :meth:`customer_ref`, for a model that validates it with itself."""
        partner = self.many2one(name)
        return None if partner is None else {"system": self.instance, "id": str(partner[0])}

    def event(self, data: CanonicalModel, at: datetime, *id_parts: str) -> Envelope:
        key = field_value(data, "order_id") or str(self.id)
        return canonical_event(
            data,
            source=self.envelope.source,
            id_parts=[str(self.id), *id_parts],
            time=at,
            partitionkey=key,
            subject=key,
            correlationid=self.envelope.correlationid,
            causationid=self.envelope.id,
        )


def _utc_datetime(text: str) -> datetime:
    """Odoo's naive UTC ``YYYY-MM-DD HH:MM:SS`` (anything after the seconds ignored), aware.

    ``fromisoformat`` is several times faster than ``strptime``; it only sees text of exactly
    that shape, everything else goes through :func:`parse_datetime` as before."""
    head = text[:19]
    if (
        len(head) == 19
        and head[4] == head[7] == "-"
        and head[10] == " "
        and head[13] == head[16] == ":"
    ):
        return datetime.fromisoformat(head).replace(tzinfo=UTC)
    return parse_datetime(text).replace(tzinfo=UTC)


def _date(text: str) -> date:
    """The ``YYYY-MM-DD`` at the start of ``text`` (``fromisoformat`` when it has that shape)."""
    head = text[:10]
    if len(head) == 10 and head[4] == "-" and head[7] == "-":
        return date.fromisoformat(head)
    return datetime.strptime(head, DATE_FORMAT).date()


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise UntranslatableRecord(f"{what} is not a number: {value!r}")
    try:
        # floats travel as JSON numbers: their shortest repr is the amount Odoo meant
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation as exc:
        raise UntranslatableRecord(f"{what} is not a number: {value!r}") from exc


def _money(value: Any, what: str, currency: str) -> dict[str, Any]:
    """The data of a :class:`Money` of ``value`` (see :func:`_decimal`)."""
    return {"amount": _decimal(value, what), "currency": currency}


#: ``"00"`` .. ``"99"``, looked up by :func:`_stamp` instead of formatted
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def _stamp(moment: datetime) -> str:
    """``moment.strftime("%Y-%m-%dT%H:%M:%SZ")``: the wall-clock fields, a literal ``Z``.

    ``strftime`` is slow (a time tuple and the C library's formatter per call) and an id
    part of most events needs one, so a plain ``datetime`` is assembled from its fields.
    A subclass, or a year before 1000 (which the C library may or may not pad), takes
    ``strftime``."""
    if type(moment) is datetime and moment.year >= 1000:
        digits = _TWO_DIGITS
        return (
            f"{moment.year}-{digits[moment.month]}-{digits[moment.day]}"
            f"T{digits[moment.hour]}:{digits[moment.minute]}:{digits[moment.second]}Z"
        )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- res.partner ---------------------------------------------------------------------------


def _domain_of(website: str | None, email: str | None) -> str | None:
    if website:
        host = urlparse(website if "//" in website else f"//{website}").hostname
        if host:
            return host.removeprefix("www.").lower()
    if email and "@" in email:
        return email.rsplit("@", 1)[1].lower()
    return None


def partner(raw: _Raw) -> list[Envelope]:
    name = raw.text("name")
    if name is None:
        raise UntranslatableRecord(f"{raw.what}: partner has no name")
    created = raw.required_when("create_date")
    updated = raw.required_when("write_date")
    emails = []
    for part in (raw.text("email") or "").replace(";", ",").split(","):
        candidate = part.strip().lower()
        if candidate and _EMAIL.match(candidate):
            emails.append(candidate)
    phones = [p for p in (raw.text("phone"), raw.text("mobile")) if p and _PHONE.match(p)]
    external_ids: dict[str, str] = {}
    ref = raw.text("ref")
    if ref:
        external_ids["ref"] = ref
    parent = raw.many2one("parent_id")
    if parent is not None:
        external_ids["parent_id"] = str(parent[0])
    addresses = []
    street, city = raw.text("street"), raw.text("city")
    country_code = (raw.text("country_code") or "").upper()
    if street and city and country_code:
        street2 = raw.text("street2")
        addresses.append(
            Address(
                street=f"{street}, {street2}" if street2 else street,
                postal_code=raw.text("zip"),
                city=city,
                country=country_code,
            )
        )
    is_company = bool(raw.data.get("is_company"))
    profile: dict[str, Any] = {
        "customer_ref": SourceRef(system=raw.instance, id=str(raw.id)),
        "kind": "company" if is_company else "person",
        "name": name,
        "emails": emails,
        "phones": phones,
        "domain": _domain_of(raw.text("website"), emails[0] if emails and is_company else None),
        "vat_id": (raw.text("vat") or "").replace(" ", "").upper() or None,
        "external_ids": external_ids,
        "addresses": addresses,
    }
    if created == updated:
        data: CanonicalModel = CustomerCreated(**profile, created_at=created)
    else:
        data = CustomerUpdated(**profile, updated_at=updated)
    return [raw.event(data, updated, _stamp(updated))]


# --- sale.order ----------------------------------------------------------------------------


def _sku(product: Any) -> str | None:
    """The article number of a product many2one: ``[default_code]`` of its display name,
    else ``product.product/<id>``; None for an empty or malformed value."""
    if not (isinstance(product, list) and len(product) == 2):
        return None
    match = _PRODUCT_CODE.match(str(product[1]))
    return match.group("code") if match else f"product.product/{product[0]}"


def _lines(raw: _Raw, currency: str) -> list[dict[str, Any]]:
    """The order's goods lines as the data of :class:`OrderLine` models: the order model
    validates them with itself, in one call instead of three model constructions a line."""
    rows = raw.data.get(LINES_KEY)
    if not isinstance(rows, list):
        raise UntranslatableRecord(
            f"{raw.what}: no {LINES_KEY} (the source reads sale.order.line with the order)"
        )
    lines: list[dict[str, Any]] = []
    for row in rows:
        if not isinstance(row, dict) or row.get("display_type"):
            continue  # section and note lines carry no goods
        sku = _sku(row.get("product_id"))
        if sku is None:
            continue
        unit = row.get("product_uom")
        quantity = _decimal(row.get("product_uom_qty"), f"{raw.what}: line quantity")
        lines.append(
            {
                "line_no": len(lines) + 1,
                "sku": sku,
                "description": (str(row.get("name") or "").strip() or None),
                "quantity": quantity,
                "unit": str(unit[1])[:20] if isinstance(unit, list) and len(unit) == 2 else "pcs",
                "unit_price": _money(row.get("price_unit"), f"{raw.what}: price_unit", currency),
                "line_total": _money(
                    row.get("price_subtotal"), f"{raw.what}: price_subtotal", currency
                ),
            }
        )
    return lines


def sale_order(raw: _Raw) -> list[Envelope]:
    state = raw.text("state")
    order_id = raw.text("name")
    if not order_id:
        raise UntranslatableRecord(f"{raw.what}: order has no name (number)")
    events: list[Envelope] = []
    if state in ("sent", "sale", "done"):
        # the parts both events share are read once and passed as data: the models
        # validate them with themselves, in one call rather than one construction each
        currency = raw.currency()
        lines = _lines(raw, currency)
        if not lines:
            raise UntranslatableRecord(f"{raw.what} ({order_id}): order has no product lines")
        placed_at = raw.required_when("create_date")
        commitment = raw.when("commitment_date")
        promised = commitment.date() if commitment else None
        customer = raw.customer()
        total = raw.amount("amount_total", currency)
        placed = OrderPlaced.model_validate(
            {
                "order_id": order_id,
                "order_number": order_id,
                "customer_ref": customer,
                "placed_at": placed_at,
                "channel": "other",
                "lines": lines,
                "total": total,
                "tax_total": raw.amount("amount_tax", currency),
                "requested_delivery_date": promised,
            }
        )
        events.append(raw.event(placed, placed_at, "placed"))
        if state in ("sale", "done"):
            confirmed_at = raw.required_when("date_order")
            confirmed = OrderConfirmed.model_validate(
                {
                    "order_id": order_id,
                    "customer_ref": customer,
                    "confirmed_at": confirmed_at,
                    "promised_delivery_date": promised,
                    "total": total,
                }
            )
            events.append(raw.event(confirmed, confirmed_at, "confirmed", _stamp(confirmed_at)))
    if state == "cancel":
        cancelled_at = raw.required_when("write_date")
        cancelled = OrderCancelled(
            order_id=order_id,
            customer_ref=raw.customer_ref(),
            cancelled_at=cancelled_at,
            cancelled_by="seller",
        )
        events.append(raw.event(cancelled, cancelled_at, "cancelled"))
    return events


# --- stock.picking -------------------------------------------------------------------------


def _order_of_picking(raw: _Raw) -> str:
    sale = raw.many2one("sale_id")
    if sale is not None:
        return sale[1]
    origin = raw.text("origin")
    if origin:
        return origin.split(",")[0].strip()
    raise UntranslatableRecord(
        f"{raw.what} ({raw.text('name')}): delivery has neither sale_id nor origin: "
        "no order to attach the shipment to"
    )


_RETURN_REASONS: dict[str, ReturnReason] = {reason: reason for reason in get_args(ReturnReason)}
#: return picking states in which the return is requested (the wizard confirms and
#: reserves the picking at once); draft and cancel give nothing
_RETURN_STATES = ("waiting", "confirmed", "assigned", "done")


def _reason(text: str | None) -> tuple[ReturnReason, str | None]:
    """The canonical reason and a comment from ``x_return_reason``: a known reason
    (``wrong_item``, "Wrong item") maps to itself, any other text is ``other`` with the text
    as the comment."""
    if text is None:
        return "other", None
    key = re.sub(r"[\s\-]+", "_", text.strip().lower())
    reason = _RETURN_REASONS.get(key)
    if reason is not None:
        return reason, None
    return "other", text[:2000]


def _order_of_return(raw: _Raw, name: str) -> str:
    sale = raw.many2one("sale_id")
    if sale is not None:
        return sale[1]
    delivery = raw.data.get(RETURNED_KEY)
    if isinstance(delivery, dict):
        order = delivery.get("sale_id")
        if isinstance(order, list) and len(order) == 2 and order[1]:
            return str(order[1])
        origin = delivery.get("origin")
        if isinstance(origin, str) and origin.strip():
            return origin.split(",")[0].strip()
    returned = delivery.get("name") if isinstance(delivery, dict) else None
    raise UntranslatableRecord(
        f"{raw.what} ({name}): return has no sale_id and the delivery it returns "
        f"({returned or 'not found'}) has neither sale_id nor origin: no order to attach it to"
    )


def _return_requested(raw: _Raw) -> list[Envelope]:
    moves = raw.data.get(MOVES_KEY)
    if not isinstance(moves, list):
        return []  # read without its moves: cannot tell a return from a receipt
    returned = [
        m
        for m in moves
        if isinstance(m, dict) and m.get("origin_returned_move_id") and m.get("state") != "cancel"
    ]
    if not returned:
        return []  # a receipt from a vendor, not a customer return
    if raw.text("state") not in _RETURN_STATES:
        return []
    name = raw.text("name") or str(raw.id)
    order_id = _order_of_return(raw, name)
    quantities: dict[str, Decimal] = {}
    for move in returned:
        sku = _sku(move.get("product_id"))
        if sku is None:
            raise UntranslatableRecord(f"{raw.what} ({name}): a returned move has no product")
        quantity = _decimal(move.get("product_uom_qty"), f"{raw.what}: move quantity")
        quantities[sku] = quantities.get(sku, Decimal(0)) + quantity
    lines = [ItemQuantity(sku=sku, quantity=q) for sku, q in quantities.items() if q > 0]
    if not lines:
        raise UntranslatableRecord(f"{raw.what} ({name}): return has no quantity to return")
    reason, comment = _reason(raw.text(RETURN_REASON_FIELD))
    requested_at = raw.required_when("create_date")
    requested = ReturnRequested(
        order_id=order_id,
        customer_ref=raw.customer_ref(),
        return_id=name,
        requested_at=requested_at,
        reason=reason,
        comment=comment,
        lines=lines,
    )
    return [raw.event(requested, requested_at, "requested")]


def stock_picking(raw: _Raw) -> list[Envelope]:
    if raw.text("picking_type_code") == "incoming":
        return _return_requested(raw)
    if raw.text("picking_type_code") != "outgoing" or raw.text("state") != "done":
        return []
    shipment_id = raw.text("name") or str(raw.id)
    order_id = _order_of_picking(raw)
    carrier = raw.many2one("carrier_id")
    carrier_name = carrier[1] if carrier else _CARRIER_UNKNOWN
    dispatched_at = raw.required_when("date_done")
    promised = raw.when("date_deadline") or raw.when("scheduled_date")
    tracking = raw.text("carrier_tracking_ref")
    events = [
        raw.event(
            ShipmentDispatched(
                order_id=order_id,
                customer_ref=raw.customer_ref(),
                shipment_id=shipment_id,
                carrier=carrier_name,
                tracking_number=tracking,
                dispatched_at=dispatched_at,
                promised_delivery_date=promised.date() if promised else None,
            ),
            dispatched_at,
            "dispatched",
            _stamp(dispatched_at),
        )
    ]
    delivered_at = raw.when("x_delivered_date")
    if delivered_at is not None:
        events.append(
            raw.event(
                ShipmentDelivered(
                    order_id=order_id,
                    customer_ref=raw.customer_ref(),
                    shipment_id=shipment_id,
                    carrier=carrier_name,
                    tracking_number=tracking,
                    delivered_at=delivered_at,
                    promised_delivery_date=promised.date() if promised else None,
                ),
                delivered_at,
                "delivered",
                _stamp(delivered_at),
            )
        )
    return events


# --- account.move --------------------------------------------------------------------------


def account_move(raw: _Raw) -> list[Envelope]:
    if raw.text("move_type") != "out_invoice" or raw.text("state") != "posted":
        return []
    number = raw.text("name")
    if not number or number == "/":
        raise UntranslatableRecord(f"{raw.what}: posted invoice has no number")
    origin = raw.text("invoice_origin")
    if not origin:
        raise UntranslatableRecord(
            f"{raw.what} ({number}): invoice has no invoice_origin: no order to attach it to"
        )
    order_id = origin.split(",")[0].strip()
    currency = raw.currency()
    customer = raw.customer_ref("commercial_partner_id") or raw.customer_ref()
    invoice_day = raw.day("invoice_date")
    created = raw.required_when("create_date")
    if invoice_day is None or invoice_day == created.date():
        issued_at = created
    else:
        issued_at = datetime.combine(invoice_day, time(0, 0), tzinfo=UTC)
    events = [
        raw.event(
            InvoiceIssued(
                order_id=order_id,
                customer_ref=customer,
                invoice_id=number,
                invoice_number=number,
                issued_at=issued_at,
                due_date=raw.day("invoice_date_due"),
                total=raw.money("amount_total", currency),
                tax_total=raw.money("amount_tax", currency),
            ),
            issued_at,
            "issued",
            number,
        )
    ]
    if raw.text("payment_state") in ("paid", "in_payment"):
        received_at = raw.required_when("write_date")
        events.append(
            raw.event(
                PaymentReceived(
                    order_id=order_id,
                    customer_ref=customer,
                    payment_id=f"{number}/payment",
                    invoice_id=number,
                    received_at=received_at,
                    amount=raw.money("amount_total", currency),
                    method="other",
                    payment_reference=raw.text("payment_reference"),
                ),
                received_at,
                "paid",
            )
        )
    return events


# --- entry point ---------------------------------------------------------------------------

MAPPINGS: dict[str, Callable[[_Raw], list[Envelope]]] = {
    "res_partner": partner,
    "sale_order": sale_order,
    "stock_picking": stock_picking,
    "account_move": account_move,
}


def translate(raw: Envelope) -> Sequence[Envelope]:
    """Canonical events of one raw Odoo record (``type`` ``raw.<type>.<entity>``)."""
    parts = raw.type.split(".")
    if len(parts) != 3 or parts[0] != "raw":
        raise UntranslatableRecord(f"{raw.type!r} is not a raw event type raw.<type>.<entity>")
    mapping = MAPPINGS.get(parts[2])
    if mapping is None:
        raise UntranslatableRecord(f"the Odoo connector has no entity {parts[2]!r}")
    record = _Raw(raw)
    try:
        return mapping(record)
    except UntranslatableRecord:
        raise
    except (ValueError, TypeError) as exc:  # pydantic ValidationError is a ValueError
        raise UntranslatableRecord(f"{record.what}: {exc}") from exc


__all__ = ["MAPPINGS", "translate"]

"""Order-to-delivery events: orders, payments, invoices, shipments, returns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from schemas.base import CanonicalModel, Id, Timestamp, classified
from schemas.parts import (
    CONFIDENTIAL,
    INTERNAL,
    PUBLIC,
    RESTRICTED,
    Address,
    ItemQuantity,
    Money,
    OrderLine,
    SourceRef,
)
from schemas.registry import register

_T0 = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
_REF = SourceRef(system="odoo", id="res.partner/42")


def _eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


_ADDRESS = Address(
    name="Muster GmbH, Goods In",
    street="Hauptstrasse 5",
    postal_code="10115",
    city="Berlin",
    country="DE",
)


class CustomerScoped(CanonicalModel):
    """Fields of every event about a customer: the source reference and the golden id."""

    customer_ref: SourceRef | None = classified(
        INTERNAL, default=None, description="the customer record in the emitting system"
    )
    customer_id: Id | None = classified(
        INTERNAL,
        default=None,
        description="golden customer id; translators leave it empty, identity fills it",
    )


class OrderScoped(CustomerScoped):
    """Fields of every order-side event."""

    order_id: Id = classified(
        PUBLIC, description="canonical order id ('<instance>:<source id>' or order number)"
    )


OrderChannel = Literal["web", "shop", "phone", "email", "sales_rep", "marketplace", "edi", "other"]


@register
class OrderPlaced(OrderScoped):
    """A customer placed an order."""

    event_type = "order.placed"
    version = 1

    order_number: str | None = classified(PUBLIC, default=None, max_length=100)
    placed_at: Timestamp = classified(INTERNAL)
    channel: OrderChannel = classified(INTERNAL, default="other")
    lines: list[OrderLine] = classified(INTERNAL, min_length=1)
    total: Money = classified(CONFIDENTIAL, description="gross order total")
    tax_total: Money | None = classified(CONFIDENTIAL, default=None)
    shipping_address: Address | None = classified(CONFIDENTIAL, pii=True, default=None)
    billing_address: Address | None = classified(CONFIDENTIAL, pii=True, default=None)
    requested_delivery_date: date | None = classified(INTERNAL, default=None)

    @classmethod
    def example(cls) -> OrderPlaced:
        return cls(
            order_id="odoo:SO042",
            order_number="SO042",
            customer_ref=_REF,
            placed_at=_T0,
            channel="web",
            lines=[
                OrderLine(
                    line_no=1,
                    sku="CHAIR-OAK",
                    description="Oak chair",
                    quantity=Decimal(4),
                    unit_price=_eur("60.00"),
                    line_total=_eur("240.00"),
                    tax_rate=Decimal("0.19"),
                ),
                OrderLine(
                    line_no=2,
                    sku="TABLE-OAK",
                    quantity=Decimal(1),
                    unit_price=_eur("360.50"),
                    line_total=_eur("360.50"),
                ),
            ],
            total=_eur("714.60"),
            tax_total=_eur("114.10"),
            shipping_address=_ADDRESS,
            billing_address=_ADDRESS,
            requested_delivery_date=date(2026, 11, 30),
        )


@register
class OrderConfirmed(OrderScoped):
    """The seller accepted the order and promised a delivery date."""

    event_type = "order.confirmed"
    version = 1

    confirmed_at: Timestamp = classified(INTERNAL)
    promised_delivery_date: date | None = classified(INTERNAL, default=None)
    total: Money | None = classified(CONFIDENTIAL, default=None)

    @classmethod
    def example(cls) -> OrderConfirmed:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            confirmed_at=_T0.replace(hour=10),
            promised_delivery_date=date(2026, 11, 28),
            total=_eur("714.60"),
        )


@register
class OrderCancelled(OrderScoped):
    """The order will not be fulfilled."""

    event_type = "order.cancelled"
    version = 1

    cancelled_at: Timestamp = classified(INTERNAL)
    cancelled_by: Literal["customer", "seller", "system"] = classified(INTERNAL, default="seller")
    reason: str | None = classified(INTERNAL, default=None, max_length=1000)

    @classmethod
    def example(cls) -> OrderCancelled:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            cancelled_at=_T0.replace(day=24),
            cancelled_by="customer",
            reason="ordered twice",
        )


@register
class PaymentReceived(OrderScoped):
    """Money arrived for an order (or an invoice of it)."""

    event_type = "payment.received"
    version = 1

    payment_id: Id = classified(INTERNAL)
    invoice_id: Id | None = classified(INTERNAL, default=None)
    received_at: Timestamp = classified(INTERNAL)
    amount: Money = classified(CONFIDENTIAL)
    method: Literal["bank_transfer", "card", "direct_debit", "paypal", "cash", "other"] = (
        classified(CONFIDENTIAL)
    )
    payer_iban: str | None = classified(
        RESTRICTED,
        pii=True,
        default=None,
        pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$",
        description="IBAN of the paying account, without spaces",
    )
    payment_reference: str | None = classified(
        RESTRICTED, default=None, max_length=140, description="remittance information"
    )

    @classmethod
    def example(cls) -> PaymentReceived:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            payment_id="odoo:PAY/2026/0113",
            invoice_id="odoo:INV/2026/0042",
            received_at=_T0.replace(day=25),
            amount=_eur("714.60"),
            method="bank_transfer",
            payer_iban="DE89370400440532013000",
            payment_reference="INV/2026/0042",
        )


@register
class InvoiceIssued(OrderScoped):
    """An invoice for (part of) an order was issued."""

    event_type = "invoice.issued"
    version = 1

    invoice_id: Id = classified(INTERNAL)
    invoice_number: str = classified(INTERNAL, min_length=1, max_length=100)
    issued_at: Timestamp = classified(INTERNAL)
    due_date: date | None = classified(INTERNAL, default=None)
    total: Money = classified(CONFIDENTIAL)
    tax_total: Money | None = classified(CONFIDENTIAL, default=None)
    billing_address: Address | None = classified(CONFIDENTIAL, pii=True, default=None)

    @classmethod
    def example(cls) -> InvoiceIssued:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            invoice_id="odoo:INV/2026/0042",
            invoice_number="INV/2026/0042",
            issued_at=_T0.replace(hour=11),
            due_date=date(2026, 12, 7),
            total=_eur("714.60"),
            tax_total=_eur("114.10"),
            billing_address=_ADDRESS,
        )


@register
class ShipmentDispatched(OrderScoped):
    """Goods of an order left the warehouse with a carrier."""

    event_type = "shipment.dispatched"
    version = 1

    shipment_id: Id = classified(INTERNAL)
    carrier: str = classified(PUBLIC, min_length=1, max_length=100)
    tracking_number: str | None = classified(INTERNAL, default=None, max_length=100)
    tracking_url: str | None = classified(INTERNAL, default=None, max_length=2000)
    dispatched_at: Timestamp = classified(INTERNAL)
    promised_delivery_date: date | None = classified(INTERNAL, default=None)
    estimated_delivery_at: Timestamp | None = classified(INTERNAL, default=None)
    lines: list[ItemQuantity] = classified(INTERNAL, default_factory=list)
    shipping_address: Address | None = classified(CONFIDENTIAL, pii=True, default=None)

    @classmethod
    def example(cls) -> ShipmentDispatched:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            shipment_id="odoo:WH/OUT/00017",
            carrier="DHL",
            tracking_number="00340434161094042557",
            dispatched_at=_T0.replace(day=26, hour=14),
            promised_delivery_date=date(2026, 11, 28),
            estimated_delivery_at=_T0.replace(day=27, hour=12),
            lines=[
                ItemQuantity(sku="CHAIR-OAK", quantity=Decimal(4)),
                ItemQuantity(sku="TABLE-OAK", quantity=Decimal(1)),
            ],
            shipping_address=_ADDRESS,
        )


@register
class ShipmentDelivered(OrderScoped):
    """The carrier delivered a shipment."""

    event_type = "shipment.delivered"
    version = 1

    shipment_id: Id = classified(INTERNAL)
    carrier: str = classified(PUBLIC, min_length=1, max_length=100)
    tracking_number: str | None = classified(INTERNAL, default=None, max_length=100)
    delivered_at: Timestamp = classified(INTERNAL)
    promised_delivery_date: date | None = classified(INTERNAL, default=None)
    received_by: str | None = classified(CONFIDENTIAL, pii=True, default=None, max_length=200)

    @classmethod
    def example(cls) -> ShipmentDelivered:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            shipment_id="odoo:WH/OUT/00017",
            carrier="DHL",
            tracking_number="00340434161094042557",
            delivered_at=_T0.replace(day=27, hour=11, minute=2),
            promised_delivery_date=date(2026, 11, 28),
            received_by="J. Weber",
        )


ReturnReason = Literal[
    "damaged", "wrong_item", "not_as_described", "no_longer_needed", "late_delivery", "other"
]


@register
class ReturnRequested(OrderScoped):
    """The customer wants to send goods of an order back."""

    event_type = "return.requested"
    version = 1

    return_id: Id = classified(INTERNAL)
    requested_at: Timestamp = classified(INTERNAL)
    reason: ReturnReason = classified(INTERNAL)
    comment: str | None = classified(CONFIDENTIAL, default=None, max_length=2000)
    lines: list[ItemQuantity] = classified(INTERNAL, min_length=1)

    @classmethod
    def example(cls) -> ReturnRequested:
        return cls(
            order_id="odoo:SO042",
            customer_ref=_REF,
            return_id="odoo:RMA/0007",
            requested_at=_T0.replace(day=29),
            reason="damaged",
            comment="one chair leg is cracked",
            lines=[ItemQuantity(sku="CHAIR-OAK", quantity=Decimal(1))],
        )


__all__ = [
    "CustomerScoped",
    "InvoiceIssued",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderPlaced",
    "OrderScoped",
    "PaymentReceived",
    "ReturnRequested",
    "ShipmentDelivered",
    "ShipmentDispatched",
]

"""Value objects shared by the canonical events: money, addresses, references, people."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from schemas.base import (
    Classification,
    CountryCode,
    CurrencyCode,
    Email,
    Id,
    Part,
    Phone,
    Quantity,
    classified,
)

PUBLIC = Classification.PUBLIC
INTERNAL = Classification.INTERNAL
CONFIDENTIAL = Classification.CONFIDENTIAL
RESTRICTED = Classification.RESTRICTED

Priority: TypeAlias = Literal["low", "normal", "high", "urgent"]
Channel: TypeAlias = Literal["email", "phone", "web", "chat", "social", "in_person", "other"]


class SourceRef(Part):
    """A record in one source system: the connector instance and the record's id there."""

    system: Id = classified(INTERNAL, description="connector instance name, e.g. 'odoo'")
    id: Id = classified(INTERNAL, description="the record's id in that system")


class Money(Part):
    """An amount in one ISO 4217 currency; the amount is an exact decimal."""

    amount: Annotated[Decimal, Field(max_digits=20, decimal_places=6)] = classified(
        CONFIDENTIAL, description="exact decimal amount (JSON string or number)"
    )
    currency: CurrencyCode = classified(PUBLIC, description="ISO 4217 code, e.g. 'EUR'")


class Address(Part):
    """A postal address; street and names are personal data."""

    name: str | None = classified(
        CONFIDENTIAL, pii=True, default=None, max_length=200, description="addressee"
    )
    street: str = classified(CONFIDENTIAL, pii=True, min_length=1, max_length=400)
    postal_code: str | None = classified(CONFIDENTIAL, pii=True, default=None, max_length=20)
    city: str = classified(CONFIDENTIAL, pii=True, min_length=1, max_length=200)
    region: str | None = classified(INTERNAL, default=None, max_length=200)
    country: CountryCode = classified(INTERNAL, description="ISO 3166-1 alpha-2 code")


class Contact(Part):
    """A person at a customer."""

    name: str = classified(CONFIDENTIAL, pii=True, min_length=1, max_length=200)
    role: str | None = classified(INTERNAL, default=None, max_length=100)
    email: Email | None = classified(CONFIDENTIAL, pii=True, default=None)
    phone: Phone | None = classified(CONFIDENTIAL, pii=True, default=None)


class Requester(Part):
    """Who raised a ticket or complaint."""

    name: str | None = classified(CONFIDENTIAL, pii=True, default=None, max_length=200)
    email: Email | None = classified(CONFIDENTIAL, pii=True, default=None)
    phone: Phone | None = classified(CONFIDENTIAL, pii=True, default=None)


class OrderLine(Part):
    """One line of an order: what, how many, at what price."""

    line_no: int = classified(PUBLIC, ge=1, description="1-based position in the order")
    sku: Id = classified(PUBLIC, description="article number")
    description: str | None = classified(PUBLIC, default=None, max_length=500)
    quantity: Quantity = classified(INTERNAL)
    unit: str = classified(PUBLIC, default="pcs", min_length=1, max_length=20)
    unit_price: Money = classified(CONFIDENTIAL)
    line_total: Money = classified(CONFIDENTIAL)
    tax_rate: Annotated[Decimal, Field(ge=0, le=1)] | None = classified(
        INTERNAL, default=None, description="0.19 for 19 %"
    )


class ItemQuantity(Part):
    """An article and a quantity (shipment and return lines)."""

    sku: Id = classified(PUBLIC)
    quantity: Quantity = classified(INTERNAL)


__all__ = [
    "CONFIDENTIAL",
    "INTERNAL",
    "PUBLIC",
    "RESTRICTED",
    "Address",
    "Channel",
    "Contact",
    "ItemQuantity",
    "Money",
    "OrderLine",
    "Priority",
    "Requester",
    "SourceRef",
]

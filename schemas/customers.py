"""Customer, lead and opportunity events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from schemas.base import Email, Id, Phone, Timestamp, classified
from schemas.orders import CustomerScoped
from schemas.parts import (
    CONFIDENTIAL,
    INTERNAL,
    PUBLIC,
    RESTRICTED,
    Address,
    Contact,
    Money,
    SourceRef,
)
from schemas.registry import register, upcaster

_T0 = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
_REF = SourceRef(system="odoo", id="res.partner/42")

CustomerKind = Literal["company", "person"]


class CustomerProfile(CustomerScoped):
    """Identity evidence and master data shared by customer.created and customer.updated."""

    kind: CustomerKind = classified(INTERNAL, default="company")
    name: str = classified(
        CONFIDENTIAL, pii=True, min_length=1, max_length=300, description="company or person"
    )
    emails: list[Email] = classified(CONFIDENTIAL, pii=True, default_factory=list)
    phones: list[Phone] = classified(CONFIDENTIAL, pii=True, default_factory=list)
    domain: str | None = classified(
        INTERNAL, default=None, max_length=253, description="web domain, e.g. 'muster.de'"
    )
    vat_id: str | None = classified(
        CONFIDENTIAL, default=None, max_length=30, description="company VAT id"
    )
    tax_id: str | None = classified(
        RESTRICTED,
        pii=True,
        default=None,
        max_length=30,
        description="personal tax identification number (persons only)",
    )
    external_ids: dict[str, str] = classified(
        INTERNAL,
        default_factory=dict,
        description="cross references, e.g. {'erp_customer_number': '10042'}",
    )
    identities: list[SourceRef] = classified(
        INTERNAL, default_factory=list, description="the customer's records in other systems"
    )
    contacts: list[Contact] = classified(CONFIDENTIAL, pii=True, default_factory=list)
    addresses: list[Address] = classified(CONFIDENTIAL, pii=True, default_factory=list)


def _profile(**extra: Any) -> dict[str, Any]:
    return {
        "customer_ref": _REF,
        "kind": "company",
        "name": "Muster GmbH",
        "emails": ["info@muster.de"],
        "phones": ["+49 30 1234567"],
        "domain": "muster.de",
        "vat_id": "DE123456789",
        "external_ids": {"erp_customer_number": "10042"},
        "contacts": [Contact(name="Jana Weber", role="purchasing", email="j.weber@muster.de")],
        "addresses": [
            Address(street="Hauptstrasse 5", postal_code="10115", city="Berlin", country="DE")
        ],
        **extra,
    }


@register
class CustomerCreatedV1(CustomerScoped):
    """customer.created as first published: one e-mail address. Read via the upcaster."""

    event_type = "customer.created"
    version = 1

    kind: CustomerKind = classified(INTERNAL, default="company")
    name: str = classified(CONFIDENTIAL, pii=True, min_length=1, max_length=300)
    email: Email | None = classified(CONFIDENTIAL, pii=True, default=None)
    phone: Phone | None = classified(CONFIDENTIAL, pii=True, default=None)
    domain: str | None = classified(INTERNAL, default=None, max_length=253)
    vat_id: str | None = classified(CONFIDENTIAL, default=None, max_length=30)
    external_ids: dict[str, str] = classified(INTERNAL, default_factory=dict)
    created_at: Timestamp = classified(INTERNAL)

    @classmethod
    def example(cls) -> CustomerCreatedV1:
        return cls(
            customer_ref=_REF,
            name="Muster GmbH",
            email="info@muster.de",
            phone="+49 30 1234567",
            domain="muster.de",
            created_at=_T0,
        )


@upcaster("customer.created", 1)
def _customer_created_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 holds lists of e-mails and phones (sources keep several) plus contacts."""
    out = dict(data)
    email = out.pop("email", None)
    phone = out.pop("phone", None)
    out["emails"] = [email] if email else []
    out["phones"] = [phone] if phone else []
    return out


@register
class CustomerCreated(CustomerProfile):
    """A customer record appeared in a source system."""

    event_type = "customer.created"
    version = 2

    created_at: Timestamp = classified(INTERNAL)

    @classmethod
    def example(cls) -> CustomerCreated:
        return cls(**_profile(created_at=_T0))


@register
class CustomerUpdated(CustomerProfile):
    """A customer record changed in a source system; the full current profile."""

    event_type = "customer.updated"
    version = 1

    updated_at: Timestamp = classified(INTERNAL)
    changed_fields: list[str] = classified(
        INTERNAL, default_factory=list, description="profile fields that changed, if known"
    )

    @classmethod
    def example(cls) -> CustomerUpdated:
        return cls(
            **_profile(
                updated_at=_T0.replace(day=22),
                emails=["info@muster.de", "einkauf@muster.de"],
                changed_fields=["emails"],
            )
        )


@register
class CustomerMerged(CustomerScoped):
    """Two golden customers turned out to be one; ``merged_id`` now points at the survivor."""

    event_type = "customer.merged"
    version = 1

    survivor_id: Id = classified(INTERNAL)
    merged_id: Id = classified(INTERNAL)
    reason: str = classified(
        INTERNAL, min_length=1, max_length=500, description="the rule or person that merged"
    )
    merged_at: Timestamp = classified(INTERNAL)

    @classmethod
    def example(cls) -> CustomerMerged:
        return cls(
            customer_id="cust-7f3a",
            survivor_id="cust-7f3a",
            merged_id="cust-91bc",
            reason="same vat_id DE123456789",
            merged_at=_T0.replace(day=23),
        )


@register
class LeadCreated(CustomerScoped):
    """A prospect showed interest."""

    event_type = "lead.created"
    version = 1

    lead_id: Id = classified(INTERNAL)
    created_at: Timestamp = classified(INTERNAL)
    name: str = classified(CONFIDENTIAL, pii=True, min_length=1, max_length=300)
    company: str | None = classified(INTERNAL, default=None, max_length=300)
    email: Email | None = classified(CONFIDENTIAL, pii=True, default=None)
    phone: Phone | None = classified(CONFIDENTIAL, pii=True, default=None)
    source: str | None = classified(
        INTERNAL, default=None, max_length=100, description="campaign or channel"
    )
    owner: str | None = classified(INTERNAL, default=None, max_length=200)
    estimated_value: Money | None = classified(CONFIDENTIAL, default=None)

    @classmethod
    def example(cls) -> LeadCreated:
        return cls(
            customer_ref=SourceRef(system="hubspot", id="contact/901"),
            lead_id="hubspot:lead/311",
            created_at=_T0.replace(day=2),
            name="Jana Weber",
            company="Muster GmbH",
            email="j.weber@muster.de",
            source="trade fair",
            owner="sales-north",
            estimated_value=Money(amount=Decimal("5000"), currency="EUR"),
        )


@register
class LeadConverted(CustomerScoped):
    """A lead became a customer (and possibly an opportunity)."""

    event_type = "lead.converted"
    version = 1

    lead_id: Id = classified(INTERNAL)
    converted_at: Timestamp = classified(INTERNAL)
    opportunity_id: Id | None = classified(INTERNAL, default=None)

    @classmethod
    def example(cls) -> LeadConverted:
        return cls(
            customer_ref=SourceRef(system="hubspot", id="company/77"),
            lead_id="hubspot:lead/311",
            converted_at=_T0.replace(day=10),
            opportunity_id="hubspot:deal/55",
        )


@register
class OpportunityWon(CustomerScoped):
    """A sales opportunity closed as won."""

    event_type = "opportunity.won"
    version = 1

    opportunity_id: Id = classified(INTERNAL)
    lead_id: Id | None = classified(INTERNAL, default=None)
    name: str | None = classified(INTERNAL, default=None, max_length=300)
    won_at: Timestamp = classified(INTERNAL)
    amount: Money = classified(CONFIDENTIAL)
    owner: str | None = classified(INTERNAL, default=None, max_length=200)
    order_id: Id | None = classified(PUBLIC, default=None, description="resulting order, if known")

    @classmethod
    def example(cls) -> OpportunityWon:
        return cls(
            customer_ref=SourceRef(system="hubspot", id="company/77"),
            opportunity_id="hubspot:deal/55",
            lead_id="hubspot:lead/311",
            name="Oak furniture for new office",
            won_at=_T0.replace(day=19),
            amount=Money(amount=Decimal("714.60"), currency="EUR"),
            owner="sales-north",
            order_id="odoo:SO042",
        )


__all__ = [
    "CustomerCreated",
    "CustomerCreatedV1",
    "CustomerMerged",
    "CustomerProfile",
    "CustomerUpdated",
    "LeadConverted",
    "LeadCreated",
    "OpportunityWon",
]

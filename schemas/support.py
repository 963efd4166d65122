"""Support events (tickets, complaints) and SLA breaches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from schemas.base import Id, Timestamp, classified
from schemas.orders import CustomerScoped
from schemas.parts import (
    CONFIDENTIAL,
    INTERNAL,
    PUBLIC,
    Channel,
    Priority,
    Requester,
    SourceRef,
)
from schemas.registry import register

_T0 = datetime(2026, 11, 27, 15, 40, tzinfo=UTC)
_REF = SourceRef(system="zendesk", id="user/5501")
_REQUESTER = Requester(name="Jana Weber", email="j.weber@muster.de")

TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]


class TicketScoped(CustomerScoped):
    """Fields of every ticket and complaint event."""

    ticket_id: Id = classified(PUBLIC, description="'<instance>:<source ticket id>'")
    order_id: Id | None = classified(PUBLIC, default=None, description="related order")
    priority: Priority = classified(INTERNAL)


@register
class TicketOpened(TicketScoped):
    """Somebody asked support for help."""

    event_type = "ticket.opened"
    version = 1

    opened_at: Timestamp = classified(INTERNAL)
    channel: Channel = classified(INTERNAL)
    subject: str = classified(CONFIDENTIAL, min_length=1, max_length=500)
    requester: Requester | None = classified(CONFIDENTIAL, pii=True, default=None)
    category: str | None = classified(INTERNAL, default=None, max_length=100)
    assignee: str | None = classified(INTERNAL, default=None, max_length=200)

    @classmethod
    def example(cls) -> TicketOpened:
        return cls(
            ticket_id="zendesk:8812",
            order_id="odoo:SO042",
            customer_ref=_REF,
            priority="normal",
            opened_at=_T0,
            channel="email",
            subject="Where is my delivery?",
            requester=_REQUESTER,
            category="delivery",
        )


@register
class TicketUpdated(TicketScoped):
    """A ticket's status, priority or assignment changed."""

    event_type = "ticket.updated"
    version = 1

    updated_at: Timestamp = classified(INTERNAL)
    status: TicketStatus = classified(INTERNAL)
    assignee: str | None = classified(INTERNAL, default=None, max_length=200)
    changed_fields: list[str] = classified(INTERNAL, default_factory=list)

    @classmethod
    def example(cls) -> TicketUpdated:
        return cls(
            ticket_id="zendesk:8812",
            order_id="odoo:SO042",
            customer_ref=_REF,
            priority="high",
            updated_at=_T0.replace(hour=16),
            status="open",
            assignee="agent-17",
            changed_fields=["priority", "assignee"],
        )


@register
class TicketEscalated(TicketScoped):
    """A ticket was handed to a higher support level or another department."""

    event_type = "ticket.escalated"
    version = 1

    escalated_at: Timestamp = classified(INTERNAL)
    level: int = classified(INTERNAL, ge=1, le=9, description="support tier after escalation")
    escalated_to: str | None = classified(
        INTERNAL, default=None, max_length=100, description="team or department"
    )
    reason: str | None = classified(CONFIDENTIAL, default=None, max_length=1000)

    @classmethod
    def example(cls) -> TicketEscalated:
        return cls(
            ticket_id="zendesk:8812",
            order_id="odoo:SO042",
            customer_ref=_REF,
            priority="urgent",
            escalated_at=_T0.replace(day=28, hour=9),
            level=2,
            escalated_to="logistics",
            reason="shipment overdue, customer waiting",
        )


@register
class TicketResolved(TicketScoped):
    """Support considers the ticket solved."""

    event_type = "ticket.resolved"
    version = 1

    resolved_at: Timestamp = classified(INTERNAL)
    resolution: str | None = classified(CONFIDENTIAL, default=None, max_length=2000)
    satisfaction: Literal["good", "bad", "unknown"] = classified(INTERNAL, default="unknown")

    @classmethod
    def example(cls) -> TicketResolved:
        return cls(
            ticket_id="zendesk:8812",
            order_id="odoo:SO042",
            customer_ref=_REF,
            priority="urgent",
            resolved_at=_T0.replace(day=28, hour=13),
            resolution="delivered 27 Nov, customer confirmed",
            satisfaction="good",
        )


ComplaintCategory = Literal["product_quality", "delivery", "billing", "service", "other"]


@register
class ComplaintOpened(TicketScoped):
    """A formal complaint was raised (tracked as a ticket)."""

    event_type = "complaint.opened"
    version = 1

    complaint_id: Id | None = classified(INTERNAL, default=None)
    opened_at: Timestamp = classified(INTERNAL)
    channel: Channel = classified(INTERNAL)
    category: ComplaintCategory = classified(INTERNAL)
    description: str = classified(CONFIDENTIAL, min_length=1, max_length=5000)
    requester: Requester | None = classified(CONFIDENTIAL, pii=True, default=None)

    @classmethod
    def example(cls) -> ComplaintOpened:
        return cls(
            ticket_id="zendesk:8840",
            order_id="odoo:SO042",
            customer_ref=_REF,
            priority="high",
            complaint_id="zendesk:complaint/12",
            opened_at=_T0.replace(day=29, hour=10),
            channel="phone",
            category="product_quality",
            description="one chair leg is cracked",
            requester=_REQUESTER,
        )


@register
class SlaBreached(CustomerScoped):
    """A process stage took longer than its SLA allows."""

    event_type = "sla.breached"
    version = 1

    process: str = classified(PUBLIC, min_length=1, max_length=100, description="e.g. 'order'")
    stage: str = classified(PUBLIC, min_length=1, max_length=100)
    owner: str = classified(PUBLIC, min_length=1, max_length=100, description="department")
    subject_id: Id = classified(PUBLIC, description="the order id or ticket id that is late")
    order_id: Id | None = classified(PUBLIC, default=None)
    ticket_id: Id | None = classified(PUBLIC, default=None)
    started_at: Timestamp = classified(INTERNAL, description="when the stage was entered")
    deadline: Timestamp = classified(INTERNAL)
    breached_at: Timestamp = classified(INTERNAL)

    @classmethod
    def example(cls) -> SlaBreached:
        return cls(
            customer_id="cust-7f3a",
            process="order",
            stage="awaiting_shipment",
            owner="logistics",
            subject_id="odoo:SO042",
            order_id="odoo:SO042",
            started_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
            deadline=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
            breached_at=datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC),
        )


__all__ = [
    "ComplaintOpened",
    "SlaBreached",
    "TicketEscalated",
    "TicketOpened",
    "TicketResolved",
    "TicketScoped",
    "TicketUpdated",
]

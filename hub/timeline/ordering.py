"""Timeline order: event time, then a fixed rank of the event type, then the event id.

The key depends only on the event itself, never on when or how often it arrived, so any
arrival order with any number of duplicates sorts into the same timeline. Two events with
the same time keep the business order (placed before paid before dispatched ...), and the
ce_id settles the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas import Envelope

#: Business order of the canonical types, used only to break ties of equal event time.
TYPE_ORDER: tuple[str, ...] = (
    "customer.created",
    "customer.updated",
    "customer.merged",
    "lead.created",
    "lead.converted",
    "opportunity.won",
    "order.placed",
    "order.confirmed",
    "payment.received",
    "shipment.dispatched",
    "shipment.delivered",
    "invoice.issued",
    "return.requested",
    "order.cancelled",
    "ticket.opened",
    "complaint.opened",
    "ticket.updated",
    "ticket.escalated",
    "ticket.resolved",
    "sla.breached",
)
_RANK = {name: rank for rank, name in enumerate(TYPE_ORDER)}
UNKNOWN_RANK = len(TYPE_ORDER)


def type_rank(event_type: str) -> int:
    return _RANK.get(event_type, UNKNOWN_RANK)


def time_key(moment: datetime) -> str:
    """Fixed-width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``): sorts like the instant on
    every database."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def parse_time_key(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


class NotATimelineEvent(ValueError):  # noqa: N818 - reads as a reason
    """A record the timeline cannot place (no time, no aggregate)."""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One stored event with the keys that place it on timelines."""

    id: str
    type: str
    time: datetime
    source: str
    data: dict[str, Any]
    subject: str | None = None
    order_id: str | None = None
    customer_id: str | None = None
    ticket_id: str | None = None
    #: Other CloudEvents attributes (correlationid, causationid, ...), kept as sent.
    attributes: tuple[tuple[str, str], ...] = ()
    _key: tuple[str, int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", (time_key(self.time), type_rank(self.type), self.id))

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return self._key

    @property
    def merge(self) -> tuple[str, str] | None:
        """``(merged_id, survivor_id)`` of a customer.merged event."""
        if self.type != "customer.merged":
            return None
        merged, survivor = _text(self.data.get("merged_id")), _text(self.data.get("survivor_id"))
        return (merged, survivor) if merged and survivor and merged != survivor else None

    @classmethod
    def from_envelope(cls, event: Envelope) -> TimelineEvent:
        if event.time is None:
            raise NotATimelineEvent(f"event {event.id} ({event.type}) has no time")
        data = event.data if isinstance(event.data, dict) else {}
        customer_id = _text(data.get("customer_id"))
        if event.type == "customer.merged":
            customer_id = _text(data.get("survivor_id")) or customer_id
        attributes = {
            k: v
            for k, v in event.attributes().items()
            if k not in ("specversion", "id", "source", "type", "time", "subject")
        }
        return cls(
            id=event.id,
            type=event.type,
            time=event.time.astimezone(UTC),
            source=event.source,
            data=data,
            subject=event.subject,
            order_id=_text(data.get("order_id")),
            customer_id=customer_id,
            ticket_id=_text(data.get("ticket_id")),
            attributes=tuple(sorted(attributes.items())),
        )

    @property
    def placeable(self) -> bool:
        """Whether it belongs to any timeline (order, ticket or customer)."""
        return bool(self.order_id or self.customer_id or self.ticket_id or self.merge)


def ordered(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    """De-duplicate on id (the first copy wins: copies are identical) and sort."""
    unique: dict[str, TimelineEvent] = {}
    for event in events:
        unique.setdefault(event.id, event)
    return sorted(unique.values(), key=lambda e: e.sort_key)

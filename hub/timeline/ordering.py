"""Timeline order: event time, then a fixed rank of the event type, then the event id.

The key depends only on the event itself, never on when or how often it arrived, so any
arrival order with any number of duplicates sorts into the same timeline. Two events with
the same time keep the business order (placed before paid before dispatched ...), and the
ce_id settles the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

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


def _format_key(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


_KEYS: dict[datetime, str] = {}
_KEYS_MAX = 16384


def time_key(moment: datetime) -> str:
    """Fixed-width UTC text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``): sorts like the instant on
    every database.

    Recomputing a state formats the same few instants many times (a stage reached is a
    visit's start, the previous visit's end and a clock's start), so recent keys are kept.
    """
    key = _KEYS.get(moment)
    if key is None:
        key = _format_key(moment)
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[moment] = key
    return key


def parse_time_key(text: str) -> datetime:
    """The instant of a time key, in UTC (``fromisoformat`` reads the ``Z`` as UTC)."""
    return datetime.fromisoformat(text)


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
        key = _format_key(self.time)  # mostly unique instants: not worth keeping
        object.__setattr__(self, "_key", (key, type_rank(self.type), self.id))

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
    def from_kafka(
        cls, *, key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]]
    ) -> TimelineEvent:
        """Decode a binary-mode CloudEvent record, exactly as ``Envelope.from_kafka`` and
        :meth:`from_envelope` would; a well-formed record is read without building the
        Envelope, anything unusual goes that way (and fails with its reason)."""
        event = _read_record(key, value, headers)
        if event is not None:
            return event
        return cls.from_envelope(Envelope.from_kafka(key=key, value=value, headers=headers))

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


#: The time format producers write (RFC 3339); others take the validating path.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_OWN_FIELDS = frozenset(("specversion", "id", "source", "type", "time", "subject"))


def _ce_headers(headers: Iterable[tuple[str, bytes]]) -> dict[str, str] | None:
    """The ``ce_`` attributes of a well-formed binary-mode CloudEvent with JSON data."""
    if not isinstance(headers, list | tuple):
        return None
    attrs: dict[str, str] = {}
    content_type = "application/json"
    for raw_name, raw_value in headers:
        if not isinstance(raw_name, str) or not isinstance(raw_value, bytes):
            return None
        name = raw_name.lower()
        if name.startswith("ce_"):
            attrs[name[3:]] = raw_value.decode()
        elif name == "content-type":
            content_type = raw_value.decode().split(";", 1)[0].strip()
    well_formed = (
        attrs.get("specversion") == "1.0"
        and content_type == "application/json"
        and attrs.get("id")
        and attrs.get("source")
        and attrs.get("type")
        and _RFC3339.fullmatch(attrs.get("time") or "")
    )
    return attrs if well_formed else None


def _read_record(
    key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]]
) -> TimelineEvent | None:
    """The event of a well-formed record, or None to take the validating path."""
    try:
        attrs = _ce_headers(headers)
        if attrs is None:
            return None
        if key is not None and "partitionkey" not in attrs:
            attrs["partitionkey"] = key.decode()
        payload = orjson.loads(value) if value else None
        time = datetime.fromisoformat(attrs["time"]).astimezone(UTC)
    except ValueError:  # not UTF-8, not JSON, not a date: the validating path says why
        return None
    event_type = attrs["type"]
    data = payload if isinstance(payload, dict) else {}
    customer_id = _text(data.get("customer_id"))
    if event_type == "customer.merged":
        customer_id = _text(data.get("survivor_id")) or customer_id
    return TimelineEvent(
        id=attrs["id"],
        type=event_type,
        time=time,
        source=attrs["source"],
        data=data,
        subject=attrs.get("subject"),
        order_id=_text(data.get("order_id")),
        customer_id=customer_id,
        ticket_id=_text(data.get("ticket_id")),
        attributes=tuple(sorted((k, v) for k, v in attrs.items() if k not in _OWN_FIELDS)),
    )


def ordered(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    """De-duplicate on id (the first copy wins: copies are identical) and sort."""
    unique: dict[str, TimelineEvent] = {}
    for event in events:
        unique.setdefault(event.id, event)
    return sorted(unique.values(), key=lambda e: e.sort_key)

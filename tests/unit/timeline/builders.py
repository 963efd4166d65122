"""Small builders for timeline events in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.timeline.clocks import breach_event
from hub.timeline.ordering import TimelineEvent
from hub.timeline.store import TimelineStore
from schemas import Envelope, stable_event_id
from schemas.events import canonical_event
from schemas.registry import model_for

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def envelope(event_type: str, hours: float, *, id: str | None = None, **data: Any) -> Envelope:
    return Envelope(
        id=id or stable_event_id("test", event_type, str(hours), repr(sorted(data.items()))),
        source="/test",
        type=event_type,
        time=at(hours),
        partitionkey=data.get("order_id") or data.get("customer_id"),
        data=data,
    )


def event(event_type: str, hours: float, *, id: str | None = None, **data: Any) -> TimelineEvent:
    return TimelineEvent.from_envelope(envelope(event_type, hours, id=id, **data))


def canonical(
    event_type: str, hours: float, *, system: str = "odoo", n: int = 0, **changes: Any
) -> Envelope:
    """A valid canonical event: the schema's own example with ``changes`` applied."""
    data = model_for(event_type).example().model_copy(update=changes)
    key = changes.get("order_id") or changes.get("customer_id")
    return canonical_event(
        data,
        source=f"/connectors/{system}",
        id_parts=[event_type, str(hours), str(n), repr(sorted(changes.items()))],
        time=at(hours),
        partitionkey=key,
    )


def timeline_event(event_type: str, hours: float, **kw: Any) -> TimelineEvent:
    return TimelineEvent.from_envelope(canonical(event_type, hours, **kw))


def record_due_breaches(store: TimelineStore, now: datetime) -> None:
    """Every clock due at ``now`` breached, as the ticker does it: its ``sla.breached``
    event recorded against the clock and stored on the timeline."""
    for clock in store.due_clocks(now):
        breach = breach_event(clock)
        store.record_breach(clock, breach.id, now)
        store.ingest([TimelineEvent.from_envelope(breach)])

"""Small builders for timeline events in tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.timeline.ordering import TimelineEvent
from schemas import Envelope, stable_event_id

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

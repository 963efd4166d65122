"""Wrap a canonical payload in its CloudEvent envelope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from schemas.base import CanonicalModel
from schemas.envelope import Envelope, dataschema_uri, stable_event_id


def canonical_event(
    data: CanonicalModel,
    *,
    source: str,
    id_parts: Sequence[str],
    time: datetime,
    partitionkey: str | None = None,
    subject: str | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
) -> Envelope:
    """The envelope of one canonical event.

    ``id`` is ``stable_event_id(source, type, *id_parts)`` so the same source change always
    yields the same id; ``dataschema`` names the payload's type and version.
    """
    event_type = data.event_type
    return Envelope(
        id=stable_event_id(source, event_type, *id_parts),
        source=source,
        type=event_type,
        time=time,
        subject=subject,
        dataschema=dataschema_uri(event_type, data.version),
        partitionkey=partitionkey,
        correlationid=correlationid,
        causationid=causationid,
        data=data.model_dump(mode="json"),
    )


__all__ = ["canonical_event"]

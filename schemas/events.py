"""Wrap a canonical payload in its CloudEvent envelope."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime

from schemas.base import CanonicalModel
from schemas.envelope import Envelope, dataschema_uri, stable_event_id

#: id(envelope) -> (the envelope, weakly; the model its data was dumped from). An entry goes
#: when its envelope is collected.
_ISSUED: dict[int, tuple[weakref.ref[Envelope], CanonicalModel]] = {}


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
    envelope = Envelope(
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
    key = id(envelope)
    _ISSUED[key] = (weakref.ref(envelope, lambda _ref: _ISSUED.pop(key, None)), data)
    return envelope


def issued_model(envelope: Envelope) -> CanonicalModel | None:
    """The model :func:`canonical_event` built ``envelope`` from, if it did.

    Only that very envelope object answers (a copy, such as ``model_copy``, does not). Its
    ``data`` is the model's dump as issued: the translation stage sends it without dumping
    the model again, and the connector contract suite checks that translators leave it
    alone (``connectors.testing.check_issued_data``).
    """
    entry = _ISSUED.get(id(envelope))
    if entry is None or entry[0]() is not envelope:
        return None
    return entry[1]


__all__ = ["canonical_event", "issued_model"]

"""What a source hands the kit: :class:`Record` (and :class:`BadRecord`), and the raw event
the kit builds from it.

A connector author never builds an :class:`~schemas.Envelope` for raw data; the kit does,
following the raw-record convention every downstream stage relies on:

- topic ``raw.<instance>.<entity>``; ``type`` ``raw.<connector type>.<entity>``;
  ``source`` ``/connectors/<instance>``;
- ``id`` = ``stable_event_id(instance, entity, record id, revision)``: the same revision of
  the same record always has the same id, so a re-read after a crash is a duplicate that
  downstream de-duplicates, never a new event;
- ``subject`` and ``partitionkey`` (the Kafka key) = the source record id;
- ``time`` = when the source changed the record; ``data`` = the record as the source shaped it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import orjson

from connectors.kit.errors import BadRecordError
from connectors.kit.settings import ConnectorSettings
from schemas.envelope import Envelope, KafkaRecord, stable_event_id

S = TypeVar("S", bound=ConnectorSettings)


@dataclass(frozen=True)
class Record:
    """One source record, as the author yields it.

    ``id``: the source's id of the record (becomes the Kafka key).
    ``revision``: what changes when the record changes (``write_date``, ``updated_at``, a
    version number, a webhook delivery id); part of the event id.
    ``time``: the source's modification time (timezone-aware).
    ``data``: the record as the source shaped it (a JSON object).
    ``cursor``: polling only: the position *after* this record; the kit stores the cursor of
    the last record of a page once the whole page is acknowledged, and passes it back to
    ``read`` on the next poll or after a restart.
    ``entity``: which entity the record is; a polling source may leave it empty (the stream
    being read), a webhook source must set it.
    """

    id: str
    revision: str
    time: datetime
    data: Mapping[str, Any]
    cursor: str | None = None
    entity: str = ""


@dataclass(frozen=True)
class BadRecord:
    """A record the source could read but not make sense of (e.g. a line that is not JSON).

    The kit dead-letters ``raw`` with ``reason`` and, for polling, moves the cursor past it.
    """

    raw: bytes
    reason: str
    cursor: str | None = None
    entity: str = ""
    id: str | None = None


@dataclass(frozen=True)
class RawEvent:
    """A raw event ready to publish: its topic and envelope."""

    topic: str
    envelope: Envelope

    def to_kafka(self) -> KafkaRecord:
        return self.envelope.to_kafka()


@dataclass
class SourceContext:
    """What the kit tells a source about where it runs.

    ``entities``: the instance's entities (:meth:`ConnectorType.entities_of`: the type's
    ``entities``, or what its ``entities_for`` says for these settings).
    """

    instance: str
    type_name: str
    extras: dict[str, Any] = field(default_factory=dict)
    entities: tuple[str, ...] = ()


class Source(Generic[S]):
    """Base of every source. Subclasses declare ``entities`` and get ``self.settings``."""

    #: The entities this source produces; each has the raw topic ``raw.<instance>.<entity>``.
    #: A type whose entities depend on the instance declares ``entities_for`` on its
    #: :class:`~connectors.kit.registry.ConnectorType` instead; :attr:`instance_entities`
    #: is what this instance has either way.
    entities: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: S, context: SourceContext) -> None:
        self.settings = settings
        self.context = context

    @property
    def instance_entities(self) -> tuple[str, ...]:
        """The entities of this instance (the context's, else the class's ``entities``)."""
        return self.context.entities or self.entities

    async def open(self) -> None:
        """Acquire clients (HTTP sessions, database pools); called once before reading."""

    async def close(self) -> None:
        """Release what :meth:`open` acquired."""


def raw_topic_name(instance: str, entity: str) -> str:
    return f"raw.{instance}.{entity}"


def build_raw_event(
    instance: str, type_name: str, entity: str, record: Record, *, traceparent: str | None = None
) -> RawEvent:
    """The raw event for ``record``; raises :class:`BadRecordError` saying what is wrong.
    ``traceparent``: the W3C trace context the record came with (a webhook's), which the
    translation stage passes on to the canonical events made from it."""
    problems = []
    if not entity:
        problems.append("no entity")
    if not isinstance(record.id, str) or not record.id:
        problems.append(f"id must be a non-empty string, got {record.id!r}")
    if not isinstance(record.revision, str) or not record.revision:
        problems.append(f"revision must be a non-empty string, got {record.revision!r}")
    if not isinstance(record.time, datetime) or record.time.tzinfo is None:
        problems.append(f"time must be a timezone-aware datetime, got {record.time!r}")
    if not isinstance(record.data, Mapping):
        problems.append(f"data must be a JSON object, got {type(record.data).__name__}")
    if problems:
        raise BadRecordError(f"record {record.id!r}: " + "; ".join(problems))
    data = dict(record.data)
    try:
        orjson.dumps(data)
    except TypeError as exc:
        raise BadRecordError(f"record {record.id!r}: data is not JSON-serialisable: {exc}") from exc
    envelope = Envelope(
        id=stable_event_id(instance, entity, record.id, record.revision),
        source=f"/connectors/{instance}",
        type=f"raw.{type_name}.{entity}",
        time=record.time,
        subject=record.id,
        partitionkey=record.id,
        traceparent=traceparent,
        data=data,
    )
    return RawEvent(raw_topic_name(instance, entity), envelope)


__all__ = [
    "BadRecord",
    "RawEvent",
    "Record",
    "Source",
    "SourceContext",
    "build_raw_event",
    "raw_topic_name",
]

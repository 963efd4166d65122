"""CloudEvents 1.0 envelope in Kafka binary content mode.

Every canonical and department event travels as a CloudEvent whose attributes sit in
``ce_`` headers and whose value is the JSON data. Readers using the ``cloudevents`` SDK's
Kafka binding decode these records unchanged, so other teams never need our code to read
our topics. Ids are derived from the source record, never random, so replaying the same
source record yields the same ``ce_id`` and downstream de-duplication holds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
CONTENT_TYPE_HEADER = "content-type"
HEADER_PREFIX = "ce_"
#: Extension attributes of the contract, written as ``ce_<name>`` headers when known.
EXTENSION_ATTRIBUTES = ("partitionkey", "correlationid", "causationid", "traceparent")
_CORE_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject", "dataschema")
_KNOWN_ATTRIBUTES = frozenset((*_CORE_ATTRIBUTES, *EXTENSION_ATTRIBUTES))
_ATTRIBUTE_ORDER = (*_CORE_ATTRIBUTES, *EXTENSION_ATTRIBUTES)
_HEADER_ATTRIBUTES = {HEADER_PREFIX + name: name for name in _ATTRIBUTE_ORDER}
#: (attribute, its header) in the order headers are written
_ATTRIBUTE_HEADERS = tuple((name, HEADER_PREFIX + name) for name in _ATTRIBUTE_ORDER)

#: Namespace of every Handoff event id (uuid5), fixed forever: changing it changes all ids.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1e3a-5d0b-4c59-9a43-2b7e0c6d8f10")


class EnvelopeError(ValueError):
    """A Kafka record that is not a valid Handoff CloudEvent; the message says why."""


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What goes onto the wire: key, value and headers in aiokafka's shape."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes
#: RFC 4122 version 5 and variant bits, as ``uuid.UUID(..., version=5)`` sets them.
_VERSION_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_SET = (5 << 76) | (0x8000 << 48)


def stable_event_id(source: str, *parts: str) -> str:
    """Derive a deterministic event id from where the event came from.

    ``parts`` identify the source record and the change (e.g. record id and revision),
    so the same record read twice gives the same id and a new revision a new one.
    The value is ``str(uuid.uuid5(EVENT_ID_NAMESPACE, name))``, computed without building
    a ``UUID`` object: every canonical event needs one, and that object cost more than
    the hash itself.
    """
    name = "\x1f".join((source, *parts))
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()
    text = "%032x" % (int.from_bytes(digest[:16]) & _VERSION_CLEAR | _VERSION_SET)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def dataschema_uri(event_type: str, version: int) -> str:
    """The ``dataschema`` attribute naming a canonical type and its version."""
    return f"urn:handoff:schema:{event_type}:v{version}"


#: ``"00"`` .. ``"99"``: the two-digit fields of a formatted time, looked up, not formatted
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, as the CloudEvents SDK writes it.

    The value is ``moment.astimezone(UTC).isoformat().replace("+00:00", "Z")``. Every
    encoded event carries its time, almost always a plain ``datetime`` already in
    ``UTC``; that one is assembled from its fields (under half the cost). Anything else
    (another zone, naive, a subclass, a year before 1000 that ``isoformat`` pads) takes
    the general path.
    """
    if moment.tzinfo is UTC and type(moment) is datetime and moment.year >= 1000:
        digits = _TWO_DIGITS
        micro = moment.microsecond
        fraction = f".{micro:06d}Z" if micro else "Z"
        return (
            f"{moment.year}-{digits[moment.month]}-{digits[moment.day]}"
            f"T{digits[moment.hour]}:{digits[moment.minute]}:{digits[moment.second]}{fraction}"
        )
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Envelope(BaseModel):
    """One CloudEvent 1.0 with the contract's extension attributes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = SPECVERSION
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime | None = None
    subject: str | None = None
    dataschema: str | None = None
    datacontenttype: Literal["application/json"] = CONTENT_TYPE
    partitionkey: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    traceparent: str | None = None
    #: Extension attributes other producers set that the contract does not name; kept so
    #: that forwarding an event never loses an attribute.
    extensions: dict[str, str] = Field(default_factory=dict)
    data: Any = None

    def attributes(self) -> dict[str, str]:
        """Every set attribute except data and content type, as header strings (read from
        the headers the encoder writes, so the two never disagree)."""
        return {
            name.removeprefix(HEADER_PREFIX): value.decode()
            for name, value in _headers(self.__dict__)
            if name != CONTENT_TYPE_HEADER
        }

    def to_kafka(self) -> KafkaRecord:
        """Encode in binary content mode; the partition key becomes the record key."""
        return self.encoded()

    def encoded(self, **changes: Any) -> KafkaRecord:
        """``self.model_copy(update=changes).to_kafka()`` without building the copy: the
        translator encodes every canonical event with its key, ids and customer filled in."""
        values = {**self.__dict__, **changes} if changes else self.__dict__
        headers = _headers(values)
        key = values["partitionkey"]
        return KafkaRecord(
            key=key.encode() if key is not None else None,
            value=orjson.dumps(values["data"]),
            headers=headers,
        )

    def caused(self, **changes: Any) -> Envelope:
        """A follow-up event of this one: same correlation, causation pointing here."""
        changes.setdefault("causationid", self.id)
        changes.setdefault("correlationid", self.correlationid or self.id)
        return self.model_copy(update=changes)

    @classmethod
    def from_kafka(
        cls,
        *,
        key: bytes | None,
        value: bytes | None,
        headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes],
    ) -> Envelope:
        """Decode a binary-mode record, raising :class:`EnvelopeError` with the reason."""
        attrs = _header_attributes(headers.items() if isinstance(headers, Mapping) else headers)
        if "specversion" not in attrs:
            raise EnvelopeError("no ce_specversion header: not a binary-mode CloudEvent")
        if key is not None and "partitionkey" not in attrs:
            try:
                attrs["partitionkey"] = key.decode()
            except UnicodeDecodeError as exc:
                raise EnvelopeError("record key is not UTF-8") from exc
        try:
            attrs["data"] = orjson.loads(value) if value else None
        except orjson.JSONDecodeError as exc:
            raise EnvelopeError(f"value is not JSON: {exc}") from exc
        try:
            return cls.model_validate(attrs)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'event'}: {err['msg']}"
                for err in exc.errors()
            )
            raise EnvelopeError(f"invalid CloudEvent: {problems}") from exc


def _header_attributes(items: Iterable[tuple[str, bytes]]) -> dict[str, Any]:
    """The CloudEvent attributes in a record's headers (``extensions`` for unknown ones)."""
    attrs: dict[str, Any] = {}
    extensions: dict[str, str] = {}
    for raw_name, raw_value in items:
        try:
            text = raw_value.decode() if isinstance(raw_value, bytes) else str(raw_value)
        except UnicodeDecodeError as exc:
            raise EnvelopeError(f"header {raw_name!r} is not UTF-8") from exc
        known = _HEADER_ATTRIBUTES.get(raw_name)
        if known is not None:  # a contract attribute, spelled as we write it
            attrs[known] = text
            continue
        name = raw_name.lower()
        if name.startswith(HEADER_PREFIX):
            attr = name[len(HEADER_PREFIX) :]
            if attr in _KNOWN_ATTRIBUTES:
                attrs[attr] = text
            else:
                extensions[attr] = text
        elif name == CONTENT_TYPE_HEADER:
            attrs["datacontenttype"] = text.split(";", 1)[0].strip()
    if extensions:
        attrs["extensions"] = extensions
    return attrs


def _headers(values: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The headers of an envelope's field ``values``: every set attribute as a ``ce_``
    header, in the contract's order, then the extensions (one never replaces an attribute
    the contract names), then the content type. Every canonical and department record is
    encoded here."""
    headers: list[tuple[str, bytes]] = []
    for name, header in _ATTRIBUTE_HEADERS:
        value = values[name]
        if value is None:
            continue
        if isinstance(value, str):
            headers.append((header, value.encode()))
        else:
            text = format_time(value) if isinstance(value, datetime) else str(value)
            headers.append((header, text.encode()))
    extensions = values["extensions"]
    if extensions:
        written = {name for name in _ATTRIBUTE_ORDER if values[name] is not None}
        for name, text in extensions.items():
            if name not in written:
                written.add(name)
                headers.append((HEADER_PREFIX + name, text.encode()))
    headers.append((CONTENT_TYPE_HEADER, values["datacontenttype"].encode()))
    return headers

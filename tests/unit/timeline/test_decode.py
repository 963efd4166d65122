"""Reading Kafka records: the direct reader gives exactly what the Envelope path gives,
and every record the Envelope path rejects is still rejected with its reason."""

from __future__ import annotations

import pytest

from hub.timeline.ordering import TimelineEvent
from schemas import Envelope, EnvelopeError
from tests.unit.timeline.builders import canonical, envelope

Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def _record(event: Envelope) -> Record:
    wire = event.to_kafka()
    return wire.key, wire.value, list(wire.headers)


def _validated(record: Record) -> TimelineEvent:
    key, value, headers = record
    return TimelineEvent.from_envelope(Envelope.from_kafka(key=key, value=value, headers=headers))


def _with(record: Record, **headers: bytes | None) -> Record:
    key, value, items = record
    names = {name.replace("_", "-") if name == "content_type" else name for name in headers}
    kept = [(k, v) for k, v in items if k not in names]
    added = [
        (name.replace("_", "-") if name == "content_type" else name, v)
        for name, v in headers.items()
        if v is not None
    ]
    return key, value, kept + added


BASE = _record(canonical("order.placed", 1, order_id="erp:SO-1", customer_id="G-1"))

SAME: list[tuple[str, Record]] = [
    ("canonical", BASE),
    ("merge", _record(canonical("customer.merged", 2, survivor_id="G-1", merged_id="G-2"))),
    ("no key", (None, BASE[1], BASE[2])),
    ("key only", _with(BASE, ce_partitionkey=None)),
    ("extension", _with(BASE, ce_tenant=b"acme", ce_correlationid=b"c-1")),
    ("upper-case names", (BASE[0], BASE[1], [(k.upper(), v) for k, v in BASE[2]])),
    ("offset time", _with(BASE, ce_time=b"2026-11-02T10:00:00.5+02:00")),
    ("millis", _with(BASE, ce_time=b"2026-11-02T10:00:00.123Z")),
    ("charset", _with(BASE, content_type=b"application/json; charset=utf-8")),
    ("no content type", _with(BASE, content_type=None)),
    ("list data", (BASE[0], b"[1, 2]", BASE[2])),
    ("no data", (BASE[0], None, BASE[2])),
    ("space in time", _with(BASE, ce_time=b"2026-11-02 10:00:00Z")),
    ("empty subject", _with(BASE, ce_subject=b"")),
    ("plain", _record(envelope("order.placed", 0, order_id="O", customer_id="C"))),
]

REJECTED: list[tuple[str, Record]] = [
    ("no specversion", _with(BASE, ce_specversion=None)),
    ("other specversion", _with(BASE, ce_specversion=b"0.3")),
    ("empty id", _with(BASE, ce_id=b"")),
    ("no source", _with(BASE, ce_source=None)),
    ("naive time", _with(BASE, ce_time=b"2026-11-02T10:00:00")),
    ("bad time", _with(BASE, ce_time=b"yesterday")),
    ("xml", _with(BASE, content_type=b"application/xml")),
    ("not json", (BASE[0], b"{nope", BASE[2])),
    ("not utf-8", _with(BASE, ce_subject=b"\xff")),
]


@pytest.mark.parametrize(("name", "record"), SAME, ids=[n for n, _ in SAME])
def test_direct_reading_equals_the_envelope_path(name: str, record: Record) -> None:
    key, value, headers = record
    got = TimelineEvent.from_kafka(key=key, value=value, headers=headers)
    want = _validated(record)
    assert got == want
    assert got.sort_key == want.sort_key
    assert got.attributes == want.attributes


@pytest.mark.parametrize(("name", "record"), REJECTED, ids=[n for n, _ in REJECTED])
def test_what_the_envelope_path_rejects_is_rejected(name: str, record: Record) -> None:
    key, value, headers = record
    with pytest.raises(EnvelopeError) as expected:
        _validated(record)
    with pytest.raises(EnvelopeError) as got:
        TimelineEvent.from_kafka(key=key, value=value, headers=headers)
    assert str(got.value) == str(expected.value)


def test_an_event_without_time_is_not_a_timeline_event() -> None:
    from hub.timeline.ordering import NotATimelineEvent  # noqa: PLC0415

    key, value, headers = _with(BASE, ce_time=None)
    with pytest.raises(NotATimelineEvent):
        TimelineEvent.from_kafka(key=key, value=value, headers=headers)


def test_a_producers_record_is_read_without_the_envelope() -> None:
    from hub.timeline.ordering import _read_record  # noqa: PLC0415

    assert _read_record(*BASE) is not None
    assert _read_record(*_with(BASE, ce_time=b"2026-11-02 10:00:00Z")) is None

"""The envelope is the wire contract: CloudEvents 1.0 binary mode, readable by the SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from schemas import Envelope, EnvelopeError, dataschema_uri, stable_event_id
from schemas.envelope import EVENT_ID_NAMESPACE


def _sample(**overrides: object) -> Envelope:
    fields: dict[str, object] = {
        "id": stable_event_id("odoo", "sale.order", "42", "2026-11-23T09:00:00Z"),
        "source": "/connectors/odoo",
        "type": "order.placed",
        "time": datetime(2026, 11, 23, 9, 0, 0, 123000, tzinfo=UTC),
        "subject": "SO042",
        "dataschema": dataschema_uri("order.placed", 1),
        "partitionkey": "SO042",
        "correlationid": "corr-1",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "data": {"order_id": "SO042", "total": "120.50", "lines": [{"sku": "A", "qty": 2}]},
    }
    fields.update(overrides)
    return Envelope.model_validate(fields)


def test_binary_mode_headers_and_value() -> None:
    record = _sample().to_kafka()
    headers = dict(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"order.placed"
    assert headers["ce_time"] == b"2026-11-23T09:00:00.123000Z"
    assert headers["ce_partitionkey"] == b"SO042"
    assert headers["content-type"] == b"application/json"
    assert "ce_causationid" not in headers, "unknown attributes are not written"
    assert record.key == b"SO042"
    assert record.value.startswith(b'{"order_id":"SO042"')


def test_round_trip_is_lossless() -> None:
    event = _sample(extensions={"vendorflag": "x"})
    record = event.to_kafka()
    assert Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers) == event


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"partitionkey": "C-1", "causationid": "raw-1", "data": {"customer_id": "C-1"}},
        {"time": None, "subject": None, "partitionkey": None},
        {"time": datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=2)))},
    ],
)
def test_encoding_with_changes_is_encoding_the_changed_copy(changes: dict[str, object]) -> None:
    event = _sample(extensions={"vendorflag": "x"})
    assert event.encoded(**changes) == event.model_copy(update=changes).to_kafka()


def test_an_extension_never_overrides_a_set_attribute() -> None:
    event = _sample().model_copy(update={"extensions": {"subject": "other", "vendorflag": "x"}})
    headers = event.to_kafka().headers
    assert [v for k, v in headers if k == "ce_subject"] == [b"SO042"]
    assert ("ce_vendorflag", b"x") in headers


def test_sdk_decodes_what_we_write() -> None:
    event = _sample()
    record = event.to_kafka()
    decoded = ce_kafka.from_binary_event(
        ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )
    assert decoded.get_id() == event.id
    assert decoded.get_type() == "order.placed"
    assert decoded.get_source() == "/connectors/odoo"
    assert decoded.get_time() == event.time
    assert decoded.get_subject() == "SO042"
    assert decoded.get_dataschema() == event.dataschema
    assert decoded.get_extension("correlationid") == "corr-1"
    assert decoded.get_extension("partitionkey") == "SO042"
    assert decoded.get_data() == event.data


def test_we_decode_what_the_sdk_writes() -> None:
    sdk_event = CloudEvent(
        attributes={
            "id": "abc-1",
            "source": "/erp",
            "type": "order.placed",
            "time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "subject": "SO1",
            "datacontenttype": "application/json",
            "partitionkey": "SO1",
            "causationid": "root",
        },
        data={"order_id": "SO1", "amount": 10},
    )
    msg = ce_kafka.to_binary_event(sdk_event)
    key = msg.key.encode() if isinstance(msg.key, str) else msg.key
    event = Envelope.from_kafka(key=key, value=msg.value, headers=msg.headers)
    assert event.id == "abc-1"
    assert event.time == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert event.partitionkey == "SO1"
    assert event.causationid == "root"
    assert event.data == {"order_id": "SO1", "amount": 10}


def test_stable_ids_repeat_for_the_same_record_and_differ_otherwise() -> None:
    first = stable_event_id("odoo", "sale.order", "42", "rev-1")
    assert first == stable_event_id("odoo", "sale.order", "42", "rev-1")
    assert first != stable_event_id("odoo", "sale.order", "42", "rev-2")
    # the separator keeps part boundaries: ("a", "bc") is not ("ab", "c")
    assert stable_event_id("s", "a", "bc") != stable_event_id("s", "ab", "c")


@given(st.text(), st.lists(st.text(), max_size=4))
def test_stable_ids_are_uuid5_in_the_event_namespace(source: str, parts: list[str]) -> None:
    """Ids written so far stay what they were: the same uuid5 the standard library gives."""
    expected = uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join((source, *parts)))
    assert stable_event_id(source, *parts) == str(expected)


def test_caused_event_links_back() -> None:
    parent = _sample(correlationid=None)
    child = parent.caused(id="child", type="order.routed")
    assert child.causationid == parent.id
    assert child.correlationid == parent.id


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([("ce_id", b"1")], b"{}", "no ce_specversion"),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/s")],
            b"{}",
            "type",
        ),
        (
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"1"),
                ("ce_source", b"/s"),
                ("ce_type", b"t"),
                ("ce_time", b"2026-01-01T00:00:00"),
            ],
            b"{}",
            "time",
        ),
        (
            [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t")],
            b"{not json",
            "not JSON",
        ),
        ([("ce_specversion", b"\xff")], b"{}", "not UTF-8"),
    ],
)
def test_invalid_records_are_rejected_with_a_reason(
    headers: list[tuple[str, bytes]], value: bytes, reason: str
) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.from_kafka(key=None, value=value, headers=headers)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)


def _minimal(**fields: Any) -> Envelope:
    """An envelope with only the required attributes besides ``fields``."""
    return Envelope(**{"id": "e-1", "source": "/p", "type": "t", "data": {}, **fields})


@given(
    event_id=_text,
    subject=st.none() | _text,
    key=st.none() | _text,
    data=_json,
    moment=st.datetimes(timezones=st.just(UTC)),
)
def test_round_trip_property(
    event_id: str, subject: str | None, key: str | None, data: object, moment: datetime
) -> None:
    event = _minimal(id=event_id, time=moment, subject=subject, partitionkey=key, data=data)
    record = event.to_kafka()
    assert Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers) == event


_attribute_names = st.sampled_from(
    ["subject", "dataschema", "partitionkey", "correlationid", "traceparent", "vendorflag", "x"]
)


@given(
    subject=st.none() | _text,
    dataschema=st.none() | _text,
    correlationid=st.none() | _text,
    moment=st.none() | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
    extensions=st.dictionaries(_attribute_names, _text, max_size=4),
)
def test_headers_are_the_attributes_then_the_content_type(
    subject: str | None,
    dataschema: str | None,
    correlationid: str | None,
    moment: datetime | None,
    extensions: dict[str, str],
) -> None:
    """Set attributes in the contract's order, then the extensions (one named like a set
    attribute left out, one named like an unset one kept), then the content type; and
    ``attributes()`` says the same without the prefix."""
    event = _minimal(
        time=moment,
        subject=subject,
        dataschema=dataschema,
        correlationid=correlationid,
        extensions=extensions,
    )
    time = None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    attributes = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/p",
        "type": "t",
        "time": time,
        "subject": subject,
        "dataschema": dataschema,
        "correlationid": correlationid,
    }
    expected = {k: v for k, v in attributes.items() if v is not None}
    expected |= {k: v for k, v in extensions.items() if k not in expected}
    headers = [(f"ce_{k}", v.encode()) for k, v in expected.items()]
    assert event.to_kafka().headers == [*headers, ("content-type", b"application/json")]
    assert event.attributes() == expected

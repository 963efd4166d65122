"""A dead letter keeps the original bytes and says why, where from, and which attempt."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from hub.runtime.deadletter import dead_letter


def _record(headers: list[tuple[str, bytes]]) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="raw.odoo.sale_order",
        partition=2,
        offset=41,
        timestamp=0,
        timestamp_type=0,
        key=b"SO1",
        value=b"\xff not even utf-8",
        checksum=None,
        serialized_key_size=3,
        serialized_value_size=17,
        headers=headers,
    )


def test_dead_letter_keeps_bytes_and_names_the_failure() -> None:
    topic, record = dead_letter(_record([("ce_id", b"\xfe\x01")]), "translate", KeyError("total"))
    assert topic == "hub.dlq"
    assert record.key == b"SO1"
    assert record.value == b"\xff not even utf-8"
    headers = dict(record.headers)
    assert headers["ce_id"] == b"\xfe\x01"
    assert headers["dlq_stage"] == b"translate"
    assert headers["dlq_error_class"] == b"KeyError"
    assert headers["dlq_error_message"] == b"'total'"
    assert headers["dlq_original_topic"] == b"raw.odoo.sale_order"
    assert headers["dlq_original_partition"] == b"2"
    assert headers["dlq_original_offset"] == b"41"
    assert headers["dlq_attempt"] == b"1"


def test_a_replayed_dead_letter_counts_its_attempts() -> None:
    _, first = dead_letter(_record([]), "route", ValueError("bad"))
    _, second = dead_letter(_record(first.headers), "route", ValueError("still bad"))
    headers = second.headers
    assert dict(headers)["dlq_attempt"] == b"2"
    assert [name for name, _ in headers].count("dlq_stage") == 1, "old reasons are replaced"

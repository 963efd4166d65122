"""The fault run's checks catch what they are meant to catch (so a pass means something):
a lost delivery, a re-ordered key, an unexpected or missing dead letter, a doubled
timeline entry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.config import HubConfig
from hub.topics import DLQ, department_topic
from tests.faults.pipeline import (
    INSTANCE,
    Expected,
    Seen,
    check_departments,
    check_dlq,
    check_timeline,
    expected_for,
    mixed_lines,
)


@pytest.fixture(scope="module")
def expected() -> Expected:
    return expected_for(mixed_lines(300), HubConfig())


def delivered(expected: Expected) -> list[Seen]:
    """A perfect run: every expected delivery once, in source order, one partition per key."""
    out = []
    by_position = sorted(expected.origin.items(), key=lambda item: item[1])
    for department, ids in expected.deliveries.items():
        for offset, (event_id, _) in enumerate(e for e in by_position if e[0] in ids):
            key = expected.order_of.get(event_id, event_id).encode()
            out.append(
                Seen(
                    department_topic(department),
                    0,
                    offset,
                    key,
                    {"ce_id": event_id.encode()},
                    b"{}",
                )
            )
    return out


def test_the_mix_has_every_kind_of_line(expected: Expected) -> None:
    assert expected.translator_poison
    assert expected.connector_poison
    assert len(expected.deliveries) >= 2
    assert len(set(expected.order_of.values())) < len(expected.order_of), "orders change state"


def test_a_perfect_run_passes(expected: Expected) -> None:
    assert check_departments(expected, delivered(expected)) == ({}, 0, [])


def test_a_lost_delivery_is_found(expected: Expected) -> None:
    seen = delivered(expected)
    lost, _, _ = check_departments(expected, seen[:10] + seen[11:])
    assert sum(len(ids) for ids in lost.values()) == 1


def test_a_redelivery_is_counted_and_allowed(expected: Expected) -> None:
    seen = delivered(expected)
    again = [
        *seen,
        *(Seen(s.topic, 0, s.offset + 10_000, s.key, s.headers, s.value) for s in seen[:5]),
    ]
    lost, duplicates, violations = check_departments(expected, again)
    assert (lost, duplicates, violations) == ({}, 5, [])


def test_a_reordered_key_is_found(expected: Expected) -> None:
    seen = delivered(expected)
    order = next(
        o for o in expected.order_of.values() if list(expected.order_of.values()).count(o) > 1
    )
    same = [i for i, s in enumerate(seen) if s.key == order.encode()][:2]
    first, second = seen[same[0]], seen[same[1]]
    seen[same[0]] = Seen(first.topic, 0, second.offset, first.key, first.headers, first.value)
    seen[same[1]] = Seen(second.topic, 0, first.offset, second.key, second.headers, second.value)
    _, _, violations = check_departments(expected, seen)
    assert violations


def test_a_key_split_over_two_partitions_is_found(expected: Expected) -> None:
    seen = delivered(expected)
    order = next(
        o for o in expected.order_of.values() if list(expected.order_of.values()).count(o) > 1
    )
    later = [i for i, s in enumerate(seen) if s.key == order.encode()][1]
    moved = seen[later]
    seen[later] = Seen(moved.topic, 1, moved.offset, moved.key, moved.headers, moved.value)
    _, _, violations = check_departments(expected, seen)
    assert violations == [f"{moved.topic} key {moved.key!r}: in partitions [0, 1]"]


def connector_headers(offset: bytes = b"-1") -> dict[str, bytes]:
    """A connector's dead letter: the record never reached Kafka, so no partition or offset."""
    return {
        "dlq_stage": f"connector:{INSTANCE}".encode(),
        "dlq_original_partition": b"-1",
        "dlq_original_offset": offset,
    }


def test_dead_letters_must_be_exactly_the_poison(expected: Expected) -> None:
    poison = [
        Seen(DLQ, 0, n, None, {"dlq_stage": b"translator", "ce_id": raw_id.encode()}, b"")
        for n, raw_id in enumerate(sorted(expected.translator_poison))
    ] + [
        Seen(DLQ, 0, 1000 + n, None, connector_headers(), text)
        for n, text in enumerate(sorted(expected.connector_poison))
    ]
    assert check_dlq(expected, poison) == ([], set(), set())
    stray = Seen(DLQ, 0, 9999, None, {"dlq_stage": b"router", "dlq_error_class": b"X"}, b"")
    unexpected, _, _ = check_dlq(expected, [*poison, stray])
    assert len(unexpected) == 1
    _, missing, _ = check_dlq(expected, poison[1:])
    assert len(missing) == 1
    placed = Seen(DLQ, 0, 9998, None, connector_headers(b"7"), poison[-1].value)
    unexpected, _, missing_lines = check_dlq(expected, [*poison[:-1], placed])
    assert (len(unexpected), len(missing_lines)) == (1, 1)


def test_a_doubled_timeline_entry_is_found(expected: Expected, tmp_path: Path) -> None:
    database = tmp_path / "timeline.db"
    with sqlite3.connect(database) as conn:  # no primary key: a broken store could double
        conn.execute("CREATE TABLE timeline_events (ce_id TEXT)")
        conn.executemany(
            "INSERT INTO timeline_events VALUES (?)",
            [(i,) for i in sorted(expected.timeline)] + [(sorted(expected.timeline)[0],)],
        )
    missing, duplicated, rows = check_timeline(expected, database, HubConfig(), per_order=False)
    assert (missing, duplicated, rows) == (set(), 1, len(expected.timeline) + 1)

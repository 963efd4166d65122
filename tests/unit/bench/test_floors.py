"""The two-service floor hands each service exactly its share of the one-hop outputs."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.bench.worker import (
    FloorRecords,
    canonical_key,
    floor_outputs,
    floor_topic,
    split_floor,
)
from hub.config import HubConfig
from hub.topics import CANONICAL_TOPICS, department_topic
from schemas import KafkaRecord

TAG = "p"


def test_translator_then_router_lookups_give_the_one_hop_outputs() -> None:
    outputs = floor_outputs(
        TAG, FloorRecords(seed=7, t0=datetime(2026, 11, 2, tzinfo=UTC), events=600)
    )
    departments = {floor_topic(TAG, department_topic(d)) for d in HubConfig().departments}
    canonical = {floor_topic(TAG, t) for t in CANONICAL_TOPICS}
    translated, routed = split_floor(outputs, departments)

    assert translated.keys() == outputs.keys()
    used: set[str] = set()
    for event_id, records in outputs.items():
        # the translator's share: everything but the department records, in order
        assert translated[event_id] == [(t, r) for t, r in records if t not in departments]
        # the router's share, looked up per canonical record the translator published
        delivered = []
        for topic, record in translated[event_id]:
            if topic in canonical:
                key = canonical_key(record.headers)
                used.add(key)
                delivered += routed.get(key, [])
        assert delivered == [(t, r) for t, r in records if t in departments], event_id
    # every routed entry is reached
    assert used >= routed.keys()


def _record(event_id: str, cause: str, value: bytes) -> KafkaRecord:
    return KafkaRecord(
        b"k", value, [("ce_id", event_id.encode()), ("ce_causationid", cause.encode())]
    )


def test_an_event_id_emitted_again_by_a_later_raw_record_is_routed_once_per_record() -> None:
    # a snapshot source re-emits ticket.opened with the same id on each revision: the router
    # delivers each canonical record it reads, so the lookup is per record, not per id
    canonical, support = floor_topic(TAG, "hub.support"), floor_topic(TAG, "dept.support")
    first, again = _record("ev-1", "raw-1", b"first"), _record("ev-1", "raw-2", b"again")
    outputs = {
        "raw-1": [(canonical, first), (support, _record("ev-1", "raw-1", b"first, support view"))],
        "raw-2": [(canonical, again), (support, _record("ev-1", "raw-2", b"again, support view"))],
    }
    translated, routed = split_floor(outputs, {support})
    assert translated == {"raw-1": [(canonical, first)], "raw-2": [(canonical, again)]}
    assert [r.value for _, r in routed[canonical_key(first.headers)]] == [b"first, support view"]
    assert [r.value for _, r in routed[canonical_key(again.headers)]] == [b"again, support view"]

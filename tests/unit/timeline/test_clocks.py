"""The SLA ticker: one sla.breached per passed deadline, recorded only once published."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Output
from hub.timeline.clocks import ClockTicker, breach_event, breach_topic
from hub.timeline.store import TimelineStore
from hub.topics import ORDERS, SUPPORT
from schemas import Envelope
from schemas.registry import validate_event
from tests.unit.timeline.builders import at, event


class FakeProducer:
    """Stands in for the process producer: collects outputs, or fails while told to."""

    def __init__(self) -> None:
        self.sent: list[Output] = []
        self.failing = False

    async def send_all(self, outputs: list[Output]) -> list[Any]:
        if self.failing:
            raise ConnectionError("broker away")
        self.sent.extend(outputs)
        return []


def _ticker(store: TimelineStore, now: list[datetime]) -> tuple[ClockTicker, FakeProducer]:
    producer = FakeProducer()
    ticker = ClockTicker(store, producer, HubMetrics.create(), now=lambda: now[0])  # type: ignore[arg-type]
    return ticker, producer


def _decode(output: Output) -> tuple[str, Envelope]:
    topic, record = output
    return topic, Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers)


async def test_one_breach_per_clock_even_when_ticked_again(store: TimelineStore) -> None:
    store.ingest(
        [
            event("order.placed", 0, order_id="O-1", customer_id="C-1"),
            event("payment.received", 1, order_id="O-1", customer_id="C-1"),
            event("complaint.opened", 2, ticket_id="T-1", order_id="O-1", customer_id="C-1"),
        ]
    )
    now = [at(5)]
    ticker, producer = _ticker(store, now)
    assert await ticker.tick() == 0
    now[0] = at(6) + timedelta(seconds=1)  # acknowledge deadline (opened + 4h) passed
    assert await ticker.tick() == 1
    now[0] = at(100)  # dispatch (paid + 48h) and resolve (opened + 72h) passed too
    assert await ticker.tick() == 2
    assert await ticker.tick() == 0
    emitted = [_decode(o) for o in producer.sent]
    assert [(t, e.data["process"], e.data["stage"]) for t, e in emitted] == [
        (SUPPORT, "complaint_handling", "opened"),
        (ORDERS, "order_to_delivery", "paid"),
        (SUPPORT, "complaint_handling", "opened"),
    ]
    for _, envelope in emitted:
        model = validate_event(envelope)  # the schemas' own sla.breached model
        assert model.event_type == "sla.breached"
    _, dispatch = emitted[1]
    assert dispatch.partitionkey == "O-1"
    assert dispatch.data["owner"] == "logistics"
    assert dispatch.data["deadline"] == "2026-11-04T09:00:00Z"
    assert dispatch.time == at(49)
    assert emitted[0][1].data["ticket_id"] == "T-1"
    assert emitted[0][1].data["customer_id"] == "C-1"


async def test_nothing_is_recorded_while_publishing_fails(store: TimelineStore) -> None:
    store.ingest([event("order.placed", 0, order_id="O-2")])
    now = [at(30)]
    ticker, producer = _ticker(store, now)
    producer.failing = True
    with pytest.raises(ConnectionError):
        await ticker.tick()
    assert len(store.due_clocks(now[0])) == 1, "still due: it was not published"
    producer.failing = False
    assert await ticker.tick() == 1
    assert store.due_clocks(now[0]) == []


def test_breach_ids_are_stable_per_aggregate_and_rule(store: TimelineStore) -> None:
    store.ingest([event("order.placed", 0, order_id="O-3")])
    first = store.due_clocks(at(30))[0]
    again = store.due_clocks(at(300))[0]
    assert breach_event(first).id == breach_event(again).id
    assert breach_event(first) == breach_event(again)
    assert breach_topic(first) == ORDERS


async def test_open_items_gauge(store: TimelineStore) -> None:
    store.ingest([event("order.placed", 0, order_id="O-4")])
    ticker, _ = _ticker(store, [at(0)])
    await ticker.update_gauges()
    sample = ticker.metrics.registry.get_sample_value(
        "hub_timeline_open_items",
        {"process": "order_to_delivery", "stage": "placed", "owner": "finance"},
    )
    assert sample == 1
    store.ingest([event("order.cancelled", 1, order_id="O-4")])
    await ticker.update_gauges()
    sample = ticker.metrics.registry.get_sample_value(
        "hub_timeline_open_items",
        {"process": "order_to_delivery", "stage": "placed", "owner": "finance"},
    )
    assert sample == 0

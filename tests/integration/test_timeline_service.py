"""The timeline service on the embedded broker: consume, store, one sla.breached, restarts.

The service runs as ``hub run timeline`` assembles it (runtime, FastStream broker, batch
subscriber, clock ticker), with a SQLite file that outlives each run and a test clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.structs import RecordMetadata

from hub.config import HubConfig
from hub.runtime.app import ServiceHost, make_runtime
from hub.runtime.cluster import KafkaCluster
from hub.runtime.settings import HubSettings
from hub.services.timeline import build
from hub.timeline.ordering import TimelineEvent
from hub.timeline.store import StoredTimeline, TimelineStore
from hub.topics import ORDERS, catalog, create_topics
from schemas import Envelope, KafkaRecord
from tests.integration.kafka_helpers import consume_all, produce
from tests.unit.timeline.builders import at, canonical
from tests.unit.translate.harness import committed, eventually


class Clock:
    """The service's "now"; counts how often it was read, so a test can wait for clock
    ticks instead of sleeping and hoping they happened."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        return self.now

    async def ticks(self, count: int, timeout: float = 20.0) -> None:
        target = self.reads + count
        for _ in range(int(timeout / 0.05)):
            if self.reads >= target:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"only {self.reads} clock reads, wanted {target}")


async def _run_host(
    cluster: KafkaCluster, db: Path, clock: Clock, group: str, config: HubConfig | None = None
) -> tuple[ServiceHost, TimelineStore]:
    settings = HubSettings(database_url=f"sqlite:///{db}")
    config = config or HubConfig()
    host = ServiceHost(
        make_runtime(settings, config, cluster),
        [lambda rt: build(rt, now=clock, tick_seconds=0.2, group_id=group)],
    )
    await host.start()
    for _ in range(200):
        if host.ready()[0]:
            break
        await asyncio.sleep(0.1)
    assert host.ready()[0], host.ready()[1]
    return host, TimelineStore(settings.database_url, config.processes)


async def _until(
    store: TimelineStore,
    order_id: str,
    condition: Callable[[StoredTimeline], bool],
    timeout: float = 20.0,
) -> StoredTimeline:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    timeline = None
    while loop.time() < deadline:
        timeline = await asyncio.to_thread(store.order_timeline, order_id)
        if timeline is not None and condition(timeline):
            return timeline
        await asyncio.sleep(0.2)
    raise AssertionError(f"condition not reached; last timeline: {timeline}")


async def _committed_past(cluster: KafkaCluster, group: str, landed: RecordMetadata) -> bool:
    """Whether ``group`` has committed past the record at ``landed``: read and handled it."""
    return await committed(cluster, group, landed.topic, landed.partition) > landed.offset


async def _breaches_on_topic(cluster: KafkaCluster, order_id: str) -> list[Envelope]:
    records = await consume_all(cluster, ORDERS, expected=10**9, timeout=4)
    events = [
        Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers)
        for r in records
        if dict(r.headers).get("ce_type") == b"sla.breached"
    ]
    return [e for e in events if e.data.get("order_id") == order_id]


@pytest.mark.slow
async def test_consumes_stores_once_and_emits_one_breach_across_restarts(
    kafka_cluster: KafkaCluster, unique: str, tmp_path: Path
) -> None:
    await create_topics(kafka_cluster, catalog(HubConfig()))
    order_id = f"odoo:SO-{unique}"
    placed = canonical("order.placed", 0, order_id=order_id, customer_id=f"C-{unique}")
    paid = canonical("payment.received", 1, order_id=order_id, customer_id=f"C-{unique}")
    db = tmp_path / "timeline.db"
    clock = Clock(at(2))
    group = f"hub-timeline-{unique}"

    host, store = await _run_host(kafka_cluster, db, clock, group)
    try:
        # paid first, then placed, then both again: redelivery and arrival order are harmless
        await produce(kafka_cluster, ORDERS, [paid.to_kafka(), placed.to_kafka()])
        copies = await produce(kafka_cluster, ORDERS, [placed.to_kafka(), paid.to_kafka()])
        await _until(store, order_id, lambda t: len(t.events) == 2)
        # the copies were read and handled too
        await eventually(lambda: _committed_past(kafka_cluster, group, copies[-1]))
        timeline = await asyncio.to_thread(store.order_timeline, order_id)
        assert timeline is not None
        assert [e.type for e in timeline.events] == ["order.placed", "payment.received"]
        assert timeline.state is not None
        assert (timeline.state["stage"], timeline.state["owner"]) == ("paid", "logistics")
        dispatch = next(c for c in timeline.clocks if c["rule"] == "dispatch")
        assert dispatch["status"] == "open"
        await clock.ticks(3)
        assert await _breaches_on_topic(kafka_cluster, order_id) == [], "deadline not passed"
    finally:
        await host.stop()

    # restart after the deadline: the clock was kept in the database and fires once
    clock.now = at(1) + timedelta(hours=48, seconds=1)
    host, store = await _run_host(kafka_cluster, db, clock, group)
    try:
        timeline = await _until(
            store, order_id, lambda t: any(e.type == "sla.breached" for e in t.events)
        )
        breach = next(e for e in timeline.events if e.type == "sla.breached")
        assert breach.data["owner"] == "logistics"
        assert breach.data["stage"] == "paid"
        assert breach.data["deadline"] == "2026-11-04T09:00:00Z"
        await clock.ticks(5)  # several more ticks: still one breach
    finally:
        await host.stop()

    # and a third run emits nothing more
    clock.now = at(500)
    host, store = await _run_host(kafka_cluster, db, clock, group)
    try:
        await clock.ticks(5)
    finally:
        await host.stop()
    emitted = await _breaches_on_topic(kafka_cluster, order_id)
    assert len(emitted) == 1, [e.id for e in emitted]
    assert emitted[0].partitionkey == order_id
    timeline = await asyncio.to_thread(store.order_timeline, order_id)
    assert timeline is not None
    assert [e.type for e in timeline.events] == [
        "order.placed",
        "payment.received",
        "sla.breached",
    ], "each event stored once, the copies and the restarts added nothing"


async def test_a_record_that_is_not_an_event_is_dead_lettered(
    kafka_cluster: KafkaCluster, unique: str, tmp_path: Path
) -> None:
    await create_topics(kafka_cluster, catalog(HubConfig()))
    order_id = f"odoo:SO-{unique}"
    host, store = await _run_host(
        kafka_cluster, tmp_path / "t.db", Clock(at(0)), f"hub-timeline-{unique}"
    )
    try:
        good = canonical("order.placed", 0, order_id=order_id)
        bad = KafkaRecord(key=unique.encode(), value=b"{not json", headers=[])
        await produce(kafka_cluster, ORDERS, [bad, good.to_kafka()])
        await _until(store, order_id, lambda t: len(t.events) == 1)
    finally:
        await host.stop()
    dead = [
        r
        for r in await consume_all(kafka_cluster, "hub.dlq", expected=10**9, timeout=3)
        if r.key == unique.encode()
    ]
    assert len(dead) == 1
    assert dict(dead[0].headers)["dlq_stage"] == b"timeline"


async def test_an_sla_edited_in_hub_yaml_applies_to_an_order_already_waiting(
    kafka_cluster: KafkaCluster, unique: str, tmp_path: Path
) -> None:
    """An order stored under dispatch-within-48h; the service restarts with 24 h: the
    stored clock is recomputed at start, and the ticker breaches it at the new deadline."""
    await create_topics(kafka_cluster, catalog(HubConfig()))
    order_id = f"odoo:SO-{unique}"
    db = tmp_path / "timeline.db"
    before = TimelineStore(f"sqlite:///{db}", HubConfig().processes)
    before.migrate()
    assert before.states_current()
    before.ingest(
        TimelineEvent.from_envelope(canonical(t, h, order_id=order_id))
        for t, h in (("order.placed", 0), ("payment.received", 1))
    )
    before.dispose()
    processes = HubConfig().processes
    slas = tuple(
        r.model_copy(update={"within": timedelta(hours=24)}) if r.name == "dispatch" else r
        for r in processes.order_to_delivery.slas
    )
    o2d = processes.order_to_delivery.model_copy(update={"slas": slas})
    edited = HubConfig().model_copy(
        update={"processes": processes.model_copy(update={"order_to_delivery": o2d})}
    )
    clock = Clock(at(30))  # past the new deadline (25 h), before the old one (49 h)
    host, store = await _run_host(kafka_cluster, db, clock, f"hub-timeline-{unique}", edited)
    try:
        timeline = await _until(
            store, order_id, lambda t: any(e.type == "sla.breached" for e in t.events)
        )
    finally:
        await host.stop()
    breach = next(e for e in timeline.events if e.type == "sla.breached")
    assert (breach.data["stage"], breach.data["deadline"]) == ("paid", "2026-11-03T09:00:00Z")
    assert await asyncio.to_thread(
        TimelineStore(f"sqlite:///{db}", edited.processes).states_current
    )

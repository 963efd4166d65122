"""The timeline service (``hub run timeline``): store, SLA clocks, API and page.

Consumes hub.orders, hub.customers and hub.support in batches; each batch is stored in one
transaction (duplicates ignored, state recomputed) before its offsets are committed, so a
crash re-delivers and nothing is lost or doubled. A record that is not a timeline event
becomes a dead letter. After each batch, and every few seconds, the clock ticker emits the
``sla.breached`` events that are due. At start, stored states computed under other
processes (a hub.yaml edit) or older state rules are recomputed in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence

from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter
from faststream.kafka import KafkaMessage, KafkaRouter

from hub.api.timelines import timeline_router
from hub.runtime.batch import batch_subscriber, commit_batch, rewind
from hub.runtime.deadletter import dead_letter
from hub.runtime.producer import Output
from hub.runtime.service import BackgroundTask, Runtime, Service
from hub.runtime.settings import ConsumerSettings
from hub.timeline.clocks import ClockTicker, Now, utc_now
from hub.timeline.ordering import TimelineEvent
from hub.timeline.store import KINDS, IngestResult, StoreError, TimelineStore
from hub.topics import CANONICAL_TOPICS
from hub.web import page_router

log = logging.getLogger(__name__)

GROUP = "hub-timeline"
STAGE = "timeline"


def decode(record: ConsumerRecord[bytes, bytes]) -> TimelineEvent:
    return TimelineEvent.from_kafka(key=record.key, value=record.value, headers=record.headers)


async def store_batch(
    runtime: Runtime,
    store: TimelineStore,
    consumer: object,
    records: Sequence[ConsumerRecord[bytes, bytes]],
) -> IngestResult:
    """Decode, store, dead-letter, then commit one batch (rewound if anything fails)."""
    events: list[TimelineEvent] = []
    dead: list[Output] = []
    for topic, count in Counter(record.topic for record in records).items():
        runtime.metrics.events_in.labels(service=STAGE, topic=topic).inc(count)
    for record in records:
        try:
            events.append(decode(record))
        except Exception as exc:  # noqa: BLE001 - every bad record becomes a dead letter
            log.warning(
                "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc
            )
            dead.append(dead_letter(record, STAGE, exc))
    try:
        result = await store.call(store.ingest, events)
        await runtime.producer.send_all(dead)
    except Exception:
        rewind(consumer, records)
        log.exception("storing a timeline batch failed; rewound for re-delivery")
        raise
    await commit_batch(consumer, records)
    for transition in result.transitions:
        runtime.metrics.timeline_stage_duration.labels(
            process=transition.process, stage=transition.stage
        ).observe(transition.seconds)
    return result


async def refresh_states(
    store: TimelineStore,
    ticker: ClockTicker | None = None,
    *,
    recheck_seconds: float = 60.0,
    retry_seconds: float = 5.0,
) -> None:
    """Recompute every stored state whenever the processes or the code's state rules they
    were computed under are not this service's, so that an SLA edited in hub.yaml applies
    to the items already waiting, not only to those that receive an event. One chunk of
    aggregates per store call: batches keep being stored in between; the ticker is held
    meanwhile. The mark is checked again every ``recheck_seconds``: a pod started with
    other processes (a rolling update, a rollback) may have recomputed under its own.
    A failed step is retried with back-off from where it stopped."""
    progress: dict[str, str | None] = {}
    delay = retry_seconds
    while True:
        try:
            if not await store.call(store.states_current):
                if ticker is not None:
                    ticker.held = True
                await _refresh(store, progress)
            progress.clear()
            if ticker is not None:
                ticker.held = False
            delay = retry_seconds
            await asyncio.sleep(recheck_seconds)
        except Exception:  # a database hiccup: try again rather than leave stale states
            log.exception("recomputing the timeline states failed; retrying in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)


async def _refresh(store: TimelineStore, progress: dict[str, str | None]) -> None:
    """Every kind from where ``progress`` says it stopped (None: done), then the mark."""
    log.info("recomputing the stored timeline states: the processes or rules changed")
    chunks: Counter[str] = Counter()
    for kind in KINDS:
        after = progress.get(kind, "")
        while after is not None:
            after = await store.call(store.refresh_step, kind, after)
            progress[kind] = after
            chunks[kind] += after is not None
    await store.call(store.mark_states_current)
    log.info("timeline states recomputed", extra={"chunks": dict(chunks)})


def build(
    runtime: Runtime, *, now: Now = utc_now, tick_seconds: float = 2.0, group_id: str = GROUP
) -> Service:
    """The service, with an injectable clock (tests pass their own ``now``)."""
    store = TimelineStore(runtime.settings.database_url, runtime.config.processes)
    store.migrate()
    ticker = ClockTicker(store, runtime.producer, runtime.metrics, now=now, interval=tick_seconds)
    router = KafkaRouter()

    settings = ConsumerSettings()
    batches = batch_subscriber(
        router,
        *CANONICAL_TOPICS,
        group_id=group_id,
        settings=settings,
        max_records=settings.timeline_max_records,
    )

    @batches
    async def handle(msg: KafkaMessage) -> None:
        await store_batch(runtime, store, msg.consumer, msg.raw_message)
        try:
            await ticker.tick()
        except Exception:  # the background ticker retries; the batch is already stored
            log.exception("SLA clock tick after a batch failed")

    http = APIRouter()
    http.include_router(timeline_router(store, runtime.config, now))
    http.include_router(page_router())
    # checked before the first batch and tick: an empty store is marked current at once,
    # so a new deployment does not recompute the batches it stored before a background
    # check; a stale one holds the ticker until it is recomputed
    ticker.held = not store.states_current()
    tasks: list[BackgroundTask] = [ticker.run, lambda: refresh_states(store, ticker)]
    return Service(name=STAGE, kafka=router, http=http, tasks=tasks, topics=CANONICAL_TOPICS)


def timeline(runtime: Runtime) -> Service:
    try:
        return build(runtime)
    except StoreError as exc:  # a clear message instead of a traceback at start-up
        raise SystemExit(f"error: {exc}") from exc

"""SLA clocks: emit exactly one ``sla.breached`` per clock whose deadline passed.

Clocks are rows the store derives from events (so they survive restarts with the
database). The ticker asks for open clocks past their deadline at ``now`` that have no
breach recorded, publishes a ``sla.breached`` event for each, waits for the acknowledgements
and only then records the breaches. A crash between the two re-emits after the restart with
the same stable ce_id, which every consumer (this store included) de-duplicates; a breach is
never recorded without its event having been published.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Output, Producer
from hub.timeline.ordering import parse_time_key
from hub.timeline.store import DueClock, TimelineStore
from hub.topics import ORDERS, SUPPORT
from schemas import Envelope
from schemas.events import canonical_event
from schemas.support import SlaBreached

log = logging.getLogger(__name__)

SOURCE = "/hub/timeline"
Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def breach_event(clock: DueClock) -> Envelope:
    """The ``sla.breached`` event of a clock; its id depends only on (aggregate, rule)."""
    subject_id = clock.ticket_id if clock.kind == "ticket" else clock.order_id or clock.agg_id
    assert subject_id is not None  # noqa: S101 - ticket clocks carry their ticket id
    data = SlaBreached(
        customer_id=clock.customer_id,
        process=clock.process,
        stage=clock.stage or str(clock.clock["from_stage"]),
        owner=str(clock.clock["owner"]),
        subject_id=subject_id,
        order_id=clock.order_id,
        ticket_id=clock.ticket_id,
        started_at=parse_time_key(str(clock.clock["started_at"])),
        deadline=clock.deadline,
        # the moment the SLA was broken; deterministic, so a re-emission is identical
        breached_at=clock.deadline,
    )
    key = clock.order_id if breach_topic(clock) == ORDERS else clock.customer_id
    return canonical_event(
        data,
        source=SOURCE,
        id_parts=[clock.kind, clock.agg_id, clock.rule],
        time=clock.deadline,
        partitionkey=key or subject_id,
        subject=subject_id,
    )


def breach_topic(clock: DueClock) -> str:
    """As the topic routing says: hub.orders with an order id and no ticket id."""
    return ORDERS if clock.order_id and not clock.ticket_id else SUPPORT


class ClockTicker:
    """Finds passed deadlines every ``interval`` seconds (and when asked after a batch)."""

    def __init__(
        self,
        store: TimelineStore,
        producer: Producer,
        metrics: HubMetrics,
        *,
        now: Now = utc_now,
        interval: float = 2.0,
    ) -> None:
        self.store = store
        self.producer = producer
        self.metrics = metrics
        self.now = now
        self.interval = interval
        self._lock = asyncio.Lock()
        self._gauge_keys: set[tuple[str, str, str]] = set()
        #: set while stored states are being recomputed under new processes: their clocks
        #: still have the old deadlines, and a breach is recorded once and never taken back
        self.held = False

    async def tick(self) -> int:
        """Emit the breaches due now; returns how many were newly recorded."""
        async with self._lock:
            if self.held:
                return 0
            now = self.now()
            due = await self.store.call(self.store.due_clocks, now)
            if not due:
                return 0
            events = [(clock, breach_event(clock)) for clock in due]
            outputs: list[Output] = [
                (breach_topic(clock), event.to_kafka()) for clock, event in events
            ]
            await self.producer.send_all(outputs)
            recorded = 0
            for clock, event in events:
                if await self.store.call(self.store.record_breach, clock, event.id, now):
                    recorded += 1
                    owner = str(clock.clock["owner"])
                    self.metrics.sla_breaches.labels(
                        process=clock.process, stage=clock.stage or "", owner=owner
                    ).inc()
                    log.warning(
                        "SLA breached: %s %s %s (%s), deadline %s",
                        clock.process,
                        clock.kind,
                        clock.agg_id,
                        clock.rule,
                        clock.deadline.isoformat(),
                        extra={"owner": owner, "event_id": event.id},
                    )
            return recorded

    async def update_gauges(self) -> None:
        items = await self.store.call(self.store.open_items)
        current = {(p, s, o): n for p, s, o, n in items}
        for key in self._gauge_keys - current.keys():
            self.metrics.timeline_open_items.labels(*key).set(0)
        for (process, stage, owner), count in current.items():
            self.metrics.timeline_open_items.labels(process, stage, owner).set(count)
        self._gauge_keys |= current.keys()

    async def run(self) -> None:
        """The background task: tick forever; a failed tick is logged and retried."""
        while True:
            try:
                await self.tick()
                await self.update_gauges()
            except Exception:
                log.exception("SLA clock tick failed; retrying")
            await asyncio.sleep(self.interval)

"""``hub run router``: canonical events to the departments that may see them.

Consumes hub.orders, hub.customers and hub.support in batches; for each event the current
rules (:mod:`hub.routing.reload`) decide the departments, and each department's field plan
rewrites the data. The record goes to ``dept.<department>`` keyed like its source topic (the
aggregate id), with the envelope headers unchanged (same ``ce_id``; ``ce_causationid`` set),
only the value changed. Offsets are committed after every delivery is acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaMessage, KafkaRouter

from hub.routing.policy import version_of
from hub.routing.reload import RulesHolder
from hub.routing.route import EventView
from hub.runtime.batch import batch_subscriber, run_batch
from hub.runtime.metrics import HistogramTally, HubMetrics, Tally
from hub.runtime.producer import Output
from hub.runtime.service import Runtime, Service
from hub.topics import CANONICAL_TOPICS, DLQ, department_topic
from schemas import EnvelopeError, KafkaRecord

log = logging.getLogger(__name__)

GROUP = "hub-router"
STAGE = "router"
#: the attributes routing reads; the others are forwarded as they are
_READ_HEADERS = frozenset(("ce_type", "ce_id", "ce_time", "ce_dataschema", "ce_causationid"))


class RouterStage:
    """Record in, department records out; pure apart from metrics, which it tallies per
    delivery and adds to the registry when its service calls :meth:`flush_metrics` after
    each batch."""

    def __init__(self, rules: RulesHolder, metrics: HubMetrics | None = None) -> None:
        self.rules = rules
        self.metrics = metrics
        if metrics is not None:
            self._routed = Tally(metrics.routed_events)
            self._latency = HistogramTally(metrics.end_to_end_latency)

    def flush_metrics(self) -> None:
        """Add the deliveries tallied since the last call to the metrics."""
        if self.metrics is not None:
            self._routed.flush()
            self._latency.flush()

    def handle(
        self, record: ConsumerRecord[bytes, bytes] | KafkaRecord, known: EventView | None = None
    ) -> list[Output]:
        """The department records of one canonical event.

        ``known`` is what a caller that has just encoded ``record`` itself already holds
        (the one-hop service): routing then reads it instead of decoding the headers and
        the JSON value again. Such a record must carry ``ce_causationid``, as every record
        the translator encodes does."""
        if known is not None:
            headers = record.headers if isinstance(record.headers, list) else [*record.headers]
            return self._deliver(
                record.key,
                headers,
                event_type=known.type,
                dataschema=known.dataschema,
                data=known.data,
                time=known.time,
            )
        headers = list(record.headers or ())
        attrs: dict[str, str] = {}
        for name, value in headers:
            if name in _READ_HEADERS:
                attrs[name] = value.decode()
        event_type, event_id = attrs.get("ce_type"), attrs.get("ce_id")
        if not event_type or not event_id:
            raise EnvelopeError("not a CloudEvent: ce_type or ce_id header missing")
        data = orjson.loads(record.value) if record.value else None
        if not isinstance(data, dict):
            raise EnvelopeError(f"{event_type} {event_id}: data is not a JSON object")
        if "ce_causationid" not in attrs:
            headers.append(("ce_causationid", event_id.encode()))
        return self._deliver(
            record.key,
            headers,
            event_type=event_type,
            dataschema=attrs.get("ce_dataschema"),
            data=data,
            time=attrs.get("ce_time"),
        )

    def _deliver(
        self,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
        *,
        event_type: str,
        dataschema: str | None,
        data: dict[str, Any],
        time: str | datetime | None,
    ) -> list[Output]:
        rules = self.rules.current
        departments = rules.departments(event_type, data)
        version = version_of(dataschema)
        outputs: list[Output] = []
        #: departments under the same plan see the same fields: encode that view once
        encoded: dict[int, bytes] = {}
        for department in departments:
            plan = rules.plan(event_type, version, department)
            value = encoded.get(id(plan))
            if value is None:
                value = encoded[id(plan)] = orjson.dumps(plan.apply(data))
            outputs.append((department_topic(department), KafkaRecord(key, value, headers)))
        if self.metrics is not None:
            self._observe(event_type, time, departments)
        return outputs

    def _observe(
        self, event_type: str, time: str | datetime | None, departments: Sequence[str]
    ) -> None:
        assert self.metrics is not None  # noqa: S101 - checked by the caller
        if not departments:
            self.metrics.routing_failures.labels(reason="no_department").inc()
            return
        latency = None
        if isinstance(time, str) and time:
            try:
                time = datetime.fromisoformat(time)
            except ValueError:
                time = None
        if isinstance(time, datetime):
            latency = (datetime.now(UTC) - time).total_seconds()
        routed = self._routed.add
        for department in departments:
            routed(department, event_type)
        if latency is not None:
            observe, latency = self._latency.add, max(latency, 0.0)
            for department in departments:
                observe(latency, department)


def router_service(
    runtime: Runtime,
    *,
    rules: RulesHolder | None = None,
    group_id: str = GROUP,
    topics: Sequence[str] = CANONICAL_TOPICS,
    name: str = "router",
) -> Service:
    holder = rules or RulesHolder(runtime.config, runtime.settings.config)
    stage = RouterStage(holder, runtime.metrics)
    metrics = runtime.metrics
    events_in = Tally(metrics.events_in)

    def handle(record: ConsumerRecord[bytes, bytes]) -> list[Output]:
        events_in.add(name, record.topic)
        try:
            return stage.handle(record)
        except Exception as exc:
            reason = type(exc).__name__
            metrics.routing_failures.labels(reason=reason).inc()
            metrics.dlq_events.labels(stage=STAGE, error_class=reason).inc()
            raise

    router = KafkaRouter()

    @batch_subscriber(router, *topics, group_id=group_id)
    async def route_batch(msg: KafkaMessage) -> None:
        await run_batch(
            producer=runtime.producer,
            consumer=msg.consumer,
            records=msg.raw_message,
            stage=STAGE,
            handle=handle,
            flush=(events_in.flush, stage.flush_metrics),
        )

    departments = tuple(department_topic(d) for d in runtime.config.departments)
    return Service(
        name=name,
        kafka=router,
        tasks=[holder.watch],
        topics=(*topics, *departments, DLQ),
    )


def router(runtime: Runtime) -> Service:
    """``hub run router``: the rules from ``hub.yaml``, reloaded when it changes."""
    return router_service(runtime)

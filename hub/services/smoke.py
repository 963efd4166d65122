"""The plumbing smoke path: a generator and a pass-through consumer.

Clearly not a real service: it proves, before the connectors and the router exist, that
events flow from a raw topic through a batch stage (commit only after every output is
acknowledged) into a hub topic, visible in ``/metrics``. The generator writes made-up,
source-shaped order records to ``raw.smoke.order``; the pass-through forwards each one to
``hub.orders`` as a ``smoke.order`` event caused by it. Turn it off with ``smoke.enabled:
false`` in ``hub.yaml``; the translator and router replace it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaMessage, KafkaRouter

from hub.runtime.batch import batch_subscriber, run_batch
from hub.runtime.producer import Output
from hub.runtime.service import Runtime, Service
from hub.topics import ORDERS, raw_topic
from schemas import Envelope, stable_event_id

log = logging.getLogger(__name__)

RAW_TOPIC = raw_topic("smoke", "order")
GENERATOR_SOURCE = "/connectors/smoke"
PASSTHROUGH_SOURCE = "/hub/smoke-passthrough"
PASSTHROUGH_GROUP = "hub-smoke-passthrough"


def smoke_record(run_id: str, sequence: int, now: datetime) -> Envelope:
    """One made-up source record, shaped like an ERP order row."""
    name = f"SMOKE/{sequence:06d}"
    return Envelope(
        id=stable_event_id("smoke", run_id, str(sequence)),
        source=GENERATOR_SOURCE,
        type="raw.smoke.order",
        time=now,
        subject=name,
        partitionkey=name,
        data={
            "id": sequence,
            "name": name,
            "amount_total": f"{(sequence % 97) * 10 + 9.5:.2f}",
            "currency": "EUR",
            "write_date": now.isoformat(),
        },
    )


def forward(record: ConsumerRecord[bytes, bytes]) -> list[Output]:
    """The pass-through's whole logic: re-wrap the raw event for ``hub.orders``."""
    raw = Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers)
    event = raw.caused(
        id=stable_event_id("smoke-passthrough", raw.id),
        source=PASSTHROUGH_SOURCE,
        type="smoke.order",
    )
    return [(ORDERS, event.to_kafka())]


def generator(runtime: Runtime) -> Service:
    rate = runtime.config.smoke.events_per_second
    run_id = uuid.uuid4().hex

    async def generate() -> None:
        for sequence in itertools.count(1):
            event = smoke_record(run_id, sequence, datetime.now(UTC))
            try:
                await runtime.producer.send(RAW_TOPIC, event.to_kafka())
            except Exception as exc:  # noqa: BLE001 - a smoke source keeps trying
                log.warning("smoke generator could not publish: %s", exc)
            else:
                runtime.metrics.smoke_generated.inc()
            await asyncio.sleep(1 / rate)

    return Service(name="smoke-generator", tasks=[generate], topics=(RAW_TOPIC,))


def passthrough(runtime: Runtime) -> Service:
    router = KafkaRouter()

    @batch_subscriber(router, RAW_TOPIC, group_id=PASSTHROUGH_GROUP)
    async def handle(msg: KafkaMessage) -> None:
        sent = await run_batch(
            producer=runtime.producer,
            consumer=msg.consumer,
            records=msg.raw_message,
            stage="smoke-passthrough",
            handle=forward,
        )
        runtime.metrics.smoke_forwarded.inc(sent)

    return Service(name="smoke-passthrough", kafka=router, topics=(RAW_TOPIC, ORDERS))

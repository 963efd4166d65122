"""Batch stages with an explicit commit discipline.

A stage turns each consumed record into zero or more outputs; a record it cannot handle
becomes a dead letter. All outputs of a batch are sent together (pipelined, not one
acknowledgement at a time) and the offsets are committed only after every one of them,
the dead letters included, is acknowledged. If any send fails, the consumer is rewound to
the start of the batch, so nothing is committed past a record that did not land.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.subscriber.usecase import BatchSubscriber

from hub.runtime.deadletter import dead_letter
from hub.runtime.offsets import committer_for
from hub.runtime.producer import Output, Producer
from hub.runtime.settings import ConsumerSettings

log = logging.getLogger(__name__)

RecordHandler = Callable[[ConsumerRecord[bytes, bytes]], Iterable[Output]]


def undecoded(msg: Any) -> None:
    """Batch handlers read ``msg.raw_message``: skip FastStream's per-record parse and JSON
    decode of a body nobody reads (about a tenth of a stage's time in a py-spy profile)."""
    return


def batch_subscriber(
    router: KafkaRouter,
    *topics: str,
    group_id: str,
    pattern: str | None = None,
    settings: ConsumerSettings | None = None,
    max_records: int | None = None,
) -> BatchSubscriber:
    """A batch subscriber whose handler commits itself (via :func:`run_batch`), on
    ``topics`` or, without them, on the topics matching ``pattern``; batches of at most
    ``max_records`` (default: the settings' common ``max_records``)."""
    settings = settings or ConsumerSettings()
    where: dict[str, Any] = {} if topics else {"pattern": pattern}
    subscriber: BatchSubscriber = router.subscriber(
        *topics,
        **where,
        group_id=group_id,
        batch=True,
        ack_policy=AckPolicy.MANUAL,
        decoder=undecoded,
        auto_offset_reset="earliest",
        **settings.subscriber_options(max_records),
    )
    return subscriber


async def commit_batch(consumer: Any, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
    """Commit the partitions ``records`` came from (:mod:`hub.runtime.offsets`); call it only
    once the batch's outputs are acknowledged."""
    await committer_for(consumer).commit(records)


def rewind(consumer: Any, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
    """Seek each partition back to its first offset in ``records`` for re-delivery."""
    first: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        first[tp] = min(first.get(tp, record.offset), record.offset)
    for tp, offset in first.items():
        consumer.seek(tp, offset)


async def run_batch(
    *,
    producer: Producer,
    consumer: Any,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    stage: str,
    handle: RecordHandler,
    flush: Sequence[Callable[[], None]] = (),
) -> int:
    """Handle, publish, then commit one batch; returns the number of outputs sent.

    ``flush`` adds the metrics ``handle`` tallied (:class:`hub.runtime.metrics.Tally`) to
    the registry once the batch ends, published or not."""
    try:
        outputs: list[Output] = []
        for record in records:
            try:
                outputs.extend(handle(record))
            except Exception as exc:  # noqa: BLE001 - every failure becomes a dead letter
                log.warning(
                    "dead-lettering record from %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                    extra={"stage": stage},
                )
                outputs.append(dead_letter(record, stage, exc))
        try:
            await producer.send_all(outputs)
        except Exception:
            rewind(consumer, records)
            log.exception(
                "publishing a batch failed; rewound for re-delivery", extra={"stage": stage}
            )
            raise
        await commit_batch(consumer, records)
        return len(outputs)
    finally:
        for add_to_registry in flush:
            add_to_registry()

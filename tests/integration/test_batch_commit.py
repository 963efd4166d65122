"""Commit discipline of a batch stage, on a real broker.

Offsets move only after every output of a batch, dead letters included, is acknowledged;
a failed send rewinds the batch so that it is delivered again.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from hub.config import HubConfig
from hub.runtime.batch import run_batch
from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Output, Producer
from hub.topics import catalog, create_topics
from schemas import KafkaRecord
from tests.integration.kafka_helpers import FlakyProducer, consume_all, make_topics, produce

POISON = b"poison"


def _double(out_topic: str):  # type: ignore[no-untyped-def]
    def handle(record: ConsumerRecord[bytes, bytes]) -> list[Output]:
        if record.value == POISON:
            raise ValueError("cannot translate a poisoned record")
        return [(out_topic, KafkaRecord(record.key, record.value + b"!", []))]

    return handle


async def _committed(cluster: KafkaCluster, group: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(group_id=group, **cluster.client_options())
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0)) or 0
    finally:
        await consumer.stop()


async def _run_stage(
    cluster: KafkaCluster,
    producer: Producer,
    source: str,
    out: str,
    group: str,
    *,
    flushed: list[int] | None = None,
) -> KafkaBroker:
    """The stage under test; each batch's end appends the batch's size to ``flushed``."""
    broker = KafkaBroker(cluster.bootstrap_servers, allow_auto_create_topics=False)

    @broker.subscriber(
        source,
        group_id=group,
        batch=True,
        max_records=50,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
    )
    async def handle(msg: KafkaMessage) -> None:
        records = msg.raw_message
        await run_batch(
            producer=producer,
            consumer=msg.consumer,
            records=records,  # type: ignore[arg-type]
            stage="test-stage",
            handle=_double(out),
            flush=() if flushed is None else (lambda: flushed.append(len(records)),),
        )

    await producer.start()
    await broker.start()
    return broker


async def test_poison_in_the_middle_goes_to_the_dlq_before_the_commit(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    source, out, group = f"t.src.{unique}", f"t.out.{unique}", f"g-{unique}"
    await make_topics(kafka_cluster, source, out, partitions=1)
    await create_topics(kafka_cluster, catalog(HubConfig()))
    values = [f"r{i}".encode() for i in range(20)]
    values[10] = POISON
    await produce(kafka_cluster, source, [KafkaRecord(b"k", v, []) for v in values])

    producer = Producer(kafka_cluster, HubMetrics.create())
    broker = await _run_stage(kafka_cluster, producer, source, out, group)
    try:
        outputs = await consume_all(kafka_cluster, out, expected=19)
        for _ in range(50):
            if await _committed(kafka_cluster, group, source) == 20:
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
        await producer.stop()

    assert [r.value for r in outputs] == [v + b"!" for v in values if v != POISON]
    assert await _committed(kafka_cluster, group, source) == 20
    dead = [
        r
        for r in await consume_all(kafka_cluster, "hub.dlq", expected=10_000, timeout=3)
        if dict(r.headers).get("dlq_original_topic") == source.encode()
    ]
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert dead[0].value == POISON
    assert headers["dlq_original_offset"] == b"10"
    assert headers["dlq_error_class"] == b"ValueError"
    assert headers["dlq_stage"] == b"test-stage"


async def _ten_records_under_one_key(
    cluster: KafkaCluster, unique: str, partitions: int
) -> tuple[str, str, str, list[bytes]]:
    """Source and output topics, a group name, and the ten values written to the source
    (one key, so all of them land on one partition)."""
    source, out, group = f"t.src.{unique}", f"t.out.{unique}", f"g-{unique}"
    await make_topics(cluster, source, out, partitions=partitions)
    values = [f"r{i}".encode() for i in range(10)]
    await produce(cluster, source, [KafkaRecord(b"k", v, []) for v in values])
    return source, out, group, values


async def test_a_failed_send_commits_nothing_and_redelivers(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    source, out, group, values = await _ten_records_under_one_key(kafka_cluster, unique, 1)

    producer = FlakyProducer(kafka_cluster, HubMetrics.create(), failing_topic=out)
    flushed: list[int] = []
    broker = await _run_stage(kafka_cluster, producer, source, out, group, flushed=flushed)
    try:
        for _ in range(100):
            if producer.failures >= 2:
                break
            await asyncio.sleep(0.1)
        assert producer.failures >= 2, "the batch was retried after the failure"
        assert await _committed(kafka_cluster, group, source) == 0, "nothing committed"
        # a failed batch's tallies still reach the registry (its records were consumed)
        assert len(flushed) >= 2, flushed
        producer.healed.set()
        outputs = await consume_all(kafka_cluster, out, expected=10)
    finally:
        await broker.stop()
        await producer.stop()
    assert [r.value for r in outputs] == [v + b"!" for v in values]


async def test_a_batch_commits_only_the_partitions_it_came_from(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    source, out, group, _ = await _ten_records_under_one_key(kafka_cluster, unique, 3)

    producer = Producer(kafka_cluster, HubMetrics.create())
    broker = await _run_stage(kafka_cluster, producer, source, out, group)
    partitions = [TopicPartition(source, p) for p in range(3)]
    try:
        await consume_all(kafka_cluster, out, expected=10)
        committed: dict[int, int | None] = {}
        for _ in range(50):
            committed = await _committed_all(kafka_cluster, group, partitions)
            if 10 in committed.values():
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
        await producer.stop()
    assert sorted(committed.values(), key=lambda v: v or 0) == [None, None, 10], committed


async def _committed_all(
    cluster: KafkaCluster, group: str, partitions: list[TopicPartition]
) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(group_id=group, **cluster.client_options())
    await consumer.start()
    try:
        return {tp.partition: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()

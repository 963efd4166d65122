"""Small helpers for tests that read and write a real cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord, RecordMetadata

from hub.runtime.cluster import KafkaCluster
from hub.runtime.producer import Producer
from schemas import KafkaRecord


async def make_topics(cluster: KafkaCluster, *names: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(**cluster.client_options())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        )
    finally:
        await admin.close()


async def produce(
    cluster: KafkaCluster, topic: str, records: Sequence[KafkaRecord]
) -> list[RecordMetadata]:
    """Send ``records`` and wait for every acknowledgement; where each one landed."""
    producer = AIOKafkaProducer(**cluster.client_options(), **cluster.producer_options())
    await producer.start()
    try:
        futures = [
            await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def consume_all(
    cluster: KafkaCluster, topic: str, expected: int, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning until ``expected`` records arrived (or time out)."""
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False, **cluster.client_options()
    )
    await consumer.start()
    out: list[ConsumerRecord[bytes, bytes]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(out) < expected and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out


class FlakyProducer(Producer):
    """A real producer whose sends to one topic fail until ``healed`` is set."""

    def __init__(self, *args: Any, failing_topic: str) -> None:
        super().__init__(*args)
        self.failing_topic = failing_topic
        self.healed = asyncio.Event()
        self.failures = 0

    async def send_records(
        self, topic: str, records: Sequence[KafkaRecord]
    ) -> list[asyncio.Future[Any]]:
        if topic == self.failing_topic and not self.healed.is_set():
            self.failures += 1
            raise ConnectionError("injected send failure")
        return await super().send_records(topic, records)

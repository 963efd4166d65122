"""The process's raw producer: exact bytes in, futures out.

FastStream's publish takes headers as text, but dead letters must keep the original header
bytes, and hot paths want the send futures of a whole batch to await together. So stages
publish through this thin wrapper over one aiokafka producer per process, configured from
the cluster's capabilities (acks=all; idempotence where the cluster supports it).

A batch's outputs are queued as one record batch per partition (``create_batch`` /
``send_batch``) instead of one ``send`` per record, which spent most of its time on
per-record bookkeeping; the partitions are the ones ``send`` would choose (the producer's
default partitioner: murmur2 of the key, a random available partition without one), with
each key's hash computed once per process rather than once per record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.structs import RecordMetadata

from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from schemas import KafkaRecord

Output = tuple[str, KafkaRecord]


class Producer:
    def __init__(self, cluster: KafkaCluster, metrics: HubMetrics) -> None:
        self._cluster = cluster
        self._metrics = metrics
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(
                **self._cluster.client_options(), **self._cluster.producer_options()
            )
            await producer.start()
            self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def send(self, topic: str, record: KafkaRecord) -> asyncio.Future[RecordMetadata]:
        """Queue one record; the returned future resolves when the cluster acknowledges it."""
        if self._producer is None:
            raise RuntimeError("producer not started")
        future: asyncio.Future[RecordMetadata] = await self._producer.send(
            topic, record.value, key=record.key, headers=record.headers
        )
        self._metrics.events_out.labels(topic=topic).inc()
        return future

    async def send_records(
        self, topic: str, records: Sequence[KafkaRecord]
    ) -> list[asyncio.Future[RecordMetadata]]:
        """Queue records of one topic as per-partition batches, in order within each
        partition; each returned future resolves when the cluster acknowledges its batch."""
        producer = self._producer
        if producer is None:
            raise RuntimeError("producer not started")
        partitions = sorted(await producer.partitions_for(topic))
        available = list(producer.client.cluster.available_partitions_for_topic(topic))
        builders: dict[int, Any] = {}
        futures: list[asyncio.Future[RecordMetadata]] = []

        async def flush(partition: int) -> None:
            batch = builders.pop(partition, None)
            if batch is not None and batch.record_count():
                futures.append(await producer.send_batch(batch, topic, partition=partition))

        for record in records:
            key = record.key
            if key is None:
                partition = _PARTITIONER(None, partitions, available)
            else:
                partition = partition_for(key, partitions)
            batch = builders.get(partition)
            if batch is None:
                batch = builders[partition] = producer.create_batch()
            if _append(batch, record):
                continue
            await flush(partition)  # full: queue what it holds, start the next
            batch = builders[partition] = producer.create_batch()
            if not _append(batch, record):  # larger than a whole batch: send it alone
                del builders[partition]
                futures.append(
                    await producer.send(
                        topic, record.value, key=key, partition=partition, headers=record.headers
                    )
                )
        for partition in list(builders):
            await flush(partition)
        self._metrics.events_out.labels(topic=topic).inc(len(records))
        return futures

    async def send_all(self, outputs: Sequence[Output]) -> list[RecordMetadata]:
        """Queue every output, then wait for all acknowledgements together (one per
        record batch)."""
        by_topic: dict[str, list[KafkaRecord]] = {}
        for topic, record in outputs:
            by_topic.setdefault(topic, []).append(record)
        futures: list[asyncio.Future[RecordMetadata]] = []
        for topic, records in by_topic.items():
            futures.extend(await self.send_records(topic, records))
        return list(await asyncio.gather(*futures)) if futures else []


_PARTITIONER = DefaultPartitioner()
#: key -> its murmur2 hash, shared by every topic: an aggregate's key goes to a canonical
#: topic and then to each of its departments' topics, and the pure-Python hash costs about
#: 5 µs a record. Bounded by clearing: keys of recent aggregates refill it at once.
_KEY_HASHES: dict[bytes, int] = {}
MAX_CACHED_KEY_HASHES = 65_536


def partition_for(key: bytes, partitions: Sequence[int]) -> int:
    """The partition of ``partitions`` (sorted ids) that aiokafka's default partitioner, and
    so the Java client's, gives ``key``: ``murmur2(key) & 0x7fffffff`` modulo their number."""
    hashed = _KEY_HASHES.get(key)
    if hashed is None:
        if len(_KEY_HASHES) >= MAX_CACHED_KEY_HASHES:
            _KEY_HASHES.clear()
        hashed = _KEY_HASHES[key] = murmur2(key) & 0x7FFFFFFF
    return partitions[hashed % len(partitions)]


def _append(batch: Any, record: KafkaRecord) -> bool:
    metadata = batch.append(
        timestamp=None, key=record.key, value=record.value, headers=record.headers
    )
    return metadata is not None

"""The process's raw producer: exact bytes in, futures out.

FastStream's publish takes headers as text, but dead letters must keep the original header
bytes, and hot paths want the send futures of a whole batch to await together. So stages
publish through this thin wrapper over one aiokafka producer per process, configured from
the cluster's capabilities (acks=all; idempotence where the cluster supports it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
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

    async def send_all(self, outputs: Sequence[Output]) -> list[RecordMetadata]:
        """Queue every output, then wait for all acknowledgements together."""
        futures = [await self.send(topic, record) for topic, record in outputs]
        return list(await asyncio.gather(*futures)) if futures else []

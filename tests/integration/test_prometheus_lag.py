"""Consumer lag from the fetched high watermark, on a real broker with real lag."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import generate_latest

from hub.runtime.cluster import KafkaCluster
from hub.runtime.lag import LagCollector, broker_consumers
from hub.runtime.metrics import HubMetrics
from schemas import KafkaRecord
from tests.integration.kafka_helpers import make_topics, produce


def _records(n: int) -> list[KafkaRecord]:
    return [KafkaRecord(key=f"k{i}".encode(), value=b"{}", headers=[]) for i in range(n)]


async def _assigned(consumer: AIOKafkaConsumer, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not consumer.assignment():
        assert loop.time() < deadline, "no partition assignment"
        await asyncio.sleep(0.1)


async def test_lag_is_highwater_minus_position_per_partition(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    topic, group = f"lag.{unique}", f"lag-{unique}"
    await make_topics(kafka_cluster, topic, partitions=1)
    await produce(kafka_cluster, topic, _records(10))
    metrics = HubMetrics.create()
    collector = LagCollector(metrics.consumer_lag)
    consumer = AIOKafkaConsumer(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
        **kafka_cluster.client_options(),
    )
    await consumer.start()
    try:
        await _assigned(consumer)
        # before any fetch the high watermark is unknown: no guessed lag
        assert await collector.update_from([(group, consumer)]) == []
        got: list[object] = []
        while len(got) < 4:
            batch = await consumer.getmany(timeout_ms=1000, max_records=4 - len(got))
            for records in batch.values():
                got.extend(records)
        lags = await collector.update_from([(group, consumer)])
        assert [(x.topic, x.partition, x.lag) for x in lags] == [(topic, 0, 6)]
        value = metrics.registry.get_sample_value(
            "hub_consumer_lag", {"group": group, "topic": topic, "partition": "0"}
        )
        assert value == 6

        await produce(kafka_cluster, topic, _records(5))
        while len(got) < 15:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                got.extend(records)
        assert consumer.highwater(TopicPartition(topic, 0)) == 15
        await collector.update_from([(group, consumer)])
        value = metrics.registry.get_sample_value(
            "hub_consumer_lag", {"group": group, "topic": topic, "partition": "0"}
        )
        assert value == 0
    finally:
        await consumer.stop()
    # a consumer that is gone leaves no stale series behind
    assert await collector.update_from([]) == []
    assert b"hub_consumer_lag{" not in generate_latest(metrics.registry)


async def test_broker_consumers_finds_faststream_group_subscribers(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    topic, group = f"lagfs.{unique}", f"lagfs-{unique}"
    await make_topics(kafka_cluster, topic, partitions=2)
    await produce(kafka_cluster, topic, _records(6))
    broker = KafkaBroker(kafka_cluster.bootstrap_servers, logger=None)
    seen: list[object] = []

    @broker.subscriber(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
    )
    async def handle(body: dict[str, object]) -> None:
        seen.append(body)

    metrics = HubMetrics.create()
    collector = LagCollector(metrics.consumer_lag)
    await broker.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while len(seen) < 6:
            assert loop.time() < deadline, f"consumed {len(seen)} of 6"
            await asyncio.sleep(0.1)
        assert [g for g, _ in broker_consumers(broker)] == [group]
        lags = []
        while len(lags) < 2:
            assert loop.time() < deadline, f"lag known for {lags}"
            lags = await collector.update(broker)
            await asyncio.sleep(0.1)
        assert sorted((x.partition, x.lag) for x in lags) == [(0, 0), (1, 0)]
    finally:
        await broker.stop()

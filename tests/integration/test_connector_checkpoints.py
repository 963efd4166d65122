"""Cursors on a compacted checkpoints topic: saved after the ack, loaded to the end."""

from __future__ import annotations

import time

from connectors.kit.checkpoints import KafkaCheckpoints
from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Producer
from tests.integration.kafka_helpers import make_topics


async def test_cursors_survive_a_new_store_and_the_last_value_per_key_wins(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    topic = f"checkpoints.{unique}"
    await make_topics(kafka_cluster, topic, partitions=1)
    producer = Producer(kafka_cluster, HubMetrics.create())
    await producer.start()
    try:
        empty = KafkaCheckpoints(producer, kafka_cluster.client_options(), topic)
        started = time.monotonic()
        assert await empty.load(timeout=10) == {}
        assert time.monotonic() - started < 5, "an empty topic is recognised as read to its end"

        store = KafkaCheckpoints(producer, kafka_cluster.client_options(), topic)
        for cursor in ("10", "20", "30"):  # several values of one key, in one batch or not
            await store.save("shop", "order", cursor)
        await store.save("shop", "customer", "c-7")
        await store.save("crm", "contact", None)

        fresh = KafkaCheckpoints(producer, kafka_cluster.client_options(), topic)
        loaded = await fresh.load(timeout=10)
    finally:
        await producer.stop()
    assert {key: c.cursor for key, c in loaded.items()} == {
        "shop:order": "30",
        "shop:customer": "c-7",
        "crm:contact": None,
    }
    assert fresh.get("shop", "order").cursor == "30"  # type: ignore[union-attr]

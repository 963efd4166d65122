"""Producer.send_all: per-partition record batches land where single sends would, in order."""

from __future__ import annotations

from aiokafka.partitioner import murmur2

from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Producer
from schemas import KafkaRecord
from tests.integration.kafka_helpers import consume_all, make_topics


async def test_batches_keep_key_partitions_order_and_headers(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    first, second = f"t.batch-a.{unique}", f"t.batch-b.{unique}"
    await make_topics(kafka_cluster, first, second, partitions=3)
    big = b"x" * 300_000  # several of these do not fit one 1 MiB batch
    outputs = [
        (
            first if i % 4 else second,
            KafkaRecord(
                f"key-{i % 7}".encode(),
                big if i % 10 == 0 else f"v{i}".encode(),
                [("n", b"%d" % i)],
            ),
        )
        for i in range(200)
    ]
    outputs.append((first, KafkaRecord(None, b"keyless", [])))
    producer = Producer(kafka_cluster, HubMetrics.create())
    await producer.start()
    try:
        acks = await producer.send_all(outputs)
    finally:
        await producer.stop()
    assert acks, "every batch is acknowledged before send_all returns"

    for topic in (first, second):
        sent = [record for t, record in outputs if t == topic]
        received = await consume_all(kafka_cluster, topic, expected=len(sent))
        assert sorted(r.value for r in received) == sorted(r.value for r in sent)
        for record in received:
            if record.key is not None:
                assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % 3
        for key in {r.key for r in sent if r.key is not None}:
            order = [int(dict(r.headers)["n"]) for r in received if r.key == key]
            assert order == sorted(order), "records of one key keep their order"

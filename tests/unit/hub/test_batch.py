"""Which offsets a batch commits."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.runtime.batch import commit_batch, next_offsets


def record(topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])


class HoldingConsumer:
    """Holds ``assignment`` and remembers what it was asked to commit."""

    def __init__(self, *assignment: TopicPartition) -> None:
        self.held = set(assignment)
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.held

    async def commit(self, offsets: Any = None) -> None:
        assert offsets is not None, "a bare commit writes every assigned partition"
        self.commits.append(offsets)


def test_one_past_the_last_record_of_each_partition() -> None:
    records = [record("a", 0, 5), record("a", 0, 7), record("a", 2, 3), record("b", 0, 9)]
    assert next_offsets(records) == {
        TopicPartition("a", 0): 8,
        TopicPartition("a", 2): 4,
        TopicPartition("b", 0): 10,
    }


async def test_a_partition_revoked_meanwhile_is_left_out() -> None:
    consumer = HoldingConsumer(TopicPartition("a", 0), TopicPartition("a", 1))
    await commit_batch(consumer, [record("a", 0, 1), record("a", 2, 4)])
    assert consumer.commits == [{TopicPartition("a", 0): 2}]


async def test_nothing_held_commits_nothing() -> None:
    consumer = HoldingConsumer()
    await commit_batch(consumer, [record("a", 0, 1)])
    assert consumer.commits == []

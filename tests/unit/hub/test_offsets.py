"""Which offsets a batch commits, and what happens to them when a commit fails."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord

from hub.runtime.batch import commit_batch
from hub.runtime.offsets import OffsetCommitter, next_offsets

A0, A1, A2 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("a", 2)


def record(topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])


class HoldingConsumer:
    """Holds ``assignment``, remembers what it was asked to commit, fails when told to."""

    def __init__(self, *assignment: TopicPartition) -> None:
        self.held = set(assignment)
        self.commits: list[dict[TopicPartition, int]] = []
        self.failing = False

    def assignment(self) -> set[TopicPartition]:
        return self.held

    async def commit(self, offsets: Any = None) -> None:
        assert offsets is not None, "a bare commit writes every assigned partition"
        if self.failing:
            raise CommitFailedError("the group rebalanced")
        self.commits.append(offsets)


def test_one_past_the_last_record_of_each_partition() -> None:
    records = [record("a", 0, 5), record("a", 0, 7), record("a", 2, 3), record("b", 0, 9)]
    assert next_offsets(records) == {A0: 8, A2: 4, TopicPartition("b", 0): 10}


async def test_only_the_partitions_of_the_batch_are_committed() -> None:
    consumer = HoldingConsumer(A0, A1, A2)
    await commit_batch(consumer, [record("a", 1, 4), record("a", 1, 5)])
    assert consumer.commits == [{A1: 6}]


async def test_a_partition_revoked_meanwhile_is_left_out() -> None:
    consumer = HoldingConsumer(A0, A1)
    await OffsetCommitter(consumer).commit([record("a", 0, 1), record("a", 2, 4)])
    assert consumer.commits == [{A0: 2}]


async def test_nothing_held_commits_nothing() -> None:
    consumer = HoldingConsumer()
    await OffsetCommitter(consumer).commit([record("a", 0, 1)])
    assert consumer.commits == []


async def test_offsets_of_a_failed_commit_go_with_the_next_one() -> None:
    consumer = HoldingConsumer(A0, A1)
    committer = OffsetCommitter(consumer)
    consumer.failing = True
    await committer.commit([record("a", 0, 9)])  # logged, not raised
    consumer.failing = False
    await committer.commit([record("a", 1, 3)])
    await committer.commit([record("a", 1, 4)])
    assert consumer.commits == [{A0: 10, A1: 4}, {A1: 5}]


async def test_a_revoked_partition_is_not_carried_forward() -> None:
    consumer = HoldingConsumer(A0, A1)
    committer = OffsetCommitter(consumer)
    consumer.failing = True
    await committer.commit([record("a", 0, 9)])
    consumer.failing = False
    consumer.held = {A1}
    await committer.commit([record("a", 1, 3)])
    assert consumer.commits == [{A1: 4}]

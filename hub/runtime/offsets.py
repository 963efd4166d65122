"""Offset commits of batch stages: only the partitions a batch came from.

A bare ``commit()`` writes an offset for every partition the member holds, so a stage
subscribed to three topics of six partitions wrote eighteen offsets per batch even when the
batch came from one partition; on an object-store-backed broker each of them is a storage
write. Committing only a batch's partitions loses one thing the bare commit gave for free:
an offset whose commit failed was covered again by the next batch's commit. The committer
keeps such offsets and sends them with the next commit.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

log = logging.getLogger(__name__)


def next_offsets(records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
    """The offset to commit for each partition ``records`` came from (one past its last)."""
    after: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        after[tp] = max(after.get(tp, 0), record.offset + 1)
    return after


class OffsetCommitter:
    """One consumer's commits, with the offsets of a failed commit carried forward.

    A partition revoked meanwhile is dropped, as a bare ``commit()`` would drop it: its new
    owner reads those records again and de-duplication absorbs them.
    """

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.pending: dict[TopicPartition, int] = {}

    async def commit(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Commit the partitions ``records`` came from, and any offsets still pending.

        A failure is logged, not raised: the batch's outputs are already acknowledged, and
        the offsets go with the next commit (or the records are read again after a restart).
        """
        for tp, offset in next_offsets(records).items():
            self.pending[tp] = max(self.pending.get(tp, 0), offset)
        held = self.consumer.assignment()
        self.pending = {tp: o for tp, o in self.pending.items() if tp in held}
        if not self.pending:
            return
        offsets = dict(self.pending)
        try:
            await self.consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - kept pending, sent with the next commit
            log.warning("committing offsets failed, retried with the next batch: %r", exc)
            return
        self.pending.clear()


_committers: weakref.WeakKeyDictionary[Any, OffsetCommitter] = weakref.WeakKeyDictionary()


def committer_for(consumer: Any) -> OffsetCommitter:
    """The committer of ``consumer`` (FastStream hands each batch its subscriber's consumer)."""
    committer = _committers.get(consumer)
    if committer is None:
        committer = _committers[consumer] = OffsetCommitter(consumer)
    return committer

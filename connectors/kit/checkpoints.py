"""Connector cursors on the compacted topic ``hub.checkpoints``, keyed ``<instance>:<stream>``.

On start the store reads the topic to its end (last value per key wins; the embedded broker
does not enforce compaction, so the full log is read) and keeps the cursors in memory;
:meth:`KafkaCheckpoints.save` publishes a new cursor and returns only once the broker has
acknowledged it (acks=all). The end is found from the high watermark *after* a fetch, never
from ``end_offsets`` (wrong on the embedded broker when the last batch held several records).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.envelope import KafkaRecord

log = logging.getLogger(__name__)

CHECKPOINTS_TOPIC = "hub.checkpoints"


@dataclass(frozen=True)
class Checkpoint:
    instance: str
    stream: str
    cursor: str | None
    saved_at: datetime

    @property
    def key(self) -> str:
        return checkpoint_key(self.instance, self.stream)

    def to_record(self) -> KafkaRecord:
        value = orjson.dumps(
            {
                "instance": self.instance,
                "stream": self.stream,
                "cursor": self.cursor,
                "saved_at": self.saved_at.isoformat(),
            }
        )
        return KafkaRecord(key=self.key.encode(), value=value, headers=[])

    @classmethod
    def from_value(cls, value: bytes) -> Checkpoint:
        data = orjson.loads(value)
        return cls(
            instance=str(data["instance"]),
            stream=str(data["stream"]),
            cursor=None if data.get("cursor") is None else str(data["cursor"]),
            saved_at=datetime.fromisoformat(data["saved_at"]),
        )


def checkpoint_key(instance: str, stream: str) -> str:
    return f"{instance}:{stream}"


class Publisher(Protocol):
    """What the kit publishes through: ``hub.runtime.producer.Producer`` fits."""

    async def send(self, topic: str, record: KafkaRecord) -> Awaitable[Any]: ...


class CheckpointStore(Protocol):
    def get(self, instance: str, stream: str) -> Checkpoint | None: ...

    async def save(self, instance: str, stream: str, cursor: str | None) -> Checkpoint: ...


class MemoryCheckpoints:
    """Cursors in a dict: for tests and the contract suite."""

    def __init__(self) -> None:
        self.cursors: dict[str, Checkpoint] = {}
        self.saves = 0

    def get(self, instance: str, stream: str) -> Checkpoint | None:
        return self.cursors.get(checkpoint_key(instance, stream))

    async def save(self, instance: str, stream: str, cursor: str | None) -> Checkpoint:
        checkpoint = Checkpoint(instance, stream, cursor, datetime.now(UTC))
        self.cursors[checkpoint.key] = checkpoint
        self.saves += 1
        return checkpoint


class KafkaCheckpoints:
    """Cursors on ``hub.checkpoints``; call :meth:`load` once before :meth:`get`."""

    def __init__(
        self,
        publisher: Publisher,
        client_options: dict[str, object],
        topic: str = CHECKPOINTS_TOPIC,
    ) -> None:
        self._publisher = publisher
        self._client_options = client_options
        self.topic = topic
        self.cursors: dict[str, Checkpoint] = {}

    async def load(self, timeout: float = 30.0) -> dict[str, Checkpoint]:
        """Read the topic from the beginning to its end; the last value per key wins."""
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, auto_offset_reset="earliest", **self._client_options
        )
        await consumer.start()
        try:
            if self.topic not in await consumer.topics():  # fetches the cluster's metadata
                raise RuntimeError(f"topic {self.topic} does not exist; run 'hub topics create'")
            partitions = consumer.partitions_for_topic(self.topic) or set()
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            if not tps:
                raise RuntimeError(f"topic {self.topic} has no partitions")
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                batches = await consumer.getmany(*tps, timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        self._apply(record.key, record.value)
                if await self._at_end(consumer, tps):
                    break
                if loop.time() > deadline:
                    raise TimeoutError(f"reading {self.topic} did not reach its end in {timeout}s")
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
        log.info("checkpoints loaded", extra={"topic": self.topic, "cursors": len(self.cursors)})
        return dict(self.cursors)

    @staticmethod
    async def _at_end(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
        for tp in tps:
            highwater = consumer.highwater(tp)  # known only after a fetch answered
            if highwater is None or await consumer.position(tp) < highwater:
                return False
        return True

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:  # a tombstone forgets the cursor
            self.cursors.pop(key.decode(), None)
            return
        try:
            checkpoint = Checkpoint.from_value(value)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable checkpoint %r: %s", key, exc)
            return
        self.cursors[checkpoint.key] = checkpoint

    def get(self, instance: str, stream: str) -> Checkpoint | None:
        return self.cursors.get(checkpoint_key(instance, stream))

    async def save(self, instance: str, stream: str, cursor: str | None) -> Checkpoint:
        checkpoint = Checkpoint(instance, stream, cursor, datetime.now(UTC))
        future = await self._publisher.send(self.topic, checkpoint.to_record())
        await future
        self.cursors[checkpoint.key] = checkpoint
        return checkpoint


__all__ = [
    "CHECKPOINTS_TOPIC",
    "Checkpoint",
    "CheckpointStore",
    "KafkaCheckpoints",
    "MemoryCheckpoints",
    "Publisher",
    "checkpoint_key",
]

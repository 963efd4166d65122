"""Reading ``hub.dlq`` with filters, and re-driving dead letters to the stage that failed.

A dead letter is the original record byte for byte plus ``dlq_`` headers (see
:mod:`hub.runtime.deadletter`). Replay publishes the original key, value and headers back to
the original topic, so the stage's consumer group reads it again; the ``dlq_`` headers are
removed except ``dlq_attempt``, which counts how often the record has failed. The CloudEvent
is untouched, so a replayed event keeps its ``ce_id`` and downstream de-duplication holds.
Of several dead letters of one record (it failed again after a replay) only the latest is
replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from hub.runtime.cluster import KafkaCluster
from hub.runtime.deadletter import DLQ_HEADER_PREFIX
from hub.topics import DLQ

ATTEMPT_HEADER = DLQ_HEADER_PREFIX + "attempt"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode(errors="replace")
        return None

    def reason(self, name: str) -> str:
        return self.header(DLQ_HEADER_PREFIX + name) or ""

    @property
    def ref(self) -> str:
        """``<partition>:<offset>`` in hub.dlq: how ``hub dlq show`` names one."""
        return f"{self.partition}:{self.offset}"

    @property
    def stage(self) -> str:
        return self.reason("stage")

    @property
    def error_class(self) -> str:
        return self.reason("error_class")

    @property
    def error_message(self) -> str:
        return self.reason("error_message")

    @property
    def original_topic(self) -> str:
        return self.reason("original_topic")

    @property
    def attempt(self) -> int:
        text = self.reason("attempt")
        return int(text) if text.isdigit() else 1

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id")

    @property
    def failed_at(self) -> datetime:
        text = self.reason("failed_at")
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text)
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    @property
    def identity(self) -> tuple[str, str]:
        """Which source record this is: the same one failing twice has the same identity."""
        if self.event_id:
            return self.original_topic, self.event_id
        digest = hashlib.sha256((self.key or b"") + b"\x00" + self.value).hexdigest()
        return self.original_topic, digest

    def replay_headers(self) -> list[tuple[str, bytes]]:
        kept = [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]
        return [*kept, (ATTEMPT_HEADER, str(self.attempt).encode())]


_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2h``, ``30m``, ``1d``, ``45s`` ago, or an ISO 8601 time (UTC if no offset)."""
    match = _RELATIVE.match(text.strip())
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
        return (now or datetime.now(UTC)) - timedelta(**{unit: int(match[1])})
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DlqFilter:
    stage: str | None = None
    #: substring of the error class or message, case-insensitive
    error: str | None = None
    since: datetime | None = None
    topic: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.stage and letter.stage != self.stage:
            return False
        if self.error:
            needle = self.error.lower()
            if needle not in letter.error_class.lower() and needle not in (
                letter.error_message.lower()
            ):
                return False
        if self.since and letter.failed_at < self.since:
            return False
        return not (self.topic and letter.original_topic != self.topic)


async def read_dead_letters(
    cluster: KafkaCluster,
    where: DlqFilter | None = None,
    *,
    topic: str = DLQ,
    timeout: float = 30.0,
) -> list[DeadLetter]:
    """Every dead letter on ``topic`` now (read to the high watermark) matching ``where``."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **cluster.client_options())
    out: list[DeadLetter] = []
    try:
        await consumer.start()  # inside: a consumer that failed to start is stopped too
        await consumer.topics()
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pending = set(tps)
        while pending and loop.time() < deadline:
            batches = await consumer.getmany(*tps, timeout_ms=300, max_records=5000)
            for records in batches.values():
                out.extend(
                    DeadLetter(
                        partition=r.partition,
                        offset=r.offset,
                        timestamp_ms=r.timestamp,
                        key=r.key,
                        value=r.value or b"",
                        headers=tuple(r.headers or ()),
                    )
                    for r in records
                )
            for tp in list(pending):
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    pending.discard(tp)
        if pending:
            raise TimeoutError(f"could not read {topic} to its end in {timeout}s")
    finally:
        await consumer.stop()
    where = where or DlqFilter()
    return sorted(
        (letter for letter in out if where.matches(letter)),
        key=lambda letter: (letter.failed_at, letter.partition, letter.offset),
    )


def latest_per_record(letters: list[DeadLetter]) -> list[DeadLetter]:
    """One dead letter per source record: its most recent failure."""
    latest: dict[tuple[str, str], DeadLetter] = {}
    for letter in letters:
        known = latest.get(letter.identity)
        if known is None or (letter.attempt, letter.failed_at) >= (known.attempt, known.failed_at):
            latest[letter.identity] = letter
    return sorted(latest.values(), key=lambda letter: (letter.failed_at, letter.ref))


async def replay(cluster: KafkaCluster, letters: list[DeadLetter]) -> list[DeadLetter]:
    """Re-publish each dead letter to its original topic; returns those sent."""
    chosen = [letter for letter in latest_per_record(letters) if letter.original_topic]
    if not chosen:
        return []
    producer = AIOKafkaProducer(**cluster.client_options(), **cluster.producer_options())
    try:
        await producer.start()
        futures = [
            await producer.send(
                letter.original_topic,
                letter.value,
                key=letter.key,
                headers=letter.replay_headers(),
            )
            for letter in chosen
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return chosen

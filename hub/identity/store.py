"""The identity map on ``hub.identity``: rebuilt on start, then kept in step with the topic.

A translator instance reads the whole topic from the beginning (the embedded broker does not
compact, so the full log is read and the last value per key wins; union-find makes the order
across partitions irrelevant). It is *ready* once its position reaches the high watermark
seen after a fetch on every partition (never ``end_offsets``, which the embedded broker
answers wrongly). It then keeps reading: records other instances write (and its own) are
applied, so every instance converges on the same answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.identity.resolver import IdentityRecord, IdentityResolver, Merge
from hub.runtime.cluster import KafkaCluster
from hub.topics import IDENTITY

log = logging.getLogger(__name__)

MergeCallback = Callable[[list[Merge]], None]


class IdentityStore:
    def __init__(
        self,
        cluster: KafkaCluster,
        resolver: IdentityResolver,
        *,
        topic: str = IDENTITY,
        on_merges: MergeCallback | None = None,
    ) -> None:
        self.cluster = cluster
        self.resolver = resolver
        self.topic = topic
        self.on_merges = on_merges
        self.ready = asyncio.Event()
        #: set when :meth:`run` ends (shutdown): nobody should wait for ``ready`` any more
        self.stopped = asyncio.Event()
        self.applied = 0

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        for _ in range(50):
            await consumer.topics()
            found = consumer.partitions_for_topic(self.topic)
            if found:
                return [TopicPartition(self.topic, p) for p in sorted(found)]
            await asyncio.sleep(0.2)
        raise RuntimeError(f"topic {self.topic} has no partitions; run 'hub topics create'")

    async def _caught_up(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> bool:
        for tp in tps:
            highwater = consumer.highwater(tp)
            if highwater is None or await consumer.position(tp) < highwater:
                return False
        return True

    def _apply(self, key: bytes | None, value: bytes | None) -> list[Merge]:
        if key is None or value is None:
            return []
        try:
            record = IdentityRecord.decode(key, value)
        except (TypeError, ValueError) as exc:
            log.warning("skipping unreadable identity record %r: %s", key, exc)
            return []
        self.applied += 1
        return self.resolver.apply(record)

    async def run(self) -> None:
        """Rebuild, signal :attr:`ready`, then follow the topic until cancelled.

        A failure (the cluster went away) is logged and the topic read again from the
        start after a pause: applying a record twice changes nothing."""
        self.stopped.clear()
        delay = 1.0
        try:
            while True:
                try:
                    await self._follow()
                except Exception:
                    log.exception("reading %s failed; retrying in %.0fs", self.topic, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        finally:
            self.stopped.set()

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False, auto_offset_reset="earliest", **self.cluster.client_options()
        )
        try:
            await consumer.start()
            tps = await self._partitions(consumer)
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batches = await consumer.getmany(*tps, timeout_ms=200, max_records=10_000)
                merges: list[Merge] = []
                for records in batches.values():
                    for record in records:
                        merges += self._apply(record.key, record.value)
                if self.ready.is_set():
                    if merges and self.on_merges is not None:
                        self.on_merges(merges)
                elif await self._caught_up(consumer, tps):
                    log.info(
                        "identity map rebuilt from %s",
                        self.topic,
                        extra={"records": self.applied, "identities": len(self.resolver)},
                    )
                    self.ready.set()
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def wait_ready(self) -> bool:
        """Wait until the map is rebuilt; ``False`` if the store stopped first."""
        if self.ready.is_set():
            return True
        waiters = [asyncio.ensure_future(e.wait()) for e in (self.ready, self.stopped)]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return self.ready.is_set()

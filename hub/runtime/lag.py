"""Consumer lag per group and partition, measured by the consumers of this process.

Lag is ``highwater - position`` for every assigned partition: the high watermark the broker
returned with the last fetch response, minus the next offset this consumer will read. It is
the client-side view Kafka's own ``records-lag`` metric gives, and it needs no extra request
to the cluster at scrape time. ``end_offsets()`` is deliberately not used: on the embedded
broker it is wrong whenever the last batch held more than one record.

A partition whose high watermark is not known yet (no fetch since the assignment) reports
no lag instead of a guess; a partition that is no longer assigned has its series removed,
so a rebalance does not leave stale lag behind in another pod's series.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import Gauge

log = logging.getLogger(__name__)

#: Longest a scrape waits for one partition's position (it is known at once after a fetch).
POSITION_TIMEOUT = 0.5


class LagConsumer(Protocol):
    """What the collector needs of an aiokafka consumer."""

    def assignment(self) -> set[TopicPartition]: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...

    async def position(self, partition: TopicPartition) -> int: ...


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    lag: int


def broker_consumers(broker: KafkaBroker) -> list[tuple[str, LagConsumer]]:
    """``(group, consumer)`` for every started consumer of the broker's subscribers."""
    out: list[tuple[str, LagConsumer]] = []
    for subscriber in broker.subscribers:
        group = getattr(subscriber, "group_id", None)
        if not group:
            continue  # without a group there is no committed progress to lag behind
        consumers: Iterable[Any] = getattr(subscriber, "consumer_subgroup", None) or [
            getattr(subscriber, "consumer", None)
        ]
        out.extend((str(group), c) for c in consumers if c is not None)
    return out


async def consumer_lag(group: str, consumer: LagConsumer) -> list[PartitionLag]:
    """Lag of each assigned partition whose high watermark is known."""
    out: list[PartitionLag] = []
    for tp in sorted(consumer.assignment()):
        try:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await asyncio.wait_for(consumer.position(tp), POSITION_TIMEOUT)
        except (AssertionError, TimeoutError, KeyError):
            continue  # revoked between assignment() and now, or no position yet
        except Exception:  # a scrape never fails because one consumer does
            log.debug("no lag for %s %s", group, tp, exc_info=True)
            continue
        out.append(PartitionLag(group, tp.topic, tp.partition, max(highwater - position, 0)))
    return out


@dataclass
class LagCollector:
    """Keeps ``hub_consumer_lag`` current for a broker's consumers; call :meth:`update`
    before each scrape."""

    gauge: Gauge
    _series: set[tuple[str, str, str]] = field(default_factory=set)

    async def update_from(self, consumers: Iterable[tuple[str, LagConsumer]]) -> list[PartitionLag]:
        lags: list[PartitionLag] = []
        for group, consumer in consumers:
            lags.extend(await consumer_lag(group, consumer))
        current = {(x.group, x.topic, str(x.partition)) for x in lags}
        for labels in self._series - current:
            with contextlib.suppress(KeyError):
                self.gauge.remove(*labels)
        for x in lags:
            self.gauge.labels(group=x.group, topic=x.topic, partition=str(x.partition)).set(x.lag)
        self._series = current
        return lags

    async def update(self, broker: KafkaBroker) -> list[PartitionLag]:
        return await self.update_from(broker_consumers(broker))

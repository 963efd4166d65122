"""Liveness and readiness, as Kubernetes probes read them.

Alive means the process and its event loop answer. Ready means the Kafka cluster answers and
every consumer of this process has its partition assignment: before that, a pod would take
traffic (webhooks) it cannot yet hand to Kafka. The broker is watched by a small monitor
that logs each change of state once, clearly, instead of aiokafka's stream of retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics

log = logging.getLogger(__name__)


@dataclass
class BrokerMonitor:
    """Pings the cluster every ``interval`` seconds and remembers the last answer."""

    cluster: KafkaCluster
    metrics: HubMetrics
    interval: float = 2.0
    timeout: float = 3.0
    up: bool = False
    last_error: str | None = "not checked yet"
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def check(self) -> bool:
        admin = AIOKafkaAdminClient(
            request_timeout_ms=int(self.timeout * 1000), **self.cluster.client_options()
        )
        try:
            await asyncio.wait_for(admin.start(), self.timeout)
            await asyncio.wait_for(admin.describe_cluster(), self.timeout)
        except Exception as exc:  # noqa: BLE001 - every failure means "unreachable"
            self._record(up=False, error=f"{type(exc).__name__}: {exc}".rstrip(": "))
        else:
            self._record(up=True, error=None)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        return self.up

    def _record(self, *, up: bool, error: str | None) -> None:
        if up and not self.up:
            log.info("kafka cluster reachable", extra={"bootstrap": self.cluster.bootstrap_servers})
        elif not up and (self.up or self.last_error == "not checked yet"):
            log.error(
                "kafka cluster unreachable at %s: %s; not ready until it answers",
                self.cluster.bootstrap_servers,
                error,
                extra={"bootstrap": self.cluster.bootstrap_servers},
            )
        if up != self.up:
            self._changed.set()
        self.up, self.last_error = up, error
        self.metrics.broker_up.set(1 if up else 0)

    async def wait_until_up(self) -> None:
        while not self.up:
            self._changed.clear()
            await self._changed.wait()

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broker-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def consumer_assignments(broker: KafkaBroker) -> dict[str, int | None]:
    """Assigned partition count per consumer group; ``None`` while not started."""
    out: dict[str, int | None] = {}
    for subscriber in broker.subscribers:
        name = str(getattr(subscriber, "group_id", None) or getattr(subscriber, "topics", "?"))
        consumer = getattr(subscriber, "consumer", None)
        out[name] = None if consumer is None else len(consumer.assignment())
    return out


def readiness(
    monitor: BrokerMonitor, broker: KafkaBroker, started: bool
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Whether the process is ready, with the reasons a human needs when it is not."""
    assignments = consumer_assignments(broker)
    waiting = sorted(group for group, count in assignments.items() if not count)
    checks: dict[str, dict[str, Any]] = {
        "broker": {"ok": monitor.up, "bootstrap": monitor.cluster.bootstrap_servers}
        | ({"error": monitor.last_error} if monitor.last_error else {}),
        "services": {"ok": started},
        "consumers": {"ok": not waiting, "assigned_partitions": assignments}
        | ({"waiting_for_assignment": waiting} if waiting else {}),
    }
    ok = monitor.up and started and not waiting
    return ok, checks

"""Run translator and router services in this process against a real broker (for the
integration tests of translation, routing and dead letters)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.config import HubConfig
from hub.runtime.app import ServiceHost, make_runtime
from hub.runtime.cluster import KafkaCluster
from hub.runtime.producer import Producer
from hub.runtime.service import ServiceFactory
from hub.runtime.settings import HubSettings


@contextlib.asynccontextmanager
async def running(
    cluster: KafkaCluster,
    config: HubConfig,
    factories: Sequence[ServiceFactory],
    *,
    producer: Producer | None = None,
    settings: HubSettings | None = None,
    timeout: float = 30.0,
) -> AsyncIterator[ServiceHost]:
    runtime = make_runtime(settings or HubSettings(), config, cluster)
    if producer is not None:
        runtime = dataclasses.replace(runtime, producer=producer)
    host = ServiceHost(runtime, factories)
    await host.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not host.started:
            if loop.time() > deadline:
                raise AssertionError(f"services did not start: {host.startup_problem}")
            await asyncio.sleep(0.05)
        yield host
    finally:
        await host.stop()


async def committed(cluster: KafkaCluster, group: str, topic: str, partition: int = 0) -> int:
    consumer = AIOKafkaConsumer(group_id=group, **cluster.client_options())
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, partition)) or 0
    finally:
        await consumer.stop()


async def eventually(check, timeout: float = 30.0, interval: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    """Await ``check()`` (an async callable returning bool) until true or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s: {check}")

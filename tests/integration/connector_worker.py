"""A polling connector in its own process, for crash tests (``python -m`` this module).

The source yields records 1..COUNT slowly (``--delay`` seconds each) after the stored cursor;
the worker publishes through the real producer (acks=all) and stores cursors on a
checkpoints topic, then exits after one full pass.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from connectors.kit import ConnectorSettings, ConnectorType, PollingSource, Record
from connectors.kit.checkpoints import KafkaCheckpoints
from connectors.kit.runner import InstanceRunner
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Producer

T0 = datetime(2026, 11, 20, tzinfo=UTC)


class SlowSettings(ConnectorSettings):
    count: int = 100
    delay: float = 0.02


class SlowSource(PollingSource[SlowSettings]):
    entities = ("item",)

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record]:
        for n in range(int(cursor or 0) + 1, self.settings.count + 1):
            await asyncio.sleep(self.settings.delay)
            yield Record(
                id=f"R{n:05d}",
                revision="1",
                time=T0 + timedelta(seconds=n),
                data={"n": n},
                cursor=str(n),
            )


SLOW = ConnectorType(
    name="slow", settings_model=SlowSettings, source=SlowSource, translate=lambda raw: []
)


async def main(args: argparse.Namespace) -> None:
    cluster = KafkaCluster(args.bootstrap, "embedded", EMBEDDED_CAPABILITIES)
    producer = Producer(cluster, HubMetrics.create())
    await producer.start()
    try:
        checkpoints = KafkaCheckpoints(producer, cluster.client_options(), args.checkpoints)
        await checkpoints.load()
        settings = SlowSettings(count=args.count, delay=args.delay, page_size=args.page_size)
        runner = InstanceRunner(
            args.instance, SLOW, settings, publisher=producer, checkpoints=checkpoints
        )
        resumed = checkpoints.get(args.instance, "item")
        print(f"resuming from {resumed.cursor if resumed else None}", flush=True)  # noqa: T201
        await runner.poll_stream("item")
        print("done", flush=True)  # noqa: T201
    finally:
        await producer.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--checkpoints", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.02)
    asyncio.run(main(parser.parse_args()))

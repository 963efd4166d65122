"""A polling connector in its own process, for crash tests (``python -m`` this module).

The source yields records 1..COUNT slowly (``--delay`` seconds each) after the stored cursor;
the worker publishes through the real producer (acks=all) and stores cursors on a
checkpoints topic, then exits after one full pass.

``--pause-after=N`` makes the source stop before record N+1, with records 1..N sent and the
cursor of the last full page stored but not that of the page in progress: the worker prints
``paused after record N (page P in progress, cursor C stored)`` and blocks until a line (or
end of file) arrives on stdin, so a test can kill it provably mid-page.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
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
    pause_after: int = 0


#: the runner of this process (for the pause message: the cursor it has stored)
RUNNER: InstanceRunner | None = None


class SlowSource(PollingSource[SlowSettings]):
    entities = ("item",)

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record]:
        for n in range(int(cursor or 0) + 1, self.settings.count + 1):
            if n == self.settings.pause_after + 1:
                await self._pause(n - 1)
            await asyncio.sleep(self.settings.delay)
            yield Record(
                id=f"R{n:05d}",
                revision="1",
                time=T0 + timedelta(seconds=n),
                data={"n": n},
                cursor=str(n),
            )

    async def _pause(self, last: int) -> None:
        stored = RUNNER.status.cursors.get("item") if RUNNER is not None else None
        page = last // self.settings.page_size + 1
        print(  # noqa: T201
            f"paused after record {last} (page {page} in progress, cursor {stored} stored)",
            flush=True,
        )
        await asyncio.to_thread(sys.stdin.readline)


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
        settings = SlowSettings(
            count=args.count,
            delay=args.delay,
            page_size=args.page_size,
            pause_after=args.pause_after,
        )
        runner = InstanceRunner(
            args.instance, SLOW, settings, publisher=producer, checkpoints=checkpoints
        )
        global RUNNER  # noqa: PLW0603 - one runner per process
        RUNNER = runner
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
    parser.add_argument("--pause-after", type=int, default=0)
    asyncio.run(main(parser.parse_args()))

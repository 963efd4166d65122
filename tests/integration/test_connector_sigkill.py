"""A polling source killed with SIGKILL mid-page and restarted skips nothing (real broker).

The worker pauses (blocked on stdin) with a page half sent and its cursor not yet stored, so
the kill lands mid-page however fast or slow the machine is."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from hub.runtime.cluster import KafkaCluster
from tests.integration.kafka_helpers import make_topics

REPO = Path(__file__).resolve().parents[2]
COUNT = 120
PAGE = 10
PAUSE_AFTER = 35  # records 31..35 of page 4 sent, cursor 30 stored
STORED = PAUSE_AFTER // PAGE * PAGE


def worker(
    cluster: KafkaCluster, instance: str, checkpoints: str, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.connector_worker",
            f"--bootstrap={cluster.bootstrap_servers}",
            f"--instance={instance}",
            f"--checkpoints={checkpoints}",
            f"--count={COUNT}",
            f"--page-size={PAGE}",
            "--delay=0",
            *extra,
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """The first line of ``process``'s stdout starting with ``prefix``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(
            asyncio.to_thread(process.stdout.readline), deadline - time.monotonic()
        )
        if not line:
            break
        if line.startswith(prefix):
            return line.strip()
    process.kill()
    _, err = process.communicate()
    raise AssertionError(f"the worker never printed {prefix!r}: {err[-3000:]}")


async def read_all(cluster: KafkaCluster, topic: str, want: set[str], timeout: float) -> list[str]:
    """Every key on ``topic`` from the beginning, until ``want`` are all seen or time is up."""
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False, **cluster.client_options()
    )
    await consumer.start()
    keys: list[str] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not want <= set(keys):
            for records in (await consumer.getmany(timeout_ms=300)).values():
                keys.extend(r.key.decode() for r in records if r.key is not None)
    finally:
        await consumer.stop()
    return keys


@pytest.mark.slow
async def test_sigkill_mid_page_then_restart_delivers_every_record_at_least_once(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    instance = f"crash{unique}"
    raw, checkpoints = f"raw.{instance}.item", f"checkpoints.{unique}"
    await make_topics(kafka_cluster, raw, partitions=3)
    await make_topics(kafka_cluster, checkpoints, partitions=1)
    want = {f"R{n:05d}" for n in range(1, COUNT + 1)}

    first = worker(kafka_cluster, instance, checkpoints, f"--pause-after={PAUSE_AFTER}")
    # the worker blocks (on stdin) with page 4 half sent and its cursor not yet stored
    paused = await wait_for_line(first, "paused after", timeout=60)
    page = STORED // PAGE + 1
    assert paused == (
        f"paused after record {PAUSE_AFTER} (page {page} in progress, cursor {STORED} stored)"
    )
    sent = {f"R{n:05d}" for n in range(1, PAUSE_AFTER + 1)}
    before = await read_all(kafka_cluster, raw, sent, timeout=20)
    assert sorted(before) == sorted(sent), "the records sent are on the topic, nothing after"
    assert first.poll() is None, "still paused mid-page"
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    first.communicate()

    second = worker(kafka_cluster, instance, checkpoints)
    out, err = second.communicate(input="", timeout=60)
    assert second.returncode == 0, err[-3000:]
    assert f"resuming from {STORED}\n" in out, f"restarted from the last stored page: {out!r}"

    keys = await read_all(kafka_cluster, raw, want, timeout=20)
    missing = sorted(want - set(keys))
    assert not missing, f"{len(missing)} records skipped, e.g. {missing[:5]}"
    twice = sorted(key for key in set(keys) if keys.count(key) > 1)
    assert twice == [f"R{n:05d}" for n in range(STORED + 1, PAUSE_AFTER + 1)], (
        "exactly the records of the page in progress were delivered twice"
    )
    assert len(keys) == COUNT + PAUSE_AFTER - STORED

"""A polling source killed with SIGKILL mid-page and restarted skips nothing (real broker)."""

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


def worker(cluster: KafkaCluster, instance: str, checkpoints: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.connector_worker",
            f"--bootstrap={cluster.bootstrap_servers}",
            f"--instance={instance}",
            f"--checkpoints={checkpoints}",
            f"--count={COUNT}",
            "--page-size=10",
            "--delay=0.02",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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

    first = worker(kafka_cluster, instance, checkpoints)
    # let it publish a few pages, then kill it in the middle of one (10 records x 20 ms)
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while len(set(seen)) < 35 and time.monotonic() < deadline:
        seen = await read_all(kafka_cluster, raw, want, timeout=0.5)
    assert first.poll() is None, f"the worker ended before the kill: {first.communicate()}"
    await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    before = set(await read_all(kafka_cluster, raw, want, timeout=2.0))
    assert 30 <= len(before) < COUNT, f"killed mid-run: {len(before)} of {COUNT} delivered"

    second = worker(kafka_cluster, instance, checkpoints)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err[-3000:]
    resumed_from = int(out.split("resuming from ", 1)[1].split()[0])
    assert 0 < resumed_from <= len(before), "restarted from the last acknowledged page"
    assert resumed_from % 10 == 0, "cursors are stored at page boundaries only"

    keys = await read_all(kafka_cluster, raw, want, timeout=20)
    missing = sorted(want - set(keys))
    assert not missing, f"{len(missing)} records skipped, e.g. {missing[:5]}"
    duplicates = len(keys) - len(set(keys))
    redelivered = {key for key in before if int(key[1:]) > resumed_from}
    assert duplicates == len(redelivered), (
        "exactly the records after the last stored cursor were delivered twice"
    )

"""hub dlq: list with filters, show, replay to the original topic keeping ce_id and attempt."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka.structs import ConsumerRecord

from hub.config import HubConfig
from hub.dlq.store import DlqFilter, latest_per_record, parse_since, read_dead_letters, replay
from hub.runtime.cluster import KafkaCluster
from hub.runtime.deadletter import dead_letter
from hub.topics import DLQ, catalog, create_topics
from schemas import Envelope, KafkaRecord
from tests.integration.kafka_helpers import consume_all, make_topics, produce

REPO = Path(__file__).resolve().parents[2]


def _consumed(topic: str, offset: int, record: KafkaRecord) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic,
        0,
        offset,
        0,
        0,
        record.key,
        record.value,
        None,
        len(record.value),
        0,
        record.headers,
    )


def test_parse_since() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("2026-11-23T10:00:00", now) == datetime(2026, 11, 23, 10, tzinfo=UTC)


async def test_list_filter_show_and_replay(kafka_cluster: KafkaCluster, unique: str) -> None:
    source = f"raw.dlq{unique}.order"
    await create_topics(kafka_cluster, catalog(HubConfig()))
    await make_topics(kafka_cluster, source, partitions=1)
    events = [
        Envelope(id=f"{unique}-{i}", source="/t", type="raw.erp.order", data={"i": i})
        for i in range(3)
    ]
    letters = [
        dead_letter(
            _consumed(source, 0, events[0].to_kafka()), "translator", ValueError("bad total")
        ),
        dead_letter(_consumed(source, 1, events[1].to_kafka()), "translator", KeyError("no type")),
        dead_letter(_consumed(source, 2, events[2].to_kafka()), "router", ValueError("x")),
    ]
    # the first record failed again after a replay: only the latest failure is replayed
    again = _consumed(
        source,
        3,
        KafkaRecord(
            letters[0][1].key,
            letters[0][1].value,
            [
                *[(k, v) for k, v in letters[0][1].headers if not k.startswith("dlq_")],
                ("dlq_attempt", b"1"),
            ],
        ),
    )
    letters.append(dead_letter(again, "translator", ValueError("bad total again")))
    await produce(kafka_cluster, DLQ, [record for _, record in letters])

    ours = DlqFilter(topic=source)
    found = await read_dead_letters(kafka_cluster, ours)
    assert [letter.event_id for letter in found] == [e.id for e in events] + [events[0].id]
    assert [x.attempt for x in found] == [1, 1, 1, 2]
    translator = await read_dead_letters(kafka_cluster, DlqFilter(stage="translator", topic=source))
    assert len(translator) == 3
    by_error = await read_dead_letters(kafka_cluster, DlqFilter(error="keyerror", topic=source))
    assert [x.event_id for x in by_error] == [events[1].id]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert await read_dead_letters(kafka_cluster, DlqFilter(since=future, topic=source)) == []
    assert [x.attempt for x in latest_per_record(found)] == [1, 1, 2]

    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap_servers}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "dlq",
        "show",
        events[1].id,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    shown = out.decode()
    assert "dlq_error_class: KeyError" in shown
    assert f"dlq_original_topic: {source}" in shown
    assert '"i": 1' in shown

    sent = await replay(kafka_cluster, translator)
    assert sorted(x.event_id or "" for x in sent) == sorted([events[0].id, events[1].id])
    replayed = await consume_all(kafka_cluster, source, expected=2, timeout=10)
    assert len(replayed) == 2
    for record in replayed:
        headers = dict(record.headers)
        assert headers["ce_id"].decode() in {events[0].id, events[1].id}, "ce_id kept"
        assert not {k for k in headers if k.startswith("dlq_")} - {"dlq_attempt"}
    attempts = {dict(r.headers)["ce_id"].decode(): dict(r.headers)["dlq_attempt"] for r in replayed}
    assert attempts == {events[0].id: b"2", events[1].id: b"1"}
    # failing again counts on from the kept attempt
    first = replayed[0]
    kept = int(dict(first.headers)["dlq_attempt"])
    failed_again = dead_letter(first, "translator", ValueError("still bad"))[1]
    assert dict(failed_again.headers)["dlq_attempt"] == str(kept + 1).encode()


def test_commands_need_a_cluster() -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    result = subprocess.run(
        [sys.executable, "-m", "hub", "dlq", "list"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.stderr

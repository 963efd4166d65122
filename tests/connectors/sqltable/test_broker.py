"""sqltable on a real broker: raw topics, hub.checkpoints and hub.dlq, across a restart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.kit.checkpoints import KafkaCheckpoints
from connectors.kit.runner import InstanceRunner
from connectors.sqltable import CONNECTOR
from connectors.sqltable.settings import SqlTableSettings
from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Producer
from schemas.envelope import Envelope
from tests.connectors.sqltable.conftest import BASE, Erp
from tests.integration.kafka_helpers import consume_all, make_topics

pytestmark = pytest.mark.integration


async def _poll(
    cluster: KafkaCluster,
    instance: str,
    settings: SqlTableSettings,
    checkpoints_topic: str,
    max_pages: int | None,
) -> InstanceRunner:
    """One process lifetime: load the cursors, poll, stop."""
    producer = Producer(cluster, HubMetrics.create())
    await producer.start()
    try:
        checkpoints = KafkaCheckpoints(producer, cluster.client_options(), checkpoints_topic)
        await checkpoints.load(timeout=15)
        runner = InstanceRunner(
            instance, CONNECTOR, settings, publisher=producer, checkpoints=checkpoints
        )
        await runner.source.open()
        try:
            await runner.poll_stream("payments", max_pages=max_pages)
        finally:
            await runner.source.close()
    finally:
        await producer.stop()
    return runner


async def test_restart_resumes_from_hub_checkpoints_and_bad_rows_reach_hub_dlq(
    kafka_cluster: KafkaCluster, unique: str, maria_erp: Erp
) -> None:
    erp = maria_erp
    instance = f"erp_{unique}"
    raw_topic = f"raw.{instance}.payments"
    checkpoints_topic = f"checkpoints.{unique}"
    await make_topics(kafka_cluster, raw_topic, partitions=3)
    await make_topics(kafka_cluster, checkpoints_topic, partitions=1)
    amounts = ["10.00", "11.00", "n/a", "13.00", "14.00", "15.00", "16.00"]
    erp.insert(
        erp.payments,
        [
            {
                "order_no": f"SO{n}",
                "invoice_no": None,
                "amount": amount,
                "currency": "EUR",
                "method": "SEPA",
                "received_at": BASE,
                "updated_at": BASE + timedelta(seconds=n // 3),  # ties across pages
            }
            for n, amount in enumerate(amounts)
        ],
    )
    settings = SqlTableSettings.model_validate(
        erp.settings(tables={"payments": erp.payment_table()}, page_size=2)
    )
    first = await _poll(kafka_cluster, instance, settings, checkpoints_topic, max_pages=2)
    assert first.status.cursors["payments"] is not None
    second = await _poll(kafka_cluster, instance, settings, checkpoints_topic, max_pages=None)
    assert first.status.published + second.status.published == 6
    records = await consume_all(kafka_cluster, raw_topic, expected=6)
    subjects = sorted(
        int(Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers).subject or 0)
        for r in records
    )
    assert subjects == [1, 2, 4, 5, 6, 7]  # each good row once; row 3 is the bad one
    letters = [
        r
        for r in await consume_all(kafka_cluster, "hub.dlq", expected=10_000, timeout=3)
        if dict(r.headers).get("dlq_stage") == f"connector:{instance}".encode()
    ]
    assert len(letters) == 1
    assert letters[0].key == b"3"
    assert b"'amount' = 'n/a' is not a number" in dict(letters[0].headers)["dlq_error_message"]

"""The translator service on a real broker: commit discipline, dead letters, identity, lookup."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI

from hub.config import parse_config
from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.service import Runtime, Service
from hub.services.translator import translator_service
from hub.topics import DLQ, ORDERS, catalog, create_topics
from schemas import Envelope
from tests.integration.kafka_helpers import FlakyProducer, consume_all, make_topics, produce
from tests.unit.translate.harness import committed, eventually, running
from tests.unit.translate.table import TestTranslators, raw_event

CONFIG = parse_config(
    """
identity:
  rules:
    - {kind: cross_reference, field: erp_customer_number, system: erp}
    - {kind: email}
""",
    env={},
)


def _orders(instance: str, count: int, poison_at: int) -> list[Envelope]:
    out = []
    for i in range(count):
        data: dict[str, Any] = {
            "order": f"{instance}-{i}",
            "state": "placed",
            "amount": "10",
            "customer": "C1",
        }
        if i == poison_at:
            data["poison"] = "unreadable total"
        out.append(raw_event(instance, "order", f"{instance}-{i}", 1, data, "erp"))
    return out


def _factory(group: str, topic: str):  # type: ignore[no-untyped-def]
    def factory(runtime: Runtime) -> Service:
        return translator_service(runtime, TestTranslators(), group_id=group, raw_topics=[topic])

    return factory


async def _dead_for(cluster: KafkaCluster, topic: str) -> list[Any]:
    return [
        r
        for r in await consume_all(cluster, DLQ, expected=10**9, timeout=2)
        if dict(r.headers).get("dlq_original_topic") == topic.encode()
    ]


async def test_poison_mid_batch_is_committed_only_once_it_is_in_the_dlq(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    instance = f"erp{unique}"
    topic, group = f"raw.{instance}.order", f"translator-{unique}"
    await create_topics(kafka_cluster, catalog(CONFIG))
    await make_topics(kafka_cluster, topic, partitions=1)
    raws = _orders(instance, 20, poison_at=10)
    await produce(kafka_cluster, topic, [r.to_kafka() for r in raws])

    # the dead-letter topic refuses writes at first: nothing may be committed
    producer = FlakyProducer(kafka_cluster, HubMetrics.create(), failing_topic=DLQ)
    async with running(kafka_cluster, CONFIG, [_factory(group, topic)], producer=producer):
        await eventually(lambda: _true(producer.failures >= 2))
        assert await committed(kafka_cluster, group, topic) == 0, "nothing past the poison"
        producer.healed.set()
        await eventually(lambda: _is(committed(kafka_cluster, group, topic), 20))

    dead = await _dead_for(kafka_cluster, topic)
    assert len(dead) == 1, "the poison is in the DLQ (once per acknowledged batch)"
    headers = dict(dead[0].headers)
    assert dead[0].value == raws[10].to_kafka().value, "original bytes"
    assert headers["ce_id"] == raws[10].id.encode(), "original headers"
    assert headers["dlq_stage"] == b"translator"
    assert headers["dlq_error_class"] == b"UntranslatableRecord"
    assert b"poisoned" in headers["dlq_error_message"]
    assert headers["dlq_original_offset"] == b"10"
    assert headers["dlq_original_partition"] == b"0"
    assert headers["dlq_attempt"] == b"1"
    # hub.orders is shared with the other tests on this broker (some write non-events to it
    # on purpose): only the records caused by this test's raw events count
    raw_ids = {r.id.encode() for r in raws}
    out = [
        Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers)
        for r in await consume_all(kafka_cluster, ORDERS, expected=10**9, timeout=3)
        if dict(r.headers or ()).get("ce_causationid") in raw_ids
    ]
    ours = {e.causationid for e in out} & {r.id for r in raws}
    assert ours == {r.id for i, r in enumerate(raws) if i != 10}


async def _true(value: bool) -> bool:
    return value


async def _is(awaitable: Any, expected: int) -> bool:
    return bool(await awaitable == expected)


async def test_identity_survives_a_restart_and_answers_lookups(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    erp, crm = f"erp{unique}", f"crm{unique}"
    erp_topic, crm_topic = f"raw.{erp}.customer", f"raw.{crm}.company"
    await create_topics(kafka_cluster, catalog(CONFIG))
    await make_topics(kafka_cluster, erp_topic, crm_topic, partitions=1)
    config = parse_config(
        f"""
identity:
  rules:
    - {{kind: cross_reference, field: erp_customer_number, system: {erp}}}
""",
        env={},
    )
    await produce(
        kafka_cluster,
        erp_topic,
        [raw_event(erp, "customer", "C5", 1, {"n": 5, "customer": "C5"}, "erp").to_kafka()],
    )
    await produce(
        kafka_cluster,
        crm_topic,
        [raw_event(crm, "company", "co/5", 1, {"n": 5, "customer": "co/5"}, "crm").to_kafka()],
    )

    def factory(group: str):  # type: ignore[no-untyped-def]
        def build(runtime: Runtime) -> Service:
            return translator_service(
                runtime, TestTranslators(), group_id=group, raw_topics=[erp_topic, crm_topic]
            )

        return build

    async def lookup(host: Any, system: str, source_id: str | None) -> httpx.Response:
        app = FastAPI()
        app.include_router(host.services[0].http)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            params = {"system": system} | ({"id": source_id} if source_id else {})
            return await client.get("/v1/customers/lookup", params=params)

    async with running(kafka_cluster, config, [factory(f"a-{unique}")]) as host:
        for topic in (erp_topic, crm_topic):
            await eventually(
                lambda t=topic: _is(committed(kafka_cluster, f"a-{unique}", t), 1), timeout=30
            )
        first = (await lookup(host, crm, "co/5")).json()
        assert (await lookup(host, erp, "C5")).json()["customer_id"] == first["customer_id"]
        assert first == {"customer_id": first["customer_id"], "system": crm, "id": "co/5"}
        missing = await lookup(host, erp, "nobody")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        assert "unknown identity" in missing.json()["detail"]
        bad = await lookup(host, erp, None)
        assert bad.status_code == 400
        assert bad.json()["error"] == "bad_request"
        assert "id" in bad.json()["detail"]

    # a new instance (nothing left to consume) rebuilds the map from hub.identity
    async with running(kafka_cluster, config, [factory(f"a-{unique}")]) as host:
        store_ready = host.services[0]
        response = None
        for _ in range(100):
            response = await lookup(host, erp, "C5")
            if response.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert response is not None
        assert response.json()["customer_id"] == first["customer_id"], store_ready.name

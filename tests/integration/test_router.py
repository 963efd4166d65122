"""The router service on a real broker: envelope intact, policies applied, bad records parked."""

from __future__ import annotations

from hub.config import HubConfig
from hub.runtime.cluster import KafkaCluster
from hub.runtime.service import Runtime, Service
from hub.services.router import router_service
from hub.topics import DLQ, catalog, create_topics, department_topic
from schemas import Envelope, KafkaRecord, dataschema_uri, model_for
from tests.integration.kafka_helpers import consume_all, make_topics, produce
from tests.unit.translate.harness import committed, eventually, running

CONFIG = HubConfig()


def _event(n: int, event_type: str, **changes: object) -> Envelope:
    model = model_for(event_type)
    data = model.example().model_dump(mode="json") | {"customer_id": "cust-1"} | changes
    return Envelope(
        id=f"evt-{n}",
        source="/test",
        type=event_type,
        dataschema=dataschema_uri(event_type, model.version),
        partitionkey=str(data.get("order_id") or data.get("customer_id")),
        data=data,
        causationid=f"raw-{n}" if n % 2 else None,
    )


async def test_events_reach_their_departments_as_each_may_see_them(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    source, group = f"t.orders.{unique}", f"router-{unique}"
    await create_topics(kafka_cluster, catalog(CONFIG))
    await make_topics(kafka_cluster, source, partitions=1)
    big = _event(
        1, "order.placed", order_id=f"o-{unique}", total={"amount": "25000.00", "currency": "EUR"}
    )
    complaint = _event(2, "complaint.opened", priority="urgent")
    bad = KafkaRecord(b"k", b"{}", [("ce_specversion", b"1.0")])
    await produce(kafka_cluster, source, [big.to_kafka(), complaint.to_kafka(), bad])

    def factory(runtime: Runtime) -> Service:
        return router_service(runtime, group_id=group, topics=[source])

    async with running(kafka_cluster, CONFIG, [factory]):
        await eventually(lambda: _at(committed(kafka_cluster, group, source), 3))

    def ours(topic: str) -> list[Envelope]:
        return [
            Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers)
            for r in records[topic]
            if dict(r.headers).get("ce_id", b"").decode() in {big.id, complaint.id}
        ]

    records = {
        department_topic(d): await consume_all(kafka_cluster, department_topic(d), 10**9, timeout=1)
        for d in ("sales", "finance", "marketing", "support", "management", "logistics")
    }
    sales, finance = ours("dept.sales"), ours("dept.finance")
    assert [e.id for e in sales] == [big.id]
    assert [e.id for e in finance] == [big.id]
    assert [e.id for e in ours("dept.support")] == [complaint.id]
    assert [e.id for e in ours("dept.management")] == [complaint.id]
    assert ours("dept.logistics") == []
    assert ours("dept.marketing") == []
    # the envelope is intact; only data changed
    for seen in (sales[0], finance[0]):
        assert seen.model_dump(exclude={"data"}) == big.model_dump(exclude={"data"})
    assert finance[0].data["total"] == big.data["total"]
    management = ours("dept.management")[0]
    assert management.causationid == complaint.id, "causation set where the event had none"
    assert "requester" not in management.data, "no personal data for management"
    assert ours("dept.support")[0].data["requester"] == complaint.data["requester"]

    dead = [
        r
        for r in await consume_all(kafka_cluster, DLQ, 10**9, timeout=1)
        if dict(r.headers).get("dlq_original_topic") == source.encode()
    ]
    assert len(dead) == 1
    assert dict(dead[0].headers)["dlq_stage"] == b"router"
    assert dict(dead[0].headers)["dlq_error_class"] == b"EnvelopeError"


async def _at(awaitable: object, expected: int) -> bool:
    return bool(await awaitable == expected)  # type: ignore[misc]

"""The one-hop service hands each canonical event to the router as the stage encoded it.

Routing then reads the stage's own view (type, schema, time, data) instead of decoding the
record again. Whatever it reads, the department records must be byte for byte those of the
router decoding the canonical record, as the two-service pipeline does.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from hub.bench.records import Generator
from hub.bench.worker import lookup
from hub.config import HubConfig
from hub.routing.reload import RulesHolder
from hub.routing.route import EventView
from hub.runtime.producer import Output
from hub.services.router import RouterStage
from hub.topics import CANONICAL_TOPICS, CUSTOMERS, ORDERS, department_topic
from hub.translate.stage import TranslationStage
from schemas import Envelope, KafkaRecord, canonical_event, dataschema_uri, stable_event_id
from schemas.customers import CustomerCreated, CustomerCreatedV1
from schemas.registry import model_for
from tests.unit.translate.table import T0, example, raw_event

CONFIG = HubConfig()


def _consumed(topic: str, record: KafkaRecord) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic, 0, 0, 0, 0, record.key, record.value, None, -1, len(record.value), record.headers
    )


def _two_hops(stage: TranslationStage, router: RouterStage, raw: Envelope) -> list[Output]:
    outputs = stage.translate(raw)
    return outputs + [
        delivery
        for topic, record in outputs
        if topic in CANONICAL_TOPICS
        for delivery in router.handle(_consumed(topic, record))
    ]


def _wire(
    outputs: Sequence[Output],
) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
    return [(topic, r.key, r.value, list(r.headers)) for topic, r in outputs]


class _Spy:
    """The router's ``handle`` as the stage's route, noting which events came with a view."""

    def __init__(self, router: RouterStage) -> None:
        self.router = router
        self.views: list[EventView | None] = []

    def __call__(self, record: KafkaRecord, known: EventView | None) -> list[Output]:
        self.views.append(known)
        return self.router.handle(record, known)


def test_one_hop_delivers_the_bytes_the_router_decodes_to() -> None:
    records = list(Generator().records(0, 1500))
    one = TranslationStage(CONFIG, lookup)
    two = TranslationStage(CONFIG, lookup)
    spy = _Spy(RouterStage(RulesHolder(CONFIG)))
    router = RouterStage(RulesHolder(CONFIG))
    departments = 0
    for raw in records:
        envelope = Envelope.from_kafka(
            key=raw.record.key, value=raw.record.value, headers=raw.record.headers
        )
        direct = one.translate(envelope, spy)
        assert _wire(direct) == _wire(_two_hops(two, router, envelope))
        departments += sum(topic.startswith("dept.") for topic, _ in direct)
    assert departments > len(records)  # most events reach more than one department
    viewed = [v for v in spy.views if v is not None]
    assert len(viewed) > len(records)
    # merges found on the way are routed too, decoded from their record
    assert None in spy.views


def test_data_not_dumped_by_the_stage_is_decoded_by_the_router() -> None:
    """An event built without :func:`canonical_event` is valid as written; the stage did
    not dump it, so its data may hold what JSON does not (here: a tuple), and routing must
    read its encoding, as the two-service router does."""
    data = example("order.placed")
    data["lines"] = tuple(data["lines"])

    def translate(raw: Envelope) -> list[Envelope]:
        return [
            Envelope(
                id=stable_event_id(raw.source, "order.placed", raw.id),
                source=raw.source,
                type="order.placed",
                time=T0,
                dataschema=dataschema_uri("order.placed", 1),
                partitionkey=data["order_id"],
                data=data,
            )
        ]

    raw = raw_event("erp", "order", "SO1", 1, {"order": "SO1"}, "erp")
    spy = _Spy(RouterStage(RulesHolder(CONFIG)))
    direct = TranslationStage(CONFIG, lambda _type: translate).translate(raw, spy)
    two = _two_hops(
        TranslationStage(CONFIG, lambda _type: translate), RouterStage(RulesHolder(CONFIG)), raw
    )
    assert spy.views == [None]
    assert [t for t, _ in direct if t == ORDERS] == [ORDERS]
    assert _wire(direct) == _wire(two)
    assert any(topic.startswith("dept.") for topic, _ in direct)


def _customer_v1(raw: Envelope) -> list[Envelope]:
    """A translator still on customer.created v1 (one e-mail address)."""
    model = CustomerCreatedV1.example()
    return [canonical_event(model, source=raw.source, id_parts=[raw.id], time=T0)]


@pytest.mark.parametrize("with_schema", [True, False])
def test_an_event_of_an_older_version_goes_out_as_the_current_one(with_schema: bool) -> None:
    """The stage upgrades the data, so the record names the current version and every
    department gets the fields the current version's policy grants (sales, allowed
    personal data, reads the e-mail list v2 holds). An event that names no version is
    read as the current one and goes out naming it."""

    def translate(raw: Envelope) -> list[Envelope]:
        [event] = _customer_v1(raw)
        if with_schema:
            return [event]
        current = CustomerCreated.example().model_dump(mode="json")
        return [event.model_copy(update={"dataschema": None, "data": current})]

    raw = raw_event("crm", "company", "7", 1, {"company": "7"}, "crm")
    spy = _Spy(RouterStage(RulesHolder(CONFIG)))
    direct = TranslationStage(CONFIG, lambda _type: translate).translate(raw, spy)
    two = _two_hops(
        TranslationStage(CONFIG, lambda _type: translate), RouterStage(RulesHolder(CONFIG)), raw
    )
    assert _wire(direct) == _wire(two)
    [customers] = [r for t, r in direct if t == CUSTOMERS]
    headers = dict(customers.headers)
    assert headers["ce_dataschema"] == dataschema_uri("customer.created", 2).encode()
    [sales] = [orjson.loads(r.value) for t, r in direct if t == department_topic("sales")]
    assert sales["emails"]
    assert "email" not in sales


def test_the_raw_events_trace_context_reaches_every_record_made_from_it() -> None:
    """A webhook's W3C trace context (kept on its raw event) goes on with the canonical
    events and their department copies; an event that names its own keeps it."""
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    def translate(raw: Envelope) -> list[Envelope]:
        [customer] = _customer_v1(raw)
        order = example("order.placed")
        placed = canonical_event(
            model_for("order.placed").model_validate_json(orjson.dumps(order)),
            source=raw.source,
            id_parts=[raw.id, "o"],
            time=T0,
            partitionkey=order["order_id"],
        )
        return [customer, placed.model_copy(update={"traceparent": own})]

    raw = raw_event("crm", "company", "7", 1, {"company": "7"}, "crm").model_copy(
        update={"traceparent": trace}
    )
    spy = _Spy(RouterStage(RulesHolder(CONFIG)))
    direct = TranslationStage(CONFIG, lambda _type: translate).translate(raw, spy)
    two = _two_hops(
        TranslationStage(CONFIG, lambda _type: translate), RouterStage(RulesHolder(CONFIG)), raw
    )
    assert _wire(direct) == _wire(two)
    traces = {(topic, dict(record.headers).get("ce_traceparent")) for topic, record in direct}
    assert (CUSTOMERS, trace.encode()) in traces
    assert (ORDERS, own.encode()) in traces
    assert (department_topic("sales"), trace.encode()) in traces
    assert (department_topic("sales"), own.encode()) in traces
    events = [t for t in traces if t[0] in CANONICAL_TOPICS or t[0].startswith("dept.")]
    assert all(value in (trace.encode(), own.encode()) for _, value in events), traces

"""Every contract type has a model and an example that survives the trip through Kafka."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from schemas import (
    CanonicalModel,
    Envelope,
    OrderPlaced,
    canonical_event,
    dataschema_uri,
    event_types,
    model_for,
    validate_event,
)
from schemas.registry import REGISTRY

CONTRACT_TYPES = [
    "order.placed",
    "order.confirmed",
    "order.cancelled",
    "payment.received",
    "invoice.issued",
    "shipment.dispatched",
    "shipment.delivered",
    "return.requested",
    "customer.created",
    "customer.updated",
    "customer.merged",
    "lead.created",
    "lead.converted",
    "opportunity.won",
    "ticket.opened",
    "ticket.updated",
    "ticket.escalated",
    "ticket.resolved",
    "complaint.opened",
    "sla.breached",
]
ORDER_SIDE = ("order.", "payment.", "invoice.", "shipment.", "return.")
ALL_MODELS = list(REGISTRY.models())
CURRENT = [model_for(t) for t in CONTRACT_TYPES]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_every_contract_type_is_registered() -> None:
    assert sorted(event_types()) == sorted(CONTRACT_TYPES)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: f"{m.event_type}-v{m.version}")
def test_example_validates_and_round_trips_as_json(model: type[CanonicalModel]) -> None:
    example = model.example()
    assert isinstance(example, model)
    assert model.model_validate_json(example.model_dump_json()) == example
    assert model.model_validate_json(model.model_validate(example).model_dump_json()) == example


@pytest.mark.parametrize("model", CURRENT, ids=lambda m: m.event_type)
def test_example_round_trips_through_the_envelope(model: type[CanonicalModel]) -> None:
    example = model.example()
    event = canonical_event(
        example, source="/hub/translator", id_parts=("rec-1", "rev-7"), time=NOW, partitionkey="k"
    )
    assert event.type == model.event_type
    assert event.dataschema == dataschema_uri(model.event_type, model.version)
    record = event.to_kafka()
    decoded = Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers)
    assert decoded == event
    assert validate_event(decoded) == example
    # a reader without our code sees the same data through the CloudEvents SDK
    sdk = ce_kafka.from_binary_event(
        ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    )
    assert sdk.get_dataschema() == event.dataschema
    assert model.model_validate(sdk.get_data(), strict=False) == example


def test_canonical_event_ids_are_stable_and_distinct() -> None:
    example = OrderPlaced.example()

    def make(*parts: str) -> Envelope:
        return canonical_event(example, source="/hub/translator", id_parts=parts, time=NOW)

    assert make("SO042", "1").id == make("SO042", "1").id
    assert make("SO042", "1").id != make("SO042", "2").id
    event = canonical_event(
        example,
        source="/hub/translator",
        id_parts=("SO042",),
        time=NOW,
        subject="odoo:SO042",
        correlationid="c1",
        causationid="raw-1",
    )
    assert (event.subject, event.correlationid, event.causationid) == ("odoo:SO042", "c1", "raw-1")
    assert event.data == example.model_dump(mode="json")
    assert event.data["total"] == {"amount": "714.60", "currency": "EUR"}


@pytest.mark.parametrize("model", CURRENT, ids=lambda m: m.event_type)
def test_contract_fields_every_stream_relies_on(model: type[CanonicalModel]) -> None:
    fields = model.model_fields
    assert {"customer_ref", "customer_id"} <= set(fields)
    assert not fields["customer_id"].is_required()
    if model.event_type.startswith(ORDER_SIDE):
        assert fields["order_id"].is_required()
    if model.event_type.startswith(("ticket.", "complaint.")):
        assert fields["ticket_id"].is_required()
        assert not fields["order_id"].is_required()
        assert "priority" in fields


def test_customer_profile_carries_identity_evidence() -> None:
    for event_type in ("customer.created", "customer.updated"):
        fields = set(model_for(event_type).model_fields)
        expected = {"name", "emails", "domain", "vat_id", "external_ids", "contacts", "addresses"}
        assert expected <= fields
    merged = set(model_for("customer.merged").model_fields)
    assert {"survivor_id", "merged_id", "reason"} <= merged
    sla = set(model_for("sla.breached").model_fields)
    assert {"process", "stage", "owner", "subject_id", "deadline", "started_at"} <= sla
    assert {"customer_id", "order_id", "ticket_id"} <= sla


def test_models_are_frozen() -> None:
    example = OrderPlaced.example()
    with pytest.raises(ValueError, match="frozen"):
        example.order_id = "other"  # type: ignore[misc]

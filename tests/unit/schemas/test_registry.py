"""The registry maps (type, version) to models and upcasts old data on read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from schemas import (
    CanonicalModel,
    Classification,
    CustomerCreated,
    Envelope,
    OrderPlaced,
    SchemaError,
    canonical_event,
    classified,
    current_version,
    dataschema_uri,
    model_for,
    parse_data,
    validate_event,
)
from schemas.customers import CustomerCreatedV1
from schemas.registry import REGISTRY, Registry, parse_dataschema

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_lookup() -> None:
    assert current_version("customer.created") == 2
    assert model_for("customer.created") is CustomerCreated
    assert model_for("customer.created", 1) is CustomerCreatedV1
    assert model_for("order.placed") is OrderPlaced
    assert REGISTRY.versions("customer.created") == [1, 2]
    with pytest.raises(SchemaError, match=re.escape("unknown event type 'order.lost'")):
        model_for("order.lost")
    with pytest.raises(SchemaError, match=re.escape("order.placed has no version 7")):
        model_for("order.placed", 7)


def test_every_upcaster_turns_its_version_example_into_the_current_model() -> None:
    assert REGISTRY.upcasters(), "at least one real upcaster exists"
    for (event_type, version), func in REGISTRY.upcasters().items():
        old = model_for(event_type, version).example().model_dump(mode="json")
        step = func(dict(old))
        assert isinstance(step, dict)
        parsed = parse_data(event_type, version, old)
        assert type(parsed) is model_for(event_type)


def test_customer_created_v1_upcast() -> None:
    old = CustomerCreatedV1.example().model_dump(mode="json")
    parsed = parse_data("customer.created", 1, old)
    assert isinstance(parsed, CustomerCreated)
    assert parsed.emails == ["info@muster.de"]
    assert parsed.phones == ["+49 30 1234567"]
    assert parsed.name == "Muster GmbH"
    assert parsed.created_at == CustomerCreatedV1.example().created_at
    without_email = {k: v for k, v in old.items() if k not in ("email", "phone")}
    assert parse_data("customer.created", 1, without_email).emails == []  # type: ignore[attr-defined]


def test_old_event_read_through_validate_event() -> None:
    old = CustomerCreatedV1.example()
    event = canonical_event(old, source="/hub/translator", id_parts=("42",), time=NOW)
    assert event.dataschema == "urn:handoff:schema:customer.created:v1"
    record = event.to_kafka()
    read = validate_event(Envelope.from_kafka(key=None, value=record.value, headers=record.headers))
    assert isinstance(read, CustomerCreated)
    assert read.emails == ["info@muster.de"]


def test_errors_after_upcasting_name_the_field() -> None:
    old = CustomerCreatedV1.example().model_dump(mode="json")
    old["email"] = "not-an-email"
    with pytest.raises(SchemaError, match=r"customer.created v1: emails.0") as caught:
        parse_data("customer.created", 1, old)
    assert caught.value.errors[0][0] == "emails.0"


def test_versions_the_hub_cannot_read() -> None:
    data = OrderPlaced.example().model_dump(mode="json")
    with pytest.raises(SchemaError, match="newer than this hub knows"):
        parse_data("order.placed", 2, data)
    with pytest.raises(SchemaError, match="version must be >= 1"):
        parse_data("customer.created", 0, {})


def test_validate_event_checks_the_dataschema() -> None:
    example = OrderPlaced.example()
    event = canonical_event(example, source="/s", id_parts=("1",), time=NOW)
    wrong = event.model_copy(update={"dataschema": dataschema_uri("order.cancelled", 1)})
    with pytest.raises(SchemaError, match=re.escape("dataschema names 'order.cancelled'")):
        validate_event(wrong)
    with pytest.raises(SchemaError, match="is not urn:handoff:schema"):
        validate_event(event.model_copy(update={"dataschema": "https://example.org/x"}))
    assert validate_event(event.model_copy(update={"dataschema": None})) == example
    with pytest.raises(SchemaError, match="data is not a JSON object"):
        validate_event(event.model_copy(update={"data": [1]}))
    assert parse_dataschema("urn:handoff:schema:sla.breached:v12") == ("sla.breached", 12)


class _V1(CanonicalModel):
    event_type: ClassVar[str] = "test.thing"
    version: ClassVar[int] = 1
    name: str = classified(Classification.PUBLIC)


class _V2(CanonicalModel):
    event_type: ClassVar[str] = "test.thing"
    version: ClassVar[int] = 2
    first: str = classified(Classification.PUBLIC)
    last: str = classified(Classification.PUBLIC)


class _V3(CanonicalModel):
    event_type: ClassVar[str] = "test.thing"
    version: ClassVar[int] = 3
    first: str = classified(Classification.PUBLIC)
    last: str = classified(Classification.PUBLIC)
    nickname: str | None = classified(Classification.INTERNAL, default=None)


def test_upcasters_chain_through_every_version() -> None:
    registry = Registry()
    for model in (_V1, _V2, _V3):
        registry.register(model)

    @registry.upcaster("test.thing", 1)
    def split(data: dict[str, Any]) -> dict[str, Any]:
        first, _, last = data.pop("name").partition(" ")
        return {**data, "first": first, "last": last}

    with pytest.raises(
        SchemaError, match=re.escape("test.thing v2 cannot be read: no upcaster to v3")
    ):
        registry.parse_data("test.thing", 1, {"name": "Ada Lovelace"})

    @registry.upcaster("test.thing", 2)
    def same(data: dict[str, Any]) -> dict[str, Any]:
        return data

    with pytest.raises(SchemaError, match=r"test.thing v1: upcasting to v2 failed: KeyError"):
        registry.parse_data("test.thing", 1, {"nom": "Ada"})
    parsed = registry.parse_data("test.thing", 1, b'{"name": "Ada Lovelace"}')
    assert parsed == _V3(first="Ada", last="Lovelace")
    assert registry.current_version("test.thing") == 3
    assert registry.event_types() == ["test.thing"]


def test_registration_mistakes_are_refused() -> None:
    registry = Registry()
    registry.register(_V1)
    registry.register(_V1)  # idempotent for the same class

    class Clash(CanonicalModel):
        event_type: ClassVar[str] = "test.thing"
        version: ClassVar[int] = 1

    with pytest.raises(SchemaError, match="already registered"):
        registry.register(Clash)

    class Nameless(CanonicalModel):
        pass

    with pytest.raises(SchemaError, match="needs ClassVars"):
        registry.register(Nameless)

    def up(data: dict[str, Any]) -> dict[str, Any]:
        return data

    registry.upcaster("test.thing", 1)(up)
    with pytest.raises(SchemaError, match="already has an upcaster"):
        registry.upcaster("test.thing", 1)(lambda d: d)

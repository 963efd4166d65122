"""Generated raw records for every registered translator, through the translator stage.

For each installed connector type (``connector_types()``) and each of its entities, raw
events carry hypothesis-generated data: arbitrary JSON objects, and the type's own recorded
raw fixtures with fields dropped, replaced by arbitrary JSON or given hostile strings. Each
goes through :meth:`TranslationStage.handle` -- what ``hub run translator`` calls per record.
Either it yields canonical events that validate against their schemas and are routed to a
canonical topic, or it raises a *named* error (the kit's ``BadRecordError`` family, a
``SchemaError`` or a not-a-raw-event error) with a message, which the batch runner turns into
a dead letter naming the stage, error class and reason. A ``KeyError``, ``TypeError`` or
similar escaping a translator is a bug this test reports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from hypothesis import given
from hypothesis import strategies as st

from connectors.kit.errors import BadRecordError
from connectors.kit.registry import connector_types, translator_for
from hub.config import HubConfig
from hub.runtime.deadletter import dead_letter
from hub.topics import CUSTOMERS, IDENTITY, ORDERS, SUPPORT
from hub.translate.stage import STAGE, NotARawEvent, TranslationStage
from schemas import Envelope, stable_event_id
from schemas.envelope import EnvelopeError
from schemas.registry import SchemaError, validate_event

REPO = Path(__file__).resolve().parents[2]
NAMED_ERRORS = (BadRecordError, SchemaError, EnvelopeError, NotARawEvent)
HOSTILE = [
    "",
    " ",
    "null",
    "'; DROP TABLE orders; --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\x00",
    "\ud7ff\ue000",
    "9" * 400,
    "-1",
    "1e309",
    "NaN",
    "2026-13-45T99:99:99",
    "2026-11-16 16:10:17",
    "0000-00-00 00:00:00",
    "1970-01-01T00:00:00Z",
    "é" * 50,
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(HOSTILE),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)


def fixtures(type_name: str) -> list[dict[str, Any]]:
    folder = REPO / "tests" / "connectors" / type_name / "fixtures" / "raw"
    out = []
    for path in sorted(folder.glob("*.json")):
        item = orjson.loads(path.read_bytes())
        if isinstance(item, dict) and isinstance(item.get("data"), dict) and item.get("entity"):
            out.append(item)
    return out


def cases() -> list[tuple[str, str]]:
    found = [(name, entity) for name, kind in connector_types().items() for entity in kind.entities]
    assert found, "no connector types registered"
    return found


@st.composite
def mutated(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    """A recorded record with some keys dropped or replaced, at the top and one level down."""
    out: dict[str, Any] = dict(data)
    keys = sorted(out)
    for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)) if keys else []:
        action = draw(st.sampled_from(["drop", "json", "hostile", "nested"]))
        if action == "drop":
            out.pop(key)
        elif action == "json":
            out[key] = draw(json_values)
        elif action == "hostile":
            out[key] = draw(st.sampled_from(HOSTILE))
        elif isinstance(out[key], dict) and out[key]:
            inner = dict(out[key])
            inner_key = draw(st.sampled_from(sorted(inner)))
            inner[inner_key] = draw(json_values)
            out[key] = inner
    return out


def raw_record(
    type_name: str, entity: str, data: dict[str, Any], source_id: str, revision: str
) -> ConsumerRecord[bytes, bytes]:
    instance = f"{type_name}1"
    raw = Envelope(
        id=stable_event_id(instance, entity, source_id, revision),
        source=f"/connectors/{instance}",
        type=f"raw.{type_name}.{entity}",
        time=datetime(2026, 11, 16, 16, 10, tzinfo=UTC),
        subject=source_id,
        partitionkey=source_id,
        data={},
    )
    kafka = raw.to_kafka()
    # the bytes a producer may have written, big integers included (json, not orjson)
    value = json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return ConsumerRecord(
        topic=f"raw.{instance}.{entity}",
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=kafka.key,
        value=value,
        checksum=None,
        serialized_key_size=len(kafka.key or b""),
        serialized_value_size=len(value),
        headers=list(kafka.headers),
    )


def check_dead_letter(record: ConsumerRecord[bytes, bytes], failure: Exception) -> None:
    """What the batch runner would park: the original bytes, the stage, class and reason."""
    assert str(failure).strip(), f"{type(failure).__name__} without a reason"
    topic, letter = dead_letter(record, STAGE, failure)
    headers = dict(letter.headers)
    assert topic == "hub.dlq"
    assert headers["dlq_stage"] == STAGE.encode()
    assert headers["dlq_error_class"] == type(failure).__name__.encode()
    assert headers["dlq_error_message"]
    assert letter.value == record.value


def check(record: ConsumerRecord[bytes, bytes]) -> None:
    """The stage either translates into valid canonical events or raises a named error."""
    stage = TranslationStage(HubConfig(), translator_for)
    failure: Exception | None = None
    outputs = []
    try:
        outputs = stage.handle(record)
    except NAMED_ERRORS as exc:
        failure = exc
    if failure is not None:
        check_dead_letter(record, failure)
        return
    for topic, out in outputs:
        assert topic in (ORDERS, CUSTOMERS, SUPPORT, IDENTITY), topic
        if topic == IDENTITY:
            continue
        event = Envelope.from_kafka(key=out.key, value=out.value, headers=out.headers)
        validate_event(event)
        assert out.key, f"{event.type} without a partition key"


@pytest.mark.parametrize(("type_name", "entity"), cases())
@given(
    data=st.dictionaries(st.text(max_size=20), json_values, max_size=8),
    source_id=st.text(min_size=1, max_size=40),
)
def test_arbitrary_json_objects_are_translated_or_dead_lettered_with_a_reason(
    type_name: str, entity: str, data: dict[str, Any], source_id: str
) -> None:
    check(raw_record(type_name, entity, data, source_id, "r1"))


@pytest.mark.parametrize("type_name", sorted(connector_types()))
@given(choice=st.data())
def test_mutated_recorded_records_are_translated_or_dead_lettered_with_a_reason(
    type_name: str, choice: st.DataObject
) -> None:
    recorded = fixtures(type_name)
    assert recorded, f"connector type {type_name} ships no recorded raw fixtures"
    item = choice.draw(st.sampled_from(recorded))
    data = choice.draw(mutated(item["data"]))
    check(
        raw_record(
            type_name, item["entity"], data, str(item["id"]), str(item.get("revision", "r1"))
        )
    )


def outcome(record: ConsumerRecord[bytes, bytes]) -> list[str] | str:
    """The canonical types the stage emits for ``record``, or the error class it raises."""
    stage = TranslationStage(HubConfig(), translator_for)
    try:
        outputs = stage.handle(record)
    except NAMED_ERRORS as exc:
        return type(exc).__name__
    return sorted(
        Envelope.from_kafka(key=out.key, value=out.value, headers=out.headers).type
        for topic, out in outputs
        if topic != IDENTITY
    )


def test_every_recorded_fixture_gives_its_expected_outcome_unmutated() -> None:
    """The baseline the mutations start from: each recorded record, unmutated, yields exactly
    the types its fixture expects (or the named error it expects) through the real stage.

    Types whose translator needs an instance's settings (``translator_factory``) cannot
    translate without a configured instance: their records must be dead-lettered with a
    reason naming that (their mappings are tested by their own contract suites)."""
    checked = 0
    for type_name, kind in connector_types().items():
        for item in fixtures(type_name):
            record = raw_record(type_name, item["entity"], item["data"], str(item["id"]), "r1")
            got = outcome(record)
            expect = item.get("expect")
            where = f"{type_name} fixture {item['id']}"
            if kind.per_instance_translator:
                assert got == "UntranslatableRecord", f"{where}: {got}"
            elif isinstance(expect, dict):
                assert got == expect["error"], f"{where}: expected {expect}, got {got}"
            elif isinstance(expect, list):
                assert got == sorted(expect), f"{where}: expected {sorted(expect)}, got {got}"
            else:
                assert isinstance(got, list), f"{where}: dead-lettered as {got}"
            checked += 1
    assert checked >= 20, f"only {checked} recorded fixtures found"

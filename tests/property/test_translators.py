"""Generated raw records for every registered translator, through the translator stage.

For each installed connector type (``connector_types()``) and each of its entities, raw
events carry hypothesis-generated data: arbitrary JSON objects, and the type's own recorded
raw fixtures with values anywhere in them (top level, nested objects, list items) dropped,
replaced by arbitrary JSON, by hostile strings or by a value another recorded record holds
under the same key. Each goes through :meth:`TranslationStage.handle` -- what
``hub run translator`` calls per record -- with the lookup the translator service builds from
``hub.yaml`` (:class:`InstanceTranslators`), so a type whose translator needs its instance's
settings (``sqltable``) is fuzzed through a configured instance, as it runs.

Each record has one of three outcomes, and a test fails on anything else:

* **events**: canonical events that validate against their schemas and go to a canonical
  topic with a key;
* **dead letter**: a *named* error (the kit's ``BadRecordError`` family, a ``SchemaError``,
  an ``EnvelopeError`` or a ``NotARawEvent``) with a reason, which the batch runner turns
  into a dead letter naming the stage, error class and reason;
* **declared empty**: no event, for a record one of the conditions in :data:`QUIET` (the
  ``return []`` branches of the translators: a draft quotation, an open deal, a deleted
  ticket...) explains. An empty result nothing explains is a silently dropped record; a
  record a condition explains must not produce events either.

A ``KeyError``, ``TypeError`` or similar escaping a translator is a bug these tests report.
Webhook events of HubSpot and Zendesk are not translated at all (:data:`NO_OP`): their test
checks that they never produce anything, instead of counting them as translated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from aiokafka.structs import ConsumerRecord
from hypothesis import Phase, event, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from connectors.kit.errors import BadRecordError
from connectors.kit.registry import ConnectorType, InstanceTranslators, connector_types
from connectors.sqltable.demo import erp_tables, example_tables
from connectors.sqltable.settings import (
    InvoiceMapping,
    OrderMapping,
    PaymentMapping,
    ShipmentMapping,
    SqlTableSettings,
)
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
#: Values at the edges of what JSON carries, put where a translator expects something else:
#: integers and floats beyond 64 bits, containers where a scalar belongs.
EXTREME: list[Any] = [
    2**63,
    2**64 + 1,
    -(2**63) - 1,
    10**30,
    1e300,
    -1e308,
    5e-324,
    0,
    True,
    [],
    {},
    [None],
    {"": None},
]

EVENTS, DEAD_LETTER, DECLARED_EMPTY = "events", "dead letter", "declared empty"
#: Mutated records per entity, at least (the long profile runs more): a crash needs a rare
#: value in one of a record's 20 to 120 places (the two found so far: a list where a
#: nested setting names a field, a line number beyond 64 bits), which the short profile's
#: 60 examples seldom reach; 300 take about half a second an entity.
MUTATED_EXAMPLES = 300

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

# -- the hub.yaml the stage runs with ---------------------------------------------------------


def instance_of(type_name: str) -> str:
    """The connector instance whose raw events the tests write for ``type_name``."""
    return f"{type_name}1"


#: ``connectors:`` of hub.yaml: an instance of each type whose translator (or entities) come
#: from its instance's settings; the sqltable one maps the demo ERP's five tables, as
#: tests/connectors/sqltable does. Settings-free types need no instance to translate.
CONFIG = HubConfig(
    connectors={
        instance_of("sqltable"): {
            "type": "sqltable",
            "url": "postgresql://reader@db:5432/erp",
            "tables": example_tables(erp_tables(sa.MetaData(), prefix="")),
        }
    }
)
#: What ``translator_service`` gives the stage by default: one translator per instance.
LOOKUP = InstanceTranslators(CONFIG.connectors)


def needs_instance(kind: ConnectorType) -> bool:
    """Whether a type translates, or knows its entities, only through a configured instance."""
    return kind.per_instance_translator or kind.per_instance_entities


def instance_settings(type_name: str) -> Any:
    """The parsed settings of the configured instance of ``type_name``, or None."""
    configured = CONFIG.connectors.get(instance_of(type_name))
    if configured is None or configured.type != type_name:
        return None
    return connector_types()[type_name].parse_settings(configured.settings)


def entities(type_name: str) -> tuple[str, ...]:
    """The entities records of ``type_name`` can have: the configured instance's for a type
    whose instances choose them (``entities_for``), else the type's own."""
    kind = connector_types()[type_name]
    if kind.per_instance_entities:
        found = instance_settings(type_name)
        return kind.entities_of(found) if found is not None else ()
    return kind.entities


# -- what a translator may answer with nothing ------------------------------------------------


@dataclass(frozen=True)
class Quiet:
    """A documented condition under which a translator gives no event for a record."""

    why: str
    holds: Callable[[Mapping[str, Any]], bool]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _odoo_text(data: Mapping[str, Any], name: str) -> str | None:
    """A field as the Odoo translator reads it (``False`` is Odoo's empty value)."""
    value = data.get(name)
    return None if value is False else _stripped(value)


def _stripped(value: Any) -> str | None:
    """A value as text, None when it is missing or blank."""
    return None if value is None else (str(value).strip() or None)


def _hubspot_property(data: Mapping[str, Any], name: str) -> str | None:
    return _stripped(_mapping(data.get("properties")).get(name))


def _hubspot_won(data: Mapping[str, Any]) -> bool:
    """Whether a deal is won: a won stage (``_handoff.won_stages``, default ``closedwon``)
    or ``hs_is_closed_won``."""
    stages = _mapping(data.get("_handoff")).get("won_stages")
    won_stages = [str(s) for s in stages] if isinstance(stages, list) else ["closedwon"]
    return (
        _hubspot_property(data, "dealstage") in won_stages
        or _hubspot_property(data, "hs_is_closed_won") == "true"
    )


def _incoming(data: Mapping[str, Any]) -> bool:
    return _odoo_text(data, "picking_type_code") == "incoming"


def _returns_something(data: Mapping[str, Any]) -> bool:
    """Whether a picking's moves return a delivered move (and are not cancelled)."""
    moves = data.get("move_records")
    return isinstance(moves, list) and any(
        isinstance(m, Mapping) and m.get("origin_returned_move_id") and m.get("state") != "cancel"
        for m in moves
    )


def _sql_text(data: Mapping[str, Any], column: str) -> str | None:
    return _stripped(data.get(column))


def _sql_unset(data: Mapping[str, Any], column: str | None) -> bool:
    """A date-time column the sqltable translator reads as not set (SQL NULL or empty)."""
    return column is None or data.get(column) in (None, "")


def sqltable_quiet(mapping: Any) -> tuple[Quiet, ...]:
    """The conditions of an empty result for one configured table, by its mapping's kind
    (see :mod:`connectors.sqltable.translate`): customers always give an event."""
    if isinstance(mapping, OrderMapping):
        return (
            Quiet(
                f"status ({mapping.status}) mapped to 'ignore' in status_values (a quotation)",
                lambda d: mapping.status_values.get(_sql_text(d, mapping.status) or "") == "ignore",
            ),
        )
    if isinstance(mapping, ShipmentMapping):
        return (
            Quiet(
                f"neither {mapping.dispatched_at} nor {mapping.delivered_at} set: not yet shipped",
                lambda d: (
                    _sql_unset(d, mapping.dispatched_at) and _sql_unset(d, mapping.delivered_at)
                ),
            ),
        )
    if isinstance(mapping, InvoiceMapping):
        return (
            Quiet(
                f"{mapping.issued_at} not set: not issued yet",
                lambda d: _sql_unset(d, mapping.issued_at),
            ),
        )
    if isinstance(mapping, PaymentMapping):
        return (
            Quiet(
                f"{mapping.received_at} not set: not received yet",
                lambda d: _sql_unset(d, mapping.received_at),
            ),
        )
    return ()


def _configured_sqltable_quiet() -> dict[tuple[str, str], tuple[Quiet, ...]]:
    found = instance_settings("sqltable")
    if not isinstance(found, SqlTableSettings):
        return {}
    declared = {entity: sqltable_quiet(table.mapping) for entity, table in found.tables.items()}
    return {("sqltable", entity): quiet for entity, quiet in declared.items() if quiet}


#: Every condition under which a translated entity yields no event (each a ``return []`` of
#: its translator); an entity not listed must yield at least one event or a dead letter.
QUIET: dict[tuple[str, str], tuple[Quiet, ...]] = {
    ("hubspot", "deal"): (
        Quiet(
            "an open or lost deal (not in a won stage, not hs_is_closed_won)",
            lambda d: not _hubspot_won(d),
        ),
    ),
    ("zendesk", "ticket"): (Quiet("a deleted ticket", lambda d: d.get("status") == "deleted"),),
    ("odoo", "sale_order"): (
        Quiet(
            "a draft quotation or cart (state not sent, sale, done or cancel)",
            lambda d: _odoo_text(d, "state") not in ("sent", "sale", "done", "cancel"),
        ),
    ),
    ("odoo", "stock_picking"): (
        Quiet(
            "not incoming, and not a done outgoing delivery (internal transfer, delivery "
            "not yet done)",
            lambda d: (
                not _incoming(d)
                and (_odoo_text(d, "picking_type_code"), _odoo_text(d, "state"))
                != ("outgoing", "done")
            ),
        ),
        Quiet(
            "incoming, but none of its moves returns a delivered move (a vendor receipt, or "
            "read without its moves)",
            lambda d: _incoming(d) and not _returns_something(d),
        ),
        Quiet(
            "a return in draft or cancelled (state not waiting, confirmed, assigned or done)",
            lambda d: (
                _incoming(d)
                and _odoo_text(d, "state") not in ("waiting", "confirmed", "assigned", "done")
            ),
        ),
    ),
    ("odoo", "account_move"): (
        Quiet(
            "not a posted customer invoice (draft, vendor bill, credit note)",
            lambda d: (
                (_odoo_text(d, "move_type"), _odoo_text(d, "state")) != ("out_invoice", "posted")
            ),
        ),
    ),
    **_configured_sqltable_quiet(),
}

#: Entities whose translator produces nothing for any record, and why: webhook events only
#: wake their source, which then publishes the changed object to its entity topic.
NO_OP: dict[tuple[str, str], str] = {
    ("hubspot", "webhook_event"): "a webhook only marks its object type changed; the source "
    "then searches and publishes the whole object to raw.<instance>.<contact|company|deal>",
    ("zendesk", "webhook_event"): "a webhook only marks the export due; the ticket comes "
    "with the next incremental export, to raw.<instance>.ticket",
}


def quiet_reasons(type_name: str, entity: str, data: Any) -> list[str]:
    """The declared conditions that explain an empty result for ``data``."""
    if not isinstance(data, Mapping):
        return []
    return [q.why for q in QUIET.get((type_name, entity), ()) if q.holds(data)]


# -- recorded records ---------------------------------------------------------------------------


@cache
def fixtures(type_name: str, entity: str | None = None) -> tuple[dict[str, Any], ...]:
    """The recorded raw records of a type (of one entity), read once: never change them."""
    folder = REPO / "tests" / "connectors" / type_name / "fixtures" / "raw"
    out = []
    for path in sorted(folder.glob("*.json")):
        item = orjson.loads(path.read_bytes())
        if (
            isinstance(item, dict)
            and isinstance(item.get("data"), dict)
            and item.get("entity")
            and entity in (None, item["entity"])
        ):
            out.append(item)
    return tuple(out)


def cases() -> list[tuple[str, str]]:
    """Every (type, entity) a raw record can have, with the configured instances' entities."""
    found = [(name, entity) for name in connector_types() for entity in entities(name)]
    assert found, "no connector types registered"
    return found


def translated_cases() -> list[tuple[str, str]]:
    return [case for case in cases() if case not in NO_OP]


def _values_by_key(value: Any, into: dict[str, list[Any]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            seen = into.setdefault(key, [])
            if inner not in seen:
                seen.append(inner)
            _values_by_key(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _values_by_key(inner, into)


@cache
def recorded_values(type_name: str) -> dict[str, list[Any]]:
    """Per key name, every value the type's recorded records hold under it (at any depth):
    a ``state`` of ``draft`` where another record has ``sale``, a ``dealstage`` of
    ``closedwon``, etc., so mutations also take the branches real values lead to."""
    out: dict[str, list[Any]] = {}
    for item in fixtures(type_name):
        _values_by_key(item["data"], out)
    return out


Place = tuple[str | int, ...]


def paths(value: Any) -> list[Place]:
    """Every place in a JSON value (object keys and list items, at any depth), deepest first:
    hypothesis draws the first places of a list most often, and a record's outer fields (its
    id, above all) would end most mutated records at a translator's first guard."""
    out: list[Place] = []

    def walk(node: Any, prefix: Place) -> None:
        steps: list[tuple[str | int, Any]] = []
        if isinstance(node, dict):
            steps = list(node.items())
        elif isinstance(node, list):
            steps = list(enumerate(node))
        for step, child in steps:
            out.append((*prefix, step))
            walk(child, (*prefix, step))

    walk(value, ())
    return sorted(out, key=len, reverse=True)


def _parent(data: Any, path: Place) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


@st.composite
def mutated(draw: st.DrawFn, type_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """A recorded record with one to four values changed anywhere in it: replaced by a value
    recorded under the same key (first, so that real values lead into the branches they
    take), by arbitrary JSON, by a hostile string or an extreme value, or dropped."""
    out: dict[str, Any] = copy.deepcopy(data)
    recorded = recorded_values(type_name)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        places = paths(out)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, step = _parent(out, path), path[-1]
        action = draw(st.sampled_from(["recorded", "json", "hostile", "drop"]))
        alternatives = (
            [v for v in recorded.get(step, []) if v != parent[step]]
            if isinstance(step, str)
            else []
        )
        if action == "drop":
            del parent[step]
        elif action == "hostile":
            parent[step] = copy.deepcopy(draw(st.sampled_from(HOSTILE + EXTREME)))
        elif action == "recorded" and alternatives:
            parent[step] = copy.deepcopy(draw(st.sampled_from(alternatives)))
        else:
            parent[step] = draw(json_values)
    return out


def raw_record(
    type_name: str,
    entity: str,
    data: dict[str, Any],
    source_id: str,
    revision: str,
    *,
    instance: str | None = None,
) -> ConsumerRecord[bytes, bytes]:
    instance = instance or instance_of(type_name)
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


def fixture_record(
    type_name: str, item: dict[str, Any], data: dict[str, Any]
) -> ConsumerRecord[bytes, bytes]:
    return raw_record(
        type_name, item["entity"], data, str(item["id"]), str(item.get("revision", "r1"))
    )


# -- the checks ---------------------------------------------------------------------------------


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


def translate(record: ConsumerRecord[bytes, bytes]) -> list[Envelope] | Exception:
    """The canonical events the stage publishes for ``record`` (validated, each on a
    canonical topic with a key), or the named error it raises."""
    stage = TranslationStage(CONFIG, LOOKUP)
    try:
        outputs = stage.handle(record)
    except NAMED_ERRORS as exc:
        return exc
    events = []
    for topic, out in outputs:
        assert topic in (ORDERS, CUSTOMERS, SUPPORT, IDENTITY), topic
        if topic == IDENTITY:
            continue
        event = Envelope.from_kafka(key=out.key, value=out.value, headers=out.headers)
        validate_event(event)
        assert out.key, f"{event.type} without a partition key"
        events.append(event)
    return events


def check(record: ConsumerRecord[bytes, bytes]) -> str:
    """Valid canonical events, a named error, or no event for a declared reason: which one
    (:data:`EVENTS`, :data:`DEAD_LETTER`, :data:`DECLARED_EMPTY`)."""
    got = translate(record)
    if isinstance(got, Exception):
        check_dead_letter(record, got)
        return DEAD_LETTER
    raw = Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers)
    _, type_name, entity = raw.type.split(".")
    reasons = quiet_reasons(type_name, entity, raw.data)
    if not got:
        assert reasons, (
            f"{type_name} {entity} {raw.subject!r}: no event, no dead letter, and no declared "
            f"condition (QUIET) explains it; data: {raw.data!r}"
        )
        return DECLARED_EMPTY
    assert not reasons, (
        f"{type_name} {entity} {raw.subject!r}: {[e.type for e in got]} for a record declared "
        f"to give nothing ({'; '.join(reasons)})"
    )
    return EVENTS


# -- the tests ----------------------------------------------------------------------------------


def test_every_registered_entity_is_fuzzed_as_it_is_configured() -> None:
    """Each type is fuzzed through an instance when it needs one, each entity either
    translates or is a declared no-op with a recorded fixture, and every declaration names a
    registered entity (a renamed entity cannot leave a stale declaration behind)."""
    for name, kind in connector_types().items():
        if needs_instance(kind):
            assert instance_settings(name) is not None, (
                f"connector type {name} translates with its instance's settings: configure an "
                f"instance {instance_of(name)!r} of it in CONFIG"
            )
    registered = set(cases())
    assert set(QUIET) <= registered, sorted(set(QUIET) - registered)
    assert set(NO_OP) <= registered, sorted(set(NO_OP) - registered)
    for type_name, entity in registered:
        assert fixtures(type_name, entity), f"{type_name} {entity}: no recorded raw fixture"


@pytest.mark.parametrize(("type_name", "entity"), translated_cases())
@given(
    data=st.dictionaries(st.text(max_size=20), json_values, max_size=8),
    source_id=st.text(min_size=1, max_size=40),
)
def test_arbitrary_json_objects_are_translated_or_dead_lettered_with_a_reason(
    type_name: str, entity: str, data: dict[str, Any], source_id: str
) -> None:
    """Objects of any shape meet each translator's first guards (no id, no time, no
    properties...): all are dead-lettered, none may crash. The mutated-record test goes
    further in."""
    event(check(raw_record(type_name, entity, data, source_id, "r1")))


@pytest.mark.parametrize(("type_name", "entity"), translated_cases())
@settings(max_examples=max(settings().max_examples, MUTATED_EXAMPLES))
@given(choice=st.data())
def test_mutated_recorded_records_are_translated_or_dead_lettered_with_a_reason(
    type_name: str, entity: str, choice: st.DataObject
) -> None:
    """Recorded records with values changed anywhere in them give events, a dead letter or
    a declared empty result (:func:`check`)."""
    item = choice.draw(st.sampled_from(fixtures(type_name, entity)))
    data = choice.draw(mutated(type_name, item["data"]))
    event(check(fixture_record(type_name, item, data)))


def _mutations(
    type_name: str, entity: str
) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    return st.sampled_from(fixtures(type_name, entity)).flatmap(
        lambda item: st.tuples(st.just(item), mutated(type_name, item["data"]))
    )


@pytest.mark.parametrize(("type_name", "entity"), translated_cases())
def test_mutations_reach_every_outcome_of_each_entity(type_name: str, entity: str) -> None:
    """The mutated-record test is not stuck at a translator's first guard: for each entity,
    mutations (one change at least) are found that still translate to events, that are
    dead-lettered, and, where the entity has a declared empty outcome, that give nothing."""
    wanted = [EVENTS, DEAD_LETTER] + ([DECLARED_EMPTY] if (type_name, entity) in QUIET else [])
    search = settings(max_examples=300, database=None, derandomize=True, phases=[Phase.generate])
    for goal in wanted:
        try:
            find(
                _mutations(type_name, entity),
                lambda pair, goal=goal: check(fixture_record(type_name, *pair)) == goal,
                settings=search,
            )
        except NoSuchExample:
            pytest.fail(f"{type_name} {entity}: no mutated record reached {goal!r}")


@pytest.mark.parametrize(("type_name", "entity"), sorted(NO_OP))
@given(choice=st.data())
def test_webhook_events_are_a_declared_no_op(
    type_name: str, entity: str, choice: st.DataObject
) -> None:
    """A declared no-op translates any record of its entity, recorded, mutated or arbitrary,
    to nothing (and so never dead-letters one it could decode)."""
    recorded = fixtures(type_name, entity)
    data = choice.draw(
        st.one_of(
            st.sampled_from(recorded).flatmap(lambda item: mutated(type_name, item["data"])),
            st.dictionaries(st.text(max_size=20), json_values, max_size=8),
        )
    )
    record = raw_record(type_name, entity, data, "501", "r1")
    try:
        raw = Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers)
    except EnvelopeError:
        event("not a CloudEvent")  # big integers: refused before any translator runs
        return
    assert list(LOOKUP(type_name)(raw)) == [], NO_OP[(type_name, entity)]
    assert translate(record) == []
    event("no-op")


def outcome(record: ConsumerRecord[bytes, bytes]) -> list[str] | str:
    """The canonical types the stage emits for ``record``, or the error class it raises."""
    got = translate(record)
    if isinstance(got, Exception):
        return type(got).__name__
    return sorted(e.type for e in got)


def test_every_recorded_fixture_gives_its_expected_outcome_unmutated() -> None:
    """The baseline the mutations start from: each recorded record, unmutated, yields exactly
    the types its fixture expects (or the named error it expects) through the real stage,
    types that translate with their instance's settings included; an empty result is one a
    declaration explains (:func:`check`).

    A record of such a type from an instance that is not configured is dead-lettered with a
    reason naming the instance."""
    checked = 0
    for type_name, kind in connector_types().items():
        for item in fixtures(type_name):
            record = fixture_record(type_name, item, item["data"])
            got = outcome(record)
            expect = item.get("expect")
            where = f"{type_name} fixture {item['entity']} {item['id']}"
            if isinstance(expect, dict):
                assert got == expect["error"], f"{where}: expected {expect}, got {got}"
            elif isinstance(expect, list):
                assert got == sorted(expect), f"{where}: expected {sorted(expect)}, got {got}"
            else:
                assert isinstance(got, list), f"{where}: dead-lettered as {got}"
            if (type_name, item["entity"]) not in NO_OP:
                check(record)
            if kind.per_instance_translator:
                elsewhere = raw_record(
                    type_name,
                    item["entity"],
                    item["data"],
                    str(item["id"]),
                    "r1",
                    instance="unknown",
                )
                failure = translate(elsewhere)
                assert isinstance(failure, BadRecordError), f"{where}: {failure}"
                assert "'unknown'" in str(failure), f"{where}: {failure}"
            checked += 1
    assert checked >= 20, f"only {checked} recorded fixtures found"

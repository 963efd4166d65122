# ruff: noqa: S101, PT017, PT018 - this module is test code: asserts carry the messages
"""The contract suite every connector inherits (``connector_contract_tests``).

Fixture layout (``fixtures`` directory)::

    raw/*.json      recorded raw records for the translator, one per file:
                    {"entity": "order", "id": "SO1", "revision": "...", "time": "<ISO 8601>",
                     "data": {...}, "expect": ["order.placed"]}   (expect optional; or
                     "expect": {"error": "UntranslatableRecord"} for a record that must fail)
    http/*.json     recorded HTTP exchanges replayed to the source (optional, see
                    connectors.kit.http.RecordedTransport)
    webhooks/*.json recorded webhook deliveries for webhook sources:
                    {"headers": {...}, "body": {...}}; one may be {"malformed": true, ...}
    (anything else) whatever the source reads; settings values may say "{fixtures}"

What the source reads from the fixtures must contain at least one malformed record, so the
suite can check it is dead-lettered while the source keeps going.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr, ValidationError

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.errors import ConnectorError, UntranslatableRecord
from connectors.kit.http import RecordedTransport, use_transport
from connectors.kit.polling import PollingSource
from connectors.kit.registry import ConnectorType, Translator, get_type
from connectors.kit.runner import InstanceRunner, dead_letter_stage
from connectors.kit.settings import ConnectorSettings, fields_that_should_be_secret, masked
from connectors.kit.source import Record, build_raw_event
from connectors.kit.webhook import SignatureError, WebhookSource
from connectors.testing.memory import MemoryPublisher
from schemas.envelope import Envelope
from schemas.events import issued_model
from schemas.registry import SchemaError, validate_event


def _substitute(value: Any, fixtures: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{fixtures}", str(fixtures))
    if isinstance(value, dict):
        return {k: _substitute(v, fixtures) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, fixtures) for v in value]
    return value


def load_raw_fixtures(fixtures: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(file name, content)`` of every ``raw/*.json`` fixture."""
    folder = fixtures / "raw"
    return [(p.name, orjson.loads(p.read_bytes())) for p in sorted(folder.glob("*.json"))]


def raw_fixture_event(
    connector_type: ConnectorType,
    instance: str,
    name: str,
    fixture: Mapping[str, Any],
    *,
    entities: Sequence[str] | None = None,
) -> Envelope:
    """The raw event the kit would publish for a ``raw/*.json`` fixture.

    ``entities``: the instance's entities (:meth:`ConnectorType.entities_of` its settings);
    by default the type's ``entities``.
    """
    try:
        record = Record(
            id=str(fixture["id"]),
            revision=str(fixture.get("revision") or fixture["time"]),
            time=datetime.fromisoformat(fixture["time"]),
            data=fixture["data"],
        )
        entity = fixture["entity"]
    except (KeyError, ValueError) as exc:
        raise AssertionError(
            f"fixture raw/{name} needs entity, id, time (ISO 8601) and data: {exc!r}"
        ) from exc
    allowed = tuple(connector_type.entities if entities is None else entities)
    assert entity in allowed, f"fixture raw/{name}: entity {entity!r} is not one of {allowed}"
    return build_raw_event(instance, connector_type.name, entity, record).envelope


def translate_checked(
    connector_type: ConnectorType,
    raw: Envelope,
    where: str,
    *,
    translator: Translator | None = None,
) -> list[Envelope]:
    """Translate ``raw`` and validate every output; assertion messages name ``where``.

    ``translator``: the instance's (:meth:`ConnectorType.translator` of its settings); by
    default the type's settings-free ``translate``.
    """
    translate = connector_type.translate if translator is None else translator
    try:
        events = list(translate(raw))
    except UntranslatableRecord:
        raise
    except Exception as exc:
        raise AssertionError(
            f"{where}: translator raised {type(exc).__name__}: {exc} -- a translator raises "
            "UntranslatableRecord (with the reason) for a record it cannot map"
        ) from exc
    for event in events:
        try:
            validate_event(event)
        except SchemaError as exc:
            raise AssertionError(
                f"{where}: translated {event.type} event is not valid: {exc}"
            ) from exc
        assert event.id, f"{where}: translated event has no id"
    check_issued_data(events, where)
    return events


def check_issued_data(events: Sequence[Envelope], where: str) -> None:
    """Fail if a translator changed an event's ``data`` after :func:`canonical_event` built it.

    The translation stage sends the data of an event ``canonical_event`` built as it was
    issued, without dumping the model again or validating the data: the model was validated
    when the translator constructed it, and the issued dump is that model's. A change made in
    place afterwards (``event.data["total"] = ...``) would go out unvalidated, so it is caught
    here, for every connector, rather than guarded against for every record at run time.
    Build the model with the final values, or ``model_copy(update=...)`` the envelope (a copy
    is validated from its data by the stage).
    """
    for event in events:
        model = issued_model(event)
        if model is None:
            continue
        issued = model.model_dump(mode="json")
        # equal dicts may still encode differently (1 == 1.0 == True, key order)
        assert event.data == issued and orjson.dumps(event.data) == orjson.dumps(issued), (
            f"{where}: the translator changed the data of its {event.type} event after "
            f"canonical_event (changed in place: {_changed_keys(event.data, issued)}); the "
            "stage sends that data unvalidated, so build the model with the final values"
        )


def _changed_keys(data: Any, issued: dict[str, Any]) -> list[str]:
    if not isinstance(data, dict):
        return ["<data>"]
    keys = [*issued, *(k for k in data if k not in issued)]
    changed = [str(k) for k in keys if k not in data or k not in issued or data[k] != issued[k]]
    return changed or ["<types or key order>"]


class _Harness:
    """A connector type, its settings and fixtures, run in memory."""

    def __init__(
        self,
        connector_type: ConnectorType,
        fixtures: Path,
        settings: Mapping[str, Any],
        instance: str,
    ) -> None:
        self.type = connector_type
        self.fixtures = fixtures.resolve()
        self.raw_settings = dict(settings)
        self.instance = instance

    def settings(self, **overrides: Any) -> ConnectorSettings:
        values = _substitute({**self.raw_settings, **overrides}, self.fixtures)
        return self.type.parse_settings(values)

    @cached_property
    def entities(self) -> tuple[str, ...]:
        """The entities of the suite's instance (``entities_for`` decides when declared)."""
        return self.type.entities_of(self.settings())

    @cached_property
    def translator(self) -> Translator:
        """The translator of the suite's instance (``translator_factory`` when declared)."""
        return self.type.translator(self.settings())

    def raw_event(self, name: str, fixture: Mapping[str, Any]) -> Envelope:
        return raw_fixture_event(self.type, self.instance, name, fixture, entities=self.entities)

    def translated(self, raw: Envelope, where: str) -> list[Envelope]:
        return translate_checked(self.type, raw, where, translator=self.translator)

    @contextmanager
    def recorded_http(self) -> Iterator[RecordedTransport | None]:
        folder = self.fixtures / "http"
        if not folder.is_dir():
            yield None
            return
        transport = RecordedTransport(folder)
        try:
            with use_transport(transport):
                yield transport
        except Exception as exc:
            if transport.unmatched:
                raise AssertionError(
                    "the source made requests no fixture in http/ records: "
                    + "; ".join(transport.unmatched)
                ) from exc
            raise
        assert not transport.unmatched, (
            "the source made requests no fixture in http/ records: "
            + "; ".join(transport.unmatched)
        )

    def runner(
        self,
        publisher: MemoryPublisher,
        checkpoints: MemoryCheckpoints,
        **overrides: Any,
    ) -> InstanceRunner:
        return InstanceRunner(
            self.instance,
            self.type,
            self.settings(**overrides),
            publisher=publisher,
            checkpoints=checkpoints,
            sleep=_no_sleep,
        )

    def poll(
        self,
        publisher: MemoryPublisher,
        checkpoints: MemoryCheckpoints,
        *,
        max_pages: int | None = None,
        **overrides: Any,
    ) -> InstanceRunner:
        """One full pass (or ``max_pages`` per stream) of a fresh source over the fixtures."""
        runner = self.runner(publisher, checkpoints, **overrides)

        async def go() -> None:
            assert isinstance(runner.source, PollingSource)
            await runner.source.open()
            try:
                for stream in runner.source.streams():
                    await runner.poll_stream(stream, max_pages=max_pages)
            finally:
                await runner.source.close()

        with self.recorded_http():
            asyncio.run(go())
        return runner


async def _no_sleep(_: float) -> None:
    return None


def _ids(publisher: MemoryPublisher) -> list[str]:
    return [event.id for _, event in publisher.raw()]


def connector_contract_tests(
    connector_type: ConnectorType | str,
    fixtures: Path | str,
    settings: Mapping[str, Any],
    *,
    instance: str = "contract",
) -> type:
    """A pytest class running the contract suite for one connector type.

    ``TestAcmeCrm = connector_contract_tests(CONNECTOR, fixtures=HERE / "fixtures",
    settings={"base_url": "https://api.example", "api_token": "t0ken"})``

    ``connector_type`` is the :class:`ConnectorType` or the name of an installed one.
    """
    resolved = get_type(connector_type) if isinstance(connector_type, str) else connector_type
    harness = _Harness(resolved, Path(fixtures), settings, instance)
    polling = issubclass(resolved.source, PollingSource)
    webhook = issubclass(resolved.source, WebhookSource)

    class ConnectorContract:
        """Contract suite (connectors.testing) for one connector type."""

        connector = resolved

        # -- settings ----------------------------------------------------------------------

        def test_settings_model_is_frozen_and_documented(self) -> None:
            model = resolved.settings_model
            assert issubclass(model, ConnectorSettings), (
                f"{resolved.name}: settings_model must subclass connectors.kit.ConnectorSettings"
            )
            assert model.model_config.get("frozen"), f"{model.__name__} must stay frozen"
            schema = model.model_json_schema()
            assert schema.get("properties"), f"{model.__name__} has no JSON schema properties"
            unsafe = fields_that_should_be_secret(model)
            assert not unsafe, (
                f"{model.__name__}: fields {unsafe} look like secrets; declare them SecretStr"
            )
            harness.settings()  # the suite's own settings must validate

        def test_secrets_are_masked(self) -> None:
            built = harness.settings()
            shown = " ".join([repr(built), str(built), built.model_dump_json(), str(masked(built))])
            for name in type(built).model_fields:
                value = getattr(built, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    assert value.get_secret_value() not in shown, f"secret {name} is shown"

        def test_every_settings_error_is_reported_at_once(self) -> None:
            model = resolved.settings_model
            required = [n for n, f in model.model_fields.items() if f.is_required()]
            try:
                model.model_validate({"no_such_setting": 1})
            except ValidationError as exc:
                locs = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            else:
                raise AssertionError(f"{model.__name__} accepted an unknown setting")
            missing = [name for name in [*required, "no_such_setting"] if name not in locs]
            assert not missing, f"{model.__name__}: errors not reported for {missing}"

        # -- translation -------------------------------------------------------------------

        def test_every_fixture_translates_or_names_its_error(self) -> None:
            fixtures_found = load_raw_fixtures(harness.fixtures)
            assert fixtures_found, f"no raw/*.json fixtures in {harness.fixtures}"
            for name, fixture in fixtures_found:
                raw = harness.raw_event(name, fixture)
                where = f"fixture raw/{name}"
                expect = fixture.get("expect")
                try:
                    events = harness.translated(raw, where)
                except UntranslatableRecord as exc:
                    if isinstance(expect, dict) and "error" in expect:
                        assert type(exc).__name__ == expect["error"] or expect["error"] in [
                            c.__name__ for c in type(exc).__mro__
                        ], f"{where}: expected {expect['error']}, got {type(exc).__name__}"
                        continue
                    raise AssertionError(f"{where}: untranslatable: {exc}") from exc
                assert not isinstance(expect, dict), (
                    f"{where}: expected {expect.get('error')}, got {[e.type for e in events]}"
                )
                if expect is not None:
                    got = [event.type for event in events]
                    assert got == list(expect), f"{where}: expected {expect}, translated to {got}"

        def test_translator_leaves_issued_data_alone(self) -> None:
            # translate_checked checks this too; a test of its own names the rule
            for name, fixture in load_raw_fixtures(harness.fixtures):
                raw = harness.raw_event(name, fixture)
                try:
                    events = list(harness.translator(raw))
                except UntranslatableRecord:
                    continue
                check_issued_data(events, f"fixture raw/{name}")

        def test_translation_is_deterministic(self) -> None:
            for name, fixture in load_raw_fixtures(harness.fixtures):
                raw = harness.raw_event(name, fixture)
                where = f"fixture raw/{name}"
                try:
                    first = harness.translated(raw, where)
                    second = harness.translated(raw, where)
                except UntranslatableRecord:
                    continue
                assert [(e.id, e.type, e.data) for e in first] == [
                    (e.id, e.type, e.data) for e in second
                ], f"{where}: translating twice gave different events (ids must be stable)"
                assert len({e.id for e in first}) == len(first), f"{where}: duplicate ce_id"

        # -- source ------------------------------------------------------------------------

        if polling:

            def test_read_publishes_raw_events_on_instance_topics(self) -> None:
                publisher = MemoryPublisher()
                harness.poll(publisher, MemoryCheckpoints())
                events = publisher.raw()
                assert events, "a read of the fixtures published no raw event"
                topics = {f"raw.{instance}.{entity}": entity for entity in harness.entities}
                for topic, event in events:
                    assert topic in topics, f"published to {topic}; expected one of {list(topics)}"
                    entity = topics[topic]
                    assert event.type == f"raw.{resolved.name}.{entity}", event.type
                    assert event.source == f"/connectors/{instance}", event.source
                    assert event.subject and event.partitionkey == event.subject
                    assert event.time is not None and event.time.tzinfo is not None
                    assert isinstance(event.data, dict)
                for topic, event in events:
                    where = f"record {event.subject} read from the fixtures ({topic})"
                    with suppress(UntranslatableRecord):
                        harness.translated(event, where)

            def test_resume_after_restart_neither_skips_nor_repeats(self) -> None:
                full = MemoryPublisher()
                harness.poll(full, MemoryCheckpoints(), page_size=1)
                expected = _ids(full)
                checkpoints = MemoryCheckpoints()
                first = MemoryPublisher()
                harness.poll(first, checkpoints, page_size=1, max_pages=1)
                assert checkpoints.saves, "no cursor was stored after the first page"
                second = MemoryPublisher()
                harness.poll(second, checkpoints, page_size=1)
                combined = _ids(first) + _ids(second)
                missing = sorted(set(expected) - set(combined))
                repeated = sorted({i for i in combined if combined.count(i) > 1})
                assert not missing, f"resuming from the cursor skipped {len(missing)} records"
                assert not repeated, f"resuming from the cursor repeated {len(repeated)} records"
                assert len(first.dead_letters()) + len(second.dead_letters()) == len(
                    full.dead_letters()
                ), "dead letters were skipped or repeated on resume"
                third = MemoryPublisher()
                harness.poll(third, checkpoints, page_size=1)
                assert not third.sent, (
                    f"a caught-up source published {len(third.sent)} records again"
                )

            def test_malformed_record_is_dead_lettered_and_the_source_goes_on(self) -> None:
                publisher = MemoryPublisher()
                runner = harness.poll(publisher, MemoryCheckpoints())
                topics = [topic for topic, _ in publisher.sent]
                assert "hub.dlq" in topics, (
                    "the fixtures must contain a malformed record; none reached hub.dlq"
                )
                letter = dict(publisher.dead_letters()[0].headers)
                assert letter["dlq_stage"] == dead_letter_stage(instance).encode()
                assert letter["dlq_error_class"], "the dead letter names no error class"
                assert letter["dlq_original_topic"].startswith(f"raw.{instance}.".encode())
                first_dlq = topics.index("hub.dlq")
                assert any(t.startswith("raw.") for t in topics[first_dlq + 1 :]), (
                    "no record was published after the malformed one: the source must go on "
                    "(put the malformed fixture record before a good one)"
                )
                assert runner.status.dead_letters == len(publisher.dead_letters())

            def test_ids_are_stable_across_reads(self) -> None:
                once, twice = MemoryPublisher(), MemoryPublisher()
                harness.poll(once, MemoryCheckpoints())
                harness.poll(twice, MemoryCheckpoints())
                assert _ids(once) == _ids(twice), "reading the same records twice changed ce_id"

        if webhook:

            def test_webhook_deliveries_publish_and_deduplicate(self) -> None:
                _check_webhooks(harness)

    ConnectorContract.__name__ = f"Test{_camel(resolved.name)}Contract"
    ConnectorContract.__qualname__ = ConnectorContract.__name__
    return ConnectorContract


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _check_webhooks(harness: _Harness) -> None:
    folder = harness.fixtures / "webhooks"
    deliveries = [(p.name, orjson.loads(p.read_bytes())) for p in sorted(folder.glob("*.json"))]
    assert deliveries, f"no webhooks/*.json fixtures in {harness.fixtures}"
    publisher = MemoryPublisher()
    runner = harness.runner(publisher, MemoryCheckpoints())
    source = runner.source
    assert isinstance(source, WebhookSource)
    runner.set_state("running")
    runner.accepting_webhooks = True
    malformed = 0
    for name, delivery in deliveries:
        body = delivery.get("body_text")
        body_bytes = body.encode() if isinstance(body, str) else orjson.dumps(delivery["body"])
        headers = {k.lower(): str(v) for k, v in delivery.get("headers", {}).items()}
        stamp = str(int(time.time()))
        if source.signature.timestamp_header:
            headers[source.signature.timestamp_header.lower()] = stamp
        path = delivery.get("path", f"/v1/webhooks/{harness.instance}")
        headers[source.signature.header.lower()] = source.signature.sign(
            source.secret(), "POST", path, body_bytes, stamp
        )
        source.signature.verify(source.secret(), "POST", path, body_bytes, headers)
        try:
            source.signature.verify(b"not-the-secret", "POST", path, body_bytes, headers)
        except SignatureError:
            pass
        else:
            raise AssertionError(f"fixture webhooks/{name}: accepted with a wrong secret")

        async def accept(body: bytes = body_bytes, hdrs: dict[str, str] = headers) -> int:
            delivery_id = source.delivery_id(hdrs, body)
            return await runner.accept_webhook(body, hdrs, delivery_id)

        try:
            count = asyncio.run(accept())
        except ConnectorError as exc:
            assert delivery.get("malformed"), f"fixture webhooks/{name}: rejected: {exc}"
            malformed += 1
            continue
        assert not delivery.get("malformed"), f"fixture webhooks/{name}: malformed but accepted"
        assert count > 0, f"fixture webhooks/{name}: no raw events"
        first_ids = [event.id for _, event in publisher.raw()[-count:]]
        assert asyncio.run(accept()) == count
        again = [event.id for _, event in publisher.raw()[-count:]]
        assert again == first_ids, (
            f"fixture webhooks/{name}: a redelivery got new ce_ids; derive the revision from "
            "the delivery id so downstream de-duplicates it"
        )
    assert malformed, "the webhooks/ fixtures must contain one delivery marked malformed"
    for topic, event in publisher.raw():
        assert topic.startswith(f"raw.{harness.instance}."), topic
        with suppress(UntranslatableRecord):
            harness.translated(event, f"webhook record {event.subject}")


__all__ = [
    "check_issued_data",
    "connector_contract_tests",
    "load_raw_fixtures",
    "raw_fixture_event",
    "translate_checked",
]

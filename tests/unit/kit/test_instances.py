"""Per-instance connector types: entities and translators that depend on an instance's settings.

A type like ``sqltable`` has one entity per configured table and translates with the
instance's column mapping. ``ConnectorType.entities_for`` and ``translator_factory`` make
that first-class: raw topics, the runner, the contract suite, ``hub connector`` and the
translator service all ask the instance, never a fixed list.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from connectors.kit import (
    BadRecord,
    ConnectorSettings,
    ConnectorType,
    PollingSource,
    Record,
    UntranslatableRecord,
)
from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.config import ConnectorInstance, raw_streams
from connectors.kit.registry import InstanceTranslators, Translator, get_type, translator_for
from connectors.kit.runner import InstanceRunner
from connectors.kit.source import build_raw_event
from connectors.testing import MemoryPublisher, raw_fixture_event
from connectors.testing.contract import connector_contract_tests
from hub.commands.ops import topics_document
from hub.config import HubConfig
from schemas import Envelope
from tests.unit.kit.sources import SCRIPTED, T0


class TableSettings(ConnectorSettings):
    tables: list[str]
    label: str = "rows"


class TableSource(PollingSource[TableSettings]):
    """One stream per configured table; no entities of its own."""

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        for n in range(int(cursor or 0) + 1, 3):
            yield Record(
                id=f"{stream}-{n}",
                revision="1",
                time=T0 + timedelta(minutes=n),
                data={"n": n},
                cursor=str(n),
            )


def table_entities(settings: TableSettings) -> tuple[str, ...]:
    return tuple(settings.tables)


def table_translator(settings: TableSettings) -> Translator:
    def translate(raw: Envelope) -> Sequence[Envelope]:
        raise UntranslatableRecord(f"{settings.label}: {raw.type} has no canonical form")

    return translate


TABLES = ConnectorType(
    name="tables",
    settings_model=TableSettings,
    source=TableSource,
    entities_for=table_entities,
    translator_factory=table_translator,
)
TYPES = {"tables": TABLES, "scripted": SCRIPTED}


def _raw(instance: str, entity: str, type_name: str = "tables") -> Envelope:
    record = Record(id="1", revision="1", time=T0, data={})
    return build_raw_event(instance, type_name, entity, record).envelope


def test_a_type_declares_entities_or_entities_for_and_translate_or_a_factory() -> None:
    with pytest.raises(ValueError, match="no entities"):
        ConnectorType(name="x", settings_model=TableSettings, source=TableSource)
    with pytest.raises(ValueError, match="no translate"):
        ConnectorType(
            name="x", settings_model=TableSettings, source=TableSource, entities_for=table_entities
        )
    assert TABLES.entities == ()
    settings = TableSettings(tables=["orders", "refunds"])
    assert TABLES.entities_of(settings) == ("orders", "refunds")
    assert SCRIPTED.entities_of(settings) == ("item",)
    assert TABLES.per_instance_entities
    assert TABLES.per_instance_translator
    assert not SCRIPTED.per_instance_translator


def test_raw_streams_are_the_entities_of_each_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.kit.registry.connector_types", lambda: TYPES)
    connectors = {
        "erp_a": ConnectorInstance(type="tables", settings={"tables": ["orders", "refunds"]}),
        "erp_b": ConnectorInstance(type="tables", settings={"tables": ["stock"]}),
        "shop": ConnectorInstance(type="scripted"),
    }
    assert raw_streams(connectors) == [
        ("erp_a", "orders"),
        ("erp_a", "refunds"),
        ("erp_b", "stock"),
        ("shop", "item"),
    ]


def test_hub_ops_topics_lists_the_raw_topics_of_configured_instances() -> None:
    config = HubConfig.model_validate(
        {
            "connectors": {
                "erp": {
                    "type": "sqltable",
                    "url": "sqlite:///erp.db",
                    "tables": {
                        "clients": {
                            "table": "clients",
                            "id_column": "id",
                            "timestamp_column": "updated_at",
                            "mapping": {"kind": "customer", "name": "name"},
                        }
                    },
                }
            }
        }
    )
    names = {topic["name"] for topic in topics_document(config)["topics"]}
    assert "raw.erp.clients" in names
    assert not any(name.startswith("raw.erp.") and name != "raw.erp.clients" for name in names)
    assert not any(t["name"].startswith("raw.erp.") for t in topics_document()["topics"])


async def test_the_runner_takes_records_of_the_instance_entities() -> None:
    publisher = MemoryPublisher()
    r = InstanceRunner(
        "erp",
        TABLES,
        TableSettings(tables=["orders", "refunds"], page_size=10),
        publisher=publisher,
        checkpoints=MemoryCheckpoints(),
    )
    assert r.source.context.entities == ("orders", "refunds")
    assert isinstance(r.source, PollingSource)
    assert r.source.streams() == ("orders", "refunds")
    await r.poll_once()
    assert [topic for topic, _ in publisher.raw()] == [
        "raw.erp.orders",
        "raw.erp.orders",
        "raw.erp.refunds",
        "raw.erp.refunds",
    ]
    assert r.status.state == "starting", "no record was refused"


def test_instance_translators_build_one_translator_per_configured_instance() -> None:
    built: list[str] = []

    def factory(settings: TableSettings) -> Translator:
        built.append(settings.label)
        return table_translator(settings)

    counting = ConnectorType(
        name="tables",
        settings_model=TableSettings,
        source=TableSource,
        entities_for=table_entities,
        translator_factory=factory,
    )
    lookup = InstanceTranslators(
        {
            "erp_a": ConnectorInstance(type="tables", settings={"tables": ["o"], "label": "A"}),
            "erp_b": ConnectorInstance(type="tables", settings={"tables": ["o"], "label": "B"}),
            "shop": ConnectorInstance(type="scripted"),
        },
        types={"tables": counting, "scripted": SCRIPTED},
    )
    translate = lookup("tables")
    with pytest.raises(UntranslatableRecord, match=r"^A: raw\.tables\.o"):
        translate(_raw("erp_a", "o"))
    with pytest.raises(UntranslatableRecord, match=r"^B: "):
        translate(_raw("erp_b", "o"))
    with pytest.raises(UntranslatableRecord, match=r"^A: "):
        lookup.for_event(_raw("erp_a", "o"))(_raw("erp_a", "o"))
    assert built == ["A", "B"], "built once per instance, then kept"
    for stranger in ("erp_c", "shop"):  # not configured, or configured with another type
        with pytest.raises(UntranslatableRecord, match=f"named '{stranger}' is configured"):
            translate(_raw(stranger, "o"))
    assert lookup("scripted") is SCRIPTED.translate, "settings-free types are shared"
    assert lookup.for_instance("scripted", "anyone") is SCRIPTED.translate


def test_translator_for_still_serves_settings_free_types_and_names_the_others() -> None:
    assert translator_for("jsonl") is get_type("jsonl").translate
    with pytest.raises(UntranslatableRecord, match="translates with its instance's settings"):
        translator_for("sqltable")(_raw("erp", "orders", "sqltable"))


def test_the_contract_suite_checks_fixtures_against_the_instance_entities(
    tmp_path: Path,
) -> None:
    fixture = {"entity": "refunds", "id": "1", "time": T0.isoformat(), "data": {}}
    entities = TABLES.entities_of(TableSettings(tables=["refunds"]))
    raw = raw_fixture_event(TABLES, "erp", "a.json", fixture, entities=entities)
    assert raw.type == "raw.tables.refunds"
    with pytest.raises(AssertionError, match="'refunds' is not one of"):
        raw_fixture_event(TABLES, "erp", "a.json", fixture, entities=("orders",))
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "refund.json").write_bytes(
        orjson.dumps({**fixture, "expect": {"error": "UntranslatableRecord"}})
    )
    suite = connector_contract_tests(
        TABLES, tmp_path, {"tables": ["refunds"], "label": "per-instance"}, instance="erp"
    )()
    suite.test_every_fixture_translates_or_names_its_error()
    suite.test_read_publishes_raw_events_on_instance_topics()


def test_hub_connector_list_and_describe_show_per_instance_entities(tmp_path: Path) -> None:
    from hub.commands.connector import app  # noqa: PLC0415 - typer app

    config = tmp_path / "hub.yaml"
    config.write_text(
        orjson.dumps(
            {
                "connectors": {
                    "erp": {
                        "type": "sqltable",
                        "url": "sqlite:///erp.db",
                        "tables": {
                            name: {
                                "table": name,
                                "id_column": "id",
                                "timestamp_column": "updated_at",
                                "mapping": {"kind": "customer", "name": "name"},
                            }
                            for name in ("clients", "suppliers")
                        },
                    }
                }
            }
        ).decode(),
        encoding="utf-8",
    )
    env = {"HUB_CONFIG": str(config), "KAFKA_BOOTSTRAP_SERVERS": ""}
    listed = CliRunner().invoke(app, ["list"], env={**os.environ, **env})
    assert listed.exit_code == 0, listed.output
    assert "entities: clients, suppliers (topics raw.erp.<entity>)" in listed.output
    described = CliRunner().invoke(app, ["describe", "sqltable"])
    assert described.exit_code == 0, described.output
    assert "entities: per instance" in described.output
    assert "translator: per instance" in described.output

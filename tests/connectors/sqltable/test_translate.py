"""The sqltable translator and settings: pure functions, tested from the recorded rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from connectors.kit.errors import UntranslatableRecord
from connectors.kit.registry import InstanceTranslators, translator_for
from connectors.sqltable import CONNECTOR
from connectors.sqltable.demo import erp_tables, example_tables
from connectors.sqltable.settings import SqlTableSettings, TableSettings
from connectors.sqltable.translate import check_row, translator
from connectors.testing import raw_fixture_event
from hub.config import load_config
from schemas.envelope import Envelope
from schemas.registry import validate_event

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
INSTANCE = "erp_unit"


def _settings(**tables: Any) -> dict[str, Any]:
    defaults = example_tables(erp_tables(sa.MetaData(), prefix=""))
    defaults.update(tables)
    return {"url": "postgresql://reader@db:5432/erp", "tables": defaults}


SETTINGS = SqlTableSettings.model_validate(_settings())
translate = translator(SETTINGS)


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads((FIXTURES / f"{name}.json").read_bytes())
    return loaded


def raw(name: str, instance: str = INSTANCE, **changes: Any) -> Envelope:
    content = fixture(name)
    content["data"] = {**content["data"], **changes}
    return raw_fixture_event(
        CONNECTOR, instance, name, content, entities=CONNECTOR.entities_of(SETTINGS)
    )


def events(name: str, **changes: Any) -> list[Envelope]:
    out = list(translate(raw(name, **changes)))
    for event in out:
        validate_event(event)
    return out


def test_customer_identity_evidence_is_normalised() -> None:
    (created,) = events("customer_created")
    data = created.data
    assert data["customer_ref"] == {"system": INSTANCE, "id": "7"}
    assert data["customer_id"] is None
    assert data["emails"] == ["info@muster.de"]
    assert data["domain"] == "muster.de"
    assert data["vat_id"] == "DE123456789"
    assert data["external_ids"] == {"erp_customer_number": "10042"}
    assert data["addresses"][0]["country"] == "DE"
    assert created.partitionkey == f"{INSTANCE}:7"


def test_customer_update_keeps_the_created_event_id_and_drops_unusable_values() -> None:
    first = events("customer_created")
    later = events("customer_updated")
    assert [e.type for e in later] == ["customer.created", "customer.updated"]
    assert later[0].id == first[0].id  # the creation is the same event, whatever came after
    updated = later[1].data
    assert updated["phones"] == []  # "n/a" is no phone number
    assert updated["emails"] == ["einkauf@muster.de"]
    assert updated["updated_at"] == "2026-11-22T14:30:00.250000Z"


def test_order_transitions_have_ids_independent_of_later_revisions() -> None:
    placed = events("order_open")
    confirmed = events("order_confirmed")
    assert [e.type for e in confirmed] == ["order.placed", "order.confirmed"]
    assert confirmed[0].id == placed[0].id
    assert confirmed[0].data == placed[0].data
    order = confirmed[0].data
    assert order["order_id"] == "SO041"
    assert order["order_number"] == "SO041"
    assert [line["sku"] for line in order["lines"]] == ["CHAIR-OAK", "TABLE-OAK"]
    assert Decimal(order["lines"][0]["line_total"]["amount"]) == Decimal("240")
    assert Decimal(order["total"]["amount"]) == Decimal("714.60")
    assert confirmed[1].data["confirmed_at"] == "2026-11-23T10:00:00Z"
    assert all(e.partitionkey == "SO041" for e in confirmed)
    assert all(e.source == f"/connectors/{INSTANCE}" for e in confirmed)


def test_events_name_their_cause() -> None:
    cause = raw("order_confirmed")
    out = translate(cause)
    assert {e.causationid for e in out} == {cause.id}
    assert {e.correlationid for e in out} == {cause.id}


def test_unlisted_status_and_bad_amount_are_untranslatable_with_the_reason() -> None:
    with pytest.raises(UntranslatableRecord, match=r"'status' = 'on_hold' is not listed"):
        translate(raw("order_unknown_status"))
    with pytest.raises(UntranslatableRecord, match=r"'amount' = '12,50 EUR' is not a number"):
        translate(raw("payment_amount_not_a_number"))


def test_an_order_to_place_needs_lines() -> None:
    with pytest.raises(UntranslatableRecord, match="has no lines"):
        translate(raw("order_open", lines=[]))


def test_a_line_without_total_is_priced_and_percent_tax_rates_are_fractions() -> None:
    spec = SETTINGS.tables["orders"].model_dump()
    spec["mapping"]["lines"]["tax_rate"] = "vat"
    translate = translator(SqlTableSettings.model_validate(_settings(orders=spec)))
    lines = [
        {"id": 1, "order_id": 41, "pos": 1, "sku": "A", "qty": "3", "price": "2.50", "vat": 19}
    ]
    (placed,) = translate(raw("order_open", instance="erp_vat", lines=lines))
    (line,) = placed.data["lines"]
    assert Decimal(line["line_total"]["amount"]) == Decimal("7.50")
    assert Decimal(line["tax_rate"]) == Decimal("0.19")


def test_order_key_references_become_instance_scoped_order_ids() -> None:
    spec = SETTINGS.tables["payments"].model_dump()
    spec["mapping"].pop("order_number")
    spec["mapping"]["order_key"] = "order_ref"
    translate = translator(SqlTableSettings.model_validate(_settings(payments=spec)))
    (paid,) = translate(raw("payment_received", instance="erp_keys", order_ref=41))
    assert paid.data["order_id"] == "erp_keys:41"
    assert paid.data["method"] == "bank_transfer"
    assert paid.data["invoice_id"] == "erp_keys:RE-2026-0042"


def test_shipments_emit_what_happened_so_far() -> None:
    assert [e.type for e in events("shipment_not_yet")] == []
    dispatched = events("shipment_dispatched")
    both = events("shipment_delivered")
    assert [e.type for e in both] == ["shipment.dispatched", "shipment.delivered"]
    assert both[0].id == dispatched[0].id
    assert both[1].data["carrier"] == "DHL"
    assert both[1].data["shipment_id"] == f"{INSTANCE}:17"


def test_an_entity_without_a_table_is_untranslatable() -> None:
    content = fixture("payment_received")
    content["entity"] = "customers"
    other = raw_fixture_event(CONNECTOR, INSTANCE, "x", content, entities=("customers",))
    wrong_entity = other.model_copy(update={"type": "raw.sqltable.refunds"})
    with pytest.raises(UntranslatableRecord, match="refunds"):
        translate(wrong_entity)


def test_the_translator_service_builds_each_instance_translator_from_hub_yaml(
    tmp_path: Path,
) -> None:
    vat = SETTINGS.tables["orders"].model_dump()
    vat["mapping"]["lines"]["tax_rate"] = "vat"
    config = tmp_path / "hub.yaml"
    config.write_text(
        orjson.dumps(
            {
                "connectors": {
                    "erp_from_file": {"type": "sqltable", **_settings()},
                    "erp_vat_file": {"type": "sqltable", **_settings(orders=vat)},
                }
            }
        ).decode(),  # JSON is YAML
        encoding="utf-8",
    )
    lookup = InstanceTranslators(load_config(config).connectors)
    (paid,) = lookup("sqltable")(raw("payment_received", instance="erp_from_file"))
    assert paid.data["order_id"] == "SO041"
    lines = [
        {"id": 1, "order_id": 41, "pos": 1, "sku": "A", "qty": "3", "price": "2.50", "vat": 19}
    ]
    (placed,) = lookup("sqltable")(raw("order_open", instance="erp_vat_file", lines=lines))
    assert Decimal(placed.data["lines"][0]["tax_rate"]) == Decimal("0.19")
    with pytest.raises(UntranslatableRecord, match="no_such_erp"):
        lookup("sqltable")(raw("payment_received", instance="no_such_erp"))
    with pytest.raises(UntranslatableRecord, match="no_such_erp"):
        translator_for("sqltable")(raw("payment_received", instance="no_such_erp"))


def test_check_row_names_bad_numbers_in_lines_too() -> None:
    table = SETTINGS.tables["orders"]
    data = fixture("order_open")["data"]
    assert check_row(data, table, "orders 41") is None
    data["lines"][1]["qty"] = "two"
    problem = check_row(data, table, "orders 41")
    assert problem is not None
    assert "line 102" in problem
    assert "'qty' = 'two'" in problem


def test_settings_report_every_problem_at_once() -> None:
    bad: dict[str, Any] = {
        "url": "postgresql://reader:secret@db/erp",
        "timezone": "Mars/Olympus",
        "tables": {
            "Orders": {
                "table": "orders; drop table x",
                "id_column": "id",
                "timestamp_column": "updated_at",
                "mapping": {
                    "kind": "payment",
                    "received_at": "paid_at",
                    "amount": "amount",
                    "order_number": "order_no",
                    "order_key": "order_id",
                },
            }
        },
    }
    with pytest.raises(ValidationError) as info:
        SqlTableSettings.model_validate(bad)
    text = str(info.value)
    for expected in (
        "password",
        "Mars/Olympus",
        "tables.Orders.[key]",
        "is not a table name",
        "exactly one of order_number and order_key",
        "currency",
    ):
        assert expected in text, expected
    assert "secret" not in repr(SqlTableSettings.model_validate(_settings()))


def test_a_table_accepts_schema_qualified_names_and_views() -> None:
    spec = TableSettings.model_validate(
        {**_settings()["tables"]["payments"], "table": "erp.v_payments"}
    )
    assert spec.table == "erp.v_payments"


def test_the_example_in_the_shipped_hub_yaml_is_valid() -> None:
    from hub.config import parse_config  # noqa: PLC0415

    lines = (Path(__file__).parents[3] / "hub.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("#   erp:")))
    end = start + 1
    while end < len(lines) and lines[end].startswith("#     "):
        end += 1
    text = "connectors:\n" + "\n".join(line[2:] for line in lines[start:end]) + "\n"
    config = parse_config(text, env={"ERP_DB_PASSWORD": "s3cret"})
    settings = CONNECTOR.parse_settings(config.connectors["erp"].settings)
    assert isinstance(settings, SqlTableSettings)
    assert list(settings.tables) == ["customers", "orders", "payments"]


@pytest.mark.parametrize("position", ["1e30", 1e300, "9" * 400, 0, -3])
def test_a_line_position_that_is_no_line_number_is_untranslatable(position: object) -> None:
    """A huge position would become a ``line_no`` no JSON encoder takes (the stage would
    crash encoding it); it is dead-lettered with the column's name instead."""
    lines = [{"id": 1, "order_id": 41, "pos": position, "sku": "A", "qty": "3", "price": "2.50"}]
    with pytest.raises(UntranslatableRecord, match=r"'pos' = .* is not a line number"):
        translate(raw("order_open", lines=lines))

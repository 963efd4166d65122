"""The compatibility gate: breaking changes fail unless the version is bumped with an upcaster.

The scenarios run on in-memory copies of real models against copies of the committed
snapshots, exactly as ``hub schemas check`` (part of ``make test``) runs on the real ones.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import orjson
import pytest
from pydantic import create_model
from pydantic.fields import FieldInfo
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.commands import schemas as schemas_commands
from schemas import CanonicalModel, Classification, OrderPlaced, TicketOpened, classified
from schemas.base import Quantity
from schemas.compat import (
    SNAPSHOT_DIR,
    breaking_changes,
    check,
    make_snapshot,
    snapshot_path,
    write_snapshots,
)
from schemas.parts import Money, Part
from schemas.registry import REGISTRY, Registry

BUMP = "(bump the version and add an upcaster)"


def variant(
    base: type[CanonicalModel],
    *,
    version: int | None = None,
    drop: tuple[str, ...] = (),
    fields: dict[str, tuple[Any, FieldInfo]] | None = None,
    example: dict[str, Any] | None = None,
) -> type[CanonicalModel]:
    """A scratch copy of ``base``: some fields dropped or redefined, maybe a new version."""
    definitions: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in base.model_fields.items()
        if name not in drop and name not in (fields or {})
    }
    definitions.update(fields or {})
    model = create_model(
        base.__name__, __base__=CanonicalModel, __doc__=base.__doc__, **definitions
    )
    model.event_type = base.event_type
    model.version = version or base.version
    data = example
    if data is None:
        data = {k: v for k, v in base.example().model_dump(mode="json").items() if k not in drop}

    def make_example(cls: type[CanonicalModel]) -> CanonicalModel:
        return cls.model_validate_json(orjson.dumps(data))

    model.example = classmethod(make_example)  # type: ignore[method-assign,assignment]
    return model


@pytest.fixture
def snapshots(tmp_path: Path) -> Path:
    """A copy of the committed snapshots of order.placed and ticket.opened."""
    for event_type in ("order.placed", "ticket.opened"):
        shutil.copytree(SNAPSHOT_DIR / event_type, tmp_path / event_type)
    return tmp_path


def registry_with(*models: type[CanonicalModel]) -> Registry:
    registry = Registry()
    registry.register(TicketOpened)
    for model in models:
        registry.register(model)
    return registry


def test_committed_snapshots_match_the_models() -> None:
    report = check()
    assert report.errors == []
    assert report.changed == [], "run 'hub schemas snapshot' and commit schemas/snapshots/"
    assert report.new == [], "run 'hub schemas snapshot' and commit schemas/snapshots/"
    assert report.checked == len(list(REGISTRY.models()))


def test_unchanged_copy_passes(snapshots: Path) -> None:
    report = check(snapshots, registry_with(variant(OrderPlaced)))
    assert (report.errors, report.changed, report.new) == ([], [], [])


def test_deleting_a_field_fails_then_a_version_bump_with_upcaster_passes(snapshots: Path) -> None:
    scratch = variant(OrderPlaced, drop=("order_number",))
    report = check(snapshots, registry_with(scratch))
    assert report.errors == [f"order.placed v1: field 'order_number' removed {BUMP}"]

    # bump without an upcaster: old data could not be read
    bumped = variant(OrderPlaced, version=2, drop=("order_number",))
    report = check(snapshots, registry_with(bumped))
    assert report.errors == [
        "order.placed v1: no upcaster to v2 (data written as v1 can no longer be read)"
    ]

    # bump with an upcaster: passes, and the new version is recorded (v1 left untouched)
    registry = registry_with(bumped)

    @registry.upcaster("order.placed", 1)
    def drop_order_number(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k != "order_number"}

    report = check(snapshots, registry)
    assert report.ok, report.errors
    assert report.new == ["order.placed v2"]
    v1_before = snapshot_path(snapshots, "order.placed", 1).read_bytes()
    written = write_snapshots(snapshots, registry, compatible=False)
    assert written == [snapshot_path(snapshots, "order.placed", 2)]
    assert snapshot_path(snapshots, "order.placed", 1).read_bytes() == v1_before
    assert check(snapshots, registry).new == []


def test_an_upcaster_that_does_not_produce_valid_data_fails(snapshots: Path) -> None:
    bumped = variant(OrderPlaced, version=2, drop=("order_number",))
    registry = registry_with(bumped)
    registry.upcaster("order.placed", 1)(lambda data: data)  # forgets to drop the field
    report = check(snapshots, registry)
    assert len(report.errors) == 1
    assert "order.placed v1: recorded example does not upcast to v2" in report.errors[0]
    assert "order_number" in report.errors[0]


class LineWithoutSku(Part):
    line_no: int = classified(Classification.PUBLIC, ge=1)
    description: str | None = classified(Classification.PUBLIC, default=None)
    quantity: Quantity = classified(Classification.INTERNAL)
    unit: str = classified(Classification.PUBLIC, default="pcs")
    unit_price: Money = classified(Classification.CONFIDENTIAL)
    line_total: Money = classified(Classification.CONFIDENTIAL)
    tax_rate: Decimal | None = classified(Classification.INTERNAL, default=None)


def test_nested_field_removal_names_the_path(snapshots: Path) -> None:
    example = OrderPlaced.example().model_dump(mode="json")
    for line in example["lines"]:
        del line["sku"]
    info = classified(Classification.INTERNAL, min_length=1)
    scratch = variant(OrderPlaced, fields={"lines": (list[LineWithoutSku], info)}, example=example)
    report = check(snapshots, registry_with(scratch))
    assert report.errors == [f"order.placed v1: field 'lines[].sku' removed {BUMP}"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"fields": {"promo": (str, classified(Classification.PUBLIC))}},
            "required field 'promo' added without a default",
        ),
        (
            {"fields": {"order_number": (str, classified(Classification.PUBLIC))}},
            "field 'order_number' became required",
        ),
        (
            {"fields": {"order_number": (int | None, classified(Classification.PUBLIC))}},
            "field 'order_number' type narrowed: no longer accepts ['string']",
        ),
        (
            {
                "fields": {
                    "order_number": (
                        str | None,
                        classified(Classification.PUBLIC, default=None, max_length=10),
                    )
                }
            },
            "field 'order_number' narrowed: maxLength lowered to 10",
        ),
        (
            {
                "fields": {
                    "channel": (
                        Literal["web", "shop", "other"],
                        classified(Classification.INTERNAL, default="other"),
                    )
                }
            },
            "field 'channel' enum values removed: ['\"edi\"', '\"email\"', '\"marketplace\"', "
            "'\"phone\"', '\"sales_rep\"']",
        ),
        (
            {
                "fields": {
                    "total": (Money, classified(Classification.INTERNAL)),
                }
            },
            "field 'total' classification lowered from confidential to internal",
        ),
        (
            {
                "fields": {
                    "shipping_address": (
                        OrderPlaced.model_fields["shipping_address"].annotation,
                        classified(Classification.CONFIDENTIAL, default=None),
                    )
                }
            },
            "field 'shipping_address' no longer flagged as PII",
        ),
    ],
    ids=["required-added", "became-required", "type", "bound", "enum", "label", "pii"],
)
def test_each_breaking_rule(snapshots: Path, change: dict[str, Any], expected: str) -> None:
    example = OrderPlaced.example().model_dump(mode="json")
    example.update({"promo": "X", "order_number": "SO042"})
    if "order_number" in change["fields"] and change["fields"]["order_number"][0] is not str:
        example["order_number"] = None
    if "promo" not in change["fields"]:
        del example["promo"]
    scratch = variant(OrderPlaced, example=example, **change)
    report = check(snapshots, registry_with(scratch))
    assert any(expected in error for error in report.errors), report.errors
    assert all(error.startswith("order.placed v1: ") for error in report.errors)


def test_compatible_changes_pass_but_ask_for_a_snapshot(snapshots: Path) -> None:
    optional = {"gift_note": (str | None, classified(Classification.CONFIDENTIAL, default=None))}
    raised = {"order_id": (str, classified(Classification.INTERNAL, min_length=1))}
    scratch = variant(OrderPlaced, fields={**optional, **raised})
    registry = registry_with(scratch)
    report = check(snapshots, registry)
    assert report.errors == []
    assert report.changed == ["order.placed v1"]
    assert write_snapshots(snapshots, registry) == [snapshot_path(snapshots, "order.placed", 1)]
    assert check(snapshots, registry).changed == []


def test_a_breaking_change_is_never_recorded_over_a_released_version(snapshots: Path) -> None:
    before = snapshot_path(snapshots, "order.placed", 1).read_bytes()
    registry = registry_with(variant(OrderPlaced, drop=("order_number",)))
    assert write_snapshots(snapshots, registry) == []
    assert snapshot_path(snapshots, "order.placed", 1).read_bytes() == before


def test_a_removed_type_fails(snapshots: Path) -> None:
    report = check(snapshots, Registry())
    assert "order.placed v1: type removed (snapshots exist; keep a model)" in report.errors


def test_breaking_changes_is_symmetric_free_for_identical_snapshots() -> None:
    snap = make_snapshot(OrderPlaced)
    assert breaking_changes(snap, snap) == []


def test_cli_check_names_type_and_field(snapshots: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = registry_with(variant(OrderPlaced, drop=("order_number",)))
    monkeypatch.setattr(schemas_commands, "REGISTRY", scratch)
    result = CliRunner().invoke(cli, ["schemas", "check", "--snapshots", str(snapshots)])
    assert result.exit_code == 1
    assert f"order.placed v1: field 'order_number' removed {BUMP}" in result.output


def test_cli_check_passes_on_the_committed_snapshots() -> None:
    result = CliRunner().invoke(cli, ["schemas", "check"])
    assert result.exit_code == 0, result.output
    count = len(list(REGISTRY.models()))
    assert f"schemas compatible: {count} type versions checked" in result.output


def test_cli_check_fails_on_an_unrecorded_version_unless_asked_to_record_it(
    snapshots: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schemas_commands, "REGISTRY", registry_with(OrderPlaced, TicketOpened))
    args = ["schemas", "check", "--snapshots", str(snapshots)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    recorded = snapshots / "order.placed" / "v1.json"
    recorded.unlink()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "new: order.placed v1 has no snapshot yet" in result.output
    assert not recorded.exists()
    result = CliRunner().invoke(cli, [*args, "--update"])
    assert result.exit_code == 0, result.output
    assert recorded.exists()

"""Every field is classified where it is defined; labels are what policies decide from."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest
from pydantic import BaseModel

from schemas import CanonicalModel, Classification, OrderPlaced, Part, classified, field_labels
from schemas.base import CLASSIFICATION_KEY, PII_KEY
from schemas.registry import REGISTRY, FieldLabel, Registry, SchemaError, unlabelled_fields

ALL_MODELS = list(REGISTRY.models())


def _all_field_names(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field path, found independently of field_labels (via the JSON Schema)."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    out: set[str] = set()

    def walk(node: dict[str, object], path: str) -> None:
        for name, prop in node.get("properties", {}).items():  # type: ignore[union-attr]
            here = f"{path}{name}"
            out.add(here)
            for branch in prop.get("anyOf", [prop]):
                target, suffix = branch, ""
                if branch.get("type") == "array":
                    target, suffix = branch["items"], "[]"
                ref = target.get("$ref")
                if ref:
                    walk(defs[ref.rsplit("/", 1)[1]], f"{here}{suffix}.")

    walk(schema, prefix)
    return out


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: f"{m.event_type}-v{m.version}")
def test_every_field_of_every_model_is_labelled(model: type[CanonicalModel]) -> None:
    assert unlabelled_fields(model) == []
    labels = field_labels(model)
    assert set(labels) == _all_field_names(model)
    for path, label in labels.items():
        assert label.path == path
        assert isinstance(label.classification, Classification)


def test_an_unlabelled_field_is_found_and_refused() -> None:
    class Loose(Part):
        known: str = classified(Classification.PUBLIC)
        forgotten: str

    class Sloppy(CanonicalModel):
        event_type: ClassVar[str] = "test.sloppy"
        version: ClassVar[int] = 1
        ok: int = classified(Classification.INTERNAL)
        nested: list[Loose] = classified(Classification.INTERNAL)
        bare: str | None = None

    assert unlabelled_fields(Sloppy) == ["nested[].forgotten", "bare"]
    with pytest.raises(SchemaError, match=r"nested\[\]\.forgotten, bare"):
        field_labels(Sloppy)
    with pytest.raises(
        SchemaError, match=re.escape("test.sloppy v1: fields without a classification")
    ):
        Registry().register(Sloppy)


def test_nested_label_is_never_below_its_container() -> None:
    labels = field_labels(OrderPlaced)
    # Money.currency is public on its own, confidential inside a confidential total
    assert labels["total.currency"] == FieldLabel(
        "total.currency", Classification.CONFIDENTIAL, False
    )
    assert labels["shipping_address.country"].pii
    assert labels["lines[].sku"].classification == Classification.INTERNAL
    assert labels["lines[].unit_price.amount"].classification == Classification.CONFIDENTIAL
    assert labels["customer_ref.id"].classification == Classification.INTERNAL


def test_restricted_fields_exist_on_real_types() -> None:
    restricted = {
        (m.event_type, path)
        for m in ALL_MODELS
        for path, label in field_labels(m).items()
        if label.classification is Classification.RESTRICTED
    }
    assert ("payment.received", "payer_iban") in restricted
    assert ("customer.created", "tax_id") in restricted
    pii = [
        p for p, label in field_labels(REGISTRY.model_for("customer.created")).items() if label.pii
    ]
    assert "emails" in pii
    assert "addresses[].street" in pii


def test_labels_travel_in_the_json_schema() -> None:
    schema = OrderPlaced.model_json_schema()
    total = schema["properties"]["total"]
    assert total[CLASSIFICATION_KEY] == "confidential"
    assert total[PII_KEY] is False


def test_classification_orders_by_sensitivity() -> None:
    levels = [Classification(v) for v in ("restricted", "public", "confidential", "internal")]
    assert sorted(levels) == [
        Classification.PUBLIC,
        Classification.INTERNAL,
        Classification.CONFIDENTIAL,
        Classification.RESTRICTED,
    ]
    assert [level.rank for level in sorted(levels)] == [0, 1, 2, 3]
    assert Classification.INTERNAL < Classification.CONFIDENTIAL
    assert Classification.RESTRICTED >= Classification.RESTRICTED
    assert max(Classification.PUBLIC, Classification.INTERNAL) is Classification.INTERNAL
    assert Classification.PUBLIC == "public"
    assert {Classification.PUBLIC: 1}["public"] == 1


def test_classified_passes_field_options_through() -> None:
    class Item(Part):
        name: str = classified(Classification.PUBLIC, min_length=2, description="what")
        tags: list[str] = classified(Classification.INTERNAL, default_factory=list)

    assert Item(name="ab").tags == []
    with pytest.raises(ValueError, match="name"):
        Item(name="a")
    assert Item.model_json_schema()["properties"]["name"]["description"] == "what"

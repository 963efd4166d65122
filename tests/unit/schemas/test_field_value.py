"""``field_value`` answers as ``getattr(model, name, None)`` for every field name."""

from __future__ import annotations

from schemas.base import field_value
from schemas.registry import REGISTRY


def test_every_field_name_of_every_model_as_getattr() -> None:
    models = list(REGISTRY.models())
    names = {name for model in models for name in model.model_fields} | {"no_such_field"}
    for model in models:
        example = model.example()
        for name in sorted(names):
            assert field_value(example, name) is getattr(example, name, None), (model, name)

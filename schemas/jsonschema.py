"""JSON Schema of every canonical type and version, as published artefacts."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import orjson

from schemas.base import CanonicalModel
from schemas.envelope import dataschema_uri
from schemas.registry import REGISTRY, Registry

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_schema(model: type[CanonicalModel]) -> dict[str, Any]:
    """The model's validation JSON Schema, identified by its ``dataschema`` URI.

    Each field carries ``x-classification`` and ``x-pii``; the model's example is included
    under ``examples``.
    """
    schema = model.model_json_schema(mode="validation")
    head: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": dataschema_uri(model.event_type, model.version),
        "x-event-type": model.event_type,
        "x-version": model.version,
    }
    schema = {**head, **schema}
    with contextlib.suppress(NotImplementedError):
        schema["examples"] = [model.example().model_dump(mode="json")]
    return schema


def dumps(document: Any) -> bytes:
    """Stable, diff-friendly JSON (sorted keys, two-space indent, final newline)."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def schema_filename(event_type: str, version: int) -> str:
    return f"{event_type}/v{version}.schema.json"


def export_schemas(directory: Path, registry: Registry = REGISTRY) -> list[Path]:
    """Write ``<dir>/<type>/v<version>.schema.json`` for every registered model.

    Beside each schema, ``v<version>.example.json`` holds the model's example, so a
    validator can check the example against the schema.
    """
    written: list[Path] = []
    for model in registry.models():
        schema = event_schema(model)
        path = directory / schema_filename(model.event_type, model.version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dumps(schema))
        written.append(path)
        for example in schema.get("examples", [])[:1]:
            path.with_name(f"v{model.version}.example.json").write_bytes(dumps(example))
    return written


__all__ = ["JSON_SCHEMA_DIALECT", "dumps", "event_schema", "export_schemas", "schema_filename"]

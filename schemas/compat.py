"""Compatibility gate: current models against the committed snapshots.

A snapshot (``schemas/snapshots/<type>/v<version>.json``) records one version as it was
released: its JSON Schema, the effective label of every field and an example. ``check``
compares each registered model with the snapshot of its version and reports a breaking
change -- a field removed or renamed, a required field added, a type narrowed, an enum
value removed, a classification lowered -- unless that version is not yet released (no
snapshot) and the previous one upcasts to it. Old snapshots keep being checked: each must
still upcast to the current model, using its recorded example as the test payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from schemas.base import CanonicalModel, Classification
from schemas.jsonschema import dumps, event_schema
from schemas.registry import REGISTRY, Registry, SchemaError, field_labels

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"
_BUMP = "bump the version and add an upcaster"
_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")


def snapshot_path(directory: Path, event_type: str, version: int) -> Path:
    return directory / event_type / f"v{version}.json"


def make_snapshot(model: type[CanonicalModel]) -> dict[str, Any]:
    """What a snapshot holds for one model: schema, labels and example."""
    labels = {
        path: {"classification": label.classification.value, "pii": label.pii}
        for path, label in field_labels(model).items()
    }
    try:
        example: dict[str, Any] | None = model.example().model_dump(mode="json")
    except NotImplementedError:
        example = None
    return {
        "type": model.event_type,
        "version": model.version,
        "labels": labels,
        "example": example,
        "schema": event_schema(model),
    }


# --- a flat view of a JSON Schema -------------------------------------------------------


@dataclass
class FieldShape:
    """What the compatibility rules look at for one field path."""

    required: bool = False
    types: set[str] = field(default_factory=set)
    #: allowed values when the field is an enum (or const), else None
    enum: set[str] | None = None
    bounds: dict[str, Any] = field(default_factory=dict)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs[ref.removeprefix("#/$defs/")]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return node


def _branches(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, defs)
    for key in ("anyOf", "oneOf"):
        if key in node:
            out: list[dict[str, Any]] = []
            for branch in node[key]:
                out.extend(_branches(branch, defs))
            return out
    return [node]


def _describe(
    node: dict[str, Any], defs: dict[str, Any], path: str, shape: FieldShape, out: dict[str, Any]
) -> None:
    """Add the node's types, enum and bounds to ``shape``; recurse into objects."""
    for branch in _branches(node, defs):
        values = branch.get("enum", [branch["const"]] if "const" in branch else None)
        if values is not None:
            shape.enum = (shape.enum or set()) | {orjson.dumps(v).decode() for v in values}
        kind = branch.get("type", "any")
        kind_text = kind if isinstance(kind, str) else "|".join(sorted(kind))
        fmt = branch.get("format")
        shape.types.add(f"{kind_text}:{fmt}" if fmt else kind_text)
        for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS, "pattern", "maxDigits"):
            if key in branch:
                shape.bounds[key] = branch[key]
        if kind == "object" and "properties" in branch:
            _flatten_object(branch, defs, f"{path}.", out)
        elif kind == "object" and isinstance(branch.get("additionalProperties"), dict):
            _describe(branch["additionalProperties"], defs, f"{path}{{}}", shape, out)
        elif kind == "array" and isinstance(branch.get("items"), dict):
            item_shape = FieldShape()
            _describe(branch["items"], defs, f"{path}[]", item_shape, out)
            shape.types |= {f"[]{t}" for t in item_shape.types}
            if item_shape.enum is not None:
                shape.enum = (shape.enum or set()) | {f"[]{v}" for v in item_shape.enum}
            shape.bounds |= {f"[]{k}": v for k, v in item_shape.bounds.items()}


def _flatten_object(
    node: dict[str, Any], defs: dict[str, Any], prefix: str, out: dict[str, FieldShape]
) -> None:
    required = set(node.get("required", ()))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        shape = FieldShape(required=name in required)
        out[path] = shape
        _describe(prop, defs, path, shape, out)


def flatten(schema: dict[str, Any]) -> dict[str, FieldShape]:
    """Field path (as :func:`field_labels` writes it) -> shape, from a JSON Schema."""
    out: dict[str, FieldShape] = {}
    _flatten_object(schema, schema.get("$defs", {}), "", out)
    return out


def _parent(path: str) -> str | None:
    cut = path.rfind(".")
    if cut < 0:
        return None
    head = path[:cut]
    return head.removesuffix("[]").removesuffix("{}")


def _narrowed_bounds(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in new.items():
        bare = key.removeprefix("[]")
        before = old.get(key)
        if bare in _LOWER_BOUNDS and (before is None or value > before):
            problems.append(f"{key} raised to {value}")
        elif bare in _UPPER_BOUNDS and (before is None or value < before):
            problems.append(f"{key} lowered to {value}")
        elif bare in ("pattern", "maxDigits") and value != before:
            problems.append(f"{key} changed to {value!r}")
    return problems


def _shape_changes(path: str, before: FieldShape, after: FieldShape) -> list[str]:
    problems: list[str] = []
    if after.required and not before.required:
        problems.append(f"field '{path}' became required")
    lost = before.types - after.types
    if lost and "any" not in after.types:
        problems.append(f"field '{path}' type narrowed: no longer accepts {sorted(lost)}")
    if after.enum is not None:
        if before.enum is None:
            problems.append(f"field '{path}' narrowed to enum values {sorted(after.enum)}")
        elif gone := before.enum - after.enum:
            problems.append(f"field '{path}' enum values removed: {sorted(gone)}")
    problems.extend(
        f"field '{path}' narrowed: {p}" for p in _narrowed_bounds(before.bounds, after.bounds)
    )
    return problems


def _label_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for path in sorted(set(old) & set(new)):
        was = Classification(old[path]["classification"])
        now = Classification(new[path]["classification"])
        if now < was:
            problems.append(f"field '{path}' classification lowered from {was} to {now}")
        if old[path]["pii"] and not new[path]["pii"]:
            problems.append(f"field '{path}' no longer flagged as PII")
    return problems


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable breaking differences between two snapshots of one type."""
    old_fields, new_fields = flatten(old["schema"]), flatten(new["schema"])
    problems: list[str] = []
    removed = sorted(set(old_fields) - set(new_fields))
    for path in removed:
        parent = _parent(path)
        if parent is None or parent not in removed:
            problems.append(f"field '{path}' removed")
    for path in sorted(set(new_fields) - set(old_fields)):
        parent = _parent(path)
        if new_fields[path].required and (parent is None or parent in old_fields):
            problems.append(f"required field '{path}' added without a default")
    for path in sorted(set(old_fields) & set(new_fields)):
        problems.extend(_shape_changes(path, old_fields[path], new_fields[path]))
    problems.extend(_label_changes(old.get("labels", {}), new.get("labels", {})))
    return problems


# --- the gate ---------------------------------------------------------------------------


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    #: versions without a snapshot yet (recorded by ``hub schemas snapshot``)
    new: list[str] = field(default_factory=list)
    #: compatible changes to a released version (recorded by ``hub schemas snapshot``)
    changed: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def load_snapshots(directory: Path) -> dict[tuple[str, int], dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*/v*.json")):
        document = orjson.loads(path.read_bytes())
        found[(document["type"], int(document["version"]))] = document
    return found


def _check_upcast(
    registry: Registry, event_type: str, version: int, snapshot: dict[str, Any]
) -> str | None:
    """None if the snapshot's example upcasts to a valid current model, else the problem."""
    if snapshot.get("example") is None:
        return "the snapshot has no example to test the upcasters with"
    try:
        registry.parse_data(event_type, version, snapshot["example"])
    except SchemaError as exc:
        return str(exc)
    return None


def _check_models(
    registry: Registry,
    event_type: str,
    snapshots: dict[tuple[str, int], dict[str, Any]],
    report: CheckReport,
) -> None:
    """Each registered version against the snapshot of the same version."""
    for version in registry.versions(event_type):
        fresh = make_snapshot(registry.model_for(event_type, version))
        report.checked += 1
        old = snapshots.get((event_type, version))
        name = f"{event_type} v{version}"
        if old is None:
            report.new.append(name)
            continue
        problems = breaking_changes(old, fresh)
        report.errors.extend(f"{name}: {p} ({_BUMP})" for p in problems)
        if not problems and dumps(old) != dumps(fresh):
            report.changed.append(name)


def _check_released(
    registry: Registry,
    event_type: str,
    snapshots: dict[tuple[str, int], dict[str, Any]],
    report: CheckReport,
) -> None:
    """Every released older version must still upcast to the current model."""
    current = registry.current_version(event_type)
    for version in sorted(v for t, v in snapshots if t == event_type):
        if version > current:
            report.errors.append(
                f"{event_type} v{version}: snapshot is newer than the model (v{current})"
            )
            continue
        missing = [s for s in range(version, current) if not registry.has_upcaster(event_type, s)]
        if missing:
            step = missing[0]
            report.errors.append(
                f"{event_type} v{step}: no upcaster to v{step + 1} "
                f"(data written as v{version} can no longer be read)"
            )
        elif version < current:
            problem = _check_upcast(registry, event_type, version, snapshots[(event_type, version)])
            if problem is not None:
                report.errors.append(
                    f"{event_type} v{version}: recorded example does not upcast to "
                    f"v{current}: {problem}"
                )


def check(directory: Path = SNAPSHOT_DIR, registry: Registry = REGISTRY) -> CheckReport:
    """Compare every registered model and every snapshot; see the module docstring."""
    report = CheckReport()
    snapshots = load_snapshots(directory)
    known = set(registry.event_types())
    for event_type, version in sorted(snapshots):
        if event_type not in known:
            report.errors.append(
                f"{event_type} v{version}: type removed (snapshots exist; keep a model)"
            )
    for event_type in sorted(known):
        _check_models(registry, event_type, snapshots, report)
        _check_released(registry, event_type, snapshots, report)
    return report


def write_snapshots(
    directory: Path = SNAPSHOT_DIR, registry: Registry = REGISTRY, *, compatible: bool = True
) -> list[Path]:
    """Record versions that have no snapshot yet.

    An existing snapshot is rewritten only when ``compatible`` is set and the model changed
    without a breaking change (e.g. an optional field added); a breaking change is never
    recorded over a released version.
    """
    written: list[Path] = []
    for model in registry.models():
        path = snapshot_path(directory, model.event_type, model.version)
        fresh = make_snapshot(model)
        if path.exists():
            old = orjson.loads(path.read_bytes())
            if not compatible or breaking_changes(old, fresh) or dumps(old) == dumps(fresh):
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dumps(fresh))
        written.append(path)
    return written


__all__ = [
    "SNAPSHOT_DIR",
    "CheckReport",
    "FieldShape",
    "breaking_changes",
    "check",
    "flatten",
    "load_snapshots",
    "make_snapshot",
    "snapshot_path",
    "write_snapshots",
]

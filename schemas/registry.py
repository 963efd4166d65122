"""Schema registry: (type, version) -> model, upcasters, validation and field labels.

Readers never deal with old versions: :func:`parse_data` upcasts a payload written under
an older version, step by step through the registered upcasters, and validates it against
the current model. Labels (:func:`field_labels`) are read from the models' field
declarations and cached per model.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from schemas.base import CLASSIFICATION_KEY, PII_KEY, CanonicalModel, Classification
from schemas.envelope import Envelope

M = TypeVar("M", bound=type[CanonicalModel])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_DATASCHEMA = re.compile(r"^urn:handoff:schema:(?P<type>[a-z][a-z0-9_.-]*):v(?P<version>[1-9]\d*)$")


class SchemaError(ValueError):
    """Data that does not fit its schema, or a registry misuse; the message names the field."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        #: ``(field path, problem)`` pairs, e.g. ``("lines.0.quantity", "Input should ...")``.
        self.errors: list[tuple[str, str]] = errors or []


@dataclass(frozen=True, slots=True)
class FieldLabel:
    """The effective label of one field path (a nested field is at least its parent's)."""

    path: str
    classification: Classification
    pii: bool


def parse_dataschema(uri: str) -> tuple[str, int]:
    """``urn:handoff:schema:<type>:v<version>`` -> ``(type, version)``."""
    match = _DATASCHEMA.match(uri)
    if match is None:
        raise SchemaError(f"dataschema {uri!r} is not urn:handoff:schema:<type>:v<version>")
    return match["type"], int(match["version"])


def format_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic errors as ``(dotted field path, message)``."""
    return [(".".join(str(p) for p in err["loc"]) or "data", err["msg"]) for err in exc.errors()]


class Registry:
    """Models and upcasters of every canonical type; one default instance serves the hub."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[CanonicalModel]] = {}
        self._current: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    # -- registration ------------------------------------------------------------------
    def register(self, model: M) -> M:
        """Class decorator: add a model under its ``event_type`` and ``version``."""
        event_type = getattr(model, "event_type", None)
        version = getattr(model, "version", None)
        if not isinstance(event_type, str) or not isinstance(version, int) or version < 1:
            raise SchemaError(f"{model.__name__} needs ClassVars event_type: str, version >= 1")
        key = (event_type, version)
        if key in self._models and self._models[key] is not model:
            raise SchemaError(f"{event_type} v{version} is already registered")
        unlabelled = unlabelled_fields(model)
        if unlabelled:
            raise SchemaError(
                f"{event_type} v{version}: fields without a classification: "
                + ", ".join(unlabelled)
            )
        self._models[key] = model
        self._current[event_type] = max(version, self._current.get(event_type, 0))
        return model

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator for ``f(data) -> data`` turning ``from_version`` into the next version."""

        def decorate(func: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters and self._upcasters[key] is not func:
                raise SchemaError(f"{event_type} v{from_version} already has an upcaster")
            self._upcasters[key] = func
            return func

        return decorate

    # -- lookup ------------------------------------------------------------------------
    def event_types(self) -> list[str]:
        return sorted(self._current)

    def current_version(self, event_type: str) -> int:
        try:
            return self._current[event_type]
        except KeyError:
            raise SchemaError(f"unknown event type {event_type!r}") from None

    def versions(self, event_type: str) -> list[int]:
        self.current_version(event_type)
        return sorted(v for t, v in self._models if t == event_type)

    def model_for(self, event_type: str, version: int | None = None) -> type[CanonicalModel]:
        if version is None:
            version = self.current_version(event_type)
        try:
            return self._models[(event_type, version)]
        except KeyError:
            self.current_version(event_type)
            raise SchemaError(f"{event_type} has no version {version}") from None

    def has_upcaster(self, event_type: str, from_version: int) -> bool:
        return (event_type, from_version) in self._upcasters

    def upcasters(self) -> Mapping[tuple[str, int], Upcaster]:
        return types.MappingProxyType(self._upcasters)

    def models(self) -> Iterator[type[CanonicalModel]]:
        """Every registered model, by type then version."""
        for key in sorted(self._models):
            yield self._models[key]

    # -- reading -----------------------------------------------------------------------
    def upcast(self, event_type: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Bring ``data`` written under ``version`` to the current version's shape."""
        current = self.current_version(event_type)
        if version > current:
            raise SchemaError(f"{event_type} v{version} is newer than this hub knows (v{current})")
        if version < 1:
            raise SchemaError(f"{event_type}: version must be >= 1, got {version}")
        for step in range(version, current):
            func = self._upcasters.get((event_type, step))
            if func is None:
                raise SchemaError(
                    f"{event_type} v{step} cannot be read: no upcaster to v{step + 1}"
                )
            try:
                data = func(data)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise SchemaError(
                    f"{event_type} v{step}: upcasting to v{step + 1} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return data

    def parse_data(
        self, event_type: str, version: int, data: dict[str, Any] | bytes
    ) -> CanonicalModel:
        """Validate a payload (JSON bytes or decoded JSON), upcast to the current model."""
        current = self.current_version(event_type)
        model = self._models[(event_type, current)]
        try:
            if version == current:
                raw = data if isinstance(data, bytes) else orjson.dumps(data)
            else:
                decoded = orjson.loads(data) if isinstance(data, bytes) else data
                if not isinstance(decoded, dict):
                    raise SchemaError(f"{event_type} v{version}: data is not a JSON object")
                raw = orjson.dumps(self.upcast(event_type, version, dict(decoded)))
            return model.model_validate_json(raw)
        except ValidationError as exc:
            errors = format_errors(exc)
            detail = "; ".join(f"{path}: {msg}" for path, msg in errors)
            raise SchemaError(f"{event_type} v{version}: {detail}", errors) from exc
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise SchemaError(f"{event_type} v{version}: data is not JSON: {exc}") from exc

    def validate_event(self, envelope: Envelope) -> CanonicalModel:
        """The event's data as its current model; the version comes from ``dataschema``."""
        if envelope.dataschema is None:
            version = self.current_version(envelope.type)
        else:
            schema_type, version = parse_dataschema(envelope.dataschema)
            if schema_type != envelope.type:
                raise SchemaError(
                    f"event type {envelope.type!r} but dataschema names {schema_type!r}"
                )
        if not isinstance(envelope.data, dict):
            raise SchemaError(f"{envelope.type} v{version}: data is not a JSON object")
        return self.parse_data(envelope.type, version, envelope.data)


# --- field labels ---------------------------------------------------------------------


def _parts_in(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """Nested models inside an annotation, with the path suffix reaching them."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield "", annotation
    elif origin is typing.Annotated:
        yield from _parts_in(args[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _parts_in(arg)
    elif origin in (list, tuple, set, frozenset) or (
        isinstance(origin, type) and origin.__name__ in ("Sequence", "AbstractSet")
    ):
        for arg in args:
            if arg is not Ellipsis:
                yield from (("[]" + s, m) for s, m in _parts_in(arg))
    elif len(args) == 2 and (
        origin is dict or (isinstance(origin, type) and origin.__name__ == "Mapping")
    ):
        yield from (("{}" + s, m) for s, m in _parts_in(args[1]))


def _walk(
    model: type[BaseModel], prefix: str, parent: FieldLabel | None
) -> Iterator[tuple[str, FieldLabel | None]]:
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        level = extra.get(CLASSIFICATION_KEY)
        label: FieldLabel | None = None
        if isinstance(level, str):
            classification = Classification(level)
            pii = bool(extra.get(PII_KEY, False))
            if parent is not None:
                classification = max(classification, parent.classification)
                pii = pii or parent.pii
            label = FieldLabel(path, classification, pii)
        yield path, label
        for suffix, part in _parts_in(info.annotation):
            yield from _walk(part, f"{path}{suffix}.", label or parent)


def unlabelled_fields(model: type[BaseModel]) -> list[str]:
    """Paths of fields (nested parts included) declared without :func:`classified`."""
    return [path for path, label in _walk(model, "", None) if label is None]


@functools.cache
def field_labels(model: type[BaseModel]) -> dict[str, FieldLabel]:
    """Every field path of a model with its effective label.

    Paths are dotted, ``[]`` marks list items and ``{}`` mapping values, e.g.
    ``"lines[].unit_price.amount"``; a container field (``"lines"``) has its own entry. A
    nested field is never less sensitive than the field holding it.
    """
    out: dict[str, FieldLabel] = {}
    missing: list[str] = []
    for path, label in _walk(model, "", None):
        if label is None:
            missing.append(path)
        else:
            out[path] = label
    if missing:
        raise SchemaError(
            f"{model.__name__}: fields without a classification: {', '.join(missing)}"
        )
    return out


#: The hub's registry; the domain modules register into it on import of :mod:`schemas`.
REGISTRY = Registry()
register = REGISTRY.register
upcaster = REGISTRY.upcaster
model_for = REGISTRY.model_for
current_version = REGISTRY.current_version
event_types = REGISTRY.event_types
parse_data = REGISTRY.parse_data
validate_event = REGISTRY.validate_event

__all__ = [
    "REGISTRY",
    "FieldLabel",
    "Registry",
    "SchemaError",
    "current_version",
    "event_types",
    "field_labels",
    "format_errors",
    "model_for",
    "parse_data",
    "parse_dataschema",
    "register",
    "unlabelled_fields",
    "upcaster",
    "validate_event",
]

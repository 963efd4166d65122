"""Canonical channels and messages for the AsyncAPI 3.0 document.

FastStream documents the channels its subscribers and publishers declare. The canonical
topics (``hub.orders``, ``hub.customers``, ``hub.support``, ``dept.*``) are written by
stages that publish raw records, so their messages are described here from the models:
one message per current canonical type, with the CloudEvents binary-mode headers, the
payload's JSON Schema (field classifications included as ``x-classification``/``x-pii``)
and the model's example.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from pydantic.json_schema import models_json_schema

from schemas.base import CanonicalModel
from schemas.envelope import EXTENSION_ATTRIBUTES, dataschema_uri
from schemas.events import canonical_event
from schemas.registry import REGISTRY, Registry

HEADERS_SCHEMA = "CloudEventHeaders"
_REF = "#/components/schemas/{model}"

#: Which canonical types travel on which hub topic (per the routing convention).
TOPIC_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "hub.orders": ("order.", "payment.", "invoice.", "shipment.", "return.", "sla."),
    "hub.customers": ("customer.", "lead.", "opportunity."),
    "hub.support": ("ticket.", "complaint.", "sla."),
}

_HUB_KEYS = {
    "hub.orders": "order id",
    "hub.customers": "golden customer id",
    "hub.support": "golden customer id (ticket id when there is no customer)",
}


def _headers_schema() -> dict[str, Any]:
    text = {"type": "string"}
    properties: dict[str, Any] = {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {**text, "description": "stable id: replaying a record yields the same id"},
        "ce_source": text,
        "ce_type": text,
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": text,
        "ce_dataschema": {
            **text,
            "description": "urn:handoff:schema:<type>:v<version>",
            "pattern": "^urn:handoff:schema:[a-z][a-z0-9_.-]*:v[1-9][0-9]*$",
        },
        **{f"ce_{name}": text for name in EXTENSION_ATTRIBUTES},
        "content-type": {"type": "string", "const": "application/json"},
    }
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary content mode",
        "properties": properties,
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"],
    }


def message_name(event_type: str, *, department: bool = False) -> str:
    """Component key of a canonical message (``order.placed``) or of its department view
    (``department_view.order.placed``)."""
    return f"department_view.{event_type}" if department else event_type


def _message(model: type[CanonicalModel]) -> dict[str, Any]:
    example = model.example()
    envelope = canonical_event(
        example,
        source="/hub/translator",
        id_parts=("example",),
        time=_example_time(example),
    )
    headers = {f"ce_{k}": v for k, v in envelope.attributes().items()}
    headers["content-type"] = envelope.datacontenttype
    return {
        "name": model.event_type,
        "title": f"{model.event_type} v{model.version}",
        "summary": (model.__doc__ or model.event_type).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": {
            "allOf": [
                {"$ref": _REF.format(model=HEADERS_SCHEMA)},
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"type": "string", "const": model.event_type},
                        "ce_dataschema": {
                            "type": "string",
                            "const": dataschema_uri(model.event_type, model.version),
                        },
                    },
                },
            ]
        },
        "payload": {"$ref": _REF.format(model=model.__name__)},
        "examples": [{"name": "example", "headers": headers, "payload": envelope.data}],
        "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": "0.5.0"}},
    }


def _department_message(model: type[CanonicalModel]) -> dict[str, Any]:
    """A canonical message as a department topic carries it: its field policy applied.

    Fields above the department's clearance are dropped, masked or hashed, so the payload
    is the canonical payload with fewer (or masked) fields, not a valid canonical payload.
    """
    canonical = _message(model)
    payload = {
        "type": "object",
        "description": (
            f"The {model.event_type} v{model.version} payload (schema "
            f"{model.__name__}) with the department's field policy applied: fields above "
            "its clearance, or personal data it may not see, are dropped, masked ('***') "
            "or replaced by a keyed hash, as the routing policy says."
        ),
        "x-canonical-schema": _REF.format(model=model.__name__),
    }
    return {
        **{k: v for k, v in canonical.items() if k != "examples"},
        "title": f"{model.event_type} v{model.version} (department view)",
        "payload": payload,
    }


def _example_time(example: CanonicalModel) -> datetime:
    """The example's first timestamp: the moment its event happened."""
    for value in example.__dict__.values():
        if isinstance(value, datetime):
            return value
    return datetime(2026, 1, 1, tzinfo=UTC)


def _types_for(topic: str, event_types: Iterable[str]) -> list[str]:
    prefixes = TOPIC_PREFIXES.get(topic)
    if prefixes is None:
        return sorted(event_types)
    return sorted(t for t in event_types if t.startswith(prefixes))


def add_canonical_channels(
    document: dict[str, Any],
    *,
    departments: Sequence[str],
    registry: Registry = REGISTRY,
    server: str | None = None,
) -> dict[str, Any]:
    """Add the canonical channels, operations and messages to an AsyncAPI 3.0 document."""
    models = [registry.model_for(t) for t in registry.event_types()]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(top.get("$defs", {}))
    schemas[HEADERS_SCHEMA] = _headers_schema()
    messages = components.setdefault("messages", {})
    for model in models:
        messages[message_name(model.event_type)] = _message(model)
        messages[message_name(model.event_type, department=True)] = _department_message(model)

    topics: dict[str, tuple[str, list[str]]] = {
        topic: (key, _types_for(topic, registry.event_types())) for topic, key in _HUB_KEYS.items()
    }
    for department in departments:
        topics[f"dept.{department}"] = ("aggregate id", sorted(registry.event_types()))

    channels = document.setdefault("channels", {})
    operations = document.setdefault("operations", {})
    for topic, (key, types) in topics.items():
        view = topic.startswith("dept.")
        description = (
            f"Canonical events the {topic.removeprefix('dept.')} department may see, its "
            "field policy applied (fields above its clearance are dropped or masked)."
            if view
            else f"Canonical events, keyed by {key}."
        )
        channel: dict[str, Any] = {
            "address": topic,
            "title": topic,
            "description": description,
            "messages": {
                t.replace(".", "_"): {
                    "$ref": f"#/components/messages/{message_name(t, department=view)}"
                }
                for t in types
            },
            "bindings": {"kafka": {"topic": topic, "bindingVersion": "0.5.0"}},
        }
        if server is not None:
            channel["servers"] = [{"$ref": f"#/servers/{server}"}]
        channels[topic] = channel
        channel_ref = f"#/channels/{_escape(topic)}"
        operations[f"publish_{topic.replace('.', '_')}"] = {
            "action": "send",
            "channel": {"$ref": channel_ref},
            "summary": f"The hub publishes {topic}",
            "messages": [{"$ref": f"{channel_ref}/messages/{t.replace('.', '_')}"} for t in types],
        }
    return document


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: sections whose keys appear as reference tokens: (path to the map, token depth)
_KEYED = (("channels",), ("operations",), ("components", "messages"), ("components", "schemas"))


def normalize_keys(document: dict[str, Any]) -> dict[str, Any]:
    """Make every channel, operation, message and schema key a plain identifier.

    FastStream names channels after the subscription, so a pattern subscription gives keys
    such as ``raw\\..+:TranslateBatch`` and percent-encoded references to them; AsyncAPI
    component keys must match ``^[A-Za-z0-9._-]+$``. Keys are rewritten with ``_`` for
    other characters and every ``$ref`` follows.
    """
    renames: dict[tuple[str, ...], dict[str, str]] = {}
    for section in _KEYED:
        node: Any = document
        for token in section:
            node = node.get(token, {}) if isinstance(node, dict) else {}
        mapping = {key: _UNSAFE.sub("_", key) for key in node}
        renames[section] = mapping
        if any(old != new for old, new in mapping.items()):
            replaced = {mapping[key]: value for key, value in node.items()}
            node.clear()
            node.update(replaced)

    def fix(ref: str) -> str:
        if not ref.startswith("#/"):
            return ref
        tokens = [_unescape(unquote(t)) for t in ref[2:].split("/")]
        for section, mapping in renames.items():
            depth = len(section)
            if tuple(tokens[:depth]) == section and len(tokens) > depth:
                tokens[depth] = mapping.get(tokens[depth], tokens[depth])
        return "#/" + "/".join(_escape(t) for t in tokens)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                node["$ref"] = fix(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return document


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _escape(key: str) -> str:
    """JSON Pointer escaping of one reference token."""
    return key.replace("~", "~0").replace("/", "~1")


__all__ = [
    "HEADERS_SCHEMA",
    "TOPIC_PREFIXES",
    "add_canonical_channels",
    "message_name",
    "normalize_keys",
]

"""The one registry of connector types: Python entry points of group ``handoff.connectors``.

A connector package declares its type in its own ``pyproject.toml``::

    [project.entry-points."handoff.connectors"]
    acme_crm = "acme_crm:CONNECTOR"

and ``pip install`` makes it known to ``hub``; nothing in this repository changes and nothing
is registered by import side effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from connectors.kit.polling import PollingSource
from connectors.kit.settings import ConnectorSettings
from connectors.kit.source import Source, SourceContext
from connectors.kit.webhook import WebhookSource
from schemas.envelope import Envelope

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "handoff.connectors"

#: A translator: one raw event in, zero or more canonical events out; pure; raises
#: :class:`~connectors.kit.errors.UntranslatableRecord` for a record it cannot map.
Translator = Callable[[Envelope], Sequence[Envelope]]


class UnknownConnectorType(LookupError):  # noqa: N818 - reads as the situation it names
    """No installed connector type has this name."""


@dataclass(frozen=True)
class ConnectorType:
    """Everything the hub needs to know about one kind of connector."""

    name: str
    settings_model: type[ConnectorSettings]
    source: type[Source[Any]]
    translate: Translator
    entities: tuple[str, ...] = ()
    description: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.entities:
            object.__setattr__(self, "entities", tuple(self.source.entities))
        if not self.entities:
            raise ValueError(f"connector type {self.name!r} declares no entities")

    @property
    def kind(self) -> str:
        """``polling``, ``webhook`` or ``polling+webhook`` (a source may be both)."""
        kinds = [
            name
            for name, base in (("polling", PollingSource), ("webhook", WebhookSource))
            if issubclass(self.source, base)
        ]
        return "+".join(kinds) or "custom"

    def parse_settings(self, values: dict[str, Any]) -> ConnectorSettings:
        """Validate an instance's settings (raises pydantic ``ValidationError``)."""
        return self.settings_model.model_validate(values)

    def build_source(self, settings: ConnectorSettings, instance: str) -> Source[Any]:
        return self.source(settings, SourceContext(instance=instance, type_name=self.name))


@cache
def connector_types() -> dict[str, ConnectorType]:
    """Every installed connector type by name (entry points group ``handoff.connectors``)."""
    found: dict[str, ConnectorType] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception:
            log.exception("connector entry point %s = %s does not load", ep.name, ep.value)
            continue
        if not isinstance(loaded, ConnectorType):
            log.error("connector entry point %s = %s is not a ConnectorType", ep.name, ep.value)
            continue
        if loaded.name != ep.name:
            log.error(
                "connector entry point %s names type %r; names must match", ep.name, loaded.name
            )
            continue
        found[ep.name] = loaded
    return dict(sorted(found.items()))


def refresh() -> None:
    """Forget the cached entry points (after installing a package in this process)."""
    connector_types.cache_clear()


def get_type(name: str) -> ConnectorType:
    types = connector_types()
    if name not in types:
        known = ", ".join(types) or "none"
        raise UnknownConnectorType(f"unknown connector type {name!r}; installed: {known}")
    return types[name]


def translator_for(type_name: str) -> Translator:
    """The translator of connector type ``type_name`` (from the raw event's ``raw.<type>.*``)."""
    return get_type(type_name).translate


__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorType",
    "Translator",
    "UnknownConnectorType",
    "connector_types",
    "get_type",
    "refresh",
    "translator_for",
]

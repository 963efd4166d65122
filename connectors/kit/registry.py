"""The one registry of connector types: Python entry points of group ``handoff.connectors``.

A connector package declares its type in its own ``pyproject.toml``::

    [project.entry-points."handoff.connectors"]
    acme_crm = "acme_crm:CONNECTOR"

and ``pip install`` makes it known to ``hub``; nothing in this repository changes and nothing
is registered by import side effect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from connectors.kit.errors import UntranslatableRecord
from connectors.kit.polling import PollingSource
from connectors.kit.settings import ConnectorSettings
from connectors.kit.source import Source, SourceContext
from connectors.kit.webhook import WebhookSource
from schemas.envelope import Envelope

if TYPE_CHECKING:
    from connectors.kit.config import ConnectorInstance

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "handoff.connectors"

#: A translator: one raw event in, zero or more canonical events out; pure; raises
#: :class:`~connectors.kit.errors.UntranslatableRecord` for a record it cannot map.
Translator = Callable[[Envelope], Sequence[Envelope]]
#: Builds the translator of one instance from its settings (the settings type is the
#: connector type's ``settings_model``).
TranslatorFactory = Callable[[Any], Translator]
#: The entities of one instance, from its settings.
EntitiesFor = Callable[[Any], Sequence[str]]
#: What the translator service asks: the translator for a connector type name.
TranslatorLookup = Callable[[str], Translator]


def source_kind(source: type[Source[Any]]) -> str:
    """``polling``, ``webhook`` or ``polling+webhook`` (a source may be both), else ``custom``."""
    kinds = [
        name
        for name, base in (("polling", PollingSource), ("webhook", WebhookSource))
        if issubclass(source, base)
    ]
    return "+".join(kinds) or "custom"


def _settings_required(type_name: str) -> Translator:
    def translate(raw: Envelope) -> Sequence[Envelope]:
        instance = raw.source.removeprefix("/connectors/")
        raise UntranslatableRecord(
            f"connector type {type_name!r} translates with its instance's settings, and no "
            f"{type_name} instance named {instance!r} is configured in hub.yaml"
        )

    translate.__qualname__ = f"settings_required[{type_name}]"
    return translate


def _no_translator(raw: Envelope) -> Sequence[Envelope]:  # pragma: no cover - placeholder
    raise NotImplementedError


class UnknownConnectorType(LookupError):  # noqa: N818 - reads as the situation it names
    """No installed connector type has this name."""


@dataclass(frozen=True)
class ConnectorType:
    """Everything the hub needs to know about one kind of connector.

    ``translate``: the settings-free translator (raw event in, canonical events out).
    ``translator_factory``: for a translator that needs the instance's settings (e.g. a
    column mapping): ``factory(settings) -> Translator``, called once per configured
    instance; ``translate`` may then be omitted (it dead-letters records of instances it
    does not know, naming why). Use :meth:`translator` / :class:`InstanceTranslators`.
    ``entities``: the entities of every instance (default: the source's ``entities``).
    ``entities_for``: for a type whose entities depend on the instance (e.g. one per
    configured table): ``entities_for(settings) -> entities``; ``entities`` may then be
    empty. Use :meth:`entities_of`.
    """

    name: str
    settings_model: type[ConnectorSettings]
    source: type[Source[Any]]
    translate: Translator = _no_translator
    entities: tuple[str, ...] = ()
    description: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    translator_factory: TranslatorFactory | None = None
    entities_for: EntitiesFor | None = None

    def __post_init__(self) -> None:
        if not self.entities:
            object.__setattr__(self, "entities", tuple(self.source.entities))
        if not self.entities and self.entities_for is None:
            raise ValueError(
                f"connector type {self.name!r} declares no entities (nor entities_for)"
            )
        if self.translate is _no_translator:
            if self.translator_factory is None:
                raise ValueError(
                    f"connector type {self.name!r} declares no translate (nor translator_factory)"
                )
            object.__setattr__(self, "translate", _settings_required(self.name))

    @property
    def kind(self) -> str:
        """``polling``, ``webhook`` or ``polling+webhook`` (a source may be both)."""
        return source_kind(self.source)

    @property
    def per_instance_entities(self) -> bool:
        """Whether each instance's settings decide its entities (``entities_for``)."""
        return self.entities_for is not None

    @property
    def per_instance_translator(self) -> bool:
        """Whether the translator needs the instance's settings (``translator_factory``)."""
        return self.translator_factory is not None

    def parse_settings(self, values: dict[str, Any]) -> ConnectorSettings:
        """Validate an instance's settings (raises pydantic ``ValidationError``)."""
        return self.settings_model.model_validate(values)

    def entities_of(self, settings: ConnectorSettings) -> tuple[str, ...]:
        """The entities of the instance configured with ``settings``: its raw topics are
        ``raw.<instance>.<entity>`` and its records may be of these entities only."""
        if self.entities_for is None:
            return self.entities
        return tuple(self.entities_for(settings))

    def translator(self, settings: ConnectorSettings) -> Translator:
        """The translator of the instance configured with ``settings``."""
        if self.translator_factory is None:
            return self.translate
        return self.translator_factory(settings)

    def build_source(self, settings: ConnectorSettings, instance: str) -> Source[Any]:
        context = SourceContext(
            instance=instance, type_name=self.name, entities=self.entities_of(settings)
        )
        return self.source(settings, context)


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
    """The settings-free translator of connector type ``type_name`` (from the raw event's
    ``raw.<type>.*``). For a type with a ``translator_factory`` it dead-letters every record
    (no settings): the translator service uses :class:`InstanceTranslators` instead."""
    return get_type(type_name).translate


def instance_of(raw: Envelope) -> str:
    """The connector instance that published a raw event (``source`` = ``/connectors/<i>``)."""
    prefix = "/connectors/"
    if not raw.source.startswith(prefix) or len(raw.source) == len(prefix):
        raise UntranslatableRecord(
            f"raw event {raw.id} has source {raw.source!r}, not /connectors/<instance>"
        )
    return raw.source.removeprefix(prefix)


class InstanceTranslators:
    """The translators of the instances configured in ``hub.yaml`` (``connectors:``).

    A settings-free type's translator is its ``translate``; a type with a
    ``translator_factory`` gets one translator per configured instance, built from that
    instance's settings on first use and kept. Calling the object with a type name gives a
    :data:`TranslatorLookup` for the translator stage: the returned translator picks the
    instance from each raw event's ``source``; a record of an instance that is not
    configured (or configured with another type) raises ``UntranslatableRecord``.
    """

    def __init__(
        self,
        connectors: Mapping[str, ConnectorInstance],
        *,
        types: Mapping[str, ConnectorType] | None = None,
    ) -> None:
        self.connectors = dict(connectors)
        self._types = types
        self._built: dict[str, Translator] = {}
        self._lock = threading.Lock()

    def _type(self, type_name: str) -> ConnectorType:
        if self._types is None:
            return get_type(type_name)
        if type_name not in self._types:
            raise UnknownConnectorType(f"unknown connector type {type_name!r}")
        return self._types[type_name]

    def for_instance(self, type_name: str, instance: str) -> Translator:
        """The translator for records of ``instance`` (of connector type ``type_name``)."""
        connector_type = self._type(type_name)
        if connector_type.translator_factory is None:
            return connector_type.translate
        with self._lock:
            built = self._built.get(instance)
            if built is not None:
                return built
            configured = self.connectors.get(instance)
            if configured is None or configured.type != type_name:
                return connector_type.translate  # dead-letters, naming the instance
            settings = connector_type.parse_settings(configured.settings)
            built = self._built[instance] = connector_type.translator(settings)
            return built

    def for_event(self, raw: Envelope) -> Translator:
        """The translator for one raw event (type from ``raw.<type>.<entity>``)."""
        parts = raw.type.split(".")
        if len(parts) < 3 or parts[0] != "raw":
            raise UntranslatableRecord(f"type {raw.type!r} is not raw.<connector type>.<entity>")
        return self.for_instance(parts[1], instance_of(raw))

    def __call__(self, type_name: str) -> Translator:
        """A :data:`TranslatorLookup`: the translator of ``type_name`` for any instance."""
        connector_type = self._type(type_name)
        if connector_type.translator_factory is None:
            return connector_type.translate

        def translate(raw: Envelope) -> Sequence[Envelope]:
            return self.for_instance(type_name, instance_of(raw))(raw)

        return translate


__all__ = [
    "ENTRY_POINT_GROUP",
    "ConnectorType",
    "EntitiesFor",
    "InstanceTranslators",
    "Translator",
    "TranslatorFactory",
    "TranslatorLookup",
    "UnknownConnectorType",
    "connector_types",
    "get_type",
    "instance_of",
    "refresh",
    "source_kind",
    "translator_for",
]

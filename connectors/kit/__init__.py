"""The connector kit: adding a source system is adding one package.

An author writes a settings model, a source (:class:`PollingSource` or
:class:`WebhookSource`) and a translator, and declares a :class:`ConnectorType` as an entry
point of group ``handoff.connectors``. The kit publishes, checkpoints, retries, dead-letters
and reports state (see docs/connectors.md).

This package imports only the author-facing, dependency-light modules; the runtime parts
(:mod:`connectors.kit.runner`, :mod:`connectors.kit.host`, :mod:`connectors.kit.routes`) are
imported where they run.
"""

from connectors.kit.errors import (
    BadRecordError,
    ConnectorError,
    FatalError,
    RetriableError,
    UntranslatableRecord,
)
from connectors.kit.polling import PollingSource
from connectors.kit.registry import ConnectorType, Translator
from connectors.kit.settings import ConnectorSettings
from connectors.kit.source import BadRecord, Record, Source
from connectors.kit.webhook import HmacSha256, WebhookSource

__all__ = [
    "BadRecord",
    "BadRecordError",
    "ConnectorError",
    "ConnectorSettings",
    "ConnectorType",
    "FatalError",
    "HmacSha256",
    "PollingSource",
    "Record",
    "RetriableError",
    "Source",
    "Translator",
    "UntranslatableRecord",
    "WebhookSource",
]

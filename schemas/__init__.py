"""Canonical model shared by every Handoff service: the event envelope and domain types."""

from schemas.envelope import (
    CONTENT_TYPE,
    EXTENSION_ATTRIBUTES,
    Envelope,
    EnvelopeError,
    KafkaRecord,
    dataschema_uri,
    stable_event_id,
)

__all__ = [
    "CONTENT_TYPE",
    "EXTENSION_ATTRIBUTES",
    "Envelope",
    "EnvelopeError",
    "KafkaRecord",
    "dataschema_uri",
    "stable_event_id",
]

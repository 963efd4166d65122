"""The connector error model: the class of an error decides what the kit does with it.

==================  ==========================================================  ==================
error               what the kit does                                           instance state
==================  ==========================================================  ==================
``RetriableError``  retries with exponential backoff and jitter, honouring      ``backing_off``
                    ``retry_after`` (HTTP 429/503 ``Retry-After``)
``FatalError``      stops the instance with the reason; other instances go on   ``failed``
``BadRecordError``  dead-letters the record (``hub.dlq``) and continues         unchanged
==================  ==========================================================  ==================

Any other exception escaping a source is treated as retriable (a bug or an unexpected
network failure should not silently stop a connector, nor crash-loop it): it is retried with
the same backoff, and logged with its traceback.
"""

from __future__ import annotations

from typing import Literal

Disposition = Literal["retry", "stop", "dead_letter"]


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose."""

    disposition: Disposition = "retry"


class RetriableError(ConnectorError):
    """A transient failure (rate limit, timeout, 5xx): try again later.

    ``retry_after`` (seconds) is the server's own hint, e.g. from ``Retry-After``; the kit
    waits at least that long.
    """

    disposition: Disposition = "retry"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    """The instance cannot go on without a human (bad credentials, missing permission,
    an endpoint that does not exist): stop it with this message as the reason."""

    disposition: Disposition = "stop"


class BadRecordError(ConnectorError):
    """One record cannot be handled; it goes to the dead-letter topic and the rest go on."""

    disposition: Disposition = "dead_letter"


class UntranslatableRecord(BadRecordError):  # noqa: N818 - the name says what the record is
    """Raised by a translator for a raw record it cannot map; the message says why."""


def disposition_of(error: BaseException) -> Disposition:
    """What the kit does with ``error`` (unknown exceptions are retried)."""
    if isinstance(error, ConnectorError):
        return error.disposition
    return "retry"


__all__ = [
    "BadRecordError",
    "ConnectorError",
    "Disposition",
    "FatalError",
    "RetriableError",
    "UntranslatableRecord",
    "disposition_of",
]

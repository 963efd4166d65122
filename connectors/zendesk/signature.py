"""Zendesk's webhook signature (``X-Zendesk-Webhook-Signature``).

https://developer.zendesk.com/documentation/webhooks/verifying/ : the signature is
``base64(HMAC-SHA256(signing secret, TIMESTAMP + BODY))`` where ``TIMESTAMP`` is the value of
``X-Zendesk-Webhook-Signature-Timestamp`` exactly as sent (Zendesk sends ISO 8601 UTC,
e.g. ``2021-03-25T05:09:27Z``, see
https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/) and
``BODY`` the raw request body (empty for requests without one).

The kit's :class:`~connectors.kit.webhook.HmacSha256` reads the timestamp header as a Unix
number; :class:`ZendeskSignature` overrides only its ``parse_timestamp`` to read ISO 8601
(and, for tools that send one, a Unix number); the kit checks it against the tolerance, then
compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from connectors.kit.webhook import HmacSha256

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
WEBHOOK_ID_HEADER = "X-Zendesk-Webhook-Id"
ACCOUNT_HEADER = "X-Zendesk-Account-Id"
DEFAULT_TOLERANCE_SECONDS = 300.0


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Zendesk-Webhook-Signature`` value for ``timestamp`` and ``body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def iso_timestamp(moment: datetime) -> str:
    """A timestamp as Zendesk writes it: ``2021-03-25T05:09:27Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 or Unix timestamp; ``None`` if neither."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return None
        return number / 1000 if number > 1e11 else number
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class ZendeskSignature(HmacSha256):
    """The kit's HMAC-SHA256 verifier with Zendesk's header names and ISO 8601 timestamps."""

    header: str = SIGNATURE_HEADER
    template: str = "{timestamp}{body}"
    encoding: Literal["hex", "base64"] = "base64"
    timestamp_header: str | None = TIMESTAMP_HEADER
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS

    def parse_timestamp(self, value: str) -> float | None:
        return parse_timestamp(value)


__all__ = [
    "ACCOUNT_HEADER",
    "DEFAULT_TOLERANCE_SECONDS",
    "INVOCATION_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_ID_HEADER",
    "ZendeskSignature",
    "iso_timestamp",
    "parse_timestamp",
    "sign",
]

"""Zendesk's webhook signature (``X-Zendesk-Webhook-Signature``).

https://developer.zendesk.com/documentation/webhooks/verifying/ : the signature is
``base64(HMAC-SHA256(signing secret, TIMESTAMP + BODY))`` where ``TIMESTAMP`` is the value of
``X-Zendesk-Webhook-Signature-Timestamp`` exactly as sent (Zendesk sends ISO 8601 UTC,
e.g. ``2021-03-25T05:09:27Z``, see
https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/) and
``BODY`` the raw request body (empty for requests without one).

The kit's :class:`~connectors.kit.webhook.HmacSha256` reads the timestamp header as a Unix
number; :class:`ZendeskSignature` reads ISO 8601 (and, for tools that send one, a Unix
number), checks it against the tolerance, then compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from connectors.kit.webhook import HmacSha256, SignatureError

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

    def verify(  # noqa: PLR0917 - mirrors the parts of a request, as the base class
        self,
        secret: bytes,
        method: str,
        uri: str,
        body: bytes,
        headers: Mapping[str, str],
        now: float | None = None,
    ) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        given = lower.get(SIGNATURE_HEADER.lower())
        if not given:
            raise SignatureError("missing", f"no {SIGNATURE_HEADER} header")
        stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
        sent = parse_timestamp(stamp)
        if sent is None:
            raise SignatureError("stale", f"{TIMESTAMP_HEADER} is missing or not a timestamp")
        current = time.time() if now is None else now
        if abs(current - sent) > self.tolerance_seconds:
            raise SignatureError(
                "stale", f"timestamp is more than {self.tolerance_seconds:g}s away from now"
            )
        expected = self.sign(secret, method, uri, body, stamp)
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise SignatureError("signature", "signature does not match")


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

"""A webhook source: the author declares the signature scheme and parses the body.

The kit mounts ``POST /v1/webhooks/{instance}`` and, for each request, in this order:

1. 404 if no webhook instance has that name;
2. 413 if ``Content-Length`` exceeds ``max_body_bytes``, or the streamed body does (the body
   is never read past the cap);
3. 401 if the signature is missing, wrong (compared in constant time) or its timestamp is
   outside the tolerance; then 400 if a declared ``Content-Type`` is not one the vendor
   sends (none declared: the body decides);
4. 202 ``{"status": "duplicate"}`` if the delivery id was already accepted recently; an
   identical delivery arriving while the first is still being published waits for its
   outcome (202 duplicate once it is stored, or it is handled afresh if the first failed);
5. 400 with a JSON error if :meth:`WebhookSource.parse` raises ``BadRecordError``;
6. 202 once every raw event is acknowledged by the broker (acks=all); 503 if publishing fails.

De-duplication: a bounded in-memory LRU of delivery ids answers vendor retries at once (a
delivery id is marked in flight before its events are published, so two identical concurrent
deliveries publish once; a failed publish unmarks it, so the vendor's retry is taken), and
because the raw event's ``ce_id`` is derived from the delivery id (the record revision), a
retry after a restart produces the same ``ce_id`` again, which downstream stages de-duplicate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import SecretStr

from connectors.kit.errors import ConnectorError
from connectors.kit.source import Record, S, Source


class SignatureError(ConnectorError):
    """A request whose signature is missing, wrong or stale; ``reason`` is the metric label."""

    def __init__(self, reason: Literal["missing", "signature", "stale"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class HmacSha256:
    """HMAC-SHA256 over a template of the request, as most vendors sign webhooks.

    ``template`` may use ``{method}``, ``{uri}`` (path and query), ``{timestamp}`` and
    ``{body}`` (the raw body bytes). Examples: GitHub signs ``{body}`` into
    ``X-Hub-Signature-256: sha256=<hex>``; Slack signs ``v0:{timestamp}:{body}`` into
    ``X-Slack-Signature: v0=<hex>`` with ``X-Slack-Request-Timestamp``.
    """

    header: str
    template: str = "{body}"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    tolerance_seconds: float = 300.0

    def payload(self, method: str, uri: str, body: bytes, timestamp: str) -> bytes:
        marker = "\x00BODY\x00"
        text = self.template.format(
            method=method.upper(), uri=uri, timestamp=timestamp, body=marker
        )
        head, _, tail = text.partition(marker)
        return head.encode() + (body if marker in text else b"") + tail.encode()

    def sign(self, secret: bytes, method: str, uri: str, body: bytes, timestamp: str = "") -> str:
        """The header value a correct sender would send (for tests and tooling)."""
        digest = hmac.new(secret, self.payload(method, uri, body, timestamp), hashlib.sha256)
        raw = digest.digest()
        encoded = raw.hex() if self.encoding == "hex" else base64.b64encode(raw).decode()
        return self.prefix + encoded

    def parse_timestamp(self, value: str) -> float | None:
        """Seconds since the epoch of the timestamp header's value; ``None`` if it is not one.

        Here a Unix number (seconds, or milliseconds when larger than 1e11); a vendor that
        sends another form (e.g. ISO 8601) overrides this.
        """
        try:
            sent = float(value)
        except ValueError:
            return None
        return sent / 1000 if sent > 1e11 else sent

    def verify(  # noqa: PLR0917 - mirrors the parts of a request
        self,
        secret: bytes,
        method: str,
        uri: str,
        body: bytes,
        headers: Mapping[str, str],
        now: float | None = None,
    ) -> None:
        """Raise :class:`SignatureError` unless the request is signed with ``secret`` in time."""
        lower = {k.lower(): v for k, v in headers.items()}
        given = lower.get(self.header.lower())
        if not given:
            raise SignatureError("missing", f"no {self.header} header")
        timestamp = ""
        if self.timestamp_header is not None:
            timestamp = lower.get(self.timestamp_header.lower(), "")
            sent = self.parse_timestamp(timestamp)
            if sent is None:
                raise SignatureError(
                    "stale", f"{self.timestamp_header} is missing or not a timestamp"
                )
            current = time.time() if now is None else now
            if abs(current - sent) > self.tolerance_seconds:
                raise SignatureError(
                    "stale", f"timestamp is more than {self.tolerance_seconds:g}s away from now"
                )
        expected = self.sign(secret, method, uri, body, timestamp)
        if not hmac.compare_digest(expected.encode(), given.strip().encode()):
            raise SignatureError("signature", "signature does not match")


class DeliveryLog:
    """A bounded LRU of accepted delivery ids (per process), and the ids in flight.

    :meth:`begin` marks a delivery whose events are being published; :meth:`add` records
    it as accepted, :meth:`abandon` forgets it (its publish failed: the vendor retries).
    Whoever meets an id that is :meth:`in_flight` awaits that future (``True``: accepted).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[bool]] = {}

    def __contains__(self, delivery_id: object) -> bool:
        if delivery_id in self._seen:
            self._seen.move_to_end(str(delivery_id))
            return True
        return False

    def in_flight(self, delivery_id: str) -> asyncio.Future[bool] | None:
        """The outcome of the identical delivery being published now, if there is one."""
        return self._in_flight.get(delivery_id)

    def begin(self, delivery_id: str) -> None:
        """Mark ``delivery_id`` as being published (call from the event loop)."""
        if delivery_id in self._in_flight:
            raise RuntimeError(f"delivery {delivery_id!r} is already in flight")
        self._in_flight[delivery_id] = asyncio.get_running_loop().create_future()

    def _settle(self, delivery_id: str, accepted: bool) -> None:
        future = self._in_flight.pop(delivery_id, None)
        if future is not None and not future.done():
            future.set_result(accepted)

    def add(self, delivery_id: str) -> None:
        """Record ``delivery_id`` as accepted (and end its flight, if any)."""
        self._seen[delivery_id] = None
        self._seen.move_to_end(delivery_id)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        self._settle(delivery_id, accepted=True)

    def abandon(self, delivery_id: str) -> None:
        """End the flight of ``delivery_id`` without accepting it (its publish failed)."""
        self._settle(delivery_id, accepted=False)


class WebhookSource(Source[S]):
    """Declare :attr:`signature`; implement :meth:`delivery_id` and :meth:`parse`.

    :attr:`signature` is the verifier the route uses for this instance: a class attribute
    when every instance signs alike, or set in ``__init__`` when it depends on the settings
    (e.g. the public URL or tolerance of the instance); subclasses of :class:`HmacSha256`
    may narrow its type. The shared secret is read from the settings field named by
    :attr:`secret_field` (a ``SecretStr``, default ``webhook_secret``).
    """

    signature: HmacSha256
    secret_field: ClassVar[str] = "webhook_secret"  # noqa: S105 - a field name, not a secret
    max_body_bytes: ClassVar[int] = 1024 * 1024

    def secret(self) -> bytes:
        value = getattr(self.settings, self.secret_field)
        if isinstance(value, SecretStr):
            return value.get_secret_value().encode()
        return str(value).encode()

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        """The vendor's id of this delivery (e.g. ``X-GitHub-Delivery``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement delivery_id")

    def parse(self, body: bytes, headers: Mapping[str, str], delivery_id: str) -> Sequence[Record]:
        """The records in this delivery (each with ``entity`` set); raise ``BadRecordError``
        for a body that is not what the vendor sends. ``revision`` defaults to the delivery id
        when left empty."""
        raise NotImplementedError(f"{type(self).__name__} must implement parse")


#: W3C Trace Context ``traceparent``: version, trace id, parent id, flags, lower-case hex.
#: Version ``ff`` and all-zero ids are invalid; a later version may append fields.
_TRACEPARENT = re.compile(
    r"(?!ff)([0-9a-f]{2})-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}(-.*)?"
)


def trace_context(headers: Mapping[str, str]) -> str | None:
    """The sender's ``traceparent`` header, if it is a valid W3C trace context (the part
    of it this version of the format defines); None otherwise. A malformed trace header
    never fails a delivery: the event just carries none, as the specification asks."""
    value = headers.get("traceparent")
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None or (match.group(1) == "00" and match.group(2)):
        return None
    return match.group(0)[:55]


__all__ = ["DeliveryLog", "HmacSha256", "SignatureError", "WebhookSource", "trace_context"]

"""HubSpot's v3 request signature (``X-HubSpot-Signature-v3``).

https://developers.hubspot.com/docs/api/webhooks/validating-requests : the signature is
``base64(HMAC-SHA256(client secret, method + uri + body + timestamp))`` with the timestamp
from ``X-HubSpot-Request-Timestamp`` (Unix milliseconds); requests older than five minutes
are rejected. The URI is the full URL HubSpot called (scheme, host, path and query), with a
fixed list of percent-escapes decoded first.

Behind a proxy the hub does not see the scheme and host HubSpot used, so the verifier takes
them from the instance's ``webhook_url`` (the target URL registered in HubSpot) and the path
and query from the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from connectors.kit.webhook import HmacSha256

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_SECONDS = 300.0

#: The escapes HubSpot's docs list as decoded before hashing, and nothing else.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def decode_uri(uri: str) -> str:
    """``uri`` with the documented escapes (either hex case) decoded, others left alone."""
    out: list[str] = []
    i = 0
    while i < len(uri):
        chunk = uri[i : i + 3]
        if chunk.startswith("%") and chunk.upper() in _DECODED:
            out.append(_DECODED[chunk.upper()])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def sign_v3(secret: str | bytes, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The ``X-HubSpot-Signature-v3`` value for a request to the full URL ``uri``."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = method.upper().encode() + decode_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (empty for a relative one)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@dataclass(frozen=True)
class HubSpotSignatureV3(HmacSha256):
    """The kit's HMAC-SHA256 verifier with HubSpot's v3 rules.

    ``origin`` (``https://hooks.example.com``) is prepended to the path and query the hub
    received; the kit checks the ``X-HubSpot-Request-Timestamp`` window (five minutes) and
    compares in constant time.
    """

    header: str = SIGNATURE_HEADER
    template: str = "{method}{uri}{body}{timestamp}"
    encoding: Literal["hex", "base64"] = "base64"
    timestamp_header: str | None = TIMESTAMP_HEADER
    tolerance_seconds: float = MAX_AGE_SECONDS
    origin: str = ""

    def payload(self, method: str, uri: str, body: bytes, timestamp: str) -> bytes:
        full = uri if origin_of(uri) else self.origin + uri
        return method.upper().encode() + decode_uri(full).encode() + body + timestamp.encode()


__all__ = [
    "MAX_AGE_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "HubSpotSignatureV3",
    "decode_uri",
    "origin_of",
    "sign_v3",
]

"""Department API tokens, configured as ``departments.<name>.token`` (a ``${ENV_VAR}``
reference) or as their SHA-256 only (``departments.<name>.token_sha256``).

A token is a random secret a department pastes into the page or sends as
``Authorization: Bearer <token>``; ``hub token new DEPARTMENT`` prints one with the line
to put into ``hub.yaml``. The comparison is constant-time over every department.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hub.config import HubConfig


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to configure for it."""
    token = secrets.token_urlsafe(32)
    return token, token_sha256(token)


def department_for(config: HubConfig, authorization: str | None) -> str | None:
    """The department whose token is in an ``Authorization: Bearer`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = token_sha256(token.strip())
    found = None
    for name, department in config.departments.items():
        expected = department.token_digest
        if expected is not None and hmac.compare_digest(expected, digest):
            found = name
    return found

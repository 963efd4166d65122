"""Every service ``hub run`` knows, in one explicit registry (no registration by import)."""

from __future__ import annotations

from hub.runtime.service import ServiceFactory
from hub.services import smoke

SERVICES: dict[str, ServiceFactory] = {
    "smoke-generator": smoke.generator,
    "smoke-passthrough": smoke.passthrough,
}

__all__ = ["SERVICES"]

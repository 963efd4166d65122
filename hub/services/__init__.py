"""Every service ``hub run`` knows, in one explicit registry (no registration by import)."""

from __future__ import annotations

from hub.runtime.service import ServiceFactory
from hub.services import connectors, router, smoke, translator

SERVICES: dict[str, ServiceFactory] = {
    "smoke-generator": smoke.generator,
    "smoke-passthrough": smoke.passthrough,
    "connectors": connectors.connectors,
    "translator": translator.translator,
    "router": router.router,
}

__all__ = ["SERVICES"]

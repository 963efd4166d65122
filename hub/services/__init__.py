"""Every service ``hub run`` knows, in one explicit registry (no registration by import)."""

from __future__ import annotations

from hub.runtime.service import ServiceFactory
from hub.services import connectors, router, smoke, timeline, translator

SERVICES: dict[str, ServiceFactory] = {
    "smoke-generator": smoke.generator,
    "smoke-passthrough": smoke.passthrough,
    "connectors": connectors.connectors,
    "translator": translator.translator,
    "router": router.router,
    "timeline": timeline.timeline,
}

__all__ = ["SERVICES"]

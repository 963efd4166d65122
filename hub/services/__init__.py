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
    "translate-and-route": translator.translate_and_route,
    "timeline": timeline.timeline,
}

#: One service doing the work of both on the same batch (one consume-produce hop): it
#: replaces them, it never runs beside them (the router would deliver the same events again).
ONE_HOP = "translate-and-route"
TWO_HOPS = ("translator", "router")

__all__ = ["ONE_HOP", "SERVICES", "TWO_HOPS"]

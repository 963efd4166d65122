"""The translator is ready only once what its first record needs is loaded."""

from __future__ import annotations

from connectors.kit.registry import connector_types
from hub.config import HubConfig
from hub.runtime.app import make_runtime
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, KafkaCluster
from hub.runtime.settings import HubSettings
from hub.services.translator import translator_service


def test_connector_types_are_imported_when_the_service_is_built() -> None:
    cluster = KafkaCluster("127.0.0.1:9", "embedded", EMBEDDED_CAPABILITIES)
    runtime = make_runtime(HubSettings(), HubConfig(), cluster)
    connector_types.cache_clear()
    try:
        translator_service(runtime)
        assert connector_types.cache_info().currsize == 1
        assert "odoo" in connector_types()
    finally:
        connector_types.cache_clear()

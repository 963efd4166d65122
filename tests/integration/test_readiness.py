"""``/readyz`` waits for state a service must load before it can serve, such as the
translator's identity map."""

from __future__ import annotations

from hub.config import HubConfig
from hub.runtime.app import make_runtime
from hub.runtime.cluster import KafkaCluster
from hub.runtime.service import Runtime, Service
from hub.runtime.settings import HubSettings
from hub.services.translator import translator_service
from hub.topics import catalog, create_topics
from tests.integration.kafka_helpers import make_topics
from tests.unit.translate.harness import eventually, running
from tests.unit.translate.table import TestTranslators


class Loading:
    """A service whose state is loaded when the test says so."""

    def __init__(self) -> None:
        self.reason: str | None = "reference data is still loading"

    def __call__(self, runtime: Runtime) -> Service:
        return Service(name="loader", not_ready=lambda: self.reason)


async def test_readyz_waits_for_a_service_that_is_still_loading(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    await create_topics(kafka_cluster, catalog(HubConfig()))
    loader = Loading()
    async with running(kafka_cluster, HubConfig(), [loader]) as host:
        ok, checks = host.ready()
        assert not ok
        assert checks["services"] == {
            "ok": False,
            "loading": {"loader": "reference data is still loading"},
        }
        assert checks["broker"]["ok"]
        loader.reason = None
        ok, checks = host.ready()
        assert ok, checks
        assert checks["services"] == {"ok": True}


async def test_the_translator_is_not_ready_until_its_identity_map_is_rebuilt(
    kafka_cluster: KafkaCluster, unique: str
) -> None:
    await create_topics(kafka_cluster, catalog(HubConfig()))
    raw = f"raw.t.{unique}"
    await make_topics(kafka_cluster, raw, partitions=1)

    def build(runtime: Runtime) -> Service:
        return translator_service(
            runtime, TestTranslators(), group_id=f"g-{unique}", raw_topics=[raw]
        )

    before = build(make_runtime(HubSettings(), HubConfig(), kafka_cluster))
    assert before.not_ready is not None
    assert before.not_ready() == "identity map is still loading"

    async with running(kafka_cluster, HubConfig(), [build]) as host:
        translator = host.services[0]
        loading = translator.not_ready
        assert loading is not None

        async def loaded() -> bool:
            return loading() is None and host.ready()[0]

        await eventually(loaded, timeout=30)

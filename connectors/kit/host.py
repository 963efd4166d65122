"""All configured connector instances of one process, built from ``hub.yaml``'s ``connectors:``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from connectors.kit.checkpoints import CheckpointStore, KafkaCheckpoints, Publisher
from connectors.kit.config import ConnectorInstance, raw_streams
from connectors.kit.polling import PollingSource
from connectors.kit.registry import ConnectorType, get_type
from connectors.kit.runner import InstanceRunner
from connectors.kit.webhook import WebhookSource
from hub.runtime.metrics import HubMetrics

log = logging.getLogger(__name__)


class ConnectorHost:
    """Builds one :class:`InstanceRunner` per configured instance and runs the polling ones."""

    def __init__(
        self,
        connectors: Mapping[str, ConnectorInstance],
        *,
        publisher: Publisher,
        checkpoints: CheckpointStore,
        metrics: HubMetrics | None = None,
        types: Mapping[str, ConnectorType] | None = None,
    ) -> None:
        self.checkpoints = checkpoints
        self.runners: dict[str, InstanceRunner] = {}
        self.enabled: dict[str, bool] = {}
        for name, instance in connectors.items():
            connector_type = types[instance.type] if types is not None else get_type(instance.type)
            settings = connector_type.parse_settings(instance.settings)
            runner = InstanceRunner(
                name,
                connector_type,
                settings,
                publisher=publisher,
                checkpoints=checkpoints,
                metrics=metrics,
            )
            self.enabled[name] = instance.enabled
            if not instance.enabled:
                runner.set_state("disabled")
            self.runners[name] = runner

    def webhook(self, name: str) -> InstanceRunner | None:
        runner = self.runners.get(name)
        if runner is None or not isinstance(runner.source, WebhookSource):
            return None
        return runner

    async def run(self) -> None:
        """Accept webhooks, load the cursors, then poll every enabled instance until cancelled."""
        enabled = [r for name, r in self.runners.items() if self.enabled[name]]
        polling = [r for r in enabled if isinstance(r.source, PollingSource)]
        for runner in enabled:
            if isinstance(runner.source, WebhookSource):
                runner.accepting_webhooks = True
                if runner not in polling:
                    runner.set_state("running")
        if not polling:
            return
        await self._load_checkpoints()
        log.info("connectors starting", extra={"connectors": [r.instance for r in polling]})
        await asyncio.gather(*(runner.run() for runner in polling))

    async def _load_checkpoints(self) -> None:
        """Read ``hub.checkpoints`` to its end, retrying while the cluster does not answer."""
        if not isinstance(self.checkpoints, KafkaCheckpoints):
            return
        delay = 1.0
        while True:
            try:
                await self.checkpoints.load()
            except Exception:
                log.exception("loading connector checkpoints failed; retrying in %.0fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            else:
                return

    def statuses(self) -> list[dict[str, Any]]:
        return [runner.status.as_json() for runner in self.runners.values()]


__all__ = ["ConnectorHost", "raw_streams"]

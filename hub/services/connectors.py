"""The ``connectors`` service: every connector instance configured in ``hub.yaml``.

Polling instances run as background tasks (cursors on ``hub.checkpoints``, raw events on
``raw.<instance>.<entity>``); webhook instances are served at ``POST /v1/webhooks/{instance}``;
``GET /v1/connectors`` lists every instance with its state. ``hub run connectors`` runs them
as one pod; ``hub up`` runs them with everything else.
"""

from __future__ import annotations

from connectors.kit.checkpoints import KafkaCheckpoints
from connectors.kit.config import raw_streams
from connectors.kit.host import ConnectorHost
from connectors.kit.routes import connector_routes
from hub.runtime.service import Runtime, Service
from hub.topics import CHECKPOINTS, DLQ, raw_topic


def connectors(runtime: Runtime) -> Service:
    configured = runtime.config.connectors
    checkpoints = KafkaCheckpoints(runtime.producer, runtime.cluster.client_options(), CHECKPOINTS)
    host = ConnectorHost(
        configured,
        publisher=runtime.producer,
        checkpoints=checkpoints,
        metrics=runtime.metrics,
    )
    topics = {raw_topic(instance, entity) for instance, entity in raw_streams(configured)}
    return Service(
        name="connectors",
        http=connector_routes(host, runtime.metrics),
        tasks=[host.run] if configured else [],
        topics=tuple(sorted(topics | {CHECKPOINTS, DLQ})),
    )

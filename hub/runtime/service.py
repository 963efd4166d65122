"""What a service is: Kafka handlers, optional HTTP routes, optional background tasks.

A service is built from the process :class:`Runtime` by a factory, so ``hub run NAME``
(one pod) and ``hub up`` (everything in one process) assemble the same pieces; only the
number of services sharing the runtime differs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from faststream.kafka import KafkaBroker, KafkaRouter

from hub.config import HubConfig
from hub.runtime.cluster import KafkaCluster
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Producer
from hub.runtime.settings import HubSettings


@dataclass(frozen=True)
class Runtime:
    """Everything a process shares between its services."""

    settings: HubSettings
    config: HubConfig
    cluster: KafkaCluster
    metrics: HubMetrics
    #: FastStream broker: the subscribers of every service in this process.
    broker: KafkaBroker
    #: Raw producer for stage outputs (exact header bytes, batched acknowledgements).
    producer: Producer


BackgroundTask = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Service:
    name: str
    #: Subscribers and publishers; included into the process broker.
    kafka: KafkaRouter = field(default_factory=KafkaRouter)
    #: HTTP routes this service exposes beside the shared health and metrics paths.
    http: APIRouter | None = None
    #: Long-running coroutines started once the broker is connected, cancelled on shutdown.
    tasks: list[BackgroundTask] = field(default_factory=list)
    #: Topics the service reads or writes; start-up waits until all of them exist.
    topics: tuple[str, ...] = ()
    #: Why the service cannot serve yet (state it must load first), or None when it can;
    #: ``/readyz`` reports not ready while any service gives a reason.
    not_ready: Callable[[], str | None] | None = None


ServiceFactory = Callable[[Runtime], Service]

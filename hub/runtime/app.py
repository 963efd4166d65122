"""Assemble services into one process: FastStream broker, FastAPI app, lifecycle.

Start-up never crashes because Kafka is away: the HTTP server comes up at once, ``/readyz``
says what is missing, and the broker is connected as soon as the cluster answers and the
catalog's topics exist. Shutdown (SIGTERM or Ctrl-C) stops background tasks, lets the
subscribers finish and commit their in-flight batch, then closes the clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import hub
from hub.config import HubConfig
from hub.runtime.cluster import KafkaCluster
from hub.runtime.errors import install_error_handlers
from hub.runtime.health import BrokerMonitor, consumer_assignments, readiness
from hub.runtime.lag import LagCollector
from hub.runtime.memory import freeze_startup_heap, pin_malloc_thresholds
from hub.runtime.metrics import PREFIX, HubMetrics
from hub.runtime.producer import Producer
from hub.runtime.service import Runtime, Service, ServiceFactory
from hub.runtime.settings import HubSettings
from hub.topics import missing_topics

log = logging.getLogger(__name__)


def make_broker(cluster: KafkaCluster, settings: HubSettings, metrics: HubMetrics) -> KafkaBroker:
    """The one FastStream broker of a process, configured from the cluster's capabilities."""
    producer = cluster.producer_options()
    return KafkaBroker(
        cluster.bootstrap_servers,
        security=cluster.settings.faststream_security(),
        allow_auto_create_topics=False,
        acks=producer["acks"],
        enable_idempotence=producer["enable_idempotence"],
        linger_ms=producer["linger_ms"],
        max_batch_size=producer["max_batch_size"],
        compression_type=producer["compression_type"],
        graceful_timeout=settings.shutdown_grace_seconds,
        middlewares=[KafkaPrometheusMiddleware(registry=metrics.registry, metrics_prefix=PREFIX)],
        logger=logging.getLogger("hub.broker"),
        # per-message "Received"/"Processed" lines would drown the log at any real rate
        log_level=logging.DEBUG,
    )


def make_runtime(settings: HubSettings, config: HubConfig, cluster: KafkaCluster) -> Runtime:
    metrics = HubMetrics.create()
    return Runtime(
        settings=settings,
        config=config,
        cluster=cluster,
        metrics=metrics,
        broker=make_broker(cluster, settings, metrics),
        producer=Producer(cluster, metrics),
    )


class ServiceHost:
    """Runs a set of services on one runtime; owns the start and stop order."""

    def __init__(self, runtime: Runtime, factories: Sequence[ServiceFactory]) -> None:
        self.runtime = runtime
        self.services: list[Service] = [factory(runtime) for factory in factories]
        for service in self.services:
            runtime.broker.include_router(service.kafka)
        self.monitor = BrokerMonitor(runtime.cluster, runtime.metrics)
        self.lag = LagCollector(runtime.metrics.consumer_lag)
        self.started = False
        self.startup_problem: str | None = "starting"
        self._starter: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        runtime.metrics.info.info(
            {"version": hub.__version__, "services": ",".join(s.name for s in self.services)}
        )

    async def _start_when_possible(self) -> None:
        """Wait for the cluster and the catalog's topics, then connect; retry on failure."""
        needed = sorted({topic for s in self.services for topic in s.topics})
        delay = 1.0
        while True:
            await self.monitor.wait_until_up()
            try:
                missing = await missing_topics(self.runtime.cluster, needed)
                if missing:
                    self.startup_problem = (
                        f"topics missing: {', '.join(missing)}; run 'hub topics create'"
                    )
                    log.error(self.startup_problem)
                else:
                    await self.runtime.producer.start()
                    await self.runtime.broker.start()
                    break
            except Exception as exc:
                self.startup_problem = f"cannot start: {type(exc).__name__}: {exc}"
                log.exception("starting services failed; retrying")
                with contextlib.suppress(Exception):
                    await self.runtime.broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
        for service in self.services:
            for task in service.tasks:
                self._tasks.append(asyncio.create_task(task(), name=f"{service.name}-task"))
        self.started, self.startup_problem = True, None
        frozen = freeze_startup_heap()
        log.info(
            "services started",
            extra={"services": [s.name for s in self.services], "frozen_objects": frozen},
        )

    async def start(self) -> None:
        pinned = pin_malloc_thresholds()
        if pinned:
            log.debug("malloc thresholds pinned", extra=pinned)
        self.monitor.start()
        await self.monitor.check()
        self._starter = asyncio.create_task(self._start_when_possible(), name="service-start")

    async def stop(self) -> None:
        if self._starter is not None and not self._starter.done():
            self._starter.cancel()
        for task in self._tasks:
            task.cancel()
        for awaitable in (self._starter, *self._tasks):
            if awaitable is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await awaitable
        if self.started:
            await self.runtime.broker.stop()
        await self.runtime.producer.stop()
        await self.monitor.stop()
        log.info("services stopped")

    def update_assignment_metrics(self) -> None:
        gauge = self.runtime.metrics.consumer_assigned_partitions
        service = ",".join(s.name for s in self.services)
        for group, count in consumer_assignments(self.runtime.broker).items():
            gauge.labels(service=service, group=group).set(count or 0)

    def ready(self) -> tuple[bool, dict[str, dict[str, Any]]]:
        ok, checks = readiness(self.monitor, self.runtime.broker, self.started)
        if self.startup_problem:
            checks["services"]["reason"] = self.startup_problem
        loading = {
            s.name: reason
            for s in self.services
            if s.not_ready is not None and (reason := s.not_ready()) is not None
        }
        if loading:
            checks["services"] = checks["services"] | {"ok": False, "loading": loading}
        return ok and not loading, checks


def build_app(host: ServiceHost) -> FastAPI:
    """The HTTP face of a process: health, metrics, and each service's routes."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await host.start()
        try:
            yield
        finally:
            await host.stop()

    app = FastAPI(
        title="Handoff",
        version=hub.__version__,
        lifespan=lifespan,
        summary="Event-driven integration hub between ERP, CRM and helpdesk systems",
    )
    install_error_handlers(app)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        ok, checks = host.ready()
        return JSONResponse(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        host.update_assignment_metrics()
        await host.lag.update(host.runtime.broker)
        return Response(
            generate_latest(host.runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    for service in host.services:
        if service.http is not None:
            app.include_router(service.http)
    return app

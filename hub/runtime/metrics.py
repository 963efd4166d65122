"""The metrics catalog: every metric Handoff exports, its labels and its meaning.

Services use only what is declared here, on a registry injected per process, so tests get a
clean registry and dashboards and alerts can be checked against this one list. FastStream's
Prometheus middleware adds the per-message basics under the same ``hub_`` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Info

PREFIX = "hub"


@dataclass(frozen=True)
class HubMetrics:
    """The metric objects of one process, bound to its registry."""

    registry: CollectorRegistry
    info: Info
    broker_up: Gauge
    consumer_assigned_partitions: Gauge
    events_out: Counter
    smoke_generated: Counter
    smoke_forwarded: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> HubMetrics:
        registry = registry or CollectorRegistry()
        return cls(
            registry=registry,
            info=Info(
                f"{PREFIX}_build",
                "Handoff version and the services in this process",
                registry=registry,
            ),
            broker_up=Gauge(
                f"{PREFIX}_broker_up",
                "1 while the Kafka cluster answers this process, else 0",
                registry=registry,
            ),
            consumer_assigned_partitions=Gauge(
                f"{PREFIX}_consumer_assigned_partitions",
                "Partitions currently assigned to a service's consumer",
                ["service", "group"],
                registry=registry,
            ),
            events_out=Counter(
                f"{PREFIX}_events_out",
                "Records handed to this process's producer for a topic",
                ["topic"],
                registry=registry,
            ),
            smoke_generated=Counter(
                f"{PREFIX}_smoke_generated_events",
                "Events published by the plumbing smoke generator",
                registry=registry,
            ),
            smoke_forwarded=Counter(
                f"{PREFIX}_smoke_forwarded_events",
                "Events forwarded by the plumbing smoke pass-through consumer",
                registry=registry,
            ),
        )

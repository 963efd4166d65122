"""The metrics catalog: every metric Handoff exports, its labels and its meaning.

Services use only what is declared here, on a registry injected per process, so tests get a
clean registry and dashboards and alerts can be checked against this one list. FastStream's
Prometheus middleware adds the per-message basics under the same ``hub_`` prefix.

Names are a public interface (dashboards and alerts query them): renaming one is a breaking
change, so a metric is added here once and kept.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, fields
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

M = TypeVar("M", Counter, Histogram)

PREFIX = "hub"

#: End-to-end latency buckets (seconds): from sub-10 ms on one machine to minutes of backlog.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
#: Time an order or ticket spends in a process stage: minutes to weeks.
STAGE_BUCKETS = (
    60.0,
    300.0,
    900.0,
    3600.0,
    4 * 3600.0,
    12 * 3600.0,
    86400.0,
    2 * 86400.0,
    4 * 86400.0,
    7 * 86400.0,
    14 * 86400.0,
    30 * 86400.0,
)
#: Every state a connector instance can be in; ``hub_connector_state`` keeps one series each.
CONNECTOR_STATES = ("starting", "running", "backing_off", "failed", "stopped", "disabled")


@dataclass(frozen=True)
class HubMetrics:
    """The metric objects of one process, bound to its registry."""

    registry: CollectorRegistry
    info: Info
    broker_up: Gauge
    consumer_assigned_partitions: Gauge
    consumer_lag: Gauge
    events_in: Counter
    events_out: Counter
    connector_events: Counter
    connector_state: Gauge
    checkpoint_age: Gauge
    webhook_rejections: Counter
    translation_failures: Counter
    routing_failures: Counter
    routed_events: Counter
    dlq_events: Counter
    end_to_end_latency: Histogram
    identity_merges: Counter
    timeline_stage_duration: Histogram
    timeline_open_items: Gauge
    sla_breaches: Counter
    smoke_generated: Counter
    smoke_forwarded: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> HubMetrics:
        r = registry or CollectorRegistry()
        p = PREFIX
        return cls(
            registry=r,
            info=Info(f"{p}_build", "Handoff version and the services in this process", registry=r),
            broker_up=Gauge(
                f"{p}_broker_up",
                "1 while the Kafka cluster answers this process, else 0",
                registry=r,
            ),
            consumer_assigned_partitions=Gauge(
                f"{p}_consumer_assigned_partitions",
                "Partitions currently assigned to a service's consumer",
                ["service", "group"],
                registry=r,
            ),
            consumer_lag=Gauge(
                f"{p}_consumer_lag",
                "Records behind the high watermark, per consumer group and partition "
                "(from the fetched high watermark, never from end_offsets)",
                ["group", "topic", "partition"],
                registry=r,
            ),
            events_in=Counter(
                f"{p}_events_in",
                "Records a stage consumed, per service and topic",
                ["service", "topic"],
                registry=r,
            ),
            events_out=Counter(
                f"{p}_events_out",
                "Records handed to this process's producer for a topic",
                ["topic"],
                registry=r,
            ),
            connector_events=Counter(
                f"{p}_connector_events",
                "Raw events a connector instance published (acknowledged by the broker)",
                ["connector", "entity"],
                registry=r,
            ),
            connector_state=Gauge(
                f"{p}_connector_state",
                "1 for the state a connector instance is in, 0 for the others; every state "
                "series stays present, so a failed connector never vanishes",
                ["connector", "state"],
                registry=r,
            ),
            checkpoint_age=Gauge(
                f"{p}_connector_checkpoint_age_seconds",
                "Seconds since a connector stream last stored its cursor",
                ["connector", "stream"],
                registry=r,
            ),
            webhook_rejections=Counter(
                f"{p}_webhook_rejections",
                "Inbound webhooks refused, by reason (signature, stale, too_large, bad_body, ...)",
                ["connector", "reason"],
                registry=r,
            ),
            translation_failures=Counter(
                f"{p}_translation_failures",
                "Raw records the translator could not translate, by connector and error class",
                ["connector", "reason"],
                registry=r,
            ),
            routing_failures=Counter(
                f"{p}_routing_failures",
                "Canonical events the router could not route, by reason",
                ["reason"],
                registry=r,
            ),
            routed_events=Counter(
                f"{p}_routed_events",
                "Events delivered to a department topic, by type",
                ["department", "type"],
                registry=r,
            ),
            dlq_events=Counter(
                f"{p}_dlq_events",
                "Dead letters written, by stage and error class",
                ["stage", "error_class"],
                registry=r,
            ),
            end_to_end_latency=Histogram(
                f"{p}_end_to_end_latency_seconds",
                "From the source event's time to its delivery on a department topic",
                ["department"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            identity_merges=Counter(
                f"{p}_identity_merges",
                "Golden customer ids merged into a survivor (customer.merged events)",
                registry=r,
            ),
            timeline_stage_duration=Histogram(
                f"{p}_timeline_stage_duration_seconds",
                "Time an item spent in a process stage, until the next stage began or a"
                " reopen took it out (once per visit)",
                ["process", "stage"],
                buckets=STAGE_BUCKETS,
                registry=r,
            ),
            timeline_open_items=Gauge(
                f"{p}_timeline_open_items",
                "Items currently waiting in a process stage, by the department that owns it",
                ["process", "stage", "owner"],
                registry=r,
            ),
            sla_breaches=Counter(
                f"{p}_sla_breaches",
                "SLA clocks that passed their deadline (sla.breached events)",
                ["process", "stage", "owner"],
                registry=r,
            ),
            smoke_generated=Counter(
                f"{p}_smoke_generated_events",
                "Events published by the plumbing smoke generator",
                registry=r,
            ),
            smoke_forwarded=Counter(
                f"{p}_smoke_forwarded_events",
                "Events forwarded by the plumbing smoke pass-through consumer",
                registry=r,
            ),
        )

    @classmethod
    def catalog(cls) -> list[str]:
        """Attribute names of every declared metric (the registry excluded)."""
        return [f.name for f in fields(cls) if f.name != "registry"]


class Children(Generic[M]):
    """The labelled children of one metric, looked up once per label values.

    ``labels()`` checks the values and takes the metric's lock on every call (about 1.4 µs
    here); the stages count every record and every delivery, so they keep the children.
    Only for metrics whose children are never removed."""

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class Tally:
    """Counts per label values in plain ints, added to a counter's children by :meth:`flush`
    (one ``inc`` per label set, once a batch).

    prometheus-client takes a lock and checks the metric on every ``inc``: 0.36 µs here,
    against 0.1 µs for a dict update. The one-hop service counts each record and each
    delivery, and with its latency observations these calls took about a tenth of its stage
    code's time. A scrape sees the counts of the batches flushed before it, so at most one
    batch late. Only for the event loop's thread, like :class:`Children`."""

    __slots__ = ("_children", "_pending")

    def __init__(self, metric: Counter) -> None:
        self._children = Children(metric)
        self._pending: dict[tuple[str, ...], int] = {}

    def add(self, *values: str) -> None:
        pending = self._pending
        pending[values] = pending.get(values, 0) + 1

    def flush(self) -> None:
        for values, amount in self._pending.items():
            self._children(*values).inc(amount)
        self._pending.clear()


class HistogramTally:
    """Observations per label values as bucket counts and a sum in plain numbers, added to
    a histogram's children by :meth:`flush`; why as for :class:`Tally` (``observe`` takes
    two locks and walks the buckets in Python: 0.72 µs here).

    prometheus-client has no call that adds many observations at once, so the flush adds to
    a child's ``_buckets`` and ``_sum``, its private values. ``prometheus_client`` is pinned
    in ``constraints.txt``, and a unit test compares a flushed tally's exposition with the
    same observations made one by one, so an upgrade that changes them fails there."""

    __slots__ = ("_bounds", "_children", "_pending")

    def __init__(self, metric: Histogram) -> None:
        self._children = Children(metric)
        #: the buckets' upper bounds, +Inf last, as ``observe`` compares them
        self._bounds: tuple[float, ...] = tuple(metric._upper_bounds)
        #: label values -> [sum, count of bucket 0, count of bucket 1, ...]
        self._pending: dict[tuple[str, ...], list[float]] = {}

    def add(self, amount: float, *values: str) -> None:
        entry = self._pending.get(values)
        if entry is None:
            entry = self._pending[values] = [0.0] * (len(self._bounds) + 1)
        entry[0] += amount
        # the first bucket whose bound is >= amount: where ``observe`` counts it
        entry[bisect_left(self._bounds, amount) + 1] += 1

    def flush(self) -> None:
        for values, entry in self._pending.items():
            child = self._children(*values)
            child._sum.inc(entry[0])
            for bucket, count in zip(child._buckets, entry[1:], strict=True):
                if count:
                    bucket.inc(count)
        self._pending.clear()


#: What FastStream's Prometheus middleware exports under ``PREFIX`` (name, type, labels,
#: meaning). Not declared here, but dashboards and alerts may query them; a test compares
#: this list with what the middleware really registers.
MIDDLEWARE_METRICS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    (
        f"{PREFIX}_received_messages",
        "counter",
        ("app_name", "broker", "handler"),
        "Messages (or batches) a subscriber received",
    ),
    (
        f"{PREFIX}_received_messages_size_bytes",
        "histogram",
        ("app_name", "broker", "handler"),
        "Size of received messages in bytes",
    ),
    (
        f"{PREFIX}_received_messages_in_process",
        "gauge",
        ("app_name", "broker", "handler"),
        "Messages a handler is working on now",
    ),
    (
        f"{PREFIX}_received_processed_messages",
        "counter",
        ("app_name", "broker", "handler", "status"),
        "Messages a handler finished, by status (acked, nacked, rejected, skipped, error)",
    ),
    (
        f"{PREFIX}_received_processed_messages_duration_seconds",
        "histogram",
        ("app_name", "broker", "handler"),
        "Time a handler took per message",
    ),
    (
        f"{PREFIX}_received_processed_messages_exceptions",
        "counter",
        ("app_name", "broker", "exception_type", "handler"),
        "Exceptions a handler raised, by type",
    ),
    (
        f"{PREFIX}_published_messages",
        "counter",
        ("app_name", "broker", "destination", "status"),
        "Messages published through FastStream publishers, by status",
    ),
    (
        f"{PREFIX}_published_messages_duration_seconds",
        "histogram",
        ("app_name", "broker", "destination"),
        "Time a FastStream publish took",
    ),
    (
        f"{PREFIX}_published_messages_exceptions",
        "counter",
        ("app_name", "broker", "destination", "exception_type"),
        "Exceptions FastStream publishers raised, by type",
    ),
)

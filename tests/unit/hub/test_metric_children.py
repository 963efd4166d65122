"""Cached labelled children count into the same series as ``labels()``."""

from __future__ import annotations

from hub.runtime.metrics import Children, HubMetrics


def test_children_are_the_labelled_series_and_count_into_them() -> None:
    metrics = HubMetrics.create()
    routed = Children(metrics.routed_events)
    latency = Children(metrics.end_to_end_latency)
    routed("sales", "order.placed").inc()
    routed("sales", "order.placed").inc(2)
    routed("finance", "order.placed").inc()
    latency("sales").observe(0.02)
    assert routed("sales", "order.placed") is metrics.routed_events.labels(
        department="sales", type="order.placed"
    )
    value = metrics.registry.get_sample_value
    labels = {"department": "sales", "type": "order.placed"}
    assert value("hub_routed_events_total", labels) == 3.0
    assert value("hub_routed_events_total", {**labels, "department": "finance"}) == 1.0
    assert value("hub_end_to_end_latency_seconds_count", {"department": "sales"}) == 1.0
    assert (
        value("hub_end_to_end_latency_seconds_bucket", {"department": "sales", "le": "0.01"}) == 0.0
    )
    assert (
        value("hub_end_to_end_latency_seconds_bucket", {"department": "sales", "le": "0.025"})
        == 1.0
    )

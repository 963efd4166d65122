"""Tallies add up to exactly what the same calls one by one give, exposition included."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from hub.runtime.metrics import LATENCY_BUCKETS, Children, HistogramTally, HubMetrics, Tally

#: below, on and above every bound, zero, and past the last bound (the +Inf bucket)
AMOUNTS = [0.0, *LATENCY_BUCKETS, *(b * 0.999 for b in LATENCY_BUCKETS), 0.2, 0.2, 1e6]
DEPARTMENTS = ("sales", "finance", "support")


def _exposition(metrics: HubMetrics) -> list[str]:
    """The exposition without the ``_created`` timestamps, which differ between registries."""
    text = generate_latest(metrics.registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


def test_a_flushed_tally_exposes_what_calls_one_by_one_expose() -> None:
    direct, tallied = HubMetrics.create(), HubMetrics.create()
    routed, latency = Children(direct.routed_events), Children(direct.end_to_end_latency)
    routed_tally = Tally(tallied.routed_events)
    latency_tally = HistogramTally(tallied.end_to_end_latency)
    for index, amount in enumerate(AMOUNTS):
        department = DEPARTMENTS[index % len(DEPARTMENTS)]
        event_type = "order.placed" if index % 2 else "ticket.opened"
        routed(department, event_type).inc()
        latency(department).observe(amount)
        routed_tally.add(department, event_type)
        latency_tally.add(amount, department)
    routed_tally.flush()
    latency_tally.flush()
    assert _exposition(tallied) == _exposition(direct)
    sample = tallied.registry.get_sample_value
    assert sample("hub_end_to_end_latency_seconds_count", {"department": "sales"}) == len(
        AMOUNTS[0::3]
    )
    assert sample("hub_end_to_end_latency_seconds_sum", {"department": "sales"}) == pytest.approx(
        sum(AMOUNTS[0::3])
    )


def test_nothing_reaches_the_registry_before_a_flush_and_a_flush_empties_the_tally() -> None:
    metrics = HubMetrics.create()
    routed = Tally(metrics.routed_events)
    latency = HistogramTally(metrics.end_to_end_latency)
    sample = metrics.registry.get_sample_value
    labels = {"department": "sales", "type": "order.placed"}
    routed.add("sales", "order.placed")
    routed.add("sales", "order.placed")
    latency.add(0.02, "sales")
    assert sample("hub_routed_events_total", labels) is None
    assert sample("hub_end_to_end_latency_seconds_count", {"department": "sales"}) is None
    routed.flush()
    latency.flush()
    routed.flush()  # nothing pending: adds nothing twice
    latency.flush()
    assert sample("hub_routed_events_total", labels) == 2.0
    assert sample("hub_end_to_end_latency_seconds_count", {"department": "sales"}) == 1.0
    assert (
        sample("hub_end_to_end_latency_seconds_bucket", {"department": "sales", "le": "0.01"})
        == 0.0
    )
    assert (
        sample("hub_end_to_end_latency_seconds_bucket", {"department": "sales", "le": "0.025"})
        == 1.0
    )

"""The benchmark's records: deterministic, shaped as the connectors publish them, and all
translatable by the real translators into the expected canonical types."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hub.bench.driver import _percentile, _sustained, expected_deliveries, targets
from hub.bench.records import Generator, Instances
from hub.bench.report import render
from hub.bench.worker import lookup
from hub.config import HubConfig
from hub.topics import raw_topic
from schemas import Envelope, validate_event


def _envelope(record: object) -> Envelope:
    r = record.record  # type: ignore[attr-defined]
    return Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers)


def test_same_seed_same_records_and_other_seed_other_records() -> None:
    a = [r.record.value for r in Generator(seed=3).records(0, 200)]
    b = [r.record.value for r in Generator(seed=3).records(0, 200)]
    c = [r.record.value for r in Generator(seed=4).records(0, 200)]
    assert a == b
    assert a != c


def test_raw_events_follow_the_raw_record_convention() -> None:
    instances = Instances.tagged("t1")
    topics = {raw_topic(i, e) for i, e in instances.streams()}
    for raw in Generator(instances).records(0, 300):
        assert raw.topic in topics
        event = _envelope(raw)
        assert event.id == raw.event_id
        assert event.type.startswith("raw.")
        assert event.source.startswith("/connectors/bencht1-")
        assert event.partitionkey == event.subject == raw.record.key.decode()
        assert event.time is not None
        assert event.time.tzinfo is not None


def test_every_record_translates_and_validates_with_the_real_translators() -> None:
    types: Counter[str] = Counter()
    for raw in Generator().records(0, 1500):
        event = _envelope(raw)
        outputs = lookup(event.type.split(".")[1])(event)
        assert outputs, f"{event.type} {event.subject} yields nothing"
        for out in outputs:
            validate_event(out)
            assert out.causationid == event.id
            types[out.type] += 1
    for wanted in (
        "order.placed",
        "order.confirmed",
        "order.cancelled",
        "shipment.dispatched",
        "customer.updated",
        "lead.created",
        "opportunity.won",
        "ticket.opened",
        "complaint.opened",
    ):
        assert types[wanted] > 0, wanted


def test_orders_are_the_bulk_and_of_realistic_size() -> None:
    records = list(Generator().records(0, 1000))
    orders = [r for r in records if r.topic.endswith(".sale_order")]
    assert 0.4 < len(orders) / len(records) < 0.65
    mean = sum(len(r.record.value) for r in orders) / len(orders)
    assert 400 < mean < 2000


def test_event_times_follow_t0() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    first = _envelope(next(Generator(t0=t0).records(5, 1)))
    assert first.time is not None
    assert first.time.replace(tzinfo=UTC) >= t0


def test_expected_deliveries_reach_at_least_three_departments() -> None:
    expected = expected_deliveries(list(Generator().records(0, 500)), HubConfig())
    assert expected.deliveries >= expected.canonical > 0
    departments = {t for t, n in expected.per_department.items() if n > 0}
    assert {"dept.sales", "dept.finance", "dept.support", "dept.marketing"} <= departments


def test_sustained_rate_uses_the_middle_of_the_run() -> None:
    # 1000 inputs, one per millisecond after a slow start: 1000/s in the middle
    times = [10.0 + i / 1000 for i in range(1000)]
    rate = _sustained(times, since=0.0)
    assert rate is not None
    assert abs(rate - 1000) < 5
    # all in one batch: the whole run from ``since`` counts
    assert _sustained([2.0] * 100, since=1.0) == 100


def test_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert _percentile(values, 0.5) == 51.0
    assert _percentile(values, 0.99) == 99.0
    assert _percentile([], 0.5) is None


def test_targets_and_report_name_every_figure() -> None:
    result = {
        "handoff": "0",
        "cluster": {"kind": "embedded"},
        "machine": {"cpus": 2, "python": "3.11"},
        "translate_route": {"ratio_to_baseline": 0.5},
        "quix": {"available": False, "hint": "install it"},
        "timeline": {"events_per_s": 4000.0},
        "latency": {"p99_ms": 100.0},
        "combined": {"latency": {"p99_ms": 300.0, "p50_ms": 90.0}},
    }
    rows = {row["target"]: row for row in targets(result)}
    assert rows["p99 latency at half rate, 1 hop (ms)"]["met"] is False
    assert rows["translate+route (2 services) vs baseline"]["met"] is True
    assert rows["timeline ingestion (events/s)"]["met"] is False
    assert rows["p99 latency at half rate (ms)"]["met"] is True
    assert rows["translate+route vs Quix Streams"]["met"] is None
    result["targets"] = list(rows.values())
    text = render(result)
    assert "install it" in text
    assert "p50 90.0 ms, p99 300.0 ms" in text
    assert "NOT met" in text

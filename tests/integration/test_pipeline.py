"""10,000 mixed raw events through translator and router on a fresh embedded broker.

For every department topic: every expected event arrives exactly once per event id, per-key
order holds, and no field above the department's clearance appears. Poison records are all
in hub.dlq with their reasons, and after a fix ``hub dlq replay`` delivers them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.config import parse_config
from hub.routing.route import departments_for
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, EmbeddedBroker, KafkaCluster
from hub.runtime.service import Runtime, Service
from hub.services.router import router_service
from hub.services.translator import translate_and_route, translator_service
from hub.topics import catalog, create_topics, department_topic, raw_topic
from hub.translate.stage import TranslationStage
from schemas import Envelope
from tests.integration.kafka_helpers import produce
from tests.unit.routing.test_real_models import clearance_violations
from tests.unit.translate.harness import running
from tests.unit.translate.table import TestTranslators, raw_event

REPO = Path(__file__).resolve().parents[2]
TOTAL = 10_000
COMPANIES = 150
ORDERS = 1_800
POISON_EVERY = 97  # about 100 poison records, spread over every raw topic

CONFIG = parse_config(
    """
identity:
  rules:
    - {kind: cross_reference, field: erp_customer_number, system: erp}
    - {kind: email}
    - {kind: domain_and_name}
    - {kind: vat_id}
""",
    env={},
)
STREAMS = [
    ("erp", "customer"),
    ("erp", "order"),
    ("erp", "shipment"),
    ("erp", "payment"),
    ("erp", "return"),
    ("crm", "company"),
    ("desk", "ticket"),
]


def generate() -> list[tuple[str, Envelope]]:
    """(raw topic, raw event) in production order; instance names equal type names here."""
    out: list[tuple[str, Envelope]] = []

    def add(system: str, entity: str, source_id: str, rev: int, data: dict[str, Any]) -> None:
        out.append(
            (raw_topic(system, entity), raw_event(system, entity, source_id, rev, data, system))
        )

    for n in range(COMPANIES):
        add("erp", "customer", f"C{n}", 1, {"n": n, "customer": f"C{n}"})
        add("crm", "company", f"company/{n}", 1, {"n": n, "customer": f"company/{n}"})
    for i in range(ORDERS):
        order = f"SO{i:05d}"
        amount = f"{500 + (i * 1373) % 20_000}.00"
        base = {"order": order, "amount": amount, "customer": f"C{i % COMPANIES}"}
        add("erp", "order", order, 1, base | {"state": "placed"})
        add("erp", "order", order, 2, base | {"state": "confirmed"})
        add("erp", "shipment", order, 1, base)
        add("erp", "payment", order, 1, base)
        if i % 10 == 0:
            add("erp", "return", order, 1, base)
    t = 0
    while len(out) < TOTAL:
        priority = ("low", "normal", "high", "urgent")[t % 4]
        data = {"ticket": f"T{t}", "priority": priority, "complaint": t % 3 == 0}
        add("desk", "ticket", f"T{t}", 1, data | {"customer": f"user/{t % 300}"})
        t += 1
    for index, (topic, raw) in enumerate(out):
        if index % POISON_EVERY == 7:
            poisoned = raw.model_copy(update={"data": raw.data | {"poison": "total not a number"}})
            out[index] = (topic, poisoned)
    assert len(out) == TOTAL
    return out


@dataclass
class Expected:
    #: department -> event ids it must receive
    deliveries: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: canonical event id -> (raw topic and key, position of the raw record in production order)
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)


def expected_for(raws: list[tuple[str, Envelope]], translators: TestTranslators) -> Expected:
    """What each department should receive, from the pure stage and route()."""
    stage = TranslationStage(CONFIG, translators)
    rules = CONFIG.routing.effective_rules()
    expected = Expected()
    for position, (topic, raw) in enumerate(raws):
        try:
            outputs = stage.translate(raw)
        except Exception:  # noqa: BLE001, S112 - poison, dead-lettered in the real run
            continue
        for out_topic, record in outputs:
            if not out_topic.startswith("hub.") or out_topic == "hub.identity":
                continue
            event = Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers)
            if event.type == "customer.merged":
                continue  # depends on processing order; checked separately
            expected.origin[event.id] = (f"{topic}/{raw.partitionkey}", position)
            for department in departments_for(rules, CONFIG.departments, event.type, event.data):
                expected.deliveries[department].add(event.id)
    return expected


@dataclass
class Delivered:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    event_id: str
    event_type: str
    data: Any
    timestamp_ms: int


class Collector:
    """Reads every department topic from the beginning, continuously."""

    def __init__(self, cluster: KafkaCluster) -> None:
        self.cluster = cluster
        self.records: list[Delivered] = []
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(enable_auto_commit=False, **self.cluster.client_options())
        await self.consumer.start()
        await self.consumer.topics()
        tps = [
            TopicPartition(department_topic(d), p)
            for d in CONFIG.departments
            for p in sorted(self.consumer.partitions_for_topic(department_topic(d)) or ())
        ]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)

    async def poll(self) -> None:
        assert self.consumer is not None
        batches = await self.consumer.getmany(timeout_ms=200, max_records=20_000)
        for tp, records in batches.items():
            for r in records:
                headers = dict(r.headers)
                self.records.append(
                    Delivered(
                        tp.topic,
                        tp.partition,
                        r.offset,
                        r.key,
                        headers["ce_id"].decode(),
                        headers["ce_type"].decode(),
                        orjson.loads(r.value),
                        r.timestamp,
                    )
                )

    async def until(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached in {timeout}s")
            await self.poll()

    def ids(self, department: str) -> Counter[str]:
        topic = department_topic(department)
        return Counter(r.event_id for r in self.records if r.topic == topic)

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()


def _all_arrived(collector: Collector, expected: dict[str, set[str]]) -> Iterator[bool]:
    for department, ids in expected.items():
        yield ids <= set(collector.ids(department))


def check_deliveries(
    collector: Collector, expected: Expected, counts: dict[str, Counter[str]]
) -> None:
    """Exactly once per department and event id; per-key order; clearances."""
    for department, seen in counts.items():
        duplicates = {i: n for i, n in seen.items() if n > 1}
        assert not duplicates, f"{department}: duplicates {list(duplicates)[:5]}"
        extra = {
            r.event_id
            for r in collector.records
            if r.topic == department_topic(department)
            and r.event_id not in expected.deliveries[department]
            and r.event_type != "customer.merged"
        }
        assert not extra, f"{department}: unexpected {list(extra)[:5]}"

    # per-key order: events of one key that stem from one source record (raw topic
    # and key) arrive in the order the source changes were published
    last: dict[tuple[str, bytes | None, str], int] = {}
    for r in sorted(collector.records, key=lambda r: (r.topic, r.partition, r.offset)):
        if r.event_id not in expected.origin:
            continue
        raw_topic_name, position = expected.origin[r.event_id]
        slot = (r.topic, r.key, raw_topic_name)
        assert position > last.get(slot, -1), f"order broken for key {r.key!r} in {r.topic}"
        last[slot] = position

    # no field above the department's clearance
    for r in collector.records:
        department = r.topic.removeprefix("dept.")
        problems = clearance_violations(CONFIG, department, r.event_type, r.data)
        assert not problems, f"{department} {r.event_type}: {problems}"


async def _hub(*args: str, bootstrap: str) -> str:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *args,
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ["separate", "combined"])
async def test_ten_thousand_mixed_events_reach_their_departments(tmp_path: Path, mode: str) -> None:
    raws = generate()
    poison_ids = {raw.id for _, raw in raws if raw.data.get("poison")}
    translators = TestTranslators()
    expected = expected_for(raws, translators)

    with EmbeddedBroker(log_dir=tmp_path) as broker:
        cluster = KafkaCluster(broker.bootstrap_servers, "embedded", EMBEDDED_CAPABILITIES)
        await create_topics(cluster, catalog(CONFIG, STREAMS))
        by_topic: dict[str, list[Envelope]] = defaultdict(list)
        for topic, raw in raws:
            by_topic[topic].append(raw)
        await asyncio.gather(
            *(
                produce(cluster, topic, [r.to_kafka() for r in events])
                for topic, events in by_topic.items()
            )
        )

        def translator(runtime: Runtime) -> Service:
            return translator_service(runtime, translators)

        def combined(runtime: Runtime) -> Service:
            return translate_and_route(runtime, translators)

        # separate: two services (each also its own `hub run` pod), two hops, here in one
        # process; combined: translation and routing on the same batch
        factories = [translator, router_service] if mode == "separate" else [combined]
        collector = Collector(cluster)
        started = time.monotonic()
        async with running(cluster, CONFIG, factories):
            await collector.start()
            await collector.until(
                lambda: all(_all_arrived(collector, expected.deliveries)), 120, "all deliveries"
            )
            took = time.monotonic() - started
            await asyncio.sleep(1.0)
            await collector.poll()  # anything extra (a duplicate) would show now

            counts = {d: collector.ids(d) for d in CONFIG.departments}
            delivered = sum(sum(c.values()) for c in counts.values())
            stamps = [r.timestamp_ms for r in collector.records]
            flowing = max(1, max(stamps) - min(stamps)) / 1000
            print(  # noqa: T201 - the figures of the run, shown with -s
                f"\n{mode}: {TOTAL} raw events -> {delivered} department deliveries in {took:.1f}s "
                f"from start-up, {flowing:.1f}s from first to last delivery "
                f"({TOTAL / flowing:.0f} raw events/s); "
                + ", ".join(f"{d}={sum(c.values())}" for d, c in counts.items())
            )
            check_deliveries(collector, expected, counts)

            # poison records: all parked, with their reasons
            listing = await _hub(
                "dlq", "list", "--stage", "translator", bootstrap=cluster.bootstrap_servers
            )
            assert f"{len(poison_ids)} dead letter(s)" in listing
            assert listing.count("UntranslatableRecord") == len(poison_ids)

            # after a fix, replay re-drives them to the translator, keeping their ids
            translators.fixed = True
            fixed = expected_for([(t, r) for t, r in raws if r.id in poison_ids], translators)
            replayed = await _hub(
                "dlq", "replay", "--stage", "translator", bootstrap=cluster.bootstrap_servers
            )
            assert f"replayed {len(poison_ids)} dead letter(s)" in replayed
            await collector.until(
                lambda: all(_all_arrived(collector, fixed.deliveries)), 60, "replayed deliveries"
            )
            await asyncio.sleep(1.0)
            await collector.poll()
            for department in CONFIG.departments:
                seen = collector.ids(department)
                assert all(seen[i] == 1 for i in fixed.deliveries[department])
            print(  # noqa: T201 - the figures of the run, shown with -s
                f"poison records: {len(poison_ids)} dead-lettered, replayed, delivered "
                f"{sum(len(v) for v in fixed.deliveries.values())} department events"
            )
        await collector.stop()

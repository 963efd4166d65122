"""The whole pipeline as separate ``hub run`` processes, a source fed at a steady rate,
and the checks a fault run ends with.

Source: a ``jsonl`` connector instance ``shop`` reading ``customer/`` and ``order/`` export
files that :class:`Feeder` appends to while faults happen. Services: ``connectors``,
``translator``, ``router`` and ``timeline``, each its own process against the broker at
``KAFKA_BOOTSTRAP_SERVERS``, sharing one SQLite timeline store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from connectors.kit.registry import translator_for
from connectors.kit.source import Record, build_raw_event
from hub.config import HubConfig, parse_config
from hub.routing.route import departments_for
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, KafkaCluster
from hub.services.router import GROUP as ROUTER_GROUP
from hub.services.timeline import GROUP as TIMELINE_GROUP
from hub.services.translator import GROUP as TRANSLATOR_GROUP
from hub.timeline.ordering import TimelineEvent
from hub.timeline.store import TimelineStore
from hub.topics import CANONICAL_TOPICS, department_topic, raw_topic
from hub.translate.stage import TranslationStage
from schemas import Envelope
from tests.integration.hub_process import HubProcess, free_port

REPO = Path(__file__).resolve().parents[2]
INSTANCE = "shop"
SERVICES = ("connectors", "translator", "router", "timeline")
#: the raw topics the source's two entities are published to
RAW_TOPICS = (raw_topic(INSTANCE, "customer"), raw_topic(INSTANCE, "order"))


def hub_yaml(exports: Path) -> str:
    return yaml.safe_dump(
        {
            "smoke": {"enabled": False},
            "connectors": {
                INSTANCE: {
                    "type": "jsonl",
                    "directory": str(exports),
                    "poll_interval_seconds": 0.2,
                    "page_size": 50,
                }
            },
        }
    )


# -- the source -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One line of an export file; ``poison`` says why it must end in hub.dlq (or "")."""

    position: int
    entity: str
    text: bytes
    poison: str = ""

    @property
    def data(self) -> dict[str, Any] | None:
        try:
            value = orjson.loads(self.text)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def mixed_lines(count: int, *, poison_every: int = 41, garbage_every: int = 67) -> list[Line]:
    """``count`` export lines: customers, orders placed then confirmed or cancelled a little
    later (so both revisions of one key straddle faults), translator poison (a confirmed
    order whose total is not a number) and connector poison (a line that is not JSON)."""
    base = datetime.now(UTC) - timedelta(hours=2)
    lines: list[Line] = []
    open_orders: list[tuple[int, str]] = []
    customers = 0
    orders = 0

    def stamp(n: int) -> str:
        return (base + timedelta(seconds=n)).isoformat()

    def add(entity: str, data: dict[str, Any] | bytes, poison: str = "") -> None:
        text = data if isinstance(data, bytes) else orjson.dumps(data)
        lines.append(Line(len(lines), entity, text, poison))

    while len(lines) < count:
        n = len(lines)
        if n % garbage_every == garbage_every - 1:
            add("order", b'{"id": "broken", "status": "placed", ' + str(n).encode(), "connector")
        elif n % 5 == 0 or customers == 0:
            cid = f"C{customers:05d}"
            customers += 1
            add(
                "customer",
                {
                    "id": cid,
                    "name": f"Customer {cid}",
                    "emails": [f"{cid.lower()}@c{cid.lower()}.example"],
                    "created_at": stamp(n),
                    "updated_at": stamp(n),
                },
            )
        elif open_orders and (n % 3 == 0 or len(open_orders) > 6):
            placed_at, oid = open_orders.pop(0)
            status = "cancelled" if n % 7 == 0 else "confirmed"
            record: dict[str, Any] = {
                "id": oid,
                "number": oid,
                "status": status,
                "customer_id": f"C{(orders * 7) % customers:05d}",
                "currency": "EUR",
                "total": "120.00",
                "placed_at": stamp(placed_at),
                "updated_at": stamp(n),
            }
            poison = ""
            if status == "confirmed" and n % poison_every == 0:
                record["total"] = "not a number"
                poison = "translator"
            add("order", record, poison)
        else:
            oid = f"SO{orders:05d}"
            orders += 1
            open_orders.append((n, oid))
            add(
                "order",
                {
                    "id": oid,
                    "number": oid,
                    "status": "placed",
                    "customer_id": f"C{(orders * 7) % customers:05d}",
                    "currency": "EUR",
                    "total": "120.00",
                    "lines": [{"sku": "CHAIR", "quantity": 2, "unit_price": "60.00"}],
                    "placed_at": stamp(n),
                    "updated_at": stamp(n),
                },
            )
    return lines


class Feeder(threading.Thread):
    """Appends ``lines`` to ``<exports>/<entity>/export.jsonl`` at ``rate`` lines a second."""

    def __init__(self, exports: Path, lines: list[Line], rate: float) -> None:
        super().__init__(daemon=True, name="feeder")
        self.exports, self.lines, self.rate = exports, lines, rate
        self.written = 0
        self.stopped = threading.Event()
        for entity in ("customer", "order"):
            (exports / entity).mkdir(parents=True, exist_ok=True)
            (exports / entity / "export.jsonl").touch()

    def write(self, lines: Iterable[Line]) -> None:
        chunks: dict[str, bytes] = defaultdict(bytes)
        for line in lines:
            chunks[line.entity] += line.text + b"\n"
        for entity, chunk in chunks.items():
            with (self.exports / entity / "export.jsonl").open("ab") as handle:
                handle.write(chunk)

    def run(self) -> None:
        step = 0.1
        per_step = max(1, round(self.rate * step))
        while self.written < len(self.lines) and not self.stopped.is_set():
            chunk = self.lines[self.written : self.written + per_step]
            self.write(chunk)
            self.written += len(chunk)
            time.sleep(step)

    @property
    def done(self) -> bool:
        return self.written >= len(self.lines)


# -- what must arrive -------------------------------------------------------------------------
@dataclass
class Expected:
    config: HubConfig
    #: raw ce_id -> line position, for every line that reaches a raw topic
    raw: dict[str, int] = field(default_factory=dict)
    #: canonical ce_id -> the position of the line it came from
    origin: dict[str, int] = field(default_factory=dict)
    #: department -> canonical ce_ids it must receive
    deliveries: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: canonical ce_ids the timeline store must hold, once each
    timeline: set[str] = field(default_factory=set)
    #: raw ce_ids the translator must dead-letter
    translator_poison: set[str] = field(default_factory=set)
    #: exact bytes of the lines the connector must dead-letter
    connector_poison: set[bytes] = field(default_factory=set)
    #: canonical id -> order id (for the per-order timeline check)
    order_of: dict[str, str] = field(default_factory=dict)


def expected_for(lines: list[Line], config: HubConfig) -> Expected:
    """What the run must produce, from the same pure functions the services use."""
    stage = TranslationStage(config, translator_for)
    rules = config.routing.effective_rules()
    out = Expected(config)
    for line in lines:
        data = line.data
        if line.poison == "connector" or data is None:
            out.connector_poison.add(line.text)
            continue
        moment = datetime.fromisoformat(data["updated_at"])
        record = Record(id=data["id"], revision=data["updated_at"], time=moment, data=data)
        raw = build_raw_event(INSTANCE, "jsonl", line.entity, record).envelope
        out.raw[raw.id] = line.position
        try:
            outputs = stage.translate(raw)
        except Exception:  # noqa: BLE001 - a poisoned line; checked against its flag below
            assert line.poison == "translator", f"unexpected poison at line {line.position}"
            out.translator_poison.add(raw.id)
            continue
        assert not line.poison, f"line {line.position} should have failed to translate"
        for topic, kafka in outputs:
            if topic not in CANONICAL_TOPICS:
                continue
            event = Envelope.from_kafka(key=kafka.key, value=kafka.value, headers=kafka.headers)
            if event.type == "customer.merged":
                continue
            out.origin[event.id] = line.position
            if TimelineEvent.from_envelope(event).placeable:
                out.timeline.add(event.id)
            if isinstance(event.data, dict) and event.data.get("order_id"):
                out.order_of[event.id] = str(event.data["order_id"])
            for department in departments_for(rules, config.departments, event.type, event.data):
                out.deliveries[department].add(event.id)
    return out


# -- what arrived -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, bytes]
    value: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value.decode() if value is not None else None


class Collector:
    """Reads topics from the beginning (all partitions assigned, no group)."""

    def __init__(self, bootstrap: str, topics: Iterable[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.records: list[Seen] = []

    async def read(
        self, want: set[str] | None = None, settle: float = 1.5, timeout: float = 60.0
    ) -> list[Seen]:
        """Everything on the topics until every ``ce_id`` in ``want`` was seen and nothing
        new came for ``settle`` seconds (or ``timeout``)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 << 20,
        )
        await consumer.start()
        self.records = []
        try:
            await consumer.topics()
            tps = [
                TopicPartition(topic, p)
                for topic in self.topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            loop = asyncio.get_running_loop()
            deadline, quiet_since = loop.time() + timeout, loop.time()
            ids: set[str] = set()
            while loop.time() < deadline and (
                loop.time() - quiet_since < settle or (want is not None and not want <= ids)
            ):
                batches = await consumer.getmany(timeout_ms=300, max_records=20_000)
                for tp, records in batches.items():
                    quiet_since = loop.time()
                    for r in records:
                        seen = Seen(
                            tp.topic, tp.partition, r.offset, r.key, dict(r.headers), r.value
                        )
                        self.records.append(seen)
                        ids.add(seen.header("ce_id") or "")
        finally:
            await consumer.stop()
        return self.records


#: consuming service -> (its consumer group, the topics it reads)
GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "translator": (TRANSLATOR_GROUP, RAW_TOPICS),
    "router": (ROUTER_GROUP, tuple(CANONICAL_TOPICS)),
    "timeline": (TIMELINE_GROUP, tuple(CANONICAL_TOPICS)),
}


async def rewind_group(bootstrap: str, group: str, topics: Iterable[str], timeout: float) -> int:
    """Move ``group``'s committed offsets halfway back, as an operator's
    ``kafka-consumer-groups --reset-offsets`` would: the group then reads again records it
    has already handled, so the run sees de-duplication at work whatever the timing of its
    kills. The group's service must be stopped: this joins the group, waits until the
    killed member's session has expired and every partition is its own, commits, and
    leaves. Returns how many records the group will read a second time."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    try:
        await consumer.topics()
        tps = {
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.partitions_for_topic(topic) or ()
        }
        consumer.subscribe(topics=list(topics))
        deadline = time.monotonic() + timeout
        while consumer.assignment() != tps:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} never handed over {sorted(tps)}")
            await consumer.getmany(timeout_ms=200, max_records=1)
        back: dict[TopicPartition, OffsetAndMetadata] = {}
        again = 0
        for tp in sorted(tps):
            committed = await consumer.committed(tp)
            if committed:
                back[tp] = OffsetAndMetadata(committed // 2, "")
                again += committed - committed // 2
        await consumer.commit(back)
        return again
    finally:
        await consumer.stop()


@dataclass
class Report:
    lost: dict[str, set[str]]
    raw_lost: set[str]
    timeline_missing: set[str]
    timeline_duplicated: int
    timeline_rows: int
    department_duplicates: int
    order_violations: list[str]
    dlq_total: int
    dlq_unexpected: list[str]
    dlq_missing_translator: set[str]
    dlq_missing_connector: set[bytes]
    #: records the services were made to read again by rewinding their groups
    reread: int = 0

    def line(self) -> str:
        lost = sum(len(v) for v in self.lost.values())
        return (
            f"lost (department deliveries)={lost} raw lost={len(self.raw_lost)} "
            f"timeline missing={len(self.timeline_missing)} "
            f"duplicated timeline entries={self.timeline_duplicated} "
            f"timeline rows={self.timeline_rows} "
            f"re-read after rewinds={self.reread} "
            f"department re-deliveries={self.department_duplicates} "
            f"per-key order violations={len(self.order_violations)} "
            f"DLQ={self.dlq_total} (unexpected {len(self.dlq_unexpected)}, missing "
            f"{len(self.dlq_missing_translator) + len(self.dlq_missing_connector)})"
        )


def check_departments(
    expected: Expected, seen: list[Seen]
) -> tuple[dict[str, set[str]], int, list[str]]:
    """Lost deliveries per department, re-delivery count, per-key order violations (a key
    must stay in one partition of its topic, and its first copies in source order)."""
    lost: dict[str, set[str]] = {}
    duplicates = 0
    violations: list[str] = []
    by_key: dict[tuple[str, bytes | None], list[Seen]] = defaultdict(list)
    for record in sorted(seen, key=lambda r: (r.topic, r.partition, r.offset)):
        by_key[(record.topic, record.key)].append(record)
    for department, ids in expected.deliveries.items():
        topic = department_topic(department)
        got = Counter(r.header("ce_id") for r in seen if r.topic == topic)
        duplicates += sum(n - 1 for n in got.values())
        missing = ids - set(got)
        if missing:
            lost[department] = missing
    for (topic, key), records in by_key.items():
        partitions = sorted({record.partition for record in records})
        if len(partitions) > 1:  # a key split over partitions has no order to keep
            violations.append(f"{topic} key {key!r}: in partitions {partitions}")
            continue
        first: list[int] = []
        known: set[str] = set()
        for record in records:
            event_id = record.header("ce_id") or ""
            if event_id in known or event_id not in expected.origin:
                continue
            known.add(event_id)
            first.append(expected.origin[event_id])
        if first != sorted(first):
            violations.append(f"{topic} key {key!r}: source positions {first}")
    return lost, duplicates, violations


def check_timeline(
    expected: Expected, database: Path, config: HubConfig, *, per_order: bool = True
) -> tuple[set[str], int, int]:
    """Missing ids, events listed more than once in an order's timeline, and stored rows."""
    with sqlite3.connect(database) as conn:
        rows = [row[0] for row in conn.execute("SELECT ce_id FROM timeline_events")]
    stored = Counter(rows)
    missing = expected.timeline - set(stored)
    duplicated = sum(n - 1 for n in stored.values())
    if not per_order:
        return missing, duplicated, len(rows)
    store = TimelineStore(f"sqlite:///{database}", config.processes)
    try:
        for order_id in sorted(set(expected.order_of.values())):
            timeline = store.order_timeline(order_id)
            ids = Counter(e.id for e in (timeline.events if timeline else ()))
            duplicated += sum(n - 1 for n in ids.values())
    finally:
        store.dispose()
    return missing, duplicated, len(rows)


def check_dlq(expected: Expected, dlq: list[Seen]) -> tuple[list[str], set[str], set[bytes]]:
    unexpected: list[str] = []
    translator: set[str] = set()
    connector: set[bytes] = set()
    for record in dlq:
        stage = record.header("dlq_stage")
        if stage == "translator" and record.header("ce_id") in expected.translator_poison:
            translator.add(record.header("ce_id") or "")
        elif (
            stage == f"connector:{INSTANCE}"
            and record.value in expected.connector_poison
            # it never reached Kafka: no partition or offset to name
            and record.header("dlq_original_partition") == "-1"
            and record.header("dlq_original_offset") == "-1"
        ):
            connector.add(record.value)
        else:
            unexpected.append(
                f"{stage}: {record.header('dlq_error_class')}: {record.header('dlq_error_message')}"
            )
    return (
        unexpected,
        expected.translator_poison - translator,
        expected.connector_poison - connector,
    )


# -- the processes ----------------------------------------------------------------------------
class Pipeline:
    """The four services as ``hub run`` processes; restart any of them by name."""

    def __init__(self, root: Path, bootstrap: str) -> None:
        self.root = root
        self.bootstrap = bootstrap
        self.exports = root / "exports"
        self.exports.mkdir(parents=True, exist_ok=True)
        self.config_path = root / "hub.yaml"
        self.config_path.write_text(hub_yaml(self.exports), encoding="utf-8")
        self.config = parse_config(self.config_path.read_text(encoding="utf-8"), env={})
        self.database = root / "timeline.db"
        self.processes: dict[str, HubProcess] = {}
        self.logs: list[HubProcess] = []

    @property
    def cluster(self) -> KafkaCluster:
        return KafkaCluster(self.bootstrap, "embedded", EMBEDDED_CAPABILITIES)

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "HUB_CONFIG": str(self.config_path),
            "HUB_STATE_DIR": str(self.root / "state"),
            "HUB_DATABASE_URL": f"sqlite:///{self.database}",
            "HUB_LOG_FORMAT": "text",
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_SHUTDOWN_GRACE_SECONDS": "5",
            "HUB_CONSUMER_SESSION_TIMEOUT_MS": "3000",
            "HUB_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
            # The S3-backed broker answers a fetch with what it read from storage within
            # the wait: at the 50 ms default a backlog of small batches drains about one
            # batch per fetch (900 records in 22 s), at 500 ms in under a second.
            "HUB_CONSUMER_FETCH_MAX_WAIT_MS": "500",
        }

    def start(self, service: str, name: str | None = None) -> HubProcess:
        process = HubProcess("run", service, port=free_port(), env=self.env(), cwd=self.root)
        self.processes[name or service] = process
        self.logs.append(process)
        return process

    def start_all(self) -> None:
        for service in SERVICES:
            self.start(service)

    def ready(self, name: str) -> bool:
        try:
            return self.processes[name].status("/readyz") == 200
        except Exception:  # noqa: BLE001 - not answering yet is "not ready"
            return False

    def wait_ready(self, *names: str, timeout: float = 60.0) -> None:
        for name in names or tuple(self.processes):
            process = self.processes[name]
            process.wait_for(lambda name=name: self.ready(name), timeout, f"{name} /readyz 200")

    def wait_unready(self, *names: str, timeout: float = 30.0) -> None:
        for name in names or tuple(self.processes):
            process = self.processes[name]
            process.wait_for(
                lambda process=process: process.status("/readyz") == 503,
                timeout,
                f"{name} /readyz 503",
            )

    def kill(self, name: str) -> None:
        self.processes[name].kill()

    def remove(self, name: str) -> None:
        """SIGKILL ``name`` for good, as a pod lost with its node."""
        self.processes.pop(name).kill()

    def stop(self, name: str) -> int:
        return self.processes.pop(name).stop(timeout=30)

    def restart(self, name: str) -> HubProcess:
        """SIGKILL, as a crashed pod, then start a fresh process of the same service."""
        self.kill(name)
        return self.start(name)

    def rewind(self, name: str, timeout: float = 30.0) -> int:
        """SIGKILL ``name``, move its group's offsets halfway back (:func:`rewind_group`)
        and start it again; how many records it will read a second time."""
        self.kill(name)
        group, topics = GROUPS[name]
        again = asyncio.run(rewind_group(self.bootstrap, group, topics, timeout))
        self.start(name)
        return again

    def shutdown(self) -> None:
        for process in self.processes.values():
            process.kill()
        self.processes.clear()

    def tracebacks(self) -> list[str]:
        """Tracebacks any process printed (a fault must be handled, not crash through)."""
        out = []
        for process in self.logs:
            text = "".join(process.stderr)
            if "Traceback" in text:
                out.append(text[-4000:])
        return out

"""The benchmark driver: starts the cluster's topics, feeds records, times each stage.

Every measurement runs its own worker process (:mod:`hub.bench.worker`) so that a stage has
a process to itself, as it has in ``hub up`` or a pod; this process only produces records
and watches the output topics (or the timeline database) with plain consumers.

Throughput is *sustained*: the time between the moments 10 % and 90 % of the inputs had
reached their output, so start-up (group join, first metadata) and the tail do not count.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import hub
from hub.bench.records import Generator, Instances, RawRecord
from hub.bench.worker import (
    baseline_topic,
    floor_topic,
    header,
    lookup,
    output_topics,
    quix_topic,
)
from hub.config import HubConfig
from hub.routing.reload import RulesHolder
from hub.runtime.cluster import KafkaCluster
from hub.runtime.memory import freeze_startup_heap
from hub.services.router import RouterStage
from hub.topics import (
    CANONICAL_TOPICS,
    TopicSpec,
    catalog,
    create_topics,
    department_topic,
)
from hub.translate.stage import TranslationStage
from schemas import Envelope

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    events: int = 20_000
    latency_seconds: float = 10.0
    compare_quix: bool = False
    quix_python: str | None = None
    soak: bool = False
    soak_events: int = 300_000
    seed: int = 7
    work_dir: Path = Path(".hub/bench")


# -- helpers ---------------------------------------------------------------------------------


def _sustained(times: Sequence[float], since: float) -> float | None:
    """Inputs per second between the 10 % and the 90 % arrival (arrivals come in batches:
    when those fall into one batch, the whole run from ``since`` counts instead)."""
    n = len(times)
    if n < 10:
        return None
    lo, hi = int(n * 0.1), int(n * 0.9) - 1
    span = times[hi] - times[lo]
    if span > 0.2:
        return (hi - lo) / span
    return n / (times[-1] - since) if times[-1] > since else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of a process, in MiB."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError), Path(f"/proc/{pid}/status").open() as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                out["rss_mb" if name == "VmRSS" else "peak_rss_mb"] = round(
                    int(value.split()[0]) / 1024, 1
                )
    return out


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# -- worker processes ------------------------------------------------------------------------


class Worker:
    """One ``hub.bench.worker`` process."""

    def __init__(
        self,
        mode: str,
        cluster: KafkaCluster,
        tag: str,
        work_dir: Path,
        *,
        db: Path | None = None,
        python: str | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.mode = mode
        self.argv = [
            python or sys.executable,
            "-m",
            "hub.bench.worker",
            mode,
            "--bootstrap",
            cluster.bootstrap_servers,
            "--tag",
            tag,
        ]
        if cluster.kind != "embedded":
            self.argv.append("--external")
        if db is not None:
            self.argv += ["--db", str(db)]
        self.argv += extra
        self.log_path = work_dir / f"worker-{mode}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.ready_at = 0.0

    async def start(self, timeout: float = 90.0) -> None:
        env = {
            **os.environ,
            "HUB_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "HUB_CONSUMER_HEARTBEAT_INTERVAL_MS": "500",
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdout=asyncio.subprocess.PIPE, stderr=log, env=env
            )
        assert self.process.stdout is not None  # noqa: S101 - PIPE above
        try:
            while True:
                line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
                if not line:
                    raise RuntimeError(self._failure("exited before it was ready"))
                if line.strip() == b"ready":
                    break
        except TimeoutError as exc:
            await self.stop()
            raise RuntimeError(self._failure(f"not ready after {timeout:.0f}s")) from exc
        self.ready_at = time.perf_counter()

    def _failure(self, what: str) -> str:
        tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
        return f"bench worker {self.mode} {what}; log {self.log_path}:\n{tail}"

    def memory(self) -> dict[str, float]:
        return memory_mb(self.process.pid) if self.process else {}

    async def stop(self) -> dict[str, float]:
        """Stop the worker; returns its memory figures read just before."""
        process, self.process = self.process, None
        if process is None:
            return {}
        figures = memory_mb(process.pid)
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        return figures


# -- watching output topics ------------------------------------------------------------------


@dataclass
class Collector:
    """Reads output topics from the beginning and notes when each input first arrives.

    ``id_header`` names the header that carries the *input's* event id on an output (the
    raw record's ``ce_id`` is the department record's ``ce_causationid``). Outputs whose
    input is not in ``wanted`` (``customer.merged``, caused by another canonical event)
    count as ``other``.
    """

    cluster: KafkaCluster
    topics: Sequence[str]
    id_header: str
    wanted: set[str] = field(default_factory=set)
    light: bool = False
    first_seen: dict[str, float] = field(default_factory=dict)
    arrivals: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    per_topic: Counter[str] = field(default_factory=Counter)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    deliveries: int = 0
    duplicates: int = 0
    other: int = 0
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **self.cluster.client_options(),
        )
        await consumer.start()
        await consumer.topics()
        tps = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        self._consumer = consumer
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._consumer is not None  # noqa: S101 - set by start()
        while True:
            batches = await self._consumer.getmany(timeout_ms=50, max_records=20_000)
            now = time.perf_counter()
            for tp, records in batches.items():
                for record in records:
                    self._note(tp.topic, record.headers, now)

    def _note(self, topic: str, headers: Sequence[tuple[str, bytes]], now: float) -> None:
        self.deliveries += 1
        self.per_topic[topic] += 1
        source = header(headers, self.id_header)
        if source is None or source not in self.wanted:
            self.other += 1
            return
        if not self.light:
            pair = (topic, header(headers, "ce_id") or "")
            if pair in self.pairs:
                self.duplicates += 1
            self.pairs.add(pair)
        sent = self.sent_at.get(source)
        if sent is not None:
            self.latencies.append(now - sent)
        if source not in self.first_seen:
            self.first_seen[source] = now
            if not self.light:
                self.arrivals.append(now)

    def seen(self, ids: Iterable[str] | None = None) -> int:
        if ids is None:
            return len(self.first_seen)
        return sum(1 for i in ids if i in self.first_seen)

    async def wait_for(self, count: int, timeout: float, ids: Iterable[str] | None = None) -> bool:
        wanted = list(ids) if ids is not None else None
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.seen(wanted) >= count:
                return True
            if self._task is not None and self._task.done():
                self._task.result()
            await asyncio.sleep(0.05)
        return False

    async def settle(self, quiet: float = 1.0, timeout: float = 60.0) -> None:
        """Wait until no new record arrived for ``quiet`` seconds."""
        last, since = -1, time.perf_counter()
        deadline = since + timeout
        while time.perf_counter() < deadline:
            if self.deliveries != last:
                last, since = self.deliveries, time.perf_counter()
            elif time.perf_counter() - since >= quiet:
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()


# -- producing -------------------------------------------------------------------------------


async def _producer(cluster: KafkaCluster) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(**cluster.client_options(), **cluster.producer_options())
    await producer.start()
    return producer


async def produce_all(producer: AIOKafkaProducer, records: Iterable[RawRecord]) -> int:
    futures = []
    count = 0
    for raw in records:
        futures.append(
            await producer.send(
                raw.topic, raw.record.value, key=raw.record.key, headers=raw.record.headers
            )
        )
        count += 1
        if len(futures) >= 5000:
            await asyncio.gather(*futures)
            futures.clear()
    await asyncio.gather(*futures)
    return count


async def produce_paced(
    producer: AIOKafkaProducer, records: Sequence[RawRecord], rate: float, sent_at: dict[str, float]
) -> float:
    """Send ``records`` at ``rate`` per second; notes each send time; returns the real rate."""
    futures = []
    start = time.perf_counter()
    index = 0
    while index < len(records):
        due = min(len(records), int((time.perf_counter() - start) * rate) + 1)
        while index < due:
            raw = records[index]
            sent_at[raw.event_id] = time.perf_counter()
            futures.append(
                await producer.send(
                    raw.topic, raw.record.value, key=raw.record.key, headers=raw.record.headers
                )
            )
            index += 1
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    await asyncio.gather(*futures)
    return len(records) / elapsed if elapsed > 0 else float(len(records))


# -- expectations ----------------------------------------------------------------------------


@dataclass
class Expected:
    deliveries: int = 0
    per_department: Counter[str] = field(default_factory=Counter)
    canonical: int = 0
    seconds: float = 0.0


def expected_deliveries(records: Sequence[RawRecord], config: HubConfig) -> Expected:
    """What the departments must receive, from the same stage code without Kafka (timed:
    the in-process cost of translate + identity + route for these records, as the one-hop
    service runs it)."""
    stage = TranslationStage(config, lookup)
    route = RouterStage(RulesHolder(config)).handle
    expected = Expected()
    departments = {department_topic(d) for d in config.departments}
    for raw in records:
        start = time.perf_counter()
        envelope = Envelope.from_kafka(
            key=raw.record.key, value=raw.record.value, headers=raw.record.headers
        )
        outputs = stage.translate(envelope, route)
        expected.seconds += time.perf_counter() - start
        for topic, record in outputs:
            if topic not in CANONICAL_TOPICS and topic not in departments:
                continue
            if header(record.headers, "ce_type") == "customer.merged":
                continue  # how many depends on arrival order
            if topic in departments:
                expected.per_department[topic] += 1
                expected.deliveries += 1
            else:
                expected.canonical += 1
    return expected


# -- the run ---------------------------------------------------------------------------------

#: Tag suffixes of the two baseline runs' instances: each run reads raw topics that hold
#: exactly its own records.
BASELINE_RUNS = ("a", "b")
#: Tag suffixes of the floor measurements' instances (see :func:`hub.bench.worker.floor_outputs`):
#: the one-hop service's, the Quix Streams worker's and the two services'.
FLOOR_RUN = "f"
QUIX_FLOOR_RUN = "q"
PIPELINE_FLOOR_RUN = "p"
#: The floor worker modes and their tag suffixes.
FLOOR_RUNS = {"floor": FLOOR_RUN, "quixfloor": QUIX_FLOOR_RUN, "pipelinefloor": PIPELINE_FLOOR_RUN}
#: Each baseline run copies this many times ``--events`` records (the same mix, continued).
#: At 50k ev/s 20,000 records took 0.4 s, a few of the collector's fetches, so the rate
#: between the 10 % and 90 % arrivals rested on two or three timestamps.
BASELINE_FACTOR = 5
#: Each floor run reads this many times ``--events`` records: without stage code a worker
#: gets through 20,000 in about a second, and over so short a run the two services' floor
#: read a quarter faster than over three times as many records (24.1k-25.4k against
#: 18.1k-20.0k ev/s), so a floor run now lasts about as long as the stage runs it is
#: compared with.
FLOOR_FACTOR = 3

TARGETS = {
    "translate_route_vs_baseline": 0.40,
    "translate_route_vs_quix": 1.5,
    "timeline_events_per_s": 5000.0,
    "latency_p99_ms": 250.0,
    "soak_rss_growth_mb": 50.0,
}


def baseline_figures(first: dict[str, Any], again: dict[str, Any]) -> dict[str, Any]:
    """The baseline of the run: the plain loop before the hub's phases and again after
    them. Every ratio divides by the mean of the two rates, so a machine that slows down or
    speeds up during the run (this one is shared) moves the reference with it, and the two
    rates side by side show how much it moved."""
    rates = [r["events_per_s"] for r in (first, again) if r.get("events_per_s")]
    return {
        "events_per_s": _round(sum(rates) / len(rates)) if rates else None,
        "inputs_expected": first["inputs_expected"],
        "inputs_delivered": first["inputs_delivered"],
        "complete": bool(first.get("complete")) and bool(again.get("complete")),
        "peak_rss_mb": max(r.get("peak_rss_mb", 0.0) for r in (first, again)) or None,
        "runs": [first, again],
    }


def quix_importable(python: str | None) -> bool:
    """Whether ``python`` (default: this interpreter) can import quixstreams."""
    if python is None:
        import importlib.util  # noqa: PLC0415

        return importlib.util.find_spec("quixstreams") is not None
    import subprocess  # noqa: PLC0415

    try:
        done = subprocess.run(  # noqa: S603 - the user's own interpreter path
            [python, "-c", "import quixstreams, hub"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


QUIX_HINT = (
    "Quix Streams is not installed: pip install 'handoff[bench]' in its own environment "
    "(quixstreams pins pydantic<2.14, older than the hub's constraints), then "
    "hub bench --compare-quix --quix-python <that environment>/bin/python"
)


class Bench:
    def __init__(self, cluster: KafkaCluster, options: BenchOptions, progress: Progress) -> None:
        self.cluster = cluster
        self.options = options
        self.say = progress
        self.tag = uuid.uuid4().hex[:6] if cluster.kind != "embedded" else ""
        self.instances = Instances.tagged(self.tag)
        self.config = HubConfig()
        # one record a second from half an hour ago: no SLA clock falls due while measuring
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1800)
        self.t0 = start
        self.generator = Generator(self.instances, seed=options.seed, t0=start)
        self.work_dir = options.work_dir
        self.dept_topics = [department_topic(d) for d in self.config.departments]

    async def topics(self) -> None:
        streams = [
            stream
            for tag in (
                self.tag,
                self.tag + "c",
                *(self.tag + run for run in FLOOR_RUNS.values()),
                *(self.tag + run for run in BASELINE_RUNS),
            )
            for stream in Instances.tagged(tag).streams()
        ]
        specs = catalog(self.config, streams)
        outputs = output_topics(self.config)
        # the floor writes copies (same partitions), not the hub's topics: the timeline
        # phase counts what the canonical topics hold
        specs += [
            TopicSpec(floor_topic(self.tag + run, s.name), s.key, s.content, s.partitions)
            for run in (FLOOR_RUN, PIPELINE_FLOOR_RUN)
            for s in specs
            if s.name in outputs
        ]
        extra = [baseline_topic(self.tag + run) for run in BASELINE_RUNS]
        if self.options.compare_quix:
            extra += [
                quix_topic(tag, name)
                for tag in (self.tag, self.tag + QUIX_FLOOR_RUN)
                for name in outputs
            ]
        specs += [TopicSpec(name, "as input", "benchmark output", 6) for name in extra]
        await create_topics(self.cluster, specs, self.config.topics.replication_factor)

    # -- phases --------------------------------------------------------------------------
    async def throughput(
        self,
        mode: str,
        topics: Sequence[str],
        id_header: str,
        ids: set[str],
        *,
        tag: str | None = None,
        ready_timeout: float = 90.0,
        **kw: Any,
    ) -> tuple[dict[str, Any], Collector, Worker]:
        collector = Collector(self.cluster, topics, id_header, wanted=ids)
        await collector.start()
        worker = Worker(mode, self.cluster, self.tag if tag is None else tag, self.work_dir, **kw)
        await worker.start(ready_timeout)
        timeout = max(120.0, len(ids) / 200)
        complete = await collector.wait_for(len(ids), timeout)
        await collector.settle(quiet=0.5)
        seconds = max(collector.arrivals) - worker.ready_at if collector.arrivals else float("nan")
        figures: dict[str, Any] = {
            "events_per_s": _round(_sustained(collector.arrivals, worker.ready_at)),
            "inputs_delivered": collector.seen(),
            "inputs_expected": len(ids),
            "complete": complete,
            "records_read": collector.deliveries,
            "seconds_from_ready_to_last": _round(seconds, 2),
        }
        return figures, collector, worker

    async def run(self) -> dict[str, Any]:  # noqa: PLR0915 - the phases in order
        o = self.options
        self.work_dir.mkdir(parents=True, exist_ok=True)
        result: dict[str, Any] = {
            "handoff": hub.__version__,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cluster": {"kind": self.cluster.kind, "bootstrap": self.cluster.bootstrap_servers},
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(terse=True),
            },
        }
        self.say(f"creating topics on {self.cluster.bootstrap_servers} ({self.cluster.kind})")
        await self.topics()
        records = list(self.generator.records(0, o.events))
        ids = {r.event_id for r in records}
        sizes = Counter[str]()
        for r in records:
            sizes[r.topic.split(".")[-1]] += 1
        result["records"] = {
            "count": len(records),
            "mean_bytes": round(sum(len(r.record.value) for r in records) / len(records)),
            "by_entity": dict(sorted(sizes.items())),
        }
        self.say(f"pure stage code on {len(records)} records (expected deliveries)")
        expected = expected_deliveries(records, self.config)
        result["in_process"] = {
            "events_per_s": _round(len(records) / expected.seconds),
            "note": "translate + identity + route in one Python thread, no Kafka",
        }
        producer = await _producer(self.cluster)
        try:
            start = time.perf_counter()
            await produce_all(producer, records)
            result["records"]["produce_per_s"] = _round(
                len(records) / (time.perf_counter() - start)
            )

            self.say("baseline: plain aiokafka consume -> produce")
            first_baseline = await self.baseline(producer, BASELINE_RUNS[0])

            if o.compare_quix:
                result["quix"] = await self.quix(ids)

            self.say("translate + identity + route: translator and router services")
            figures, collector, worker = await self.throughput(
                "pipeline", self.dept_topics, "ce_causationid", ids
            )
            delivered = {t: n for t, n in sorted(collector.per_topic.items())}
            non_merged = collector.deliveries - collector.other
            figures |= {
                "deliveries_expected": expected.deliveries,
                "deliveries": non_merged,
                "duplicates": collector.duplicates,
                "merge_events": collector.other,
                "per_department": delivered,
                "per_department_expected": dict(sorted(expected.per_department.items())),
                "canonical_events": expected.canonical,
            }
            rate = figures["events_per_s"]
            result["translate_route"] = figures
            quix = result.get("quix", {})
            if rate and quix.get("events_per_s"):
                quix["ratio_hub_to_quix"] = round(rate / quix["events_per_s"], 3)

            self.say("latency at half the sustained rate")
            result["latency"] = await self.latency(producer, collector, rate or 100.0)
            result["translate_route"] |= await worker.stop()
            await collector.stop()

            self.say("translate + route in one service (translate_and_route, one hop)")
            result["combined"] = await self.combined(producer, expected)

            one_hop_rate = result["combined"].get("latency", {}).get("rate_per_s")
            if one_hop_rate:
                self.say("latency of the plain loop at the one-hop latency phase's rate")
                result["baseline_latency"] = await self.baseline_latency(producer, one_hop_rate)

            self.say("the one-hop service's Kafka work alone (outputs looked up, no stage code)")
            result["floor"] = await self.floor(producer)
            self.say("the two services' Kafka work alone (outputs looked up, no stage code)")
            result["pipeline_floor"] = await self.floor(producer, "pipelinefloor")
            if result.get("quix", {}).get("available"):
                self.say("the Quix Streams worker's Kafka work alone (outputs looked up)")
                result["quix"]["floor"] = await self.floor(producer, "quixfloor")

            self.say("baseline again")
            again = await self.baseline(producer, BASELINE_RUNS[1])
        finally:
            await producer.stop()
        result["baseline"] = baseline_figures(first_baseline, again)
        baseline_rate = result["baseline"]["events_per_s"]
        for name in ("translate_route", "combined", "floor", "pipeline_floor"):
            rate = result[name]["events_per_s"]
            result[name]["ratio_to_baseline"] = (
                round(rate / baseline_rate, 3) if rate and baseline_rate else None
            )
        quix_floor = result.get("quix", {}).get("floor", {}).get("events_per_s")
        if quix_floor and result["floor"]["events_per_s"]:
            result["floor"]["ratio_to_quix_floor"] = round(
                result["floor"]["events_per_s"] / quix_floor, 3
            )

        self.say("timeline ingestion into SQLite")
        result["timeline"] = await self.timeline()
        quix = result.get("quix", {})
        combined_rate = result.get("combined", {}).get("events_per_s")
        if combined_rate and quix.get("events_per_s"):
            quix["ratio_combined_to_quix"] = round(combined_rate / quix["events_per_s"], 3)
        if o.soak:
            result["soak"] = await self.soak()
        result["targets"] = targets(result)
        return result

    def tagged_generator(self, tag: str) -> Generator:
        """The records of ``tag``'s instance names: the same for the same tag and index,
        so a later phase can continue what :meth:`own_records` produced."""
        return Generator(Instances.tagged(tag), seed=self.options.seed, t0=self.t0)

    async def own_records(
        self, producer: AIOKafkaProducer, tag: str, count: int
    ) -> tuple[Generator, set[str]]:
        """``count`` records under ``tag``'s instance names (fresh ids and raw topics),
        produced; the generator (to continue them) and their ids."""
        generator = self.tagged_generator(tag)
        records = list(generator.records(0, count))
        await produce_all(producer, records)
        return generator, {r.event_id for r in records}

    async def baseline(self, producer: AIOKafkaProducer, run: str) -> dict[str, Any]:
        """One run of the plain consume-and-produce loop, over its own copy of the records
        (under other instance names) continued to ``BASELINE_FACTOR`` times their number."""
        tag = self.tag + run
        _, ids = await self.own_records(producer, tag, self.options.events * BASELINE_FACTOR)
        figures, collector, worker = await self.throughput(
            "baseline", [baseline_topic(tag)], "ce_id", ids, tag=tag
        )
        figures |= await worker.stop()
        await collector.stop()
        return figures

    async def baseline_latency(self, producer: AIOKafkaProducer, rate: float) -> dict[str, Any]:
        """The plain loop's latency at ``rate``, measured as the hub's is, at the same point
        of the run.

        On the embedded broker a fetch costs more the more records the fetched partitions
        hold (docs/benchmark.md, eleventh round), so the loop continues the first baseline
        run's raw topics (five times ``--events`` records already) and its collector reads
        the department topics as well as the loop's output topic: its fetches cover what
        the hub's collector's cover, plus one topic."""
        tag = self.tag + BASELINE_RUNS[0]
        generator = self.tagged_generator(tag)
        collector = Collector(self.cluster, [*self.dept_topics, baseline_topic(tag)], "ce_id")
        await collector.start()
        worker = Worker("baseline", self.cluster, tag, self.work_dir)
        try:
            await worker.start()
            await collector.settle(quiet=0.5)  # read what the topics already hold
            start = self.options.events * BASELINE_FACTOR
            figures = await self.latency(producer, collector, rate * 2, generator, start)
        finally:
            figures_stop = await worker.stop()
            await collector.stop()
        return figures | figures_stop

    async def combined(self, producer: AIOKafkaProducer, expected: Expected) -> dict[str, Any]:
        """The same records under other instance names (fresh ids and raw topics)."""
        tag = self.tag + "c"
        generator, ids = await self.own_records(producer, tag, self.options.events)
        figures, collector, worker = await self.throughput(
            "combined", self.dept_topics, "ce_causationid", ids, tag=tag
        )
        figures |= {
            "deliveries_expected": expected.deliveries,
            "deliveries": collector.deliveries - collector.other,
            "duplicates": collector.duplicates,
        }
        rate = figures["events_per_s"]
        self.say("latency of the one-hop service at half its sustained rate")
        figures["latency"] = await self.latency(producer, collector, rate or 100.0, generator)
        figures |= await worker.stop()
        await collector.stop()
        return figures

    async def floor(self, producer: AIOKafkaProducer, mode: str = "floor") -> dict[str, Any]:
        """The one-hop service's (``floor``), the Quix Streams worker's (``quixfloor``) or the
        two services' (``pipelinefloor``) consuming, publishing and committing of the same
        mix of records (``FLOOR_FACTOR`` times as many, under other instance names), with a
        lookup of their outputs for the stage code."""
        quix = mode == "quixfloor"
        tag = self.tag + FLOOR_RUNS[mode]
        count = self.options.events * FLOOR_FACTOR
        records = list(self.tagged_generator(tag).records(0, count))
        expected = expected_deliveries(records, self.config)
        await produce_all(producer, records)
        ids = {r.event_id for r in records}
        extra = ["--seed", str(self.options.seed), "--t0", self.t0.isoformat()]
        extra += ["--events", str(count)]
        output_topic = quix_topic if quix else floor_topic
        topics = [output_topic(tag, t) for t in self.dept_topics]
        figures, collector, worker = await self.throughput(
            mode,
            topics,
            "ce_causationid",
            ids,
            tag=tag,
            # the worker works out every output before it is ready
            ready_timeout=90.0 + count / 1000,
            extra=extra,
            **({"python": self.options.quix_python} if quix else {}),
        )
        figures |= {
            "deliveries": collector.deliveries - collector.other,
            "deliveries_expected": expected.deliveries,
            "duplicates": collector.duplicates,
            "note": "consume, publish and commit of the outputs, looked up per record "
            "instead of computed" + (", in two services" if mode == "pipelinefloor" else ""),
        }
        figures |= await worker.stop()
        await collector.stop()
        return figures

    async def quix(self, ids: set[str]) -> dict[str, Any]:
        o = self.options
        if not quix_importable(o.quix_python):
            self.say(QUIX_HINT)
            return {"available": False, "hint": QUIX_HINT}
        self.say("the same translate + fan-out written with Quix Streams")
        topics = [quix_topic(self.tag, t) for t in self.dept_topics]
        figures, collector, worker = await self.throughput(
            "quix", topics, "ce_causationid", ids, python=o.quix_python
        )
        figures |= await worker.stop()
        await collector.stop()
        return {"available": True, **figures}

    async def latency(
        self,
        producer: AIOKafkaProducer,
        collector: Collector,
        sustained: float,
        generator: Generator | None = None,
        start: int | None = None,
    ) -> dict[str, Any]:
        """Paced at half of ``sustained``: new records of ``generator`` (default: the
        records the two-service pipeline reads) from index ``start`` (default: after the
        throughput phase's)."""
        o = self.options
        rate = max(sustained / 2, 1.0)
        count = max(50, int(rate * o.latency_seconds))
        first = o.events if start is None else start
        records = list((generator or self.generator).records(first, count))
        ids = [r.event_id for r in records]
        collector.wanted.update(ids)
        freeze_startup_heap()  # the collector's own GC pauses would count as latency
        real = await produce_paced(producer, records, rate, collector.sent_at)
        complete = await collector.wait_for(len(ids), max(60.0, count / 100), ids)
        await collector.settle(quiet=0.5)
        ms = [v * 1000 for v in collector.latencies]
        return {
            "rate_per_s": _round(real),
            "target_rate_per_s": _round(rate),
            "inputs": count,
            "inputs_delivered": collector.seen(ids),
            "complete": complete,
            "deliveries": len(ms),
            "p50_ms": _round(_percentile(ms, 0.50)),
            "p99_ms": _round(_percentile(ms, 0.99)),
            "max_ms": _round(max(ms) if ms else None),
        }

    async def canonical_count(self) -> tuple[int, int]:
        """(records, distinct event ids) on the canonical topics."""
        collector = Collector(self.cluster, CANONICAL_TOPICS, "ce_id", light=True)
        collector.wanted = _Everything()
        await collector.start()
        await collector.settle(quiet=1.5)
        await collector.stop()
        return collector.deliveries, collector.seen()

    async def timeline(self) -> dict[str, Any]:
        db = self.work_dir / f"timeline-{uuid.uuid4().hex[:6]}.db"
        records, expected = await self.canonical_count()
        worker = Worker("timeline", self.cluster, self.tag, self.work_dir, db=db)
        await worker.start()
        samples = await watch_rows(db, expected, timeout=max(120.0, expected / 200))
        figures = await worker.stop()
        stored = samples[-1][1] if samples else 0
        return {
            "events_per_s": _round(rate_from_samples(samples)),
            "stored": stored,
            "canonical_records": records,
            "distinct_events": expected,
            "seconds_from_ready_to_last": _round(
                samples[-1][0] - worker.ready_at if samples else None, 2
            ),
            "database": str(db),
            **figures,
        }

    async def soak(self) -> dict[str, Any]:
        """Translator, router and timeline in one process over many events: RSS growth."""
        o = self.options
        self.say(f"soak: {o.soak_events} events through translator, router and timeline")
        db = self.work_dir / f"soak-{uuid.uuid4().hex[:6]}.db"
        start_index = 10_000_000
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=start_index + 1800)
        generator = Generator(self.instances, seed=o.seed + 1, customers=2000, t0=t0)
        collector = Collector(self.cluster, self.dept_topics, "ce_causationid", light=True)
        await collector.start()
        worker = Worker("hub", self.cluster, self.tag, self.work_dir, db=db)
        await worker.start()
        producer = await _producer(self.cluster)
        checkpoints = sorted({min(100_000, o.soak_events), o.soak_events})
        samples: list[dict[str, Any]] = []
        sent = 0
        chunk = 20_000
        began = time.perf_counter()
        try:
            while sent < o.soak_events:
                size = min(chunk, o.soak_events - sent)
                batch = list(generator.records(start_index + sent, size))
                collector.wanted.update(r.event_id for r in batch)
                await produce_all(producer, batch)
                sent += size
                await collector.wait_for(len(collector.wanted), timeout=max(120.0, size / 100))
                if sent in checkpoints or sent % 100_000 == 0:
                    await wait_rows_stable(db)
                    samples.append(
                        {"events": sent, "seconds": round(time.perf_counter() - began, 1)}
                        | worker.memory()
                    )
                    self.say(f"soak: {sent} events, {samples[-1]}")
        finally:
            await producer.stop()
            await collector.stop()
            figures = await worker.stop()
        first = next((s for s in samples if s["events"] == checkpoints[0]), None)
        last = samples[-1] if samples else None
        growth = (
            round(last["rss_mb"] - first["rss_mb"], 1)
            if first and last and "rss_mb" in first and "rss_mb" in last
            else None
        )
        return {
            "events": o.soak_events,
            "samples": samples,
            "rss_growth_mb": growth,
            "from_events": checkpoints[0],
            "to_events": o.soak_events,
            "inputs_delivered": collector.seen(),
            **figures,
        }


class _Everything(set[str]):
    """A ``wanted`` set that contains every id."""

    def __contains__(self, item: object) -> bool:
        return True


def _count_rows(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT count(*) FROM timeline_events").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


async def watch_rows(db: Path, expected: int, timeout: float) -> list[tuple[float, int]]:
    """(time, stored rows) samples until ``expected`` rows or no progress for 10 s."""
    samples: list[tuple[float, int]] = []
    deadline = time.perf_counter() + timeout
    last_change = time.perf_counter()
    while time.perf_counter() < deadline:
        now, rows = time.perf_counter(), _count_rows(db)
        if not samples or rows != samples[-1][1]:
            last_change = now
            samples.append((now, rows))
        if rows >= expected or (rows and now - last_change > 10):
            break
        await asyncio.sleep(0.05)
    return samples


async def wait_rows_stable(db: Path, quiet: float = 2.0, timeout: float = 300.0) -> int:
    last, since = -1, time.perf_counter()
    deadline = since + timeout
    while time.perf_counter() < deadline:
        rows = _count_rows(db)
        if rows != last:
            last, since = rows, time.perf_counter()
        elif time.perf_counter() - since >= quiet:
            break
        await asyncio.sleep(0.1)
    return last


def rate_from_samples(samples: Sequence[tuple[float, int]]) -> float | None:
    """Rows per second between the samples nearest 10 % and 90 % of the final count."""
    if len(samples) < 3:
        return None
    final = samples[-1][1]
    lo = next(s for s in samples if s[1] >= final * 0.1)
    hi = next(s for s in samples if s[1] >= final * 0.9)
    span = hi[0] - lo[0]
    return (hi[1] - lo[1]) / span if span > 0 else None


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target, what was measured, and whether it was met (None: not measured)."""
    tr = result.get("translate_route", {})
    quix = result.get("quix", {})

    def row(name: str, goal: str, value: float | None, met: bool | None) -> dict[str, Any]:
        return {"target": name, "goal": goal, "measured": value, "met": met}

    ratio = tr.get("ratio_to_baseline")
    quix_ratio = quix.get("ratio_hub_to_quix")
    one_hop = result.get("combined", {}).get("ratio_to_baseline")
    one_hop_quix = quix.get("ratio_combined_to_quix")
    timeline = result.get("timeline", {}).get("events_per_s")
    p99 = result.get("latency", {}).get("p99_ms")
    p99_one_hop = result.get("combined", {}).get("latency", {}).get("p99_ms")
    growth = result.get("soak", {}).get("rss_growth_mb")

    def at_least(value: float | None, goal: float) -> bool | None:
        return None if value is None else value >= goal

    return [
        row("translate+route (2 services) vs baseline", ">= 0.40x", ratio, at_least(ratio, 0.4)),
        row("translate+route vs Quix Streams", ">= 1.5x", quix_ratio, at_least(quix_ratio, 1.5)),
        row("translate_and_route (1 hop) vs baseline", ">= 0.40x", one_hop, at_least(one_hop, 0.4)),
        row(
            "translate_and_route vs Quix Streams",
            ">= 1.5x",
            one_hop_quix,
            at_least(one_hop_quix, 1.5),
        ),
        row("timeline ingestion (events/s)", ">= 5000", timeline, at_least(timeline, 5000)),
        row("p99 latency at half rate (ms)", "<= 250", p99, None if p99 is None else p99 <= 250),
        row(
            "p99 latency at half rate, 1 hop (ms)",
            "<= 250",
            p99_one_hop,
            None if p99_one_hop is None else p99_one_hop <= 250,
        ),
        row(
            "RSS growth over the soak (MB)", "< 50", growth, None if growth is None else growth < 50
        ),
    ]


async def run_bench(
    cluster: KafkaCluster, options: BenchOptions, progress: Progress = lambda _: None
) -> dict[str, Any]:
    return await Bench(cluster, options, progress).run()

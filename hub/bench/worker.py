"""The benchmark's worker process: one set of services (or a baseline) on a given cluster.

``python -m hub.bench.worker MODE --bootstrap HOST:PORT --tag TAG [--db PATH]`` runs until
SIGTERM. Modes:

- ``pipeline``: the translator and router services (the real service factories on a real
  :class:`~hub.runtime.service.Runtime`, as ``hub up`` assembles them);
- ``timeline``: the timeline service with its SQLite store;
- ``hub``: translator, router and timeline together (the soak measurement);
- ``baseline``: a plain aiokafka consume-and-produce loop over the raw topics, a batch at a
  time, committing after each batch is acknowledged;
- ``quix``: translate and fan out with Quix Streams (needs ``quixstreams`` importable);
- ``floor``: the one-hop service's plumbing (the same subscriber, batch runner, producer
  and commits) with its stage code replaced by a lookup of the outputs that code gives
  each raw record, worked out before the worker reports ready: what the hub's Kafka work
  alone allows, whatever the stage code costs;
- ``quixfloor``: the same lookup in the Quix Streams worker, so that the two frameworks'
  Kafka work can be compared without the stage code both run.
- ``pipelinefloor``: the two services' plumbing the same way, one lookup in place of each
  service's stage code (the translator's outputs per raw record, the router's per canonical
  event): what two hops' Kafka work alone allows.

The driver (:mod:`hub.bench.driver`) starts one worker per measurement so that each gets
the process to itself, and reads its memory from ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaMessage, KafkaRouter

from connectors.kit.registry import connector_types, translator_for
from hub.bench import desk
from hub.bench.records import Generator, Instances
from hub.config import HubConfig
from hub.routing.reload import RulesHolder
from hub.runtime.app import ServiceHost, make_runtime
from hub.runtime.batch import batch_subscriber, run_batch
from hub.runtime.cluster import (
    APACHE_KAFKA_CAPABILITIES,
    EMBEDDED_CAPABILITIES,
    KafkaCluster,
)
from hub.runtime.metrics import Tally
from hub.runtime.producer import Output
from hub.runtime.service import Runtime, Service, ServiceFactory
from hub.runtime.settings import HubSettings, KafkaSettings
from hub.services import timeline as timeline_service
from hub.services.router import RouterStage, router_service
from hub.services.translator import translate_and_route, translator_service
from hub.topics import CANONICAL_TOPICS, DLQ, IDENTITY, department_topic, raw_topic
from hub.translate.stage import TranslationStage, Translator
from schemas import Envelope

log = logging.getLogger(__name__)

MODES = (
    "pipeline",
    "combined",
    "timeline",
    "hub",
    "baseline",
    "quix",
    "floor",
    "quixfloor",
    "pipelinefloor",
)
BASELINE_BATCH = 2000


def baseline_topic(tag: str) -> str:
    return f"bench{tag}.baseline"


def quix_topic(tag: str, name: str) -> str:
    return f"bench{tag}.quix.{name}"


def floor_topic(tag: str, name: str) -> str:
    """Where the floor measurement writes what the hub would write to ``name``."""
    return f"bench{tag}.floor.{name}"


def output_topics(config: HubConfig) -> list[str]:
    """Every topic the one-hop service writes: the Quix and floor workers write copies."""
    return [*CANONICAL_TOPICS, IDENTITY, DLQ, *(department_topic(d) for d in config.departments)]


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """The text of header ``name`` of a record, if it has one."""
    for key, value in headers or ():
        if key == name:
            return value.decode()
    return None


def lookup(type_name: str) -> Translator:
    """The installed connector types' translators, plus the benchmark's helpdesk type."""
    return desk.translate if type_name == desk.TYPE_NAME else translator_for(type_name)


def raw_topics(tag: str) -> list[str]:
    return [raw_topic(i, e) for i, e in Instances.tagged(tag).streams()]


def _cluster(bootstrap: str, embedded: bool) -> KafkaCluster:
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    return KafkaCluster(
        bootstrap_servers=bootstrap,
        kind="embedded" if embedded else "external",
        capabilities=EMBEDDED_CAPABILITIES if embedded else APACHE_KAFKA_CAPABILITIES,
        settings=settings,
    )


def factories(mode: str, tag: str) -> list[ServiceFactory]:
    config = HubConfig()

    def translator(runtime: Runtime) -> Service:
        return translator_service(
            runtime, lookup, group_id=f"bench{tag}-translator", raw_topics=raw_topics(tag)
        )

    def router(runtime: Runtime) -> Service:
        return router_service(runtime, rules=RulesHolder(config), group_id=f"bench{tag}-router")

    def combined(runtime: Runtime) -> Service:
        return translate_and_route(
            runtime, lookup, group_id=f"bench{tag}-combined", raw_topics=raw_topics(tag)
        )

    def timeline(runtime: Runtime) -> Service:
        return timeline_service.build(runtime, group_id=f"bench{tag}-timeline")

    table: dict[str, list[ServiceFactory]] = {
        "pipeline": [translator, router],
        "combined": [combined],
        "timeline": [timeline],
        "hub": [translator, router, timeline],
    }
    return table[mode]


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_services(
    mode: str, cluster: KafkaCluster, tag: str, db: Path, floor: FloorRecords | None = None
) -> None:
    settings = HubSettings(database_url=f"sqlite:///{db}", state_dir=db.parent, log_format="text")
    runtime = make_runtime(settings, HubConfig(), cluster)
    if mode in ("floor", "pipelinefloor"):
        if floor is None:
            raise SystemExit(f"{mode} needs --seed, --t0 and --events")
        services = floor_services(mode, tag, floor_outputs(tag, floor))
    else:
        services = factories(mode, tag)
    host = ServiceHost(runtime, services)
    await host.start()
    try:
        while not host.started:  # noqa: ASYNC110 - the host has no event for this
            await asyncio.sleep(0.02)
        print("ready", flush=True)  # noqa: T201 - the driver waits for this line
        await _until_stopped()
    finally:
        await host.stop()


async def run_baseline(cluster: KafkaCluster, tag: str) -> None:
    """consume -> produce unchanged, a batch at a time, commit after the acknowledgements."""
    consumer = AIOKafkaConsumer(
        *raw_topics(tag),
        group_id=f"bench{tag}-baseline",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        **cluster.client_options(),
    )
    producer = AIOKafkaProducer(**cluster.client_options(), **cluster.producer_options())
    await consumer.start()
    await producer.start()
    out = baseline_topic(tag)
    # in the group before "ready": the baseline's latency phase paces records from then on,
    # and must not count the group join (about half the session timeout) as latency
    for _ in range(600):
        if consumer.assignment():
            break
        await asyncio.sleep(0.05)
    print("ready", flush=True)  # noqa: T201 - the driver waits for this line

    async def loop() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=BASELINE_BATCH)
            futures = [
                await producer.send(out, r.value, key=r.key, headers=list(r.headers))
                for records in batches.values()
                for r in records
            ]
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()

    task = asyncio.create_task(loop())
    try:
        await _until_stopped()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        await consumer.stop()


@dataclass(frozen=True)
class FloorRecords:
    """Which records the floor worker will read: the driver's generator for its tag."""

    seed: int
    t0: datetime
    events: int


def floor_outputs(
    tag: str, records: FloorRecords, topic: Callable[[str, str], str] = floor_topic
) -> dict[str, list[Output]]:
    """Raw event id -> the one-hop service's outputs for it, in order, on ``topic(tag, name)``
    for the hub's topic ``name``.

    The same stage code over the same records in the same order as the service would meet
    them gives the same outputs (identity records and merges included): the benchmark's
    expected deliveries rest on that too."""
    config = HubConfig()
    connector_types()
    stage = TranslationStage(config, lookup)
    route = RouterStage(RulesHolder(config)).handle
    generator = Generator(Instances.tagged(tag), seed=records.seed, t0=records.t0)
    outputs: dict[str, list[Output]] = {}
    for raw in generator.records(0, records.events):
        event = Envelope.from_kafka(
            key=raw.record.key, value=raw.record.value, headers=raw.record.headers
        )
        outputs[raw.event_id] = [
            (topic(tag, name), record) for name, record in stage.translate(event, route)
        ]
    return outputs


def split_floor(
    outputs: dict[str, list[Output]], departments: set[str]
) -> tuple[dict[str, list[Output]], dict[str, list[Output]]]:
    """The one-hop outputs as the two services share them: the translator's per raw event
    id (all but the department records) and the router's per canonical record
    (:func:`canonical_key`; the department records keep their canonical record's headers)."""
    translated: dict[str, list[Output]] = {}
    routed: dict[str, list[Output]] = {}
    for event_id, records in outputs.items():
        translated[event_id] = [(t, r) for t, r in records if t not in departments]
        for topic, record in records:
            if topic in departments:
                routed.setdefault(canonical_key(record.headers), []).append((topic, record))
    return translated, routed


def canonical_key(headers: Sequence[tuple[str, bytes]] | None) -> str:
    """A canonical record's id and its cause's: a translator may emit one event id again
    from a later raw record (a ticket's ``ticket.opened`` on each revision), and the router
    delivers each of those records."""
    return f"{header(headers, 'ce_id')}|{header(headers, 'ce_causationid')}"


def event_key(headers: Sequence[tuple[str, bytes]] | None) -> str:
    return header(headers, "ce_id") or ""


def floor_services(mode: str, tag: str, outputs: dict[str, list[Output]]) -> list[ServiceFactory]:
    """``floor``: the one-hop service's lookup; ``pipelinefloor``: the translator's and the
    router's, the router reading what the translator's lookup published."""
    if mode == "floor":
        return [lambda rt: floor_service(rt, tag, outputs)]
    departments = {floor_topic(tag, department_topic(d)) for d in HubConfig().departments}
    translated, routed = split_floor(outputs, departments)
    canonical = [floor_topic(tag, t) for t in CANONICAL_TOPICS]
    return [
        lambda rt: floor_service(rt, tag, translated),
        lambda rt: floor_service(
            rt, tag, routed, topics=canonical, name="floor-router", key=canonical_key
        ),
    ]


def floor_service(
    runtime: Runtime,
    tag: str,
    outputs: dict[str, list[Output]],
    *,
    topics: Sequence[str] | None = None,
    name: str = "floor",
    key: Callable[[Sequence[tuple[str, bytes]] | None], str] = event_key,
) -> Service:
    """A service as it consumes, publishes and commits (``translate_and_route`` on the raw
    topics by default), with a lookup of its outputs by ``key`` of the record's headers
    where its stage code runs (a record it does not know gives nothing)."""
    events_in = Tally(runtime.metrics.events_in)
    none: list[Output] = []
    inputs = list(topics) if topics is not None else raw_topics(tag)

    def handle(record: ConsumerRecord[bytes, bytes]) -> list[Output]:
        events_in.add(name, record.topic)
        return outputs.get(key(record.headers), none)

    router = KafkaRouter()

    @batch_subscriber(router, *inputs, group_id=f"bench{tag}-{name}")
    async def floor_batch(msg: KafkaMessage) -> None:
        await run_batch(
            producer=runtime.producer,
            consumer=msg.consumer,
            records=msg.raw_message,
            stage=name,
            handle=handle,
            flush=(events_in.flush,),
        )

    written = {topic for records in outputs.values() for topic, _ in records}
    return Service(name=name, kafka=router, topics=(*inputs, *sorted(written)))


def run_quix(  # pragma: no cover - optional extra
    cluster: KafkaCluster, tag: str, floor: FloorRecords | None = None
) -> None:
    """The same translate-and-fan-out, written with Quix Streams (one hop); with ``floor``,
    its outputs looked up instead (:func:`floor_outputs`)."""
    from quixstreams import Application  # type: ignore[import-not-found]  # noqa: PLC0415
    from quixstreams.models.serializers import (  # type: ignore[import-not-found]  # noqa: PLC0415
        Serializer,
    )

    from hub.services.router import RouterStage  # noqa: PLC0415
    from hub.translate.stage import TranslationStage  # noqa: PLC0415
    from schemas import Envelope  # noqa: PLC0415

    config = HubConfig()
    connector_types()  # as the translator service does before it is ready
    stage = TranslationStage(config, lookup)
    router = RouterStage(RulesHolder(config))

    class Raw(Serializer):  # type: ignore[misc]
        def __call__(self, value: Any, ctx: Any) -> bytes:
            return bytes(value["value"])

    state_dir = tempfile.mkdtemp(prefix="bench-quix-")
    app = Application(
        broker_address=cluster.bootstrap_servers,
        consumer_group=f"bench{tag}-quix",
        auto_offset_reset="earliest",
        auto_create_topics=False,
        use_changelog_topics=False,
        # it keeps no state here; without this it makes ./state in the working directory
        state_dir=state_dir,
        producer_extra_config={
            "linger.ms": 5,
            "acks": "all",
            "enable.idempotence": False,
            # the hub's services compress as KAFKA_COMPRESSION_TYPE says: so does this worker
            "compression.type": cluster.settings.compression_type,
        },
        consumer_extra_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 500},
    )
    outputs = {
        name: app.topic(quix_topic(tag, name), value_serializer=Raw(), key_serializer="bytes")
        for name in output_topics(config)
    }

    def translated(value: bytes, key: bytes | None, timestamp: int, headers: Any) -> list[Any]:
        raw = Envelope.from_kafka(key=key, value=value, headers=headers or ())
        return [
            {"topic": topic, "key": record.key, "value": record.value, "headers": record.headers}
            for topic, record in stage.translate(raw, router.handle)
        ]

    known = {
        event_id: [
            {"topic": name, "key": r.key, "value": r.value, "headers": r.headers}
            for name, r in records
        ]
        for event_id, records in (
            floor_outputs(tag, floor, lambda _tag, name: name) if floor is not None else {}
        ).items()
    }
    none: list[Any] = []

    def looked_up(value: bytes, key: bytes | None, timestamp: int, headers: Any) -> list[Any]:
        return known.get(header(headers, "ce_id") or "", none)

    work = translated if floor is None else looked_up
    for name in raw_topics(tag):
        sdf = app.dataframe(app.topic(name, value_deserializer="bytes", key_deserializer="bytes"))
        sdf = sdf.apply(work, expand=True, metadata=True)
        sdf = sdf.set_headers(lambda value, key, timestamp, headers: list(value["headers"]))
        sdf.to_topic(
            lambda value, key, timestamp, headers: outputs[value["topic"]],
            key=lambda value: value["key"],
        )
    print("ready", flush=True)  # noqa: T201 - the driver waits for this line
    try:
        app.run()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hub.bench.worker")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--external", action="store_true", help="not the embedded broker")
    parser.add_argument("--tag", default="")
    parser.add_argument("--db", type=Path, default=Path(".hub/bench-timeline.db"))
    parser.add_argument("--seed", type=int, help="floors: the driver's generator seed")
    parser.add_argument("--t0", type=datetime.fromisoformat, help="floors: its first time")
    parser.add_argument("--events", type=int, help="floors: how many records it wrote")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cluster = _cluster(args.bootstrap, not args.external)
    floor = (
        FloorRecords(args.seed, args.t0, args.events)
        if None not in (args.seed, args.t0, args.events)
        else None
    )
    if args.mode in ("quix", "quixfloor"):
        if args.mode == "quixfloor" and floor is None:
            raise SystemExit("quixfloor needs --seed, --t0 and --events")
        run_quix(cluster, args.tag, floor if args.mode == "quixfloor" else None)
    elif args.mode == "baseline":
        asyncio.run(run_baseline(cluster, args.tag))
    else:
        asyncio.run(run_services(args.mode, cluster, args.tag, args.db, floor))


if __name__ == "__main__":
    main()

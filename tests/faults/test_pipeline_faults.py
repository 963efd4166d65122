"""The whole pipeline under load while every part of it fails in turn.

``connectors`` (a jsonl source fed while the test runs) -> ``translator`` -> ``router`` ->
``timeline``, each a ``hub run`` process on an embedded broker that keeps its data in S3
(a local moto_server), so it can be restarted. The services start before the broker exists
(not ready, then ready), and while records keep arriving each service is SIGKILLed and
restarted, the broker is killed and restarted, and a second translator, router and timeline
each join their group and leave it (the translator stopped, the others SIGKILLed). Then
each consuming service is killed and its group rewound halfway, so it reads again what it
had handled. Afterwards every source record is on its department topics at least once and
in the timeline store exactly once, per-key order holds, and hub.dlq holds exactly the
poisoned records.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.kit.config import raw_streams
from hub.runtime.cluster import EmbeddedBroker
from hub.topics import DLQ, catalog, create_topics, department_topic
from tests.faults.conftest import REPORTS, variant_params
from tests.faults.pipeline import (
    GROUPS,
    RAW_TOPICS,
    SERVICES,
    Collector,
    Expected,
    Feeder,
    Pipeline,
    Report,
    Seen,
    check_departments,
    check_dlq,
    check_timeline,
    expected_for,
    mixed_lines,
)
from tests.faults.s3 import persistent_broker


@dataclass(frozen=True)
class Variant:
    records: int
    rate: float
    rounds: int
    #: how long the pipeline may take to store every expected timeline event after the feed
    drain_seconds: float


VARIANTS = {
    "short": Variant(records=600, rate=14.0, rounds=1, drain_seconds=120),
    # after three broker restarts the S3-backed broker serves the backlog from storage; the
    # long run drained in under 30 s after its feed ended, so 240 s is a generous bound
    "full": Variant(records=4000, rate=40.0, rounds=3, drain_seconds=240),
}


def stored_ids(database: Path) -> set[str]:
    try:
        with sqlite3.connect(database) as conn:
            return {row[0] for row in conn.execute("SELECT ce_id FROM timeline_events")}
    except sqlite3.Error:
        return set()


def log(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}")  # noqa: T201 - the run's story


@dataclass
class Run:
    dept: list[Seen]
    raw: list[Seen]
    dlq: list[Seen]


def start_before_broker(pipeline: Pipeline, broker: EmbeddedBroker, feeder: Feeder) -> None:
    """Services first: alive, not ready, waiting; then the broker and its topics."""
    pipeline.start_all()
    for name in SERVICES:
        process = pipeline.processes[name]
        process.wait_for(lambda p=process: p.status("/healthz") == 200, 30, "healthz")
        assert process.status("/readyz") == 503, f"{name} ready without a broker"
    head = len(feeder.lines) // 10
    feeder.write(feeder.lines[:head])  # records that exist before the broker does
    feeder.written = head
    broker.start()
    specs = catalog(pipeline.config, raw_streams(pipeline.config.connectors))
    asyncio.run(create_topics(pipeline.cluster, specs))
    pipeline.wait_ready(timeout=90)


def inject_faults(
    pipeline: Pipeline, broker: EmbeddedBroker, round_no: int, started: float
) -> None:
    """One round: SIGKILL and restart each service, kill and restart the broker, rebalance."""
    for name in SERVICES:
        time.sleep(1.0)
        pipeline.restart(name)
        pipeline.wait_ready(name, timeout=60)
        log(f"round {round_no}: {name} SIGKILLed and back", started)
    time.sleep(1.0)
    broker.kill()
    pipeline.wait_unready(timeout=30)
    log(f"round {round_no}: broker killed, every service not ready", started)
    time.sleep(1.0)
    broker.start()
    pipeline.wait_ready(timeout=90)
    log(f"round {round_no}: broker restarted, every service ready", started)
    for name in GROUPS:  # every consuming service gets a second instance, which leaves
        second = f"{name}-2"
        pipeline.start(name, name=second)
        pipeline.wait_ready(second, name, timeout=60)
        time.sleep(1.0)
        if name == "translator":  # leaves the group as a stopped pod does
            assert pipeline.stop(second) == 0
            how = "left"
        else:  # vanishes: the group notices when its session expires
            pipeline.remove(second)
            how = "was SIGKILLed"
        pipeline.wait_ready(name, timeout=60)
        log(f"round {round_no}: a second {name} joined and {how}", started)


def rewind_groups(pipeline: Pipeline, started: float) -> int:
    """Each consuming service killed and its group rewound halfway: it reads again what
    it already handled, so the stores' de-duplication is used whatever the kills' timing."""
    again = 0
    for name in GROUPS:
        reread = pipeline.rewind(name)
        pipeline.wait_ready(name, timeout=60)
        log(f"{name} SIGKILLed, its group rewound ({reread} records to read again)", started)
        again += reread
    return again


def drain_and_collect(
    pipeline: Pipeline, expected: Expected, bootstrap: str, seconds: float, started: float
) -> Run:
    deadline = time.monotonic() + seconds
    next_note = time.monotonic() + 30
    while not expected.timeline <= (stored := stored_ids(pipeline.database)):
        if time.monotonic() > deadline:
            break
        if time.monotonic() > next_note:
            log(f"draining: {len(stored & expected.timeline)} of {len(expected.timeline)}", started)
            next_note += 30
        time.sleep(0.5)
    departments = [department_topic(d) for d in pipeline.config.departments]
    wanted = set().union(*expected.deliveries.values())
    return Run(
        dept=asyncio.run(Collector(bootstrap, departments).read(wanted)),
        raw=asyncio.run(Collector(bootstrap, RAW_TOPICS).read(set(expected.raw))),
        dlq=asyncio.run(Collector(bootstrap, [DLQ]).read()),
    )


def report_for(pipeline: Pipeline, expected: Expected, run: Run) -> Report:
    lost, redelivered, violations = check_departments(expected, run.dept)
    missing, duplicated, rows = check_timeline(expected, pipeline.database, pipeline.config)
    unexpected, dlq_translator, dlq_connector = check_dlq(expected, run.dlq)
    return Report(
        lost=lost,
        raw_lost=set(expected.raw) - {r.header("ce_id") for r in run.raw},
        timeline_missing=missing,
        timeline_duplicated=duplicated,
        timeline_rows=rows,
        department_duplicates=redelivered,
        order_violations=violations,
        dlq_total=len(run.dlq),
        dlq_unexpected=unexpected,
        dlq_missing_translator=dlq_translator,
        dlq_missing_connector=dlq_connector,
    )


@pytest.mark.integration
@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", variant_params())
def test_pipeline_survives_crashes_broker_restart_and_rebalance(
    variant: str, tmp_path: Path
) -> None:
    plan = VARIANTS[variant]
    started = time.monotonic()
    lines = mixed_lines(plan.records)
    with persistent_broker(tmp_path / "broker") as broker:
        pipeline = Pipeline(tmp_path, broker.bootstrap_servers)
        expected = expected_for(lines, pipeline.config)
        feeder = Feeder(pipeline.exports, lines, plan.rate)
        try:
            start_before_broker(pipeline, broker, feeder)
            log("broker up, every service ready", started)
            feeder.start()
            for round_no in range(plan.rounds):
                inject_faults(pipeline, broker, round_no, started)
            reread = rewind_groups(pipeline, started)
            log(f"faults done; fed {feeder.written} of {len(lines)} lines", started)
            feeder.join(timeout=plan.records / plan.rate + 60)
            assert feeder.done
            run = drain_and_collect(
                pipeline, expected, broker.bootstrap_servers, plan.drain_seconds, started
            )
            log("drained and collected", started)
        finally:
            feeder.stopped.set()
            pipeline.shutdown()
            # every process's log, for reading after a failed run
            for number, process in enumerate(pipeline.logs):
                name = f"service-{number:02d}-{process.process.args[-1]}.log"
                (tmp_path / name).write_text("".join(process.stderr), encoding="utf-8")

    report = report_for(pipeline, expected, run)
    report.reread = reread
    poisoned = len(expected.translator_poison) + len(expected.connector_poison)
    summary = (
        f"{variant}: {len(lines)} source lines ({poisoned} poisoned), "
        f"{sum(len(v) for v in expected.deliveries.values())} department deliveries expected, "
        f"{len(expected.timeline)} timeline events expected; {report.line()}"
    )
    REPORTS.append(f"{summary} [{time.monotonic() - started:.0f}s]")
    log(summary, started)
    assert not report.raw_lost, f"{len(report.raw_lost)} source records never reached raw"
    assert not report.lost, {d: sorted(ids)[:5] for d, ids in report.lost.items()}
    assert not report.timeline_missing, sorted(report.timeline_missing)[:10]
    assert report.timeline_duplicated == 0
    assert report.timeline_rows == len(expected.timeline), "exactly the expected events"
    assert not report.order_violations, report.order_violations[:5]
    assert not report.dlq_unexpected, report.dlq_unexpected[:5]
    assert not report.dlq_missing_translator
    assert not report.dlq_missing_connector
    # the rewinds made every stage read records again: de-duplication was in use
    assert report.reread > 0
    assert report.department_duplicates > 0
    assert not pipeline.tracebacks(), pipeline.tracebacks()[0]

"""The runner: pages, cursors after acknowledgement, backoff, fatal stop, dead letters, state."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from connectors.kit import Record
from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.config import ConnectorInstance
from connectors.kit.errors import FatalError, RetriableError
from connectors.kit.host import ConnectorHost
from connectors.kit.runner import Backoff, InstanceRunner
from connectors.testing import MemoryPublisher
from hub.runtime.metrics import HubMetrics
from schemas import stable_event_id
from tests.unit.kit.sources import SCRIPTED, T0, ScriptedSource, ScriptSettings


@pytest.fixture(autouse=True)
def _reset_script() -> None:
    ScriptedSource.failures = []
    ScriptedSource.bad = set()
    ScriptedSource.reads = []


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) > 20:
            raise asyncio.CancelledError
        await asyncio.sleep(0)


def runner(
    publisher: MemoryPublisher,
    checkpoints: MemoryCheckpoints,
    *,
    sleep: Sleeps | None = None,
    metrics: HubMetrics | None = None,
    **settings: object,
) -> InstanceRunner:
    return InstanceRunner(
        "shop",
        SCRIPTED,
        ScriptSettings.model_validate({"page_size": 3, **settings}),
        publisher=publisher,
        checkpoints=checkpoints,
        sleep=sleep or Sleeps(),
        metrics=metrics,
        rng=random.Random(7),  # noqa: S311 - jitter
    )


def settings_of(r: InstanceRunner) -> ScriptSettings:
    assert isinstance(r.settings, ScriptSettings)
    return r.settings


async def test_pages_are_published_then_the_cursor_is_stored() -> None:
    publisher, checkpoints = MemoryPublisher(), MemoryCheckpoints()
    r = runner(publisher, checkpoints, count=7)
    await r.poll_stream("item")
    raw = publisher.raw()
    assert [e.subject for _, e in raw] == [f"I{n}" for n in range(1, 8)]
    topic, first = raw[0]
    assert topic == "raw.shop.item"
    assert first.type == "raw.scripted.item"
    assert first.source == "/connectors/shop"
    assert first.partitionkey == "I1"
    assert first.id == stable_event_id("shop", "item", "I1", "1")
    assert checkpoints.get("shop", "item").cursor == "7"  # type: ignore[union-attr]
    assert checkpoints.saves == 3, "one cursor per page of 3 (3 + 3 + 1)"
    assert r.status.cursors == {"item": "7"}


async def test_no_cursor_is_stored_when_the_broker_does_not_acknowledge() -> None:
    publisher, checkpoints = MemoryPublisher(fail_after=4), MemoryCheckpoints()
    r = runner(publisher, checkpoints, count=7)
    with pytest.raises(ConnectionError):
        await r.poll_stream("item")
    assert checkpoints.get("shop", "item").cursor == "3"  # type: ignore[union-attr]
    # the retry resumes after the last acknowledged page: I4 is read again, nothing skipped
    publisher.fail_after = None
    await r.poll_stream("item")
    assert ScriptedSource.reads == [None, "3"]


async def test_a_bad_record_is_dead_lettered_and_reading_goes_on() -> None:
    ScriptedSource.bad = {2}
    publisher, checkpoints = MemoryPublisher(), MemoryCheckpoints()
    r = runner(publisher, checkpoints, count=4)
    await r.poll_stream("item")
    assert [t for t, _ in publisher.sent] == [
        "raw.shop.item",
        "hub.dlq",
        "raw.shop.item",
        "raw.shop.item",
    ]
    headers = dict(publisher.dead_letters()[0].headers)
    assert headers["dlq_stage"] == b"connector:shop"
    assert headers["dlq_error_class"] == b"BadRecordError"
    assert headers["dlq_error_message"] == b"line 2 broken"
    assert headers["dlq_original_topic"] == b"raw.shop.item"
    assert publisher.dead_letters()[0].value == b"{not json"
    assert r.status.dead_letters == 1
    assert checkpoints.get("shop", "item").cursor == "4"  # type: ignore[union-attr]


async def test_transient_errors_back_off_honouring_retry_after_then_recover() -> None:
    ScriptedSource.failures = [RetriableError("429 from the API", retry_after=42.0), None]
    publisher, checkpoints, sleeps = MemoryPublisher(), MemoryCheckpoints(), Sleeps()
    metrics = HubMetrics.create()
    r = runner(publisher, checkpoints, sleep=sleeps, metrics=metrics, count=5, page_size=1)
    states: list[str] = []
    original = r.set_state

    def spy(state: str, reason: str | None = None) -> None:
        states.append(state)
        original(state, reason)  # type: ignore[arg-type]

    r.set_state = spy  # type: ignore[method-assign]
    task = asyncio.create_task(r.run())
    for _ in range(50):
        await asyncio.sleep(0)
        if len(sleeps.delays) >= 2:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sleeps.delays[0] >= 42.0, "Retry-After is honoured"
    assert "backing_off" in states
    assert states[states.index("backing_off") + 1 :].count("running") >= 1
    assert ScriptedSource.reads[:2] == [None, "1"], "the retry resumes from the stored cursor"
    assert [e.subject for _, e in publisher.raw()] == [f"I{n}" for n in range(1, 6)]
    value = metrics.registry.get_sample_value(
        "hub_connector_state", {"connector": "shop", "state": "backing_off"}
    )
    assert value == 0


async def test_a_fatal_error_stops_one_instance_and_not_the_others() -> None:
    ScriptedSource.failures = [FatalError("401 Unauthorized: check the API token")]
    publisher, checkpoints = MemoryPublisher(), MemoryCheckpoints()
    metrics = HubMetrics.create()
    host = ConnectorHost(
        {
            "broken": ConnectorInstance(type="scripted", settings={"count": 3}),
            "fine": ConnectorInstance(type="scripted", settings={"count": 3}),
        },
        publisher=publisher,
        checkpoints=checkpoints,
        metrics=metrics,
        types={"scripted": SCRIPTED},
    )
    for r in host.runners.values():
        r._sleep = Sleeps()
    task = asyncio.create_task(host.run())
    for _ in range(100):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    states = {s["instance"]: s for s in host.statuses()}
    assert states["broken"]["state"] == "failed"
    assert "401 Unauthorized" in states["broken"]["reason"]
    assert states["fine"]["cursors"] == {"item": "3"}
    failed = metrics.registry.get_sample_value(
        "hub_connector_state", {"connector": "broken", "state": "failed"}
    )
    running = metrics.registry.get_sample_value(
        "hub_connector_state", {"connector": "broken", "state": "running"}
    )
    assert (failed, running) == (1, 0), "every state series stays present"


def test_backoff_grows_exponentially_with_jitter_and_is_bounded() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, rng=random.Random(1))  # noqa: S311
    delays = [backoff.next_delay() for _ in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(30.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.next_delay(retry_after=3600) == 30.0, "never longer than the maximum"
    backoff.reset()
    assert backoff.next_delay() <= 1.0


async def test_a_source_that_cannot_open_backs_off_or_fails_cleanly() -> None:
    class Flaky(ScriptedSource):
        opens = 0

        async def open(self) -> None:
            type(self).opens += 1
            if type(self).opens == 1:
                raise RetriableError("connection refused")

    class Locked(ScriptedSource):
        async def open(self) -> None:
            raise FatalError("403 Forbidden: the token lacks the tickets scope")

    for source, expected in ((Flaky, "stopped"), (Locked, "failed")):
        r = runner(MemoryPublisher(), MemoryCheckpoints(), count=2)
        r.source = source(settings_of(r), r.source.context)
        task = asyncio.create_task(r.run())
        for _ in range(30):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert r.status.state == expected, r.status
    assert Flaky.opens == 2, "opened again after backing off"
    assert r.status.reason is not None
    assert "tickets scope" in r.status.reason


async def test_a_record_of_an_undeclared_entity_stops_the_instance_with_the_reason() -> None:
    class Stray(ScriptedSource):
        async def read(self, stream, cursor):  # type: ignore[no-untyped-def]
            yield Record(id="X", revision="1", time=T0, data={}, cursor="1", entity="invoice")

    r = runner(MemoryPublisher(), MemoryCheckpoints())
    r.source = Stray(settings_of(r), r.source.context)
    await r.run()
    assert r.status.state == "failed"
    assert "entity 'invoice'" in (r.status.reason or "")


async def test_open_failures_follow_the_error_model_and_close_what_was_acquired() -> None:
    events: list[str] = []

    class Pool(ScriptedSource):
        opens = 0

        async def open(self) -> None:
            type(self).opens += 1
            events.append("open")
            if type(self).opens <= 2:
                raise RetriableError("connection refused: the server is starting")

        async def close(self) -> None:
            events.append("close")

    class Denied(ScriptedSource):
        async def open(self) -> None:
            events.append("open")
            raise FatalError("password authentication failed")

        async def close(self) -> None:
            events.append("close")

    sleeps = Sleeps()
    seen: list[tuple[str, str | None]] = []

    async def watch(delay: float) -> None:
        seen.append((r.status.state, r.status.reason))
        await sleeps(delay)

    r = runner(MemoryPublisher(), MemoryCheckpoints(), count=2)
    r._sleep = watch
    r.source = Pool(settings_of(r), r.source.context)
    with pytest.raises(asyncio.CancelledError):  # Sleeps stops it after 20 sleeps
        await r.run()
    assert seen[:3] == [
        ("backing_off", "RetriableError: connection refused: the server is starting"),
        ("backing_off", "RetriableError: connection refused: the server is starting"),
        ("running", None),
    ]
    assert r.status.cursors == {"item": "2"}
    assert events == ["open", "close", "open", "close", "open", "close"]

    events.clear()
    r = runner(MemoryPublisher(), MemoryCheckpoints(), count=2)
    r.source = Denied(settings_of(r), r.source.context)
    await asyncio.wait_for(r.run(), timeout=5)
    assert (r.status.state, r.status.reason) == (
        "failed",
        "FatalError: password authentication failed",
    )
    assert events == ["open", "close"]


def test_every_state_the_runner_reports_is_in_the_metrics_catalog() -> None:
    from typing import get_args  # noqa: PLC0415

    from connectors.kit.runner import STATES, ConnectorState  # noqa: PLC0415
    from hub.runtime.metrics import CONNECTOR_STATES  # noqa: PLC0415

    assert set(get_args(ConnectorState)) == set(CONNECTOR_STATES) == set(STATES)
    metrics = HubMetrics.create()
    host = ConnectorHost(
        {"paused": ConnectorInstance(type="scripted", enabled=False)},
        publisher=MemoryPublisher(),
        checkpoints=MemoryCheckpoints(),
        metrics=metrics,
        types={"scripted": SCRIPTED},
    )
    assert host.statuses()[0]["state"] == "disabled"
    series = {
        sample.labels["state"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "hub_connector_state"
        for sample in family.samples
        if sample.labels["connector"] == "paused"
    }
    assert series == {state: (1.0 if state == "disabled" else 0.0) for state in CONNECTOR_STATES}

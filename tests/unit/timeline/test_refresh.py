"""Stored states follow a change of the processes (a hub.yaml edit) or of the state rules.

Every test runs on SQLite and on the machine's PostgreSQL: one store writes the states under
the old processes, a second one on the same database is the timeline service started with
the new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import text

from hub.services.timeline import refresh_states
from hub.timeline.clocks import ClockTicker
from hub.timeline.config import AtRiskRule, LifecycleConfig, ProcessesConfig
from hub.timeline.store import KINDS, TimelineStore
from tests.unit.timeline.builders import at, event
from tests.unit.timeline.conftest import StoreFactory
from tests.unit.translate.harness import eventually

ORDER = {"order_id": "erp:SO-1", "customer_id": "C-1"}
TICKET = {"ticket_id": "desk:7", "order_id": "erp:SO-1", "customer_id": "C-1"}
EVENTS = [
    event("order.placed", 0, id="p", **ORDER),
    event("payment.received", 1, id="pay", **ORDER),
    event("complaint.opened", 2, id="c", **TICKET),
    event("ticket.updated", 10, id="u1", status="solved", **TICKET),
    event("ticket.resolved", 10, id="r1", **TICKET),
    event("ticket.updated", 20, id="u2", status="open", **TICKET),
]


def old_processes() -> ProcessesConfig:
    """The defaults as an earlier hub.yaml (and earlier rules) had them: no reopen."""
    defaults = ProcessesConfig()
    stages = tuple(
        s.model_copy(update={"reopened_by": ()}) for s in defaults.complaint_handling.stages
    )
    complaint = defaults.complaint_handling.model_copy(update={"stages": stages})
    return defaults.model_copy(update={"complaint_handling": complaint})


def new_processes() -> ProcessesConfig:
    """hub.yaml edited: dispatch within 24 h instead of 48, at risk from one complaint."""
    defaults = ProcessesConfig()
    slas = tuple(
        r.model_copy(update={"within": timedelta(hours=24)}) if r.name == "dispatch" else r
        for r in defaults.order_to_delivery.slas
    )
    lifecycle = LifecycleConfig(at_risk=AtRiskRule(complaints=1))
    return defaults.model_copy(
        update={
            "order_to_delivery": defaults.order_to_delivery.model_copy(update={"slas": slas}),
            "customer_lifecycle": lifecycle,
        }
    )


Reopen = Callable[[TimelineStore, ProcessesConfig], TimelineStore]


@pytest.fixture
def reopened() -> Iterator[Reopen]:
    """Opens the database of a store again, as a service started with other processes."""
    made: list[TimelineStore] = []

    def reopen(store: TimelineStore, processes: ProcessesConfig) -> TimelineStore:
        again = TimelineStore(store.url, processes, schema=store.schema)
        made.append(again)
        assert again.migrate() == []
        return again

    yield reopen
    for store in made:
        store.dispose()


def stages(store: TimelineStore) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        return {
            row.kind: row.stage
            for row in conn.execute(text("SELECT kind, stage FROM timeline_state"))
        }


def refresh_all(store: TimelineStore, limit: int = 500) -> None:
    for kind in KINDS:
        after: str | None = ""
        while after is not None:
            after = store.refresh_step(kind, after, limit)


def test_an_edited_sla_and_new_rules_apply_to_the_items_already_stored(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    old = store_factory(old_processes())
    assert old.states_current()  # empty: marked current at once
    old.ingest(EVENTS)
    assert stages(old) == {"order": "paid", "ticket": "resolved", "customer": "active"}
    assert [(d.rule, d.deadline) for d in old.due_clocks(at(60))] == [("dispatch", at(49))]

    new = reopened(old, new_processes())
    assert not new.states_current()
    refresh_all(new, limit=1)
    assert stages(new) == {"order": "paid", "ticket": "acknowledged", "customer": "at_risk"}
    due = {(d.rule, d.deadline) for d in new.due_clocks(at(80))}
    assert due == {("dispatch", at(25)), ("resolve", at(74))}
    new.mark_states_current()
    assert new.states_current()
    assert not reopened(old, old_processes()).states_current(), "a change back counts too"

    fresh = store_factory(new_processes())
    fresh.ingest(EVENTS)
    assert new.dump() == fresh.dump(), "recomputed rows equal rows written under the new ones"


async def test_the_service_recomputes_holding_the_ticker_and_follows_a_later_mark(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    """Stale at start: the ticker stays held until every state is recomputed. Then another
    pod, started with the old processes, recomputes under its own and marks them: this
    service notices at its next check and recomputes back."""
    old = store_factory(old_processes())
    old.ingest(EVENTS)
    new = reopened(old, ProcessesConfig())
    ticker = ClockTicker(new, None, None)  # type: ignore[arg-type] # held: never publishes
    ticker.held = True  # as the service starts it on a stale store
    task = asyncio.create_task(refresh_states(new, ticker, recheck_seconds=0.05))
    try:

        async def released() -> bool:
            return not ticker.held

        await eventually(released, timeout=20)
        assert stages(new)["ticket"] == "acknowledged"
        assert await new.call(new.states_current)
        other = reopened(old, old_processes())
        assert not other.states_current()
        refresh_all(other)
        other.mark_states_current()
        assert stages(new)["ticket"] == "resolved"

        async def recomputed_back() -> bool:
            return stages(new)["ticket"] == "acknowledged" and new.states_current()

        await eventually(recomputed_back, timeout=20)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_failed_step_is_retried_from_where_it_stopped(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    old = store_factory(old_processes())
    old.ingest([event("order.placed", 0, id=f"o{n}", order_id=f"O-{n}") for n in range(4)])
    new = reopened(old, new_processes())
    calls: list[tuple[str, str]] = []
    step = new.refresh_step

    def flaky(kind: str, after: str = "", limit: int = 2) -> str | None:
        calls.append((kind, after))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return step(kind, after, 2)

    new.refresh_step = flaky  # type: ignore[method-assign]
    task = asyncio.create_task(refresh_states(new, recheck_seconds=60, retry_seconds=0.05))
    try:

        async def marked() -> bool:
            return new.states_current()

        await eventually(marked, timeout=20)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    orders = [after for kind, after in calls if kind == "order"]
    assert orders == ["", "O-1", "O-1", "O-3"], "the failed step again, not the first"


async def test_a_held_ticker_breaches_nothing(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.ingest(EVENTS)
    assert store.due_clocks(at(1000)), "clocks are due"
    ticker = ClockTicker(store, None, None, now=lambda: at(1000))  # type: ignore[arg-type]
    ticker.held = True
    assert await ticker.tick() == 0  # a tick that went on would publish through None


def test_a_store_with_the_same_processes_is_current(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    store = store_factory()
    assert store.states_current()
    store.ingest(EVENTS)
    assert reopened(store, ProcessesConfig()).states_current()
    with store.engine.connect() as conn:
        (value,) = conn.execute(text("SELECT value FROM timeline_meta")).one()
    assert len(value) == 64


def test_a_store_of_an_earlier_version_is_recomputed(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    """A database written before the fingerprint existed has states and no mark."""
    store = store_factory()
    store.ingest(EVENTS)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM timeline_meta"))
        body = {"process": "complaint_handling", "stage": "resolved"}
        conn.execute(
            text("UPDATE timeline_state SET stage = 'resolved', state = :s WHERE kind = 'ticket'"),
            {"s": orjson.dumps(body).decode()},
        )
    again = reopened(store, ProcessesConfig())
    assert not again.states_current()
    refresh_all(again)
    assert stages(again)["ticket"] == "acknowledged"


def test_refresh_steps_walk_the_ids_in_order(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.ingest([event("order.placed", 0, id=f"o{n}", order_id=f"O-{n}") for n in range(3)])
    assert store.refresh_step("order", "", 2) == "O-1"
    assert store.refresh_step("order", "O-1", 2) == "O-2"
    assert store.refresh_step("order", "O-2", 2) is None


def test_a_refresh_drops_the_row_of_an_id_merged_away(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    """A row for a merged id, as a refresh racing another pod's merge could leave it, goes
    at the next refresh instead of being recomputed as a customer of its own."""
    store = store_factory(old_processes())
    store.ingest(
        [
            event("order.placed", 0, id="a", order_id="A", customer_id="C-1"),
            event("order.placed", 1, id="b", order_id="B", customer_id="C-2"),
            event("customer.merged", 2, id="m", survivor_id="C-1", merged_id="C-2"),
        ]
    )
    columns = "process, stage, owner, waiting_since, done, order_id, customer_id"
    with store.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO timeline_state (kind, agg_id, {columns}, updated_time, state)"  # noqa: S608
                f" SELECT kind, 'C-2', {columns}, updated_time, state FROM timeline_state"
                " WHERE kind = 'customer' AND agg_id = 'C-1'"
            )
        )
    refresh_all(reopened(store, ProcessesConfig()))
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT agg_id FROM timeline_state WHERE kind = 'customer'"))
        assert [r[0] for r in rows] == ["C-1"]

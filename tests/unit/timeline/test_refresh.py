"""Stored states follow a change of the processes (a hub.yaml edit) or of the state rules.

Every test runs on SQLite and on the machine's PostgreSQL: one store writes the states under
the old processes, a second one on the same database is the timeline service started with
the new ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import text

from hub.services.timeline import refresh_states
from hub.timeline.config import AtRiskRule, LifecycleConfig, ProcessesConfig
from hub.timeline.store import KINDS, TimelineStore
from tests.unit.timeline.builders import at, event
from tests.unit.timeline.conftest import StoreFactory

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


async def test_the_service_recomputes_stale_states_once_and_marks_them(
    store_factory: StoreFactory, reopened: Reopen
) -> None:
    old = store_factory(old_processes())
    old.ingest(EVENTS)
    new = reopened(old, ProcessesConfig())
    await refresh_states(new)
    assert stages(new)["ticket"] == "acknowledged"
    assert await new.call(new.states_current)
    with new.engine.begin() as conn:  # a state nobody recomputes again: it stays as it is
        conn.execute(text("UPDATE timeline_state SET stage = 'marker' WHERE kind = 'order'"))
    await refresh_states(new)
    assert stages(new)["order"] == "marker"


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

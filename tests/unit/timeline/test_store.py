"""The store suite; every test runs on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import text

from hub.timeline.config import LifecycleConfig, ProcessesConfig
from hub.timeline.ordering import TimelineEvent, ordered, time_key
from hub.timeline.processes import lifecycle
from hub.timeline.store import OPEN_ITEMS, StoreError, TimelineStore, engine_url
from tests.unit.timeline.builders import at, event
from tests.unit.timeline.conftest import StoreFactory

ORDER = {"order_id": "erp:SO-1", "customer_id": "C-1"}


def test_migrations_apply_once(store: TimelineStore) -> None:
    assert store.migrate() == []


def test_a_store_made_by_the_first_migration_is_upgraded(store_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hub.timeline import store as store_module  # noqa: PLC0415

    everything = store_module.migrations()
    monkeypatch.setattr(store_module, "migrations", lambda: everything[:1])
    old = store_factory()
    monkeypatch.setattr(store_module, "migrations", lambda: everything)
    assert old.migrate() == [v for v, _ in everything[1:]]
    old.ingest([event("order.placed", 0, **ORDER)])
    due = old.due_clocks(at(100))
    assert old.record_breach(due[0], "b-1", at(100))
    assert [b["owner"] for b in old.breaches("sales")] == ["sales"]


def test_an_event_is_stored_once_however_often_it_arrives(store: TimelineStore) -> None:
    placed = event("order.placed", 0, **ORDER)
    store.ingest([placed, placed])
    store.ingest([placed])
    timeline = store.order_timeline("erp:SO-1")
    assert timeline is not None
    assert [e.id for e in timeline.events] == [placed.id]
    assert timeline.events[0].data == ORDER


def test_a_late_event_lands_in_place_and_state_follows(store: TimelineStore) -> None:
    store.ingest([event("order.placed", 0, **ORDER), event("shipment.dispatched", 30, **ORDER)])
    timeline = store.order_timeline("erp:SO-1")
    assert timeline is not None
    assert timeline.state is not None
    assert timeline.state["stage"] == "placed", "dispatch without payment is not a jump"
    store.ingest([event("payment.received", 5, amount="10.00", **ORDER)])
    timeline = store.order_timeline("erp:SO-1")
    assert timeline is not None
    assert timeline.state is not None
    assert [e.type for e in timeline.events] == [
        "order.placed",
        "payment.received",
        "shipment.dispatched",
    ]
    assert timeline.state["stage"] == "dispatched"
    assert timeline.state["owner"] == "logistics"
    statuses = {c["rule"]: c["status"] for c in timeline.clocks}
    assert statuses == {"confirm": "met", "dispatch": "met", "deliver": "open"}


def test_equal_times_are_ordered_by_business_rank_then_id(store: TimelineStore) -> None:
    store.ingest(
        [
            event("payment.received", 1, id="a", **ORDER),
            event("order.placed", 1, id="b", **ORDER),
            event("order.placed", 1, id="c", **ORDER),
        ]
    )
    timeline = store.order_timeline("erp:SO-1")
    assert timeline is not None
    assert [e.id for e in timeline.events] == ["b", "c", "a"]


def test_customer_timeline_spans_systems_and_merged_ids(store: TimelineStore) -> None:
    store.ingest(
        [
            event("customer.created", 0, id="crm", customer_id="G-1", name="Acme"),
            event("order.placed", 1, id="erp", order_id="erp:1", customer_id="G-2"),
            event("complaint.opened", 2, id="desk", ticket_id="T-1", customer_id="G-3"),
        ]
    )
    assert [e.id for e in store.customer_timeline("G-1").events] == ["crm"]  # type: ignore[union-attr]
    store.ingest(
        [
            event("customer.merged", 3, id="m1", survivor_id="G-1", merged_id="G-2"),
            event("customer.merged", 4, id="m2", survivor_id="G-2", merged_id="G-3"),
        ]
    )
    for asked in ("G-1", "G-2", "G-3"):
        timeline = store.customer_timeline(asked)
        assert timeline is not None
        assert timeline.id == "G-1", "a merged id answers the survivor"
        assert [e.id for e in timeline.events] == ["crm", "erp", "desk", "m1", "m2"]
    timeline = store.customer_timeline("G-1")
    assert timeline is not None
    assert timeline.state is not None
    assert timeline.state["stage"] == "active"
    assert [(c["kind"], c["rule"]) for c in timeline.clocks] == [
        ("ticket", "acknowledge"),
        ("order", "confirm"),
        ("ticket", "resolve"),
    ], "the clocks of the customer's orders and complaints"
    assert store.golden_id("G-3") == "G-1"
    assert {r["agg_id"] for r in store.recent("customer")} == {"G-1"}


def test_merge_arriving_first_gives_the_same_result(store_factory) -> None:  # type: ignore[no-untyped-def]
    events = [
        event("customer.created", 0, id="crm", customer_id="G-1"),
        event("order.placed", 1, id="erp", order_id="erp:1", customer_id="G-2"),
        event("customer.merged", 3, id="m1", survivor_id="G-1", merged_id="G-2"),
    ]
    first, second = store_factory(), store_factory()
    first.ingest(events)
    for item in reversed(events):
        second.ingest([item])
    assert first.dump() == second.dump()


def test_due_clocks_and_exactly_one_breach_record(store: TimelineStore) -> None:
    store.ingest([event("order.placed", 0, **ORDER), event("payment.received", 1, **ORDER)])
    assert store.due_clocks(at(24)) == []
    due = store.due_clocks(at(49) + timedelta(seconds=1))
    assert [(d.rule, d.order_id, d.customer_id, d.stage) for d in due] == [
        ("dispatch", "erp:SO-1", "C-1", "paid")
    ]
    assert store.record_breach(due[0], "breach-1", at(50)) is True
    assert store.record_breach(due[0], "breach-1", at(51)) is False
    listed = store.breaches("management")
    assert [(b["agg_id"], b["rule"], b["owner"], b["order_id"]) for b in listed] == [
        ("erp:SO-1", "dispatch", "logistics", "erp:SO-1")
    ]
    assert store.breaches("logistics") == listed
    assert store.breaches("marketing") == []
    assert store.due_clocks(at(100)) == []
    timeline = store.order_timeline("erp:SO-1")
    assert timeline is not None
    dispatch = next(c for c in timeline.clocks if c["rule"] == "dispatch")
    assert dispatch["breach"]["event_id"] == "breach-1"


def test_a_cancelled_order_stops_its_clocks(store: TimelineStore) -> None:
    store.ingest([event("order.placed", 0, **ORDER), event("order.cancelled", 2, **ORDER)])
    timeline = store.order_timeline("erp:SO-1")
    assert timeline is not None
    assert timeline.state is not None
    assert (timeline.state["stage"], timeline.state["done"]) == ("cancelled", True)
    assert store.due_clocks(at(1000)) == []
    assert store.open_items() == []


TICKET = {"ticket_id": "desk:7", "customer_id": "C-1"}


def test_a_reopened_complaint_is_due_again_and_each_visit_is_measured_once(
    store_factory: StoreFactory,
) -> None:
    """The reopen is read from the stored ticket.updated's status: arriving before the
    solve it reopens, and the rows end as they do for the events in order in one batch.
    The resolve clock is due again; each visit is one stage transition when it ends, not
    one per later batch."""
    solve = [
        event("complaint.opened", 0, id="c", **TICKET),
        event("ticket.updated", 10, id="u1", status="solved", **TICKET),
        event("ticket.resolved", 10, id="r1", **TICKET),
    ]
    reopen = event("ticket.updated", 80, id="u2", status="open", **TICKET)
    solve_again = event("ticket.resolved", 90, id="r2", **TICKET)
    store = store_factory()
    first = store.ingest([reopen])
    assert first.transitions == []
    second = store.ingest(solve)
    timeline = store.customer_timeline("C-1")
    assert timeline is not None
    (ticket,) = [c for c in timeline.clocks if c["rule"] == "resolve"]
    assert (ticket["status"], ticket["agg_id"]) == ("open", "desk:7")
    assert [(d.rule, d.ticket_id) for d in store.due_clocks(at(81))] == [("resolve", "desk:7")]
    assert sorted((t.stage, t.seconds) for t in second.transitions) == [
        ("acknowledged", 0.0),  # the solve's own update acknowledged it, at the solve
        ("opened", 10 * 3600.0),
        ("resolved", 70 * 3600.0),
    ]
    again = store.ingest([solve_again])
    # back in acknowledged from the reopen (80 h) to the second solve (90 h)
    assert [(t.stage, t.seconds) for t in again.transitions] == [("acknowledged", 10 * 3600.0)]
    assert store.ingest([solve_again, reopen]).transitions == []
    assert store.due_clocks(at(100)) == []
    with store.engine.connect() as conn:
        row = conn.execute(
            text("SELECT stage, done, state FROM timeline_state WHERE agg_id = 'desk:7'")
        ).one()
    state = orjson.loads(row.state)
    assert (row.stage, row.done, state["reopens"]) == ("resolved", 1, 1)
    assert [(c["rule"], c["status"], c["closed_at"]) for c in state["clocks"]] == [
        ("acknowledge", "late", time_key(at(10))),
        ("resolve", "late", time_key(at(90))),
    ]
    in_order = store_factory()
    in_order.ingest(ordered([*solve, reopen, solve_again]))
    assert store.dump() == in_order.dump()


def test_open_items_count_waiting_orders(store: TimelineStore) -> None:
    store.ingest(
        [
            event("order.placed", 0, order_id="A"),
            event("order.placed", 0, order_id="B"),
            event("payment.received", 1, order_id="B"),
        ]
    )
    assert sorted(store.open_items()) == [
        ("order_to_delivery", "paid", "logistics", 1),
        ("order_to_delivery", "placed", "finance", 1),
    ]


def test_events_without_a_timeline_are_ignored(store: TimelineStore) -> None:
    result = store.ingest([event("smoke.order", 0, name="SMOKE/1")])
    assert (result.stored, result.ignored) == (0, 1)


def test_database_urls() -> None:
    assert engine_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert engine_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert engine_url("sqlite:///./.hub/timeline.db") == "sqlite:///./.hub/timeline.db"
    with pytest.raises(StoreError, match="unsupported database"):
        TimelineStore("mysql://h/db", ProcessesConfig())
    with pytest.raises(StoreError, match="not a database URL"):
        TimelineStore("::nonsense::", ProcessesConfig())


def _write_together(
    barrier: threading.Barrier, store: TimelineStore, batch: list[TimelineEvent]
) -> None:
    barrier.wait()
    store.ingest(batch)


def test_concurrent_writers_of_one_aggregate_leave_the_complete_state(
    store_factory,  # type: ignore[no-untyped-def]
) -> None:
    """Two writers (two pods) storing events of the same order and customer at once."""
    first = store_factory()
    second = TimelineStore(first.url, ProcessesConfig(), schema=first.schema)
    steps = ["order.placed", "order.confirmed", "payment.received", "shipment.dispatched"]
    for round_no in range(8):
        order = f"O-{round_no}"
        events = [
            event(kind, hour, order_id=order, customer_id="C-shared")
            for hour, kind in enumerate(steps)
        ]
        barrier = threading.Barrier(2)

        threads = [
            threading.Thread(target=_write_together, args=(barrier, first, events[0::2])),
            threading.Thread(target=_write_together, args=(barrier, second, events[1::2])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        timeline = first.order_timeline(order)
        assert timeline is not None
        assert timeline.state is not None
        assert timeline.state["stage"] == "dispatched", round_no
    second.dispose()


def test_a_remerged_id_leaves_its_former_survivor(store_factory) -> None:  # type: ignore[no-untyped-def]
    """G-3 merged into G-1, later (by event time) into G-2: G-1 keeps none of G-3's events,
    in whichever order the merges arrive."""
    events = [
        event("customer.created", 0, id="a", customer_id="G-1"),
        event("customer.created", 0, id="b", customer_id="G-2"),
        event("order.placed", 1, id="o", order_id="erp:1", customer_id="G-3"),
        event("customer.merged", 2, id="m1", survivor_id="G-1", merged_id="G-3"),
        event("customer.merged", 3, id="m2", survivor_id="G-2", merged_id="G-3"),
    ]
    reference = store_factory()
    reference.ingest(events)
    for arrival in (events, [*events[:3], events[4], events[3]]):
        store = store_factory()
        for item in arrival:
            store.ingest([item])
        assert store.dump() == reference.dump()
        first = store.customer_timeline("G-1")
        assert first is not None
        assert [e.id for e in first.events] == ["a", "m1"]
        assert first.state is not None
        assert first.state["stage"] == "prospect"
        assert store.golden_id("G-3") == "G-2"


def test_a_batch_of_duplicates_changes_nothing(store: TimelineStore) -> None:
    events = [event("order.placed", 0, **ORDER), event("payment.received", 1, **ORDER)]
    first = store.ingest(events)
    assert (first.stored, first.duplicates) == (2, 0)
    before = store.dump()
    again = store.ingest([*events, events[0]])
    assert (again.stored, again.duplicates, again.transitions) == (0, 2, [])
    assert not any(again.touched.values())
    assert store.dump() == before


def _customer_history(count: int) -> list[TimelineEvent]:
    """One customer's long history: orders, complaints and the first lead steps, an event
    every 20 minutes, with two other customers' events in between."""
    kinds = ["order.placed", "complaint.opened", "order.placed", "ticket.updated"]
    events = [
        event("customer.created", 0, id="c0", customer_id="C-1"),
        event("lead.created", 0.2, id="c1", customer_id="C-1"),
    ]
    for i in range(count):
        customer = ("C-1", "C-1", "C-2", "C-3")[i % 4]
        events.append(event(kinds[i % 4], 0.5 + i / 3, id=f"h{i:04d}", customer_id=customer))
    return events


@pytest.mark.parametrize("late_hours", [0, 2, 30, 100])
def test_long_history_in_batches_with_late_events_equals_one_batch(
    store_factory: StoreFactory, late_hours: float
) -> None:
    """A customer with hundreds of events, delivered in time order in small batches, with
    some events arriving ``late_hours`` after their time (inside the kept tail at 2 and
    30 h, older than all of it at 100 h, when the tail's 64 events span about 43 h): every
    row equals a single sorted batch's."""
    events = _customer_history(600)
    late = {e.id for e in events[50::37]}
    stream = [e for e in events if e.id not in late]
    for e in events:
        if e.id in late:  # placed where it arrives: after the events of late_hours later
            after = e.time.timestamp() + late_hours * 3600
            index = next(
                (n for n, o in enumerate(stream) if o.time.timestamp() > after), len(stream)
            )
            stream.insert(index, e)
    reference, batched = store_factory(), store_factory()
    try:
        reference.ingest(ordered(events))
        for start in range(0, len(stream), 7):
            batched.ingest(stream[start : start + 7])
        assert batched.dump() == reference.dump()
        assert batched.customer_timeline("C-1") == reference.customer_timeline("C-1")
    finally:
        reference.dispose()
        batched.dispose()


def test_a_lifecycle_stored_without_its_tail_is_recomputed(store: TimelineStore) -> None:
    """A customer state row written before the store kept a tail of recent events is read
    in full once, then continues from the tail."""
    events = _customer_history(40)
    store.ingest(events[:30])
    with store.engine.begin() as conn:
        row = conn.execute(
            text("SELECT state FROM timeline_state WHERE kind = 'customer' AND agg_id = 'C-1'")
        ).one()
        body = orjson.loads(row.state)
        assert body["tail"]
        assert "base" in body
        old = {k: v for k, v in body.items() if k not in ("tail", "base")}
        conn.execute(
            text("UPDATE timeline_state SET state = :s WHERE kind = 'customer' AND agg_id = 'C-1'"),
            {"s": orjson.dumps(old).decode()},
        )
    store.ingest(events[30:])
    state = store.customer_timeline("C-1")
    assert state is not None
    assert state.state is not None
    assert "tail" in state.state
    full = lifecycle(LifecycleConfig(), [e for e in ordered(events) if e.customer_id == "C-1"])
    assert state.state["stage"] == full.stage
    assert [name for name, _ in full.history] == [h[0] for h in state.state["history"]]


def _drop_customer_state(store: TimelineStore, customer_id: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM timeline_state WHERE kind = 'customer' AND agg_id = :id"),
            {"id": customer_id},
        )


def test_a_customer_without_a_state_row_but_with_stored_events_is_read_in_full(
    store_factory: StoreFactory,
) -> None:
    """A survivor with no state row is folded from the batch alone only if the batch holds
    all its events: one whose row is missing (a database another writer left behind) while
    its earlier events are stored gets its lifecycle from all of them."""
    events = _customer_history(12)
    c1 = [e for e in events if e.customer_id == "C-1"]
    reference, store = store_factory(), store_factory()
    try:
        reference.ingest(events)
        store.ingest(events[:8])
        _drop_customer_state(store, "C-1")
        store.ingest(events[8:])
        expected = reference.customer_timeline("C-1")
        got = store.customer_timeline("C-1")
        assert expected is not None
        assert expected.state is not None
        assert got is not None
        assert got.state is not None
        assert len(got.events) == len(c1)
        assert got.state == expected.state
    finally:
        reference.dispose()
        store.dispose()


def test_a_survivor_without_a_state_row_that_others_merged_into_is_read_in_full(
    store_factory: StoreFactory,
) -> None:
    """Ids merged into a survivor bring their events into its lifecycle, also when the
    survivor's own row is missing and the batch holds only the survivor's events."""
    merged = [
        event("customer.created", 0, id="m0", customer_id="C-9"),
        event("order.placed", 1, id="m1", customer_id="C-9"),
        event("customer.merged", 2, id="m2", merged_id="C-9", survivor_id="C-1"),
    ]
    later = [event("complaint.opened", 3, id="m3", customer_id="C-1")]
    reference, store = store_factory(), store_factory()
    try:
        reference.ingest(merged + later)
        store.ingest(merged)
        _drop_customer_state(store, "C-1")
        store.ingest(later)
        expected = reference.customer_timeline("C-1")
        got = store.customer_timeline("C-1")
        assert expected is not None
        assert expected.state is not None
        assert got is not None
        assert got.state == expected.state
        assert [e.id for e in got.events] == ["m0", "m1", "m2", "m3"]
    finally:
        reference.dispose()
        store.dispose()


async def test_calls_from_the_service_run_on_the_store_s_one_thread(store: TimelineStore) -> None:
    placed = event("order.placed", 0, **ORDER)
    # several idle threads in the loop's pool first, as a running service has
    await asyncio.gather(*(asyncio.to_thread(threading.get_ident) for _ in range(4)))
    threads = set()
    for _ in range(6):
        await store.call(store.ingest, [placed])
        threads.add(await store.call(threading.get_ident))
    assert len(threads) == 1
    assert threading.get_ident() not in threads
    timeline = await store.call(store.order_timeline, "erp:SO-1")
    assert timeline is not None
    assert [e.id for e in timeline.events] == [placed.id]
    with pytest.raises(ZeroDivisionError):
        await store.call(divmod, 1, 0)
    store.dispose()  # stops the thread; a later call starts another
    assert await store.call(store.order_timeline, "erp:SO-1") is not None


def test_open_items_are_counted_from_their_index_not_the_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = TimelineStore(f"sqlite:///{tmp_path}/tl.db", ProcessesConfig())
    store.migrate()
    with store.engine.connect() as conn:
        plan = " ".join(row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {OPEN_ITEMS}")))
    store.dispose()
    assert "timeline_state_open" in plan
    assert "SCAN timeline_state" not in plan


def _merge_while_another_pod_works(
    store_factory: StoreFactory,
    setup: list[list[TimelineEvent]],
    other_pod_work: Callable[[TimelineStore], object],
) -> TimelineStore:
    """Pod A stores ``G-2 merged into G-1`` after ``setup`` and stops before committing;
    pod B does its work meanwhile (as far as it gets in a second); then A commits."""
    merging = store_factory()
    other_pod = TimelineStore(merging.url, ProcessesConfig(), schema=merging.schema)
    for batch in setup:
        merging.ingest(batch)
    recomputed, release = threading.Event(), threading.Event()
    recompute = merging._recompute_customers

    def recompute_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        recompute(*args, **kwargs)
        recomputed.set()  # the merge's transaction has read G-1's events, not yet committed
        release.wait(10)

    merging._recompute_customers = recompute_then_wait  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    first = threading.Thread(target=run, args=(lambda: merging.ingest(MERGE_G2_INTO_G1),))
    first.start()
    second = threading.Thread(target=run, args=(lambda: other_pod_work(other_pod),))
    try:
        assert recomputed.wait(10)
        second.start()
        second.join(1.0)
    finally:
        release.set()
    first.join(10)
    second.join(10)
    other_pod.dispose()
    assert errors == []
    return merging


TWO_CUSTOMERS = [
    event("customer.created", 0, id="c1", customer_id="G-1"),
    event("customer.created", 0, id="c2", customer_id="G-2"),
]
MERGE_G2_INTO_G1 = [event("customer.merged", 2, id="m", survivor_id="G-1", merged_id="G-2")]


@pytest.mark.parametrize("store_factory", ["postgresql"], indirect=True)
def test_an_event_of_an_id_another_pod_is_merging_away_reaches_the_survivor(
    store_factory: StoreFactory,
) -> None:
    """Pod A stores ``G-2 merged into G-1`` while pod B stores an order of G-2: the order
    ends on G-1's lifecycle and G-2 keeps no row of its own, as if one pod had stored both
    batches. (SQLite has one writer: this is PostgreSQL's case.)"""
    order = [event("order.placed", 3, id="o", order_id="erp:9", customer_id="G-2")]
    reference = store_factory()
    for batch in (TWO_CUSTOMERS, MERGE_G2_INTO_G1, order):
        reference.ingest(batch)
    store = _merge_while_another_pod_works(
        store_factory, [TWO_CUSTOMERS], lambda other_pod: other_pod.ingest(order)
    )
    assert store.dump() == reference.dump()
    survivor = store.customer_timeline("G-2")
    assert survivor is not None
    assert survivor.id == "G-1"
    assert [e.id for e in survivor.events] == ["c1", "c2", "m", "o"]
    assert survivor.state is not None
    assert survivor.state["stage"] == "active"


@pytest.mark.parametrize("store_factory", ["postgresql"], indirect=True)
def test_a_recompute_beside_a_merge_leaves_no_row_of_the_merged_id(
    store_factory: StoreFactory,
) -> None:
    """Pod B recomputes every customer (new processes) while pod A merges G-2 into G-1."""
    reference = store_factory()
    for batch in (TWO_CUSTOMERS, MERGE_G2_INTO_G1):
        reference.ingest(batch)
    store = _merge_while_another_pod_works(
        store_factory, [TWO_CUSTOMERS], lambda other_pod: other_pod.refresh_step("customer")
    )
    assert store.dump() == reference.dump()
    assert [row[1] for row in store.dump()["state"]] == ["G-1"]

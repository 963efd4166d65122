"""Any arrival order, any duplicates, any batching: the identical timeline and state.

For random sets of events of one order (with complaints about it, solved and reopened, and
a merge of its customer), every permutation with random duplicates, delivered in random
batches, must leave exactly the rows that a single, sorted, duplicate-free batch leaves,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.timeline.config import ProcessesConfig
from hub.timeline.ordering import TimelineEvent, ordered
from hub.timeline.processes import stage_process, state_to_json
from tests.unit.timeline.builders import event
from tests.unit.timeline.conftest import StoreFactory

ORDER_TYPES = [
    "order.placed",
    "order.confirmed",
    "payment.received",
    "shipment.dispatched",
    "shipment.delivered",
    "invoice.issued",
    "order.cancelled",
    "complaint.opened",
    "ticket.updated",
    "ticket.resolved",
]


@st.composite
def order_events(draw: st.DrawFn) -> list[TimelineEvent]:
    count = draw(st.integers(min_value=1, max_value=12))
    events = []
    for index in range(count):
        kind = draw(st.sampled_from(ORDER_TYPES))
        # few distinct hours, so equal times (the tie-break) are common
        hours = draw(st.integers(min_value=0, max_value=8)) * 6
        customer = draw(st.sampled_from(["C-1", "C-2"]))
        data = {"order_id": "erp:SO-9", "customer_id": customer, "n": index}
        if kind.startswith(("complaint", "ticket")):
            data["ticket_id"] = "T-1"
        if kind == "ticket.updated":  # open/pending after a solve reopen the complaint
            data["status"] = draw(st.sampled_from(["open", "pending", "solved", "closed"]))
        events.append(event(kind, hours, id=f"e{index:02d}", **data))
    if draw(st.booleans()):
        hours = draw(st.integers(min_value=0, max_value=8)) * 6
        events.append(event("customer.merged", hours, id="m", survivor_id="C-1", merged_id="C-2"))
    return events


@st.composite
def deliveries(draw: st.DrawFn, events: list[TimelineEvent]) -> list[list[TimelineEvent]]:
    """A random permutation with random duplicates, cut into random batches."""
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**32)))  # noqa: S311
    stream = events + [rng.choice(events) for _ in range(rng.randint(0, len(events) * 2))]
    rng.shuffle(stream)
    cuts = sorted(rng.sample(range(1, len(stream)), k=min(len(stream) - 1, rng.randint(0, 4))))
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_pure_state_ignores_order_and_duplicates(data: st.DataObject) -> None:
    events = data.draw(order_events())
    batches = data.draw(deliveries(events))
    definition = ProcessesConfig().order_to_delivery
    expected = stage_process("o2d", definition, ordered(events))
    arrived = ordered(e for batch in batches for e in batch)
    assert arrived == ordered(events)
    got = stage_process("o2d", definition, arrived)
    assert (state_to_json(got) if got else None) == (state_to_json(expected) if expected else None)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_stored_timeline_and_state_ignore_order_and_duplicates(
    store_factory: StoreFactory, data: st.DataObject
) -> None:
    events = data.draw(order_events())
    batches = data.draw(deliveries(events))
    reference, shuffled = store_factory(), store_factory()
    try:
        reference.ingest(ordered(events))
        for batch in batches:
            shuffled.ingest(batch)
        assert shuffled.dump() == reference.dump()
        got, want = shuffled.order_timeline("erp:SO-9"), reference.order_timeline("erp:SO-9")
        assert got is not None
        assert want is not None
        assert [e.id for e in got.events] == [e.id for e in want.events]
        assert (got.state, got.clocks) == (want.state, want.clocks)
        customer_got, customer_want = (
            shuffled.customer_timeline("C-2"),
            reference.customer_timeline("C-2"),
        )
        assert customer_got == customer_want
    finally:  # every example makes two stores: give their connections back now
        reference.dispose()
        shuffled.dispose()


CUSTOMER_TYPES = [
    "customer.created",
    "lead.created",
    "lead.converted",
    "order.placed",
    "payment.received",
    "shipment.dispatched",
    "complaint.opened",
    "ticket.updated",
]
CUSTOMERS = ["C-1", "C-2", "C-3"]


@st.composite
def customer_events(draw: st.DrawFn) -> list[TimelineEvent]:
    """Events of several orders, tickets and customers, and merges that may re-point an id
    already merged (the later merge wins)."""
    count = draw(st.integers(min_value=1, max_value=14))
    events = []
    for index in range(count):
        kind = draw(st.sampled_from(CUSTOMER_TYPES))
        hours = draw(st.integers(min_value=0, max_value=6)) * 12
        data: dict[str, object] = {"customer_id": draw(st.sampled_from(CUSTOMERS)), "n": index}
        if kind.startswith(("order", "payment", "shipment", "complaint", "ticket")):
            data["order_id"] = draw(st.sampled_from(["erp:SO-1", "erp:SO-2"]))
        if kind.startswith(("complaint", "ticket")):
            data["ticket_id"] = draw(st.sampled_from(["T-1", "T-2"]))
        events.append(event(kind, hours, id=f"e{index:02d}", **data))
    for index in range(draw(st.integers(min_value=0, max_value=3))):
        merged, survivor = draw(st.permutations(CUSTOMERS))[:2]
        hours = draw(st.integers(min_value=0, max_value=6)) * 12
        events.append(
            event(
                "customer.merged",
                hours,
                id=f"m{index}",
                survivor_id=survivor,
                merged_id=merged,
            )
        )
    return events


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_customers_and_merges_ignore_order_and_duplicates(
    store_factory: StoreFactory, data: st.DataObject
) -> None:
    """Several orders, tickets and customers with merges (also of an id merged before):
    whatever the arrival order, duplicates and batches, every row is the one a single
    sorted batch leaves, and every customer id answers the same timeline."""
    events = data.draw(customer_events())
    batches = data.draw(deliveries(events))
    reference, shuffled = store_factory(), store_factory()
    try:
        reference.ingest(ordered(events))
        for batch in batches:
            shuffled.ingest(batch)
        assert shuffled.dump() == reference.dump()
        for customer in CUSTOMERS:
            assert shuffled.customer_timeline(customer) == reference.customer_timeline(customer)
    finally:
        reference.dispose()
        shuffled.dispose()

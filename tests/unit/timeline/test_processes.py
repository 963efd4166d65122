"""Process definitions and state machines, from tables of ordered events."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.config import ConfigError, load_config, parse_config
from hub.timeline.config import LifecycleConfig, ProcessConfig, ProcessesConfig, parse_duration
from hub.timeline.ordering import ordered
from hub.timeline.processes import ProcessState, lifecycle, stage_process
from tests.unit.timeline.builders import at, event

REPO = Path(__file__).resolve().parents[3]
O2D = ProcessesConfig().order_to_delivery
COMPLAINT = ProcessesConfig().complaint_handling


def o2d(*steps: tuple[str, float]) -> dict[str, object]:
    events = ordered(event(t, h, order_id="O") for t, h in steps)
    state = stage_process("order_to_delivery", O2D, events)
    assert state is not None
    return {
        "stage": state.stage,
        "owner": state.owner,
        "since": state.waiting_since,
        "next": state.next_stage,
        "done": state.done,
        "clocks": {c.rule: c.status for c in state.clocks},
    }


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            [("order.placed", 0)],
            {
                "stage": "placed",
                "owner": "finance",
                "since": at(0),
                "next": "paid",
                "done": False,
                "clocks": {"confirm": "open"},
            },
        ),
        (
            [("order.placed", 0), ("payment.received", 30)],
            {
                "stage": "paid",
                "owner": "logistics",
                "since": at(30),
                "next": "dispatched",
                "done": False,
                "clocks": {"confirm": "late", "dispatch": "open"},
            },
        ),
        (  # invoice before dispatch does not skip dispatch
            [("order.placed", 0), ("payment.received", 1), ("invoice.issued", 2)],
            {
                "stage": "paid",
                "owner": "logistics",
                "since": at(1),
                "next": "dispatched",
                "done": False,
                "clocks": {"confirm": "met", "dispatch": "open"},
            },
        ),
        (
            [
                ("order.placed", 0),
                ("order.confirmed", 1),
                ("payment.received", 2),
                ("shipment.dispatched", 3),
                ("shipment.delivered", 20),
                ("invoice.issued", 21),
            ],
            {
                "stage": "invoiced",
                "owner": "finance",
                "since": at(21),
                "next": None,
                "done": True,
                "clocks": {"confirm": "met", "dispatch": "met", "deliver": "met", "invoice": "met"},
            },
        ),
        (  # early invoice: done once delivered
            [
                ("order.placed", 0),
                ("invoice.issued", 0.5),
                ("payment.received", 1),
                ("shipment.dispatched", 3),
                ("shipment.delivered", 20),
            ],
            {
                "stage": "invoiced",
                "owner": "finance",
                "since": at(20),
                "next": None,
                "done": True,
                "clocks": {"confirm": "met", "dispatch": "met", "deliver": "met", "invoice": "met"},
            },
        ),
        (
            [("order.placed", 0), ("payment.received", 1), ("order.cancelled", 5)],
            {
                "stage": "cancelled",
                "owner": "sales",
                "since": at(5),
                "next": None,
                "done": True,
                "clocks": {"confirm": "met", "dispatch": "stopped"},
            },
        ),
        (  # placed missing: the first stage reached stands in
            [("payment.received", 1)],
            {
                "stage": "paid",
                "owner": "logistics",
                "since": at(1),
                "next": "dispatched",
                "done": False,
                "clocks": {"dispatch": "open"},
            },
        ),
    ],
)
def test_order_to_delivery(steps: list[tuple[str, float]], expected: dict[str, object]) -> None:
    assert o2d(*steps) == expected


def test_events_of_no_stage_start_no_process() -> None:
    assert stage_process("o2d", O2D, [event("return.requested", 0, order_id="O")]) is None


def test_complaint_handling_starts_only_with_a_complaint() -> None:
    plain = [event("ticket.opened", 0, ticket_id="T"), event("ticket.resolved", 1, ticket_id="T")]
    assert stage_process("complaint_handling", COMPLAINT, plain) is None
    events = ordered(
        [
            event("complaint.opened", 0, ticket_id="T"),
            event("ticket.updated", 5, ticket_id="T"),
        ]
    )
    state = stage_process("complaint_handling", COMPLAINT, events)
    assert state is not None
    assert (state.stage, state.owner, state.next_stage) == ("acknowledged", "support", "resolved")
    clocks = {c.rule: (c.status, c.deadline, c.escalate_to) for c in state.clocks}
    assert clocks == {
        "acknowledge": ("late", at(4), "management"),
        "resolve": ("open", at(72), "management"),
    }
    assert [c.breached_at(at(73)) for c in state.clocks] == [False, True]


def complaint(*steps: tuple[str, float, str | None]) -> ProcessState:
    """The complaint of ticket T after ``(type, hours, status)`` steps (a status only for
    ticket.updated), each event with its own id."""
    events = [event("complaint.opened", 0, ticket_id="T")]
    for n, (event_type, hours, status) in enumerate(steps):
        data = {"status": status} if status is not None else {}
        events.append(event(event_type, hours, id=f"e{n}", ticket_id="T", **data))
    state = stage_process("complaint_handling", COMPLAINT, ordered(events))
    assert state is not None
    return state


def visits(state: ProcessState) -> list[tuple[str, float, float | None, bool]]:
    """(stage, entered, left, reopened) of each visit, times in hours after ``at(0)``."""

    def hours(moment: datetime | None) -> float | None:
        return None if moment is None else (moment - at(0)).total_seconds() / 3600

    return [(v.name, hours(v.entered) or 0.0, hours(v.left), v.reopened) for v in state.visits]


def clock_states(state: ProcessState) -> dict[str, tuple[str, datetime | None]]:
    return {c.rule: (c.status, c.closed_at) for c in state.clocks}


SOLVED = [
    ("ticket.updated", 1, "open"),
    ("ticket.updated", 10, "solved"),
    ("ticket.resolved", 10, None),
]


def test_a_solved_complaint_answered_again_is_open_again() -> None:
    state = complaint(*SOLVED, ("ticket.updated", 20, "open"))
    assert (state.stage, state.owner, state.next_stage, state.done) == (
        "acknowledged",
        "support",
        "resolved",
        False,
    )
    assert state.waiting_since == at(20), "waiting again since the reopen"
    assert state.reopens == 1
    assert clock_states(state) == {"acknowledge": ("met", at(1)), "resolve": ("open", None)}
    assert visits(state) == [
        ("opened", 0, 1, False),
        ("acknowledged", 1, 10, False),
        ("resolved", 10, 20, True),
        ("acknowledged", 20, None, False),  # back there since the reopen
    ]


def test_the_next_solve_resolves_it_again_and_closes_the_clock_then() -> None:
    state = complaint(*SOLVED, ("ticket.updated", 20, "pending"), ("ticket.resolved", 30, None))
    assert (state.stage, state.done, state.next_stage, state.waiting_since) == (
        "resolved",
        True,
        None,
        at(30),
    )
    assert clock_states(state) == {"acknowledge": ("met", at(1)), "resolve": ("met", at(30))}
    assert visits(state)[2:] == [
        ("resolved", 10, 20, True),
        ("acknowledged", 20, 30, False),
        ("resolved", 30, None, False),
    ]


def test_a_reopened_complaint_can_be_escalated_and_waits_on_management() -> None:
    state = complaint(*SOLVED, ("ticket.updated", 20, "open"), ("ticket.escalated", 22, None))
    assert (state.stage, state.owner, state.next_stage, state.waiting_since) == (
        "escalated",
        "support",
        "resolved",
        at(22),
    )
    assert visits(state)[-2:] == [
        ("acknowledged", 20, 22, False),
        ("escalated", 22, None, False),
    ]


def test_a_complaint_reopened_after_its_deadline_is_breached_and_then_late() -> None:
    reopened = complaint(*SOLVED, ("ticket.updated", 80, "open"))
    resolve = next(c for c in reopened.clocks if c.rule == "resolve")
    assert (resolve.status, resolve.deadline) == ("open", at(72))
    assert resolve.breached_at(at(80))
    solved = complaint(*SOLVED, ("ticket.updated", 80, "open"), ("ticket.resolved", 90, None))
    assert clock_states(solved)["resolve"] == ("late", at(90))


@pytest.mark.parametrize("status", ["solved", "closed"])
def test_a_solved_or_closed_update_after_the_solve_does_not_reopen(status: str) -> None:
    state = complaint(*SOLVED, ("ticket.updated", 50, status))
    assert (state.stage, state.done, state.reopens) == ("resolved", True, 0)
    assert clock_states(state) == {"acknowledge": ("met", at(1)), "resolve": ("met", at(10))}


def test_an_open_update_before_the_solve_reopens_nothing() -> None:
    state = complaint(("ticket.updated", 1, "open"), ("ticket.updated", 2, "pending"))
    assert (state.stage, state.reopens) == ("acknowledged", 0)


def test_a_reopen_keeps_the_acknowledgement_the_solve_gave() -> None:
    """Solved at once, without an update before: the solve stopped the acknowledge clock,
    and the reopen (itself a ticket.updated, which enters acknowledged) does not make that
    clock late after the fact."""
    state = complaint(("ticket.resolved", 2, None), ("ticket.updated", 30, "open"))
    assert (state.stage, state.next_stage, state.reopens) == ("acknowledged", "resolved", 1)
    assert clock_states(state) == {"acknowledge": ("met", at(2)), "resolve": ("open", None)}


#: placed, paid (also entered by an invoice) and dispatched; a return reopens paid and
#: dispatched: small enough to reach the cases the complaint process cannot
REOPENING = ProcessConfig.model_validate(
    {
        "aggregate": "order",
        "stages": [
            {"name": "placed", "events": ["order.placed"], "owner": "sales"},
            {
                "name": "paid",
                "events": ["payment.received", "invoice.issued"],
                "owner": "finance",
                "reopened_by": [{"event": "return.requested"}],
            },
            {
                "name": "dispatched",
                "events": ["shipment.dispatched"],
                "owner": "logistics",
                "reopened_by": [{"event": "return.requested"}],
            },
        ],
    }
)


def reopening(*steps: tuple[str, float]) -> ProcessState:
    """The state after these events, in the order given (equal times keep it)."""
    state = stage_process(
        "p", REOPENING, [event(t, h, id=f"e{n}") for n, (t, h) in enumerate(steps)]
    )
    assert state is not None
    return state


def test_a_reopen_beyond_the_current_stage_leaves_its_wait_alone() -> None:
    """Dispatched without payment: the order waits in placed; the return that reopens
    dispatched neither moves it nor restarts its wait."""
    state = reopening(("order.placed", 0), ("shipment.dispatched", 5), ("return.requested", 10))
    assert (state.stage, state.next_stage, state.waiting_since, state.reopens) == (
        "placed",
        "paid",
        at(0),
        1,
    )
    assert visits(state) == [("placed", 0, 5, False), ("dispatched", 5, 10, True)]


def test_an_item_whose_only_stage_was_reopened_waits_in_the_stage_before() -> None:
    state = reopening(("payment.received", 5), ("return.requested", 10))
    assert (state.stage, state.next_stage, state.owner, state.waiting_since, state.done) == (
        "placed",
        "paid",
        "finance",
        at(10),
        False,
    )
    assert visits(state) == [("paid", 5, 10, True), ("placed", 10, None, False)]


def test_a_stage_left_and_entered_at_one_instant_shows_the_ended_visit_first() -> None:
    state = reopening(
        ("order.placed", 0),
        ("payment.received", 5),
        ("return.requested", 5),
        ("invoice.issued", 5),
    )
    assert (state.stage, state.waiting_since) == ("paid", at(5))
    assert visits(state) == [
        ("placed", 0, 5, False),
        ("paid", 5, 5, True),
        ("placed", 5, 5, False),
        ("paid", 5, None, False),
    ]


@pytest.mark.parametrize(
    ("stages", "problem"),
    [
        (
            "[{name: opened, events: [complaint.opened], owner: support,"
            " reopened_by: [{event: ticket.updated}]},"
            " {name: resolved, events: [ticket.resolved], owner: support}]",
            "stage opened: the first stage cannot be reopened",
        ),
        (
            "[{name: opened, events: [complaint.opened], owner: support},"
            " {name: gone, events: [ticket.resolved], owner: support, terminal: true,"
            " reopened_by: [{event: ticket.updated}]}]",
            "stage gone: a terminal stage cannot be reopened",
        ),
        (
            "[{name: opened, events: [complaint.opened], owner: support},"
            " {name: resolved, events: [ticket.resolved], owner: support,"
            " reopened_by: [{event: ticket.updated, values: [open]}]}]",
            "give field and values together, or neither",
        ),
    ],
)
def test_reopen_rules_that_make_no_sense_are_config_errors(stages: str, problem: str) -> None:
    text = f"processes:\n  complaint_handling:\n    aggregate: ticket\n    stages: {stages}\n"
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_config(text)


def test_a_stage_may_not_be_reopened_by_an_event_that_enters_it() -> None:
    text = """
processes:
  complaint_handling:
    aggregate: ticket
    stages:
      - {name: opened, events: [complaint.opened], owner: support}
      - {name: resolved, events: [ticket.resolved], owner: support,
         reopened_by: [{event: ticket.resolved}]}
"""
    with pytest.raises(ConfigError, match=r"ticket\.resolved both enters and reopens it"):
        parse_config(text)


def life(*steps: tuple[str, float], config: LifecycleConfig | None = None) -> list[str]:
    state = lifecycle(config or LifecycleConfig(), ordered(event(t, h) for t, h in steps))
    return [name for name, _ in state.history]


@pytest.mark.parametrize(
    ("steps", "history"),
    [
        ([("customer.created", 0)], ["prospect"]),
        (
            [("customer.created", 0), ("lead.created", 1), ("lead.converted", 2)],
            ["prospect", "lead", "customer"],
        ),
        ([("lead.created", 0), ("customer.created", 1)], ["lead"]),
        ([("customer.created", 0), ("order.placed", 1)], ["prospect", "active"]),
        # two complaints within 30 days: at risk; an order afterwards: active again
        (
            [
                ("order.placed", 0),
                ("complaint.opened", 24),
                ("complaint.opened", 48),
                ("order.placed", 72),
            ],
            ["active", "at_risk", "active"],
        ),
        # two complaints 40 days apart: not at risk
        (
            [("order.placed", 0), ("complaint.opened", 24), ("complaint.opened", 24 * 41)],
            ["active"],
        ),
        # an order after more than 180 days without one: won back
        ([("order.placed", 0), ("order.placed", 24 * 200)], ["active", "won_back"]),
    ],
)
def test_customer_lifecycle(steps: list[tuple[str, float]], history: list[str]) -> None:
    assert life(*steps) == history


def test_churn_is_read_at_a_time() -> None:
    config = LifecycleConfig()
    state = lifecycle(config, [event("order.placed", 0)])
    assert state.at(config, at(24 * 100)).stage == "active"
    churned = state.at(config, at(24 * 181))
    assert churned.stage == "churned"
    assert churned.since == at(0) + timedelta(days=180)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("90m", timedelta(minutes=90)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1d12h", timedelta(hours=36)),
        (3600, timedelta(hours=1)),
    ],
)
def test_durations(text: object, value: timedelta) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize("bad", ["", "0h", "48", "two days", "4 hours", True])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(bad)


def test_the_shipped_hub_yaml_shows_the_defaults() -> None:
    config = load_config(REPO / "hub.yaml")
    assert config.processes == ProcessesConfig()
    assert config.processes.owners() <= set(config.departments)


def test_a_company_edits_an_sla_without_code() -> None:
    config = parse_config(
        "processes:\n"
        "  order_to_delivery:\n"
        "    aggregate: order\n"
        "    stages:\n"
        "      - {name: placed, events: [order.placed], owner: sales}\n"
        "      - {name: shipped, events: [shipment.dispatched], owner: logistics}\n"
        "    slas:\n"
        "      - {name: ship, from: placed, to: [shipped], within: 3d, owner: logistics}\n"
    )
    rule = config.processes.order_to_delivery.slas[0]
    assert (rule.within, rule.escalate_to) == (timedelta(days=3), None)
    assert config.processes.complaint_handling == ProcessesConfig().complaint_handling


@pytest.mark.parametrize(
    ("yaml_text", "key", "message"),
    [
        (
            "processes:\n  order_to_delivery:\n    aggregate: order\n    stages:\n"
            "      - {name: placed, on: [order.placed], owner: sales}\n",
            "processes.order_to_delivery.stages.0.events",
            "Field required",
        ),
        (
            "processes:\n  order_to_delivery:\n    aggregate: order\n    stages:\n"
            "      - {name: placed, events: [order.placed], owner: sales}\n"
            "    slas:\n      - {name: x, from: placed, to: [gone], within: 1h, owner: sales}\n",
            "processes.order_to_delivery",
            "unknown stage 'gone'",
        ),
        (
            "processes:\n  complaint_handling:\n    aggregate: ticket\n    stages:\n"
            "      - {name: opened, events: [complaint.opened], owner: support}\n"
            "    slas:\n      - {name: x, from: opened, to: [opened], within: soon, owner: s}\n",
            "processes.complaint_handling.slas.0.within",
            "not a duration",
        ),
    ],
)
def test_invalid_processes_name_the_key(yaml_text: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(yaml_text)
    assert any(k == key and message in m for k, m in caught.value.problems), caught.value.problems


def test_written_processes_may_name_only_configured_departments() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            "processes:\n"
            "  complaint_handling:\n"
            "    aggregate: ticket\n"
            "    stages:\n"
            "      - {name: opened, events: [complaint.opened], owner: helpdesk}\n"
        )
    assert "complaint_handling names unknown department 'helpdesk'" in str(caught.value)
    # the shipped defaults keep working for a company without some default departments
    config = parse_config("departments:\n  sales: {}\n  support: {}\n")
    assert config.processes == ProcessesConfig()


LIFECYCLE_TYPES = [
    "customer.created",
    "lead.created",
    "lead.converted",
    "order.placed",
    "complaint.opened",
]


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(LIFECYCLE_TYPES), st.integers(min_value=0, max_value=24 * 400)),
        max_size=25,
    ),
    cut=st.integers(min_value=0, max_value=25),
)
def test_lifecycle_resumes_from_the_state_of_a_prefix(
    steps: list[tuple[str, int]], cut: int
) -> None:
    """Folding the rest of the events into the state of the first ones gives the state of
    all of them: the store relies on it to add a batch without reading the history. The
    times span a year, so churn gaps and expiring complaint windows are crossed."""
    config = LifecycleConfig()
    events = ordered(event(t, h, id=f"e{i:02d}") for i, (t, h) in enumerate(steps))
    whole = lifecycle(config, events)
    resumed = lifecycle(config, events[cut:], start=lifecycle(config, events[:cut]))
    assert resumed == whole

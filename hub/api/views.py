"""A stored timeline as one department may see it: the JSON of the contract and the page.

Every event passes through the router's own decisions: a department gets an event only if
the routing rules deliver that event to it (:func:`hub.routing.route.route`), and then with
its field policy applied (:func:`hub.routing.policy.apply_policy`). What it may not see is
never put into the response. A department that may see none of an aggregate's events is
refused (403): it has no route to that kind of timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.config import HubConfig
from hub.routing.policy import apply_policy
from hub.routing.route import route
from hub.timeline.config import LifecycleStage, ProcessConfig, ProcessesConfig
from hub.timeline.ordering import TimelineEvent, parse_time_key
from hub.timeline.processes import lifecycle_from_json
from hub.timeline.store import StoredTimeline
from schemas import Envelope
from schemas.envelope import format_time

_ENVELOPE_FIELDS = frozenset(Envelope.model_fields) - {"extensions", "data"}
_DEFAULT_LANES = (
    ("ticket.", "support"),
    ("complaint.", "support"),
    ("return.", "logistics"),
    ("customer.", "sales"),
    ("lead.", "sales"),
    ("opportunity.", "sales"),
    ("payment.", "finance"),
    ("invoice.", "finance"),
    ("shipment.", "logistics"),
    ("order.", "sales"),
)


def to_envelope(event: TimelineEvent) -> Envelope:
    """The stored event as the CloudEvent it arrived as."""
    known: dict[str, Any] = {}
    extensions: dict[str, str] = {}
    for name, value in event.attributes:
        if name in _ENVELOPE_FIELDS:
            known[name] = value
        else:
            extensions[name] = value
    return Envelope(
        id=event.id,
        source=event.source,
        type=event.type,
        time=event.time,
        subject=event.subject,
        data=event.data,
        extensions=extensions,
        **known,
    )


def department_view(event: Envelope, department: str, config: HubConfig) -> Envelope | None:
    """The routing decision and field policy of the router, for one event and department.

    None when the department does not receive the event at all.
    """
    if department not in route(event, config):
        return None
    return apply_policy(event, department, config)


def lane_of(event: TimelineEvent, processes: ProcessesConfig) -> str:
    """The department swimlane an event is drawn in: the owner of the stage it enters."""
    if event.type == "sla.breached":
        owner = event.data.get("owner")
        return owner if isinstance(owner, str) else "management"
    for definition in (processes.order_to_delivery, processes.complaint_handling):
        for stage in definition.stages:
            if event.type in stage.events:
                return stage.owner
    lifecycle = processes.customer_lifecycle
    entries: tuple[tuple[LifecycleStage, tuple[str, ...]], ...] = (
        ("prospect", lifecycle.prospect_on),
        ("lead", lifecycle.lead_on),
        ("customer", lifecycle.customer_on),
    )
    for stage_name, types in entries:
        if event.type in types:
            return lifecycle.owners.get(stage_name, "sales")
    return next((lane for prefix, lane in _DEFAULT_LANES if event.type.startswith(prefix)), "other")


def _stages(definition: ProcessConfig, state: dict[str, Any]) -> list[dict[str, Any]]:
    reached = {v["name"]: v["entered"] for v in state.get("visits", []) if not v.get("reopened")}
    current = state.get("stage")
    seen_current = False
    out = []
    for stage in definition.stages:
        if stage.terminal and stage.name not in reached:
            continue
        if stage.name == current:
            status, seen_current = "current", True
        elif stage.name in reached:
            status = "done"
        elif seen_current:
            status = "pending"
        else:
            status = "skipped" if stage.optional else "missing"
        out.append(
            {
                "name": stage.name,
                "owner": stage.owner,
                "reached_at": _iso(reached.get(stage.name)),
                "status": status,
            }
        )
    return out


def _iso(key: Any) -> str | None:
    return None if key is None else format_time(parse_time_key(str(key)))


def _clock(clock: dict[str, Any], now: datetime) -> dict[str, Any]:
    deadline = parse_time_key(clock["deadline"])
    breach = clock.get("breach")
    overdue = clock["status"] == "open" and deadline <= now
    return {
        "process": clock["process"],
        "rule": clock["rule"],
        "subject": {"kind": clock["kind"], "id": clock["agg_id"]},
        "from_stage": clock["from_stage"],
        "to": clock["to"],
        "owner": clock["owner"],
        "escalate_to": clock["escalate_to"],
        "started_at": _iso(clock["started_at"]),
        "deadline": format_time(deadline),
        "status": "breached" if overdue else clock["status"],
        "closed_at": _iso(clock.get("closed_at")),
        "seconds_left": round((deadline - now).total_seconds()),
        "breach_event_id": breach["event_id"] if breach else None,
    }


def _rank(config: HubConfig, department: str) -> int:
    names = list(config.departments)
    return names.index(department) if department in names else len(names)


def may_see(stored: StoredTimeline, department: str, config: HubConfig) -> bool:
    """Whether the routing rules deliver ``department`` at least one of the timeline's
    events: exactly the timelines :func:`timeline_view` does not refuse."""
    return any(department in route(to_envelope(event), config) for event in stored.events)


def timeline_view(
    stored: StoredTimeline, *, department: str, config: HubConfig, now: datetime
) -> dict[str, Any] | None:
    """The contract JSON for ``department``; None if it may see none of the events.

    An SLA clock shows when the department sees an event here of its order or ticket (or
    of the order a complaint is about: an order's timeline shows its complaints' clocks to
    every department that may open it), or owns the clock or is its escalation (as
    ``/v1/breaches`` lists it). A customer's timeline gathers the clocks of all its orders
    and tickets, and a department refused an order must not read its id, deadline and
    breach there instead."""
    processes = config.processes
    events = []
    lanes: dict[str, list[str]] = {}
    #: the orders and tickets the department sees events of here (and the timeline itself)
    subjects = {(stored.kind, stored.id)}
    #: ticket -> the order it is about, from any event naming both
    order_of: dict[str, str] = {}
    for event in stored.events:
        if event.ticket_id and event.order_id:
            order_of[event.ticket_id] = event.order_id
        visible = department_view(to_envelope(event), department, config)
        if visible is None:
            continue
        if event.order_id:
            subjects.add(("order", event.order_id))
        if event.ticket_id:
            subjects.add(("ticket", event.ticket_id))
        lane = lane_of(event, processes)
        lanes.setdefault(lane, []).append(event.id)
        events.append(
            {
                "id": event.id,
                "type": event.type,
                "time": format_time(event.time),
                "source": event.source,
                "subject": event.subject,
                "lane": lane,
                "data": visible.data,
            }
        )
    if not events:
        return None
    state = stored.state or {}
    clocks = [
        _clock(c, now)
        for c in stored.clocks
        if (c["kind"], c["agg_id"]) in subjects
        or (c["kind"] == "ticket" and ("order", order_of.get(c["agg_id"])) in subjects)
        or department in (c["owner"], c["escalate_to"])
    ]
    view: dict[str, Any] = {
        "id": stored.id,
        "kind": stored.kind,
        "requested_id": stored.requested_id,
        "department": department,
        "now": format_time(now),
    }
    if stored.kind == "customer":
        lifecycle = lifecycle_from_json(state).at(processes.customer_lifecycle, now)
        view |= {
            "process": "customer_lifecycle",
            "stage": lifecycle.stage,
            "owner": processes.customer_lifecycle.owners.get(lifecycle.stage)
            if lifecycle.stage
            else None,
            "waiting_since": format_time(lifecycle.since) if lifecycle.since else None,
            "next_stage": None,
            "done": False,
            "stages": [
                {"name": name, "reached_at": format_time(at), "status": "done"}
                for name, at in lifecycle.history
            ],
            "merged_ids": list(stored.aliases),
        }
    else:
        definition = processes.order_to_delivery
        view |= {
            "process": state.get("process"),
            "stage": state.get("stage"),
            "owner": state.get("owner"),
            "waiting_since": _iso(state.get("waiting_since")),
            "next_stage": state.get("next_stage"),
            "done": bool(state.get("done", False)),
            "stages": _stages(definition, state) if state else [],
        }
    view |= {
        "clocks": [c for c in clocks if c["status"] in ("open", "breached")],
        "breaches": [
            c for c in clocks if c["status"] in ("breached", "late") or c["breach_event_id"]
        ],
        "systems": sorted({e["source"] for e in events}),
        "lanes": [
            {"department": name, "events": lanes[name]}
            for name in sorted(lanes, key=lambda n: (n not in config.departments, _rank(config, n)))
        ],
        "events": events,
    }
    return view

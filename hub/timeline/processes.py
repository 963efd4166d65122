"""Process state as pure functions of an aggregate's ordered events.

Nothing here reads a clock or a database: the same ordered events always give the same
state, so state is simply recomputed whenever an aggregate receives events, in any order.
Only "churned" depends on the reading time and is applied when a timeline is read.

Stage semantics: the current stage is the furthest stage reached along the definition
without a gap in a required stage (an invoice issued before the goods left does not jump
the order to "invoiced"); a terminal stage (cancelled) ends the process. The ``owner`` is
the department the item is waiting on: the owner of the next required stage. A stage's
``reopened_by`` events take the item back out of it (a solved complaint answered again): the
visit ends there, and the stage counts as reached again only at its next entering event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal, Protocol

from hub.timeline.config import (
    LifecycleConfig,
    LifecycleStage,
    ProcessConfig,
    ReopenRule,
    StageConfig,
)
from hub.timeline.ordering import parse_time_key, time_key

ClockStatus = Literal["open", "met", "late", "stopped"]


class Occurrence(Protocol):
    """What state is computed from: an event's type and time (a ``TimelineEvent``,
    or the lighter rows the store reads back)."""

    @property
    def type(self) -> str: ...

    @property
    def time(self) -> datetime: ...

    @property
    def data(self) -> Mapping[str, Any] | None:
        """The event's data where a ``reopened_by`` rule needs it (None elsewhere)."""


@dataclass(frozen=True, slots=True)
class StageVisit:
    name: str
    owner: str
    entered: datetime
    left: datetime | None = None
    #: the visit ended because a ``reopened_by`` event took the item back out of the stage
    reopened: bool = False


@dataclass(frozen=True, slots=True)
class Clock:
    """One SLA rule of one process instance."""

    process: str
    rule: str
    from_stage: str
    to: tuple[str, ...]
    owner: str
    escalate_to: str | None
    started_at: datetime
    deadline: datetime
    status: ClockStatus
    closed_at: datetime | None = None

    def breached_at(self, now: datetime) -> bool:
        """Open past its deadline at ``now``."""
        return self.status == "open" and self.deadline <= now


@dataclass(frozen=True, slots=True)
class ProcessState:
    process: str
    stage: str
    #: Department the item waits on (owner of the next stage); the last owner once done.
    owner: str
    waiting_since: datetime
    next_stage: str | None
    done: bool
    visits: tuple[StageVisit, ...] = ()
    clocks: tuple[Clock, ...] = ()
    #: how often a ``reopened_by`` event took the item back out of a stage
    reopens: int = 0


@dataclass(frozen=True, slots=True)
class _Plan:
    """What stage_process looks up in a definition, prepared once per definition."""

    definition: ProcessConfig
    entering: dict[str, tuple[str, ...]]
    owners: dict[str, str]
    order: dict[str, int]
    starts_on: frozenset[str]
    #: event type -> (stage, rule) of each ``reopened_by`` rule of that type
    reopening: dict[str, tuple[tuple[str, ReopenRule], ...]]
    #: stages some event can reopen
    reopenable: frozenset[str]
    #: the stages that are not terminal, in order
    flow: tuple[StageConfig, ...]
    #: stage -> the flow stage before it (where an item waits when a reopen leaves it
    #: in no other stage)
    before: dict[str, StageConfig]


_PLANS: dict[int, _Plan] = {}


def _plan(definition: ProcessConfig) -> _Plan:
    plan = _PLANS.get(id(definition))
    if plan is not None and plan.definition is definition:
        return plan
    entering: dict[str, list[str]] = {}
    reopening: dict[str, list[tuple[str, ReopenRule]]] = {}
    flow = tuple(s for s in definition.stages if not s.terminal)
    for stage in definition.stages:
        for event_type in stage.events:
            entering.setdefault(event_type, []).append(stage.name)
        for rule in stage.reopened_by:
            reopening.setdefault(rule.event, []).append((stage.name, rule))
    plan = _Plan(
        definition=definition,
        entering={t: tuple(names) for t, names in entering.items()},
        owners={s.name: s.owner for s in definition.stages},
        order={s.name: i for i, s in enumerate(definition.stages)},
        starts_on=frozenset(definition.starts_on),
        reopening={t: tuple(rules) for t, rules in reopening.items()},
        reopenable=frozenset(s.name for s in definition.stages if s.reopened_by),
        flow=flow,
        before={later.name: earlier for earlier, later in pairwise(flow)},
    )
    if len(_PLANS) >= 64:
        _PLANS.clear()
    _PLANS[id(definition)] = plan
    return plan


@dataclass(slots=True)
class _Walk:
    """Where one instance's ordered events took it."""

    #: stage -> when it was entered, for the stages the item is in (not reopened since)
    reached: dict[str, datetime] = field(default_factory=dict)
    #: stage -> its first entry, reopened since or not
    first: dict[str, datetime] = field(default_factory=dict)
    #: the position of the event that began each visit (``_visits`` lists them in event
    #: order, which also orders those that began at one instant): of the current visit
    #: of each stage in ``reached``, and last in each tuple of ``ended`` and ``resumed``
    began: dict[str, int] = field(default_factory=dict)
    #: (stage, entered, reopened at, began) of each visit a reopen ended
    ended: list[tuple[str, datetime, datetime, int]] = field(default_factory=list)
    #: (stage, reopened at, began) of each reopen that put the item back in another stage
    resumed: list[tuple[str, datetime, int]] = field(default_factory=list)


def _current(flow: Sequence[StageConfig], reached: dict[str, datetime]) -> StageConfig | None:
    """The furthest stage of ``flow`` reached without a gap in a required stage, else the
    first one reached (None: no stage of the flow reached)."""
    current: StageConfig | None = None
    for stage in flow:
        if stage.name in reached:
            current = stage
        elif not stage.optional:
            break
    if current is None:
        current = next((s for s in flow if s.name in reached), None)
    return current


def reopen_types(definition: ProcessConfig) -> frozenset[str]:
    """The event types whose data a ``reopened_by`` rule of ``definition`` reads (the store
    reads the data of those only)."""
    return frozenset(_plan(definition).reopening)


def _walk(plan: _Plan, events: Sequence[Occurrence]) -> _Walk:
    entering, reopening = plan.entering, plan.reopening
    walk = _Walk()
    reached, first, began = walk.reached, walk.first, walk.began
    for position, event in enumerate(events):  # ordered: the first entering event wins
        for name in entering.get(event.type, ()):
            if name not in reached:
                reached[name], began[name] = event.time, position
                first.setdefault(name, event.time)
        if not reopening:
            continue
        for name, rule in reopening.get(event.type, ()):
            if name in reached and rule.matches(event.data):
                was = _current(plan.flow, reached)
                walk.ended.append((name, reached.pop(name), event.time, began.pop(name)))
                # a reopenable stage is neither terminal nor first (ProcessConfig checks)
                now = _current(plan.flow, reached) or plan.before[name]
                if now is not was:
                    walk.resumed.append((now.name, event.time, position))
    return walk


def _clocks(
    name: str,
    definition: ProcessConfig,
    walk: _Walk,
    reopenable: frozenset[str],
    terminal: StageConfig | None,
) -> tuple[Clock, ...]:
    """A clock stops at the first stage of its ``to`` the item entered. A reopen undoes
    that only for a clock every one of whose ``to`` stages can be reopened (resolve: the
    complaint is open again); a clock another stage could stop keeps its first stop
    (acknowledge: a solve answered the customer, whatever came after)."""
    reached, first = walk.reached, walk.first
    clocks = []
    for rule in definition.slas:
        start = first.get(rule.from_stage)
        if start is None:
            continue
        deadline = start + rule.within
        entries = reached if reopenable.issuperset(rule.to) else first
        stops = [entries[t] for t in rule.to if t in entries]
        closed_at: datetime | None
        status: ClockStatus
        if stops:
            closed_at = min(stops)
            status = "met" if closed_at <= deadline else "late"
        elif terminal is not None:
            closed_at, status = reached[terminal.name], "stopped"
        else:
            closed_at, status = None, "open"
        clocks.append(
            Clock(
                process=name,
                rule=rule.name,
                from_stage=rule.from_stage,
                to=rule.to,
                owner=rule.owner,
                escalate_to=rule.escalate_to,
                started_at=start,
                deadline=deadline,
                status=status,
                closed_at=closed_at,
            )
        )
    return tuple(clocks)


def _visits(plan: _Plan, walk: _Walk) -> tuple[StageVisit, ...]:
    """Every visit in the order entered (a stage the item went back to on a reopen is
    visited again from then); one leaves when the next is entered, or when a reopen ended
    it."""
    began = walk.began
    entries: list[tuple[str, datetime, datetime | None, int]] = [
        (name, at, None, began[name]) for name, at in walk.reached.items()
    ]
    entries += walk.ended
    entries += [(name, at, None, position) for name, at, position in walk.resumed]
    order, owners = plan.order, plan.owners
    entries.sort(key=lambda item: (item[3], order[item[0]]))
    return tuple(
        StageVisit(
            name=stage_name,
            owner=owners[stage_name],
            entered=at,
            left=ended or (entries[i + 1][1] if i + 1 < len(entries) else None),
            reopened=ended is not None,
        )
        for i, (stage_name, at, ended, _) in enumerate(entries)
    )


def stage_process(
    name: str, definition: ProcessConfig, events: Sequence[Occurrence]
) -> ProcessState | None:
    """The state of one process instance, or None if these events never started it."""
    plan = _plan(definition)
    if plan.starts_on and not any(e.type in plan.starts_on for e in events):
        return None
    walk = _walk(plan, events)
    reached = walk.reached
    if not walk.first:
        return None
    flow = plan.flow
    terminal = min(
        (s for s in definition.stages if s.terminal and s.name in reached),
        key=lambda s: reached[s.name],
        default=None,
    )
    current = _current(flow, reached) or terminal
    if current is None:  # every stage of the flow it reached was reopened
        current = definition.stage(walk.resumed[-1][0])
    flow_names = [s.name for s in flow]
    index = flow_names.index(current.name) if current.name in flow_names else len(flow)
    pending = [s for s in flow[index + 1 :] if s.name not in reached]
    expected = next((s for s in pending if not s.optional), None)
    if terminal is not None:
        stage, owner, since, done, next_stage = (
            terminal,
            terminal.owner,
            reached[terminal.name],
            True,
            None,
        )
    else:
        stage = current
        # waiting since the current stage was reached, or since a reopen put it back there
        since = max(
            [reached[s.name] for s in flow[: index + 1] if s.name in reached]
            + [at for back, at, _ in walk.resumed if back == current.name]
        )
        done = expected is None
        owner = expected.owner if expected is not None else current.owner
        next_stage = expected.name if expected is not None else None
    return ProcessState(
        process=name,
        stage=stage.name,
        owner=owner,
        waiting_since=since,
        next_stage=next_stage,
        done=done,
        visits=_visits(plan, walk),
        clocks=_clocks(name, definition, walk, plan.reopenable, terminal),
        reopens=len(walk.ended),
    )


_RANK: dict[str, int] = {"prospect": 0, "lead": 1, "customer": 2}
_ENGAGED = 3


@dataclass(frozen=True, slots=True)
class LifecycleState:
    stage: LifecycleStage | None
    since: datetime | None
    last_activity: datetime | None
    history: tuple[tuple[LifecycleStage, datetime], ...] = field(default=())
    # the complaint times the at-risk rule still counts: with them, the fold can resume
    complaints: tuple[datetime, ...] = field(default=())

    def at(self, config: LifecycleConfig, now: datetime) -> LifecycleState:
        """The state as read at ``now``: long inactivity means churned."""
        if (
            self.last_activity is not None
            and self.stage in ("active", "won_back", "at_risk", "customer")
            and now - self.last_activity > config.churn_after
        ):
            since = self.last_activity + config.churn_after
            return LifecycleState(
                "churned", since, self.last_activity, (*self.history, ("churned", since))
            )
        return self


def lifecycle_types(config: LifecycleConfig) -> frozenset[str]:
    """The event types that can change a lifecycle; :func:`lifecycle` passes over others."""
    return frozenset(
        (
            *config.active_on,
            *config.at_risk.types,
            *config.customer_on,
            *config.lead_on,
            *config.prospect_on,
        )
    )


def lifecycle(
    config: LifecycleConfig,
    events: Sequence[Occurrence],
    start: LifecycleState | None = None,
) -> LifecycleState:
    """Customer lifecycle from the customer's ordered events (all merged ids together).

    Only events of :func:`lifecycle_types` matter: leaving the others out gives the same
    state. With ``start``, the state of the events before these, the fold resumes there:
    ``lifecycle(c, b, lifecycle(c, a)) == lifecycle(c, a + b)``. The store relies on that
    to fold only a batch's new events into a customer with a long history."""
    stage = start.stage if start else None
    since = start.since if start else None
    last_activity = start.last_activity if start else None
    complaints: deque[datetime] = deque(start.complaints if start else ())
    history: list[tuple[LifecycleStage, datetime]] = list(start.history if start else ())
    for event in events:
        new: LifecycleStage | None = None
        rank = _RANK.get(stage or "", _ENGAGED if stage else -1)
        if event.type in config.active_on:
            gap = event.time - last_activity if last_activity is not None else timedelta(0)
            new = "won_back" if gap > config.churn_after else "active"
            last_activity = event.time
        elif event.type in config.at_risk.types:
            complaints.append(event.time)
            while complaints and complaints[0] < event.time - config.at_risk.within:
                complaints.popleft()
            if len(complaints) >= config.at_risk.complaints:
                new = "at_risk"
        elif event.type in config.customer_on and rank < _RANK["customer"]:
            new = "customer"
        elif event.type in config.lead_on and rank < _RANK["lead"]:
            new = "lead"
        elif event.type in config.prospect_on and stage is None:
            new = "prospect"
        if new is not None and new != stage:
            stage, since = new, event.time
            history.append((new, event.time))
    return LifecycleState(stage, since, last_activity, tuple(history), tuple(complaints))


def _t(value: datetime | None) -> str | None:
    return None if value is None else time_key(value)


def _d(value: Any) -> datetime | None:
    return None if value is None else parse_time_key(str(value))


def clock_to_json(clock: Clock) -> dict[str, Any]:
    return {
        "process": clock.process,
        "rule": clock.rule,
        "from_stage": clock.from_stage,
        "to": list(clock.to),
        "owner": clock.owner,
        "escalate_to": clock.escalate_to,
        "started_at": _t(clock.started_at),
        "deadline": _t(clock.deadline),
        "status": clock.status,
        "closed_at": _t(clock.closed_at),
    }


def state_to_json(state: ProcessState) -> dict[str, Any]:
    return {
        "process": state.process,
        "stage": state.stage,
        "owner": state.owner,
        "waiting_since": _t(state.waiting_since),
        "next_stage": state.next_stage,
        "done": state.done,
        "visits": [
            {
                "name": v.name,
                "owner": v.owner,
                "entered": _t(v.entered),
                "left": _t(v.left),
                # only when set: states without a reopen stay as stored before the key
                # existed, so the store does not rewrite them
                **({"reopened": True} if v.reopened else {}),
            }
            for v in state.visits
        ],
        "clocks": [clock_to_json(c) for c in state.clocks],
        **({"reopens": state.reopens} if state.reopens else {}),
    }


def lifecycle_to_json(state: LifecycleState) -> dict[str, Any]:
    return {
        "stage": state.stage,
        "since": _t(state.since),
        "last_activity": _t(state.last_activity),
        "history": [[name, _t(at)] for name, at in state.history],
        "complaints": [time_key(at) for at in state.complaints],
    }


def lifecycle_from_json(data: dict[str, Any]) -> LifecycleState:
    return LifecycleState(
        stage=data.get("stage"),
        since=_d(data.get("since")),
        last_activity=_d(data.get("last_activity")),
        history=tuple((name, parse_time_key(at)) for name, at in data.get("history", [])),
        complaints=tuple(parse_time_key(at) for at in data.get("complaints", [])),
    )

"""The ``processes:`` section of ``hub.yaml``: stages, owners and SLAs a company edits.

Defaults ship here and are shown, commented, in the example ``hub.yaml``; an empty file
still gives the three standard processes. Durations are written ``90m``, ``4h``, ``2d``,
``1d12h``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: object) -> timedelta:
    """``"48h"`` -> 48 hours; also accepts a timedelta or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
            total = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            if total > timedelta(0):
                return total
    raise ValueError(f"not a duration: {value!r} (write e.g. 90m, 4h, 2d, 1d12h)")


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]


#: Ticket statuses that mean a solved complaint is open again (the customer answered, or an
#: agent took it up again): every status but solved and closed.
REOPENED_STATUSES = ("new", "open", "pending", "on_hold")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ReopenRule(_Strict):
    """An event that takes an item back out of a stage it reached before (a customer
    answering a solved ticket): ``event`` of that type, and with ``field`` given, only when
    that field of its data holds one of ``values``."""

    event: str
    field: str | None = None
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _field_and_values(self) -> ReopenRule:
        if (self.field is None) != (not self.values):
            raise ValueError("give field and values together, or neither (any such event)")
        return self

    def matches(self, data: Mapping[str, Any] | None) -> bool:
        if self.field is None:
            return True
        return data is not None and data.get(self.field) in self.values


class StageConfig(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: Event types whose arrival means the item reached this stage (the key is not ``on``:
    #: YAML reads a bare ``on`` as true).
    events: tuple[str, ...] = Field(min_length=1)
    #: Department that brings the item into this stage (the one it waits on before).
    owner: str
    #: The process may skip it (e.g. an ERP that never confirms orders).
    optional: bool = False
    #: Reaching it ends the process (e.g. cancelled); every clock stops.
    terminal: bool = False
    #: Events after which the item is no longer in this stage (until one of ``events``
    #: enters it again); see docs/timelines.md, "Reopening".
    reopened_by: tuple[ReopenRule, ...] = ()


class SlaRule(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: The clock starts when the item reaches this stage ...
    from_stage: str = Field(alias="from")
    #: ... and stops when it reaches any of these.
    to: tuple[str, ...] = Field(min_length=1)
    within: Duration
    #: Department answerable for the deadline (the sla.breached owner).
    owner: str
    #: Department told on a breach, besides the owner.
    escalate_to: str | None = None


class ProcessConfig(_Strict):
    description: str = ""
    #: What an instance of the process is keyed by.
    aggregate: Literal["order", "ticket"]
    #: The process applies only once one of these types occurred (empty: any stage event).
    starts_on: tuple[str, ...] = ()
    stages: tuple[StageConfig, ...] = Field(min_length=1)
    slas: tuple[SlaRule, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ProcessConfig:
        names = [s.name for s in self.stages]
        problems = []
        if len(set(names)) != len(names):
            problems.append(f"stage names repeat: {names}")
        rules = [r.name for r in self.slas]
        if len(set(rules)) != len(rules):
            problems.append(f"sla names repeat: {rules}")
        for rule in self.slas:
            for stage in (rule.from_stage, *rule.to):
                if stage not in names:
                    problems.append(f"sla {rule.name} names unknown stage {stage!r}")
        first = next((s.name for s in self.stages if not s.terminal), None)
        for defined in self.stages:
            if defined.reopened_by and (defined.terminal or defined.name == first):
                what = "a terminal" if defined.terminal else "the first"
                problems.append(f"stage {defined.name}: {what} stage cannot be reopened")
            for reopen in defined.reopened_by:
                if reopen.event in defined.events:
                    problems.append(
                        f"stage {defined.name}: {reopen.event} both enters and reopens it"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def stage(self, name: str) -> StageConfig:
        return next(s for s in self.stages if s.name == name)


LifecycleStage = Literal["prospect", "lead", "customer", "active", "at_risk", "churned", "won_back"]
LIFECYCLE_STAGES: tuple[LifecycleStage, ...] = (
    "prospect",
    "lead",
    "customer",
    "active",
    "at_risk",
    "churned",
    "won_back",
)


_LIFECYCLE_OWNERS: dict[LifecycleStage, str] = {
    "prospect": "marketing",
    "lead": "sales",
    "customer": "sales",
    "active": "sales",
    "at_risk": "support",
    "churned": "marketing",
    "won_back": "sales",
}


class AtRiskRule(_Strict):
    complaints: int = Field(default=2, ge=1)
    within: Duration = timedelta(days=30)
    #: Event types that count as a complaint.
    types: tuple[str, ...] = ("complaint.opened",)


class LifecycleConfig(_Strict):
    description: str = "Where each customer stands with the company"
    prospect_on: tuple[str, ...] = ("customer.created",)
    lead_on: tuple[str, ...] = ("lead.created",)
    customer_on: tuple[str, ...] = ("lead.converted", "opportunity.won")
    #: Activity that makes a customer active (and wins back a churned one).
    active_on: tuple[str, ...] = ("order.placed",)
    at_risk: AtRiskRule = Field(default_factory=AtRiskRule)
    #: No activity for this long: churned (evaluated at read time); activity after: won back.
    churn_after: Duration = timedelta(days=180)
    #: Department that looks after a customer in each stage.
    owners: dict[LifecycleStage, str] = Field(default_factory=lambda: dict(_LIFECYCLE_OWNERS))


def _order_to_delivery() -> ProcessConfig:
    return ProcessConfig.model_validate(
        {
            "description": "From the order to the invoice",
            "aggregate": "order",
            "stages": [
                {"name": "placed", "events": ["order.placed"], "owner": "sales"},
                {
                    "name": "confirmed",
                    "events": ["order.confirmed"],
                    "owner": "sales",
                    "optional": True,
                },
                {"name": "paid", "events": ["payment.received"], "owner": "finance"},
                {"name": "dispatched", "events": ["shipment.dispatched"], "owner": "logistics"},
                {"name": "delivered", "events": ["shipment.delivered"], "owner": "logistics"},
                {"name": "invoiced", "events": ["invoice.issued"], "owner": "finance"},
                {
                    "name": "cancelled",
                    "events": ["order.cancelled"],
                    "owner": "sales",
                    "terminal": True,
                },
            ],
            "slas": [
                {
                    "name": "confirm",
                    "from": "placed",
                    "to": ["confirmed", "paid"],
                    "within": "24h",
                    "owner": "sales",
                },
                {
                    "name": "dispatch",
                    "from": "paid",
                    "to": ["dispatched"],
                    "within": "48h",
                    "owner": "logistics",
                    "escalate_to": "management",
                },
                {
                    "name": "deliver",
                    "from": "dispatched",
                    "to": ["delivered"],
                    "within": "5d",
                    "owner": "logistics",
                },
                {
                    "name": "invoice",
                    "from": "delivered",
                    "to": ["invoiced"],
                    "within": "24h",
                    "owner": "finance",
                },
            ],
        }
    )


def _complaint_handling() -> ProcessConfig:
    return ProcessConfig.model_validate(
        {
            "description": "A complaint from opening to resolution",
            "aggregate": "ticket",
            "starts_on": ["complaint.opened"],
            "stages": [
                {"name": "opened", "events": ["complaint.opened"], "owner": "support"},
                {
                    "name": "acknowledged",
                    "events": ["ticket.updated"],
                    "owner": "support",
                    "optional": True,
                },
                {
                    "name": "escalated",
                    "events": ["ticket.escalated"],
                    "owner": "management",
                    "optional": True,
                },
                {
                    "name": "resolved",
                    "events": ["ticket.resolved"],
                    "owner": "support",
                    "reopened_by": [
                        {
                            "event": "ticket.updated",
                            "field": "status",
                            "values": list(REOPENED_STATUSES),
                        }
                    ],
                },
            ],
            "slas": [
                {
                    "name": "acknowledge",
                    "from": "opened",
                    "to": ["acknowledged", "escalated", "resolved"],
                    "within": "4h",
                    "owner": "support",
                    "escalate_to": "management",
                },
                {
                    "name": "resolve",
                    "from": "opened",
                    "to": ["resolved"],
                    "within": "72h",
                    "owner": "support",
                    "escalate_to": "management",
                },
            ],
        }
    )


class ProcessesConfig(_Strict):
    """``processes:`` in hub.yaml. Each key may be left out to keep its default."""

    order_to_delivery: ProcessConfig = Field(default_factory=_order_to_delivery)
    complaint_handling: ProcessConfig = Field(default_factory=_complaint_handling)
    customer_lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)

    @model_validator(mode="after")
    def _aggregates(self) -> ProcessesConfig:
        if self.order_to_delivery.aggregate != "order":
            raise ValueError("order_to_delivery.aggregate must be order")
        if self.complaint_handling.aggregate != "ticket":
            raise ValueError("complaint_handling.aggregate must be ticket")
        return self

    def owners(self) -> set[str]:
        """Every department a process names (to check against ``departments:``)."""
        names = set(self.customer_lifecycle.owners.values())
        for process in (self.order_to_delivery, self.complaint_handling):
            names |= {s.owner for s in process.stages}
            names |= {r.owner for r in process.slas}
            names |= {r.escalate_to for r in process.slas if r.escalate_to}
        return names

    def by_aggregate(self) -> dict[str, tuple[str, ProcessConfig]]:
        """The stage process of each aggregate kind, with its name."""
        return {
            self.order_to_delivery.aggregate: ("order_to_delivery", self.order_to_delivery),
            self.complaint_handling.aggregate: ("complaint_handling", self.complaint_handling),
        }


def check_process_departments(config: Any) -> Any:
    """Processes written in hub.yaml may only name configured departments (HubConfig
    validator). The shipped defaults are not checked: a company without, say, a management
    department keeps working with them."""
    processes: ProcessesConfig = config.processes
    known = set(config.departments)
    problems = []
    for name in sorted(processes.model_fields_set):
        process = getattr(processes, name)
        if isinstance(process, LifecycleConfig):
            named = set(process.owners.values())
        else:
            named = {s.owner for s in process.stages} | {r.owner for r in process.slas}
            named |= {r.escalate_to for r in process.slas if r.escalate_to}
        problems += [f"{name} names unknown department {d!r}" for d in sorted(named - known)]
    if problems:
        raise ValueError("processes: " + "; ".join(problems))
    return config


#: Attached to ``HubConfig``: processes may only name configured departments.
process_departments_validator = model_validator(mode="after")(check_process_departments)

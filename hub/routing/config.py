"""The ``routing:`` section of ``hub.yaml``: rules, department clearances and field policies.

Rules say which canonical event types go to which departments, optionally only when the
event's content matches conditions. Policies say what each department may see of an event:
its clearance (a classification level), whether it may see personal data, and per-field
overrides. The shipped defaults route every canonical type somewhere sensible, so an empty
``hub.yaml`` still routes. Giving ``routing.rules`` replaces the default rules as a whole;
``routing.departments`` entries are merged over the default policy of each department.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

#: Classification levels in rank order, as ``schemas.base.Classification`` spells them.
LEVELS: tuple[str, ...] = ("public", "internal", "confidential", "restricted")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\])?)*$")


def level_rank(level: str) -> int:
    """0 for public up to 3 for restricted; accepts a ``Classification`` member too."""
    return LEVELS.index(str(level))


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldAction(StrEnum):
    ALLOW = "allow"
    MASK = "mask"
    HASH = "hash"
    DROP = "drop"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EXISTS = "exists"


_MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path of event data, or a private sentinel when absent."""
    return lookup_parts(data, path.split("."))


def lookup_parts(data: Any, parts: Sequence[str]) -> Any:
    """:func:`lookup` of a path already split at its dots."""
    node = data
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


_COMPARISONS: dict[Op, Callable[[Decimal, Decimal], bool]] = {
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
    Op.LT: operator.lt,
    Op.LTE: operator.le,
}


class Condition(_Strict):
    """``{field: total.amount, op: gt, value: 10000}``: one test on the event's data."""

    field: str
    op: Op = Op.EQ
    value: Any = None

    @field_validator("field")
    @classmethod
    def _path(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", value):
            raise ValueError(f"not a dotted field path: {value!r}")
        return value

    @model_validator(mode="after")
    def _operand(self) -> Condition:
        if self.op in (Op.GT, Op.GTE, Op.LT, Op.LTE) and _number(self.value) is None:
            raise ValueError(f"op {self.op.value} needs a number, got {self.value!r}")
        if self.op is Op.IN and not isinstance(self.value, list):
            raise ValueError("op in needs a list of values")
        return self

    # worked out once per condition: routing tests them on every event of their types
    @cached_property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))

    @cached_property
    def bound(self) -> Decimal | None:
        return _number(self.value)

    def holds(self, data: Any) -> bool:  # noqa: PLR0911 - one return per operator
        found = lookup_parts(data, self.parts)
        if self.op is Op.EXISTS:
            present = found is not _MISSING and found is not None
            return present if self.value is None else present == bool(self.value)
        if found is _MISSING:
            return False
        if self.op is Op.EQ:
            return bool(found == self.value)
        if self.op is Op.NE:
            return bool(found != self.value)
        if self.op is Op.IN:
            return found in self.value
        left, right = _number(found), self.bound
        if left is None or right is None:
            return False
        return _COMPARISONS[self.op](left, right)


class Rule(_Strict):
    """Events whose type matches ``types`` (globs) and every condition in ``when`` go ``to``."""

    name: str
    types: list[str] = Field(min_length=1)
    when: list[Condition] = Field(default_factory=list)
    to: list[str] = Field(min_length=1)

    def matches_type(self, event_type: str) -> bool:
        return any(fnmatchcase(event_type, pattern) for pattern in self.types)

    def holds(self, data: Any) -> bool:
        """Whether every condition holds for ``data`` (the type is checked apart). A loop,
        not ``all()`` over a generator: routing asks this of every event's candidate rules."""
        for condition in self.when:  # noqa: SIM110 - see the docstring
            if not condition.holds(data):
                return False
        return True


class DepartmentPolicy(_Strict):
    """What one department may see: fields up to ``clearance``; personal data only if
    ``pii``; ``fields`` overrides the outcome per field path (``lines[].unit_price.amount``)."""

    clearance: str = "internal"
    pii: bool = False
    #: What happens to a declared field the department may not see.
    denied: FieldAction = FieldAction.DROP
    fields: dict[str, FieldAction] = Field(default_factory=dict)

    @field_validator("clearance")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError(f"clearance must be one of {', '.join(LEVELS)}; got {value!r}")
        return value

    @field_validator("denied")
    @classmethod
    def _not_allow(cls, value: FieldAction) -> FieldAction:
        if value is FieldAction.ALLOW:
            raise ValueError("denied must be drop, mask or hash")
        return value

    @field_validator("fields")
    @classmethod
    def _paths(cls, value: dict[str, FieldAction]) -> dict[str, FieldAction]:
        bad = [path for path in value if not _PATH.match(path)]
        if bad:
            raise ValueError(f"not field paths (a.b, lines[].c): {bad}")
        return value

    @property
    def rank(self) -> int:
        return level_rank(self.clearance)


DEFAULT_LARGE_ORDER_AMOUNT = 10_000

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(name="orders-to-sales", types=["order.*"], to=["sales"]),
    Rule(
        name="large-orders-to-finance",
        types=["order.placed", "order.confirmed"],
        when=[Condition(field="total.amount", op=Op.GT, value=DEFAULT_LARGE_ORDER_AMOUNT)],
        to=["finance"],
    ),
    Rule(
        name="money-to-sales-and-finance", types=["payment.*", "invoice.*"], to=["sales", "finance"]
    ),
    Rule(name="shipments-to-logistics", types=["shipment.*"], to=["logistics"]),
    Rule(name="returns-to-logistics-and-finance", types=["return.*"], to=["logistics", "finance"]),
    Rule(
        name="customers-to-sales-and-marketing",
        types=["customer.*", "lead.*", "opportunity.*"],
        to=["sales", "marketing"],
    ),
    Rule(name="tickets-to-support", types=["ticket.*", "complaint.*"], to=["support"]),
    Rule(
        name="urgent-complaints-to-management",
        types=["complaint.*"],
        when=[Condition(field="priority", op=Op.EQ, value="urgent")],
        to=["management"],
    ),
    Rule(name="escalations-to-management", types=["ticket.escalated"], to=["management"]),
    Rule(name="sla-breaches-to-management", types=["sla.breached"], to=["management"]),
    Rule(
        name="sla-breaches-to-their-owner",
        types=["sla.breached"],
        when=[Condition(field="owner", op=Op.EXISTS)],
        to=["$owner"],
    ),
)

#: Clearances of the default departments; any other department starts at ``public``.
DEFAULT_POLICIES: dict[str, DepartmentPolicy] = {
    # customers' names and contacts, order values
    "sales": DepartmentPolicy(clearance="confidential", pii=True),
    "finance": DepartmentPolicy(clearance="confidential", pii=True),
    # what is shipped where, and to whom; not what it cost
    "logistics": DepartmentPolicy(
        clearance="internal",
        pii=True,
        fields={"shipping_address": FieldAction.ALLOW},
    ),
    # who complains about what, with their contact details
    "support": DepartmentPolicy(clearance="confidential", pii=True),
    # segments and volumes, no personal data and nothing confidential
    "marketing": DepartmentPolicy(clearance="internal", pii=False),
    # amounts and escalations, no personal data
    "management": DepartmentPolicy(clearance="confidential", pii=False),
}
UNKNOWN_DEPARTMENT_POLICY = DepartmentPolicy(clearance="public", pii=False)


class RoutingConfig(_Strict):
    """``routing:`` in ``hub.yaml``."""

    #: ``None`` means the shipped default rules.
    rules: list[Rule] | None = None
    #: Per-department policy, merged over the shipped default of that department.
    departments: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: Key of the keyed hash (HMAC-SHA256) for ``hash`` fields; write it as ``${ENV_VAR}``.
    hash_key: SecretStr | None = None

    @field_validator("departments")
    @classmethod
    def _policies_valid(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        problems = []
        for name, override in value.items():
            base = DEFAULT_POLICIES.get(name, UNKNOWN_DEPARTMENT_POLICY)
            try:
                DepartmentPolicy.model_validate(base.model_dump() | (override or {}))
            except ValidationError as exc:
                problems += [
                    f"{name}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                    for err in exc.errors()
                ]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _hash_needs_key(self) -> RoutingConfig:
        if self.hash_key is None or not self.hash_key.get_secret_value():
            users = sorted(
                name
                for name in self.departments
                if self.policy(name).denied is FieldAction.HASH
                or FieldAction.HASH in self.policy(name).fields.values()
            )
            if users:
                raise ValueError(
                    f"departments {users} hash fields: set routing.hash_key "
                    "(e.g. ${HUB_HASH_KEY})"
                )
        return self

    def effective_rules(self) -> tuple[Rule, ...]:
        return DEFAULT_RULES if self.rules is None else tuple(self.rules)

    def policy(self, department: str) -> DepartmentPolicy:
        base = DEFAULT_POLICIES.get(department, UNKNOWN_DEPARTMENT_POLICY)
        override = self.departments.get(department)
        if not override:
            return base
        return DepartmentPolicy.model_validate(base.model_dump() | override)


def check_routing_departments(config: Any) -> Any:
    """Every department a configured rule or policy names must exist (HubConfig validator).

    The shipped default rules skip departments a company has not configured."""
    known = set(config.departments)
    problems = [
        f"rule {rule.name!r} sends to unknown department {target!r}"
        for rule in config.routing.rules or ()
        for target in rule.to
        if not target.startswith("$") and target not in known
    ]
    problems += [
        f"policy for unknown department {name!r}"
        for name in config.routing.departments
        if name not in known
    ]
    if problems:
        raise ValueError("routing: " + "; ".join(problems))
    return config


#: Attached to ``HubConfig``: rules and policies may only name configured departments.
routing_departments_validator = model_validator(mode="after")(check_routing_departments)

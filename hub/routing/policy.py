"""Field policies: an event as one department may see it.

Each field of a canonical model carries a classification and a personal-data flag
(``schemas.registry.field_labels``). A department sees a field when the classification is
within its clearance and, for personal data, when it may see personal data; otherwise the
field is dropped, masked (key kept, value replaced) or hashed (HMAC-SHA256 with
``routing.hash_key``, so departments can join on a value without seeing it), as its policy
says. Per-field overrides (``allow``/``mask``/``hash``/``drop``) win over both. A field the
model does not declare is dropped: a new field never leaks before someone classifies it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from hub.config import HubConfig
from hub.routing.config import DepartmentPolicy, FieldAction, level_rank
from schemas import Envelope
from schemas.registry import SchemaError, field_labels, model_for

MASK = "***"


class Label(Protocol):
    """What a policy needs of ``schemas.registry.FieldLabel``."""

    @property
    def classification(self) -> Any: ...

    @property
    def pii(self) -> bool: ...


LabelSource = Callable[[str, int | None], Mapping[str, Label]]


def registry_labels(event_type: str, version: int | None) -> Mapping[str, Label]:
    """Field labels of a canonical type from the schema registry; none for an unknown type."""
    try:
        model = model_for(event_type, version)
    except SchemaError:
        return {}
    return field_labels(model)


@functools.lru_cache(maxsize=1024)
def version_of(dataschema: str | None) -> int | None:
    """The version in ``urn:handoff:schema:<type>:v<version>``, if there is one (cached:
    the router asks it of every event, and there are few schemas)."""
    if not dataschema:
        return None
    tail = dataschema.rsplit(":", 1)[-1]
    return int(tail[1:]) if tail.startswith("v") and tail[1:].isdigit() else None


def keyed_hash(key: bytes, value: Any) -> str:
    raw = value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    data = raw.encode() if isinstance(raw, str) else raw
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return None if value is None else MASK


_RECURSE = "recurse"
_ALLOW = FieldAction.ALLOW.value
_DROP = FieldAction.DROP.value
_MASK = FieldAction.MASK.value
_HASH = FieldAction.HASH.value


@dataclass
class FieldPlan:
    """The compiled policy of one department for one event type."""

    labels: Mapping[str, Label]
    policy: DepartmentPolicy
    hash_key: bytes | None
    _containers: set[str] = field(default_factory=set)
    _actions: dict[str, str] = field(default_factory=dict)
    #: object path -> key -> (path of the key, then its shape as ``_shape`` gives it):
    #: ``apply`` walks every event's keys, so each (object, key) pair resolves its path,
    #: action and container shape once
    _children: dict[str, dict[str, tuple[str, str, bool, str | None, str]]] = field(
        default_factory=dict
    )
    #: object path -> its keys whose action is allow, as far as met
    _allowed: dict[str, set[str]] = field(default_factory=dict)
    #: path -> (action, declared, path of a map's entries or None, path of a list's items)
    _shapes: dict[str, tuple[str, bool, str | None, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for path in self.labels:
            parts = path.split(".")
            for i in range(1, len(parts)):
                prefix = ".".join(parts[:i])
                self._containers.add(prefix)
                if prefix.endswith(("[]", "{}")):
                    self._containers.add(prefix[:-2])
            if path.endswith(("[]", "{}")):
                self._containers.add(path[:-2])

    def _allowed_by_ancestor(self, path: str) -> bool:
        """Whether an ``allow`` override on an enclosing field covers ``path``."""
        cut = len(path)
        while True:
            cut = max(path.rfind(".", 0, cut), path.rfind("[]", 0, cut), path.rfind("{}", 0, cut))
            if cut <= 0:
                return False
            if self.policy.fields.get(path[:cut]) is FieldAction.ALLOW:
                return True

    def action(self, path: str) -> str:
        """allow, mask, hash, drop or recurse (a container whose parts decide)."""
        known = self._actions.get(path)
        if known is not None:
            return known
        override = self.policy.fields.get(path)
        label = self.labels.get(path)
        if override is not None:
            result = override.value
            if override is FieldAction.ALLOW and path in self._containers:
                result = _RECURSE
        elif label is not None:
            visible = self._allowed_by_ancestor(path) or (
                level_rank(label.classification) <= self.policy.rank
                and (self.policy.pii or not label.pii)
            )
            if not visible:
                result = self.policy.denied.value
            else:
                result = _RECURSE if path in self._containers else FieldAction.ALLOW.value
        elif path in self._containers:
            result = _RECURSE
        else:
            result = FieldAction.DROP.value
        self._actions[path] = result
        return result

    def apply(self, data: Any) -> Any:
        """The department's view of ``data``. It shares what it keeps unchanged with
        ``data`` (whole objects, when every key of one is allowed), so neither may be
        changed afterwards: the router encodes the view at once."""
        return self._object(data, "") if isinstance(data, dict) else data

    def _object(  # noqa: PLR0912 - the walk of every event's keys, kept in one frame
        self, node: dict[str, Any], prefix: str
    ) -> dict[str, Any]:
        allowed = self._allowed.get(prefix)
        if allowed is None:
            allowed = self._allowed[prefix] = set()
        elif allowed.issuperset(node):
            # every key stays as it is (amounts, references): the view is the object
            # itself, which nothing changes once it is routed
            return node
        children = self._children.get(prefix)
        if children is None:
            children = self._children[prefix] = {}
        out: dict[str, Any] = {}
        for key, value in node.items():
            known = children.get(key)
            if known is None:
                path = f"{prefix}.{key}" if prefix else key
                known = children[key] = (path, *self._shape(path))
                if known[1] == _ALLOW:
                    allowed.add(key)
            path, action, declared, entries, items = known
            if action == _ALLOW:
                out[key] = value
            elif action == _RECURSE:  # what _value would do, without asking the shape again
                if entries is None and isinstance(value, dict):  # _container's object case
                    inner = self._object(value, path)
                    if inner or declared or not value:
                        out[key] = inner
                else:
                    kept, result = self._container(value, path, declared, entries, items)
                    if kept:
                        out[key] = result
            elif action != _DROP:
                kept, result = self._value(value, path)
                if kept:
                    out[key] = result
        return out

    def _shape(self, path: str) -> tuple[str, bool, str | None, str]:
        """What ``_value`` needs of ``path``, worked out once per path: every event walks
        the same paths, and a container's checks built their strings each time."""
        shape = self._shapes.get(path)
        if shape is None:
            entries = path + "{}"
            is_map = entries in self._containers or entries in self.labels
            shape = self._shapes[path] = (
                self.action(path),
                path in self.labels,
                entries if is_map else None,
                path + "[]",
            )
        return shape

    def _value(self, value: Any, path: str) -> tuple[bool, Any]:
        action, declared, entries, items = self._shape(path)
        if action == _DROP:
            return False, None
        if action == _ALLOW:
            return True, value
        if action == _MASK:
            return True, _mask(value)
        if action == _HASH:
            if self.hash_key is None:
                return False, None
            return True, None if value is None else keyed_hash(self.hash_key, value)
        return self._container(value, path, declared, entries, items)

    def _container(
        self, value: Any, path: str, declared: bool, entries: str | None, items: str
    ) -> tuple[bool, Any]:
        """A container's value: its declared parts decide; one left empty of what was
        there goes, unless the container itself is declared."""
        if isinstance(value, dict):
            if entries is not None:
                inner = {}
                for k, v in value.items():
                    kept, result = self._value(v, entries)
                    if kept:
                        inner[k] = result
            else:
                inner = self._object(value, path)
            return bool(inner) or declared or not value, inner
        if isinstance(value, list):
            kept_items = []
            # the items' shape is the same for every item: a list of objects (order lines)
            # goes straight to their container check, not through _value each time
            item_action, item_declared, item_entries, item_items = self._shape(items)
            for item in value:
                if item_action == _RECURSE:
                    kept, result = self._container(
                        item, items, item_declared, item_entries, item_items
                    )
                else:
                    kept, result = self._value(item, items)
                if kept and result != {}:
                    kept_items.append(result)
            return bool(kept_items) or declared or not value, kept_items
        if value is None:
            return True, None
        return False, None


@dataclass
class PolicyTable:
    """Compiled field plans of one configuration, per (type, version, department)."""

    config: HubConfig
    labels: LabelSource = registry_labels
    _plans: dict[tuple[str, int | None, str], FieldPlan] = field(default_factory=dict)
    #: departments with equal policies share one plan (and so one encoding per event)
    _shared: dict[tuple[str, int | None, str], FieldPlan] = field(default_factory=dict)

    def plan(self, event_type: str, version: int | None, department: str) -> FieldPlan:
        cache_key = (event_type, version, department)
        plan = self._plans.get(cache_key)
        if plan is None:
            policy = self.config.routing.policy(department)
            shared_key = (event_type, version, policy.model_dump_json())
            plan = self._shared.get(shared_key)
            if plan is None:
                secret = self.config.routing.hash_key
                plan = FieldPlan(
                    labels=self.labels(event_type, version),
                    policy=policy,
                    hash_key=secret.get_secret_value().encode() if secret else None,
                )
                self._shared[shared_key] = plan
            self._plans[cache_key] = plan
        return plan

    def apply(self, event: Envelope, department: str) -> Envelope:
        plan = self.plan(event.type, version_of(event.dataschema), department)
        return event.model_copy(update={"data": plan.apply(event.data)})


_TABLES: dict[int, PolicyTable] = {}


def policy_table(config: HubConfig, labels: LabelSource = registry_labels) -> PolicyTable:
    """The compiled policies of ``config`` (cached while the config object lives)."""
    table = _TABLES.get(id(config))
    if table is None or table.config is not config or table.labels is not labels:
        if len(_TABLES) > 16:
            _TABLES.clear()
        table = PolicyTable(config, labels)
        _TABLES[id(config)] = table
    return table


def apply_policy(event: Envelope, department: str, config: HubConfig) -> Envelope:
    """``event`` as ``department`` may see it under ``config`` (unknown fields denied)."""
    return policy_table(config).apply(event, department)

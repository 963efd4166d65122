"""Routing: which departments receive a canonical event. A pure function of event and config.

Every rule whose type globs and conditions match adds its departments, in rule order,
without duplicates. A target written ``$field`` names the department in the event's own data
(``sla.breached`` carries its ``owner``); it counts only if that department is configured.
An event no rule matches goes nowhere: nothing is delivered by accident.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from hub.config import HubConfig
from hub.routing.config import Rule, lookup
from schemas import Envelope


class EventView(NamedTuple):
    """What routing reads of a canonical event, held by a caller that has just encoded it
    (the one-hop service), so that the router need not decode the record again."""

    type: str
    dataschema: str | None
    time: datetime | None
    #: JSON-native data, exactly what the record's value encodes
    data: dict[str, Any]


def departments_for(
    rules: Iterable[Rule], departments: Collection[str], event_type: str, data: Any
) -> list[str]:
    """The departments for an event of ``event_type`` with ``data`` under ``rules``."""
    return departments_of([r for r in rules if r.matches_type(event_type)], departments, data)


def departments_of(
    candidates: Iterable[Rule], departments: Collection[str], data: Any
) -> list[str]:
    """The departments for an event with ``data`` under ``candidates``, rules whose type
    globs already match its type (routing caches them per type)."""
    out: list[str] = []
    for rule in candidates:
        if not rule.holds(data):
            continue
        for target in rule.to:
            name = target
            if target.startswith("$"):
                found = lookup(data, target[1:])
                if not isinstance(found, str):
                    continue
                name = found
            if name in departments and name not in out:
                out.append(name)
    return out


def route(event: Envelope, config: HubConfig) -> list[str]:
    """The departments that receive ``event`` under ``config``'s routing rules."""
    return departments_for(
        config.routing.effective_rules(), config.departments, event.type, event.data
    )

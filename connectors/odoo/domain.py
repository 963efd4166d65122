"""Odoo search domains: the cursor domains the source sends, and the evaluator the emulator uses.

A domain is a list in Polish (prefix) notation: leaves ``[field, operator, value]`` and the
operators ``'&'`` (and, binary), ``'|'`` (or, binary) and ``'!'`` (not, unary); consecutive
leaves with no operator are and-ed. The subset evaluated here: ``=``, ``!=``, ``>``, ``>=``,
``<``, ``<=``, ``in``, ``not in``. Comparisons follow SQL as Odoo generates it: a leaf on an
empty (NULL) value is false, except ``= False`` (``IS NULL``) and ``!= False``
(``IS NOT NULL``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in")

Domain = list[Any]


def format_datetime(value: datetime) -> str:
    """Odoo's wire format of a datetime: naive UTC, whole seconds."""
    return value.strftime(DATETIME_FORMAT)


def parse_datetime(text: str) -> datetime:
    """Parse Odoo's ``YYYY-MM-DD HH:MM:SS`` (naive, UTC)."""
    return datetime.strptime(text[:19], DATETIME_FORMAT)


def second_window(ts: str, after_id: int) -> Domain:
    """Records whose ``write_date`` reads back as ``ts`` and whose id is above ``after_id``.

    Odoo stores ``write_date`` with microseconds but returns it truncated to the second, so
    "the same ``write_date``" is the half-open second ``[ts, ts + 1s)``.
    """
    start = parse_datetime(ts)
    return [
        ("write_date", ">=", format_datetime(start)),
        ("write_date", "<", format_datetime(start + timedelta(seconds=1))),
        ("id", ">", after_id),
    ]


def changed_between(lower: str | None, horizon: str) -> Domain:
    """Records with ``lower <= write_date < horizon`` (no lower bound when ``lower`` is None)."""
    domain: Domain = [("write_date", "<", horizon)]
    if lower is not None:
        domain.insert(0, ("write_date", ">=", lower))
    return domain


# --- evaluation (the emulator's side) ----------------------------------------------------


class DomainError(ValueError):
    """A domain Odoo would reject; the message is Odoo's."""


Getter = Callable[[Mapping[str, Any], str], Any]


def evaluate(domain: Sequence[Any], record: Mapping[str, Any], get: Getter) -> bool:
    """Whether ``record`` matches ``domain``; ``get(record, field)`` returns comparable values
    (ids for many2one fields, ``datetime`` for datetime fields, ``None`` for empty)."""
    items = list(domain)
    if not items:
        return True
    position = 0

    def parse() -> bool:
        nonlocal position
        if position >= len(items):
            raise DomainError(f"Invalid domain: {list(domain)!r}")
        item = items[position]
        position += 1
        if item == "&":
            left, right = parse(), parse()
            return left and right
        if item == "|":
            left, right = parse(), parse()
            return left or right
        if item == "!":
            return not parse()
        return _leaf(item, record, get)

    results = []
    while position < len(items):
        results.append(parse())
    return all(results)


def _leaf(  # noqa: PLR0911, PLR0912 - one branch per operator reads best
    leaf: Any, record: Mapping[str, Any], get: Getter
) -> bool:
    if not isinstance(leaf, (list, tuple)) or len(leaf) != 3:
        raise DomainError(f"Invalid leaf {leaf!r}")
    field, operator, value = leaf
    if not isinstance(field, str) or operator not in OPERATORS:
        raise DomainError(f"Invalid leaf {leaf!r}")
    actual = get(record, field)
    if operator in ("in", "not in"):
        if not isinstance(value, (list, tuple)):
            raise DomainError(f"Invalid leaf {leaf!r}: {operator} needs a list")
        wanted = [_coerce(actual, v) for v in value]
        inside = actual in wanted if actual is not None else False in value
        return inside if operator == "in" else not inside
    if value is False or value is None:
        if operator == "=":
            return actual is None or actual is False
        if operator == "!=":
            return actual is not None and actual is not False
    if actual is None:
        return False
    target = _coerce(actual, value)
    try:
        if operator == "=":
            return bool(actual == target)
        if operator == "!=":
            return bool(actual != target)
        if operator == ">":
            return bool(actual > target)
        if operator == ">=":
            return bool(actual >= target)
        if operator == "<":
            return bool(actual < target)
        return bool(actual <= target)
    except TypeError as exc:
        raise DomainError(f"Invalid leaf {leaf!r}: {exc}") from exc


def _coerce(actual: Any, value: Any) -> Any:
    """Domain values arrive as JSON: dates and datetimes are strings."""
    if isinstance(actual, datetime) and isinstance(value, str):
        return parse_datetime(value) if len(value) > 10 else datetime.strptime(value, DATE_FORMAT)
    if isinstance(actual, date) and not isinstance(actual, datetime) and isinstance(value, str):
        return datetime.strptime(value[:10], DATE_FORMAT).date()
    return value


__all__ = [
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "OPERATORS",
    "Domain",
    "DomainError",
    "changed_between",
    "evaluate",
    "format_datetime",
    "parse_datetime",
    "second_window",
]

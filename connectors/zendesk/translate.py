"""Zendesk tickets -> canonical support events (pure, stateless).

Input: a raw ``ticket`` record as the incremental export returns it (the ticket's *current*
state), with ``_handoff`` added by the source: ``requester`` and ``organization`` (from the
``users``/``organizations`` side-loads, or ``null``) and the instance's mapping settings.
``webhook_event`` records translate to nothing (they are an audit trail and wake the export).

Because each record is a snapshot, every event is derived from fields of the record itself
and its id from the ticket id plus the field that fixes it, so re-reading a ticket (a later
page, a restart, a later revision) gives the same ids and downstream de-duplicates:

=====================  ==========================================  ===========================
event                  when (in this record)                       id parts
=====================  ==========================================  ===========================
customer.updated       requester or organization side-loaded       ref id, its ``updated_at``
ticket.opened          always (status not ``deleted``)             ticket id, ``created_at``
complaint.opened       a ``complaint_tags`` tag, or the            ticket id, ``complaint``
                       ``complaint_field_id`` field set
ticket.updated         ``updated_at`` later than ``created_at``    ticket id, ``updated_at``
ticket.escalated       priority in ``escalation_priorities`` or    ticket id, ``escalated``
                       an ``escalation_tags`` tag
ticket.resolved        status ``solved`` or ``closed``             ticket id, ``resolved``,
                                                                   reopens (when not 0)
=====================  ==========================================  ===========================

So ``ticket.opened`` is emitted on every revision with one id (the first one stored wins),
``ticket.escalated``/``complaint.opened`` once per ticket (their time is the ``updated_at``
of the first revision showing them, as near as a snapshot gets), ``ticket.resolved`` once
per solve, and ``ticket.updated`` once per revision. A snapshot alone cannot tell a second
solve from the first, so the ticket's metric set (``_handoff.metric_set``, the export's
``metric_sets`` side-load) tells it: its ``reopens`` count is part of the id, and its
``solved_at`` (the latest solve) is the time. A ticket solved, reopened and solved again
resolves twice; without a metric set (a record from before the side-load) it resolves once,
at ``updated_at``. Deleted tickets (status ``deleted``) give no event.

Links: ``ticket_id`` = ``<instance>:<id>``; ``order_id`` = the value of the custom field
``order_field_id``, else the first match of ``order_number_pattern`` in the subject (the
order number as the ERP writes it, e.g. ``S00042``); ``customer_ref`` =
``SourceRef(<instance>, "organization/<id>")`` when the ticket has an organization, else
``"user/<requester id>"``, and the same ref on a ``customer.updated`` carrying the identity
evidence (organization name, domain, ``organization_fields`` cross references, the
requester as contact; or, without organization, the requester as a person) so the identity
stage can resolve it. Priorities: Zendesk's ``null`` is ``normal``; statuses map 1:1 except
``hold`` -> ``on_hold``; ``via.channel`` maps to the canonical channel (``voice`` -> phone,
``twitter``/``facebook``/``instagram_dm``/``whatsapp`` -> social, ``api`` and others -> other).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from connectors.kit.errors import UntranslatableRecord
from schemas import (
    CanonicalModel,
    ComplaintOpened,
    Contact,
    CustomerUpdated,
    Envelope,
    Requester,
    SourceRef,
    TicketEscalated,
    TicketOpened,
    TicketResolved,
    TicketUpdated,
    canonical_event,
)

MAPPING_KEY = "_handoff"
PRIORITIES = frozenset({"low", "normal", "high", "urgent"})
STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
}
CHANNELS = {
    "email": "email",
    "web": "web",
    "web_form": "web",
    "web_widget": "web",
    "help_center": "web",
    "mobile_sdk": "web",
    "voice": "phone",
    "phone": "phone",
    "chat": "chat",
    "native_messaging": "chat",
    "twitter": "social",
    "facebook": "social",
    "instagram_dm": "social",
    "whatsapp": "social",
}
COMPLAINT_CATEGORIES = ("product_quality", "delivery", "billing", "service", "other")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _Ticket:
    """Typed access to one raw ticket record."""

    def __init__(self, raw: Envelope) -> None:
        data = raw.data if isinstance(raw.data, Mapping) else {}
        self.raw = raw
        self.data = data
        self.instance = raw.source.rsplit("/", 1)[-1]
        ticket_id = data.get("id")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            raise UntranslatableRecord(f"ticket has no integer id (got {ticket_id!r})")
        self.id = ticket_id
        self.what = f"ticket {ticket_id}"
        extra = data.get(MAPPING_KEY)
        self.mapping: Mapping[str, Any] = extra if isinstance(extra, Mapping) else {}
        self.created = self.time("created_at")
        self.updated = self.time("updated_at")
        self.status = data.get("status")
        self.tags = [t for t in _items(data.get("tags")) if isinstance(t, str)]
        self.fields = {
            f.get("id"): f.get("value")
            for f in _items(data.get("custom_fields"))
            if isinstance(f, Mapping) and isinstance(f.get("id"), int | str)
        }

    def time(self, name: str) -> datetime:
        value = self.data.get(name)
        if not isinstance(value, str):
            raise UntranslatableRecord(f"{self.what}: {name} is {value!r}")
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise UntranslatableRecord(f"{self.what}: {name} {value!r} is not ISO 8601") from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def setting(self, name: str, default: Any) -> Any:
        value = self.mapping.get(name)
        if value is None:
            return default
        if isinstance(default, list) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise UntranslatableRecord(f"{self.what}: {name} is {value!r}, not a list of strings")
        return value

    def field(self, setting: str) -> Any:
        """The value of the custom field whose id the mapping names under ``setting``."""
        field_id = self.mapping.get(setting)
        if field_id is None:
            return None
        if not isinstance(field_id, int | str) or isinstance(field_id, bool):
            raise UntranslatableRecord(f"{self.what}: {setting} is {field_id!r}")
        return self.fields.get(field_id)

    @property
    def ticket_id(self) -> str:
        return f"{self.instance}:{self.id}"

    def priority(self) -> str:
        value = self.data.get("priority") or "normal"
        if not isinstance(value, str) or value not in PRIORITIES:
            raise UntranslatableRecord(f"{self.what}: unknown priority {value!r}")
        return str(value)

    def order_id(self) -> str | None:
        value = self.field("order_field_id")
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
        pattern = self.setting("order_number_pattern", None)
        subject = self.data.get("subject") or self.data.get("raw_subject")
        if isinstance(pattern, str) and isinstance(subject, str):
            found = _compiled(pattern).search(subject)
            if found:
                return found.group(0)
        return None

    def requester(self) -> Mapping[str, Any] | None:
        user = self.mapping.get("requester")
        return user if isinstance(user, Mapping) else None

    def organization(self) -> Mapping[str, Any] | None:
        org = self.mapping.get("organization")
        return org if isinstance(org, Mapping) else None

    def reopens(self) -> int:
        """How often the ticket was reopened after a solve (0 without a metric set)."""
        metrics = _mapping(self.mapping.get("metric_set"))
        value = metrics.get("reopens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return 0

    def solved_at(self) -> datetime:
        """The latest solve, as the metric set has it; else this revision's ``updated_at``."""
        metrics = _mapping(self.mapping.get("metric_set"))
        return _time_or(metrics.get("solved_at"), self.updated)

    def customer_ref(self) -> SourceRef | None:
        org_id = self.data.get("organization_id")
        if isinstance(org_id, int) and not isinstance(org_id, bool):
            return SourceRef(system=self.instance, id=f"organization/{org_id}")
        requester_id = self.data.get("requester_id")
        if isinstance(requester_id, int) and not isinstance(requester_id, bool):
            return SourceRef(system=self.instance, id=f"user/{requester_id}")
        return None

    def requester_part(self) -> Requester | None:
        user = self.requester()
        if user is None:
            return None
        name = _text(user.get("name"), 200)
        email = _email(user.get("email"))
        phone = _text(user.get("phone"), 40)
        if not (name or email):
            return None
        return Requester(name=name, email=email, phone=phone if phone and _phone(phone) else None)

    def channel(self) -> str:
        via = self.data.get("via")
        channel = via.get("channel") if isinstance(via, Mapping) else None
        return CHANNELS.get(str(channel), "other")

    def is_complaint(self) -> bool:
        tags = set(self.setting("complaint_tags", ["complaint"]))
        if tags.intersection(self.tags):
            return True
        value = self.field("complaint_field_id")
        return value not in (None, "", False, "false")

    def complaint_category(self) -> str:
        value = self.field("complaint_field_id")
        for candidate in [value, *self.tags]:
            if isinstance(candidate, str):
                key = candidate.removeprefix("complaint_")
                if key in COMPLAINT_CATEGORIES:
                    return key
        return "other"

    def escalation_reason(self) -> str | None:
        priority = self.priority()
        if priority in set(self.setting("escalation_priorities", ["urgent"])):
            return f"priority {priority}"
        tags = [t for t in self.setting("escalation_tags", ["escalated"]) if t in self.tags]
        return f"tagged {tags[0]}" if tags else None


def translate(raw: Envelope) -> Sequence[Envelope]:
    """Canonical events of one raw Zendesk record (see the module docstring)."""
    try:
        return _translate(raw)
    except ValidationError as exc:  # a value the canonical model refuses: name the field
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UntranslatableRecord(f"ticket {raw.subject}: {where}: {first['msg']}") from exc


def _items(value: Any) -> list[Any]:
    """A JSON array as a list; anything else (a missing or mistyped field) as empty."""
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _translate(raw: Envelope) -> Sequence[Envelope]:
    entity = raw.type.rsplit(".", 1)[-1]
    if entity == "webhook_event":
        return []
    if entity != "ticket":
        raise UntranslatableRecord(f"no translation for raw type {raw.type!r}")
    ticket = _Ticket(raw)
    if ticket.status == "deleted":
        return []
    status = STATUSES.get(str(ticket.status))
    if status is None:
        raise UntranslatableRecord(f"{ticket.what}: unknown status {ticket.status!r}")
    common: dict[str, Any] = {
        "ticket_id": ticket.ticket_id,
        "order_id": ticket.order_id(),
        "priority": ticket.priority(),
        "customer_ref": ticket.customer_ref(),
    }
    out: list[Envelope] = []

    def emit(payload: CanonicalModel, moment: datetime, *parts: str) -> None:
        out.append(
            canonical_event(
                payload,
                source=raw.source,
                id_parts=[str(ticket.id), *parts],
                time=moment,
                partitionkey=ticket.ticket_id,
                subject=raw.subject,
                causationid=raw.id,
            )
        )

    profile = _profile(ticket)
    if profile is not None:
        payload, changed = profile
        ref = payload.customer_ref
        out.append(
            canonical_event(
                payload,
                source=raw.source,
                id_parts=[ref.id if ref else "", changed],
                time=payload.updated_at,
                partitionkey=ref.id if ref else ticket.ticket_id,
                subject=raw.subject,
                causationid=raw.id,
            )
        )
    subject = _text(ticket.data.get("subject") or ticket.data.get("raw_subject"), 500)
    description = _text(ticket.data.get("description"), 5000)
    assignee = ticket.data.get("assignee_id")
    emit(
        TicketOpened(
            **common,
            opened_at=ticket.created,
            channel=ticket.channel(),
            subject=subject or f"Ticket {ticket.id}",
            requester=ticket.requester_part(),
            category=_text(ticket.data.get("type"), 100),
            assignee=str(assignee) if assignee is not None else None,
        ),
        ticket.created,
        "opened",
        ticket.data["created_at"],
    )
    if ticket.is_complaint():
        emit(
            ComplaintOpened(
                **common,
                complaint_id=f"{ticket.instance}:complaint/{ticket.id}",
                opened_at=ticket.created,
                channel=ticket.channel(),
                category=ticket.complaint_category(),
                description=description or subject or f"Ticket {ticket.id}",
                requester=ticket.requester_part(),
            ),
            ticket.created,
            "complaint",
        )
    if ticket.updated > ticket.created:
        emit(
            TicketUpdated(
                **common,
                updated_at=ticket.updated,
                status=status,
                assignee=str(assignee) if assignee is not None else None,
            ),
            ticket.updated,
            "updated",
            ticket.data["updated_at"],
        )
    reason = ticket.escalation_reason()
    if reason is not None:
        group = ticket.data.get("group_id")
        emit(
            TicketEscalated(
                **common,
                escalated_at=ticket.updated,
                level=2,
                escalated_to=f"group/{group}" if group is not None else None,
                reason=reason,
            ),
            ticket.updated,
            "escalated",
        )
    if status in ("solved", "closed"):
        rating = ticket.data.get("satisfaction_rating")
        score = rating.get("score") if isinstance(rating, Mapping) else None
        solved = ticket.solved_at()
        reopens = ticket.reopens()
        emit(
            TicketResolved(
                **common,
                resolved_at=solved,
                satisfaction=score if score in ("good", "bad") else "unknown",
            ),
            solved,
            "resolved",
            *((str(reopens),) if reopens else ()),
        )
    return out


def _profile(ticket: _Ticket) -> tuple[CustomerUpdated, str] | None:
    """The customer behind the ticket as identity evidence, and the revision it is from."""
    ref = ticket.customer_ref()
    user, org = ticket.requester(), ticket.organization()
    if ref is None:
        return None
    contact = None
    if user is not None and _text(user.get("name"), 200):
        phone = _text(user.get("phone"), 40)
        contact = Contact(
            name=str(_text(user.get("name"), 200)),
            email=_email(user.get("email")),
            phone=phone if phone and _phone(phone) else None,
        )
    if ref.id.startswith("organization/"):
        if org is None or not _text(org.get("name"), 300):
            return None
        external: dict[str, str] = {}
        fields = org.get("organization_fields")
        for key, name in _mapping(ticket.setting("organization_external_ids", {})).items():
            if not isinstance(name, str):
                raise UntranslatableRecord(
                    f"{ticket.what}: organization_external_ids.{key} is {name!r}, not a field name"
                )
            value = fields.get(name) if isinstance(fields, Mapping) else None
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                external[str(key)] = str(value).strip()
        domains = [d for d in _items(org.get("domain_names")) if isinstance(d, str) and d]
        changed = org.get("updated_at")
        profile = CustomerUpdated(
            customer_ref=ref,
            kind="company",
            name=str(_text(org.get("name"), 300)),
            domain=domains[0].lower() if domains else None,
            external_ids=external,
            contacts=[contact] if contact is not None else [],
            emails=[],
            updated_at=_time_or(changed, ticket.updated),
        )
        return profile, str(changed or ticket.data.get("updated_at"))
    if user is None or not _text(user.get("name"), 300):
        return None
    email = _email(user.get("email"))
    phone = _text(user.get("phone"), 40)
    changed = user.get("updated_at")
    profile = CustomerUpdated(
        customer_ref=ref,
        kind="person",
        name=str(_text(user.get("name"), 300)),
        emails=[email] if email else [],
        phones=[phone] if phone and _phone(phone) else [],
        updated_at=_time_or(changed, ticket.updated),
    )
    return profile, str(changed or ticket.data.get("updated_at"))


@lru_cache(maxsize=32)
def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UntranslatableRecord(f"order_number_pattern {pattern!r}: {exc}") from exc


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:limit] if text else None


def _email(value: Any) -> str | None:
    if isinstance(value, str) and _EMAIL.match(value.strip()):
        return value.strip().lower()
    return None


def _phone(value: str) -> bool:
    return bool(value) and all(c in "0123456789+()./ -" for c in value)


def _time_or(value: Any, default: datetime) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return default


__all__ = ["MAPPING_KEY", "translate"]

"""A helpdesk translator for the benchmark's ticket records (Zendesk ticket shape).

The benchmark mixes helpdesk traffic into the ERP and CRM records. Until a helpdesk connector
type is installed, its raw records (``raw.benchdesk.ticket``, the Zendesk Tickets API object
with the requester side-loaded) are translated here, with the real canonical models and
:func:`schemas.events.canonical_event`, exactly as a connector's translator would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.kit.errors import UntranslatableRecord
from schemas.base import CanonicalModel
from schemas.envelope import Envelope
from schemas.events import canonical_event
from schemas.parts import Requester, SourceRef
from schemas.support import ComplaintOpened, TicketOpened

TYPE_NAME = "benchdesk"
#: Custom field holding the related order number.
ORDER_FIELD = 360_001
_PRIORITIES = frozenset(("low", "normal", "high", "urgent"))
_CHANNELS = {"email": "email", "web": "web", "voice": "phone", "chat": "chat", "api": "other"}
_COMPLAINT_CATEGORIES = frozenset(("product_quality", "delivery", "billing", "service"))


def _time(data: dict[str, Any], name: str) -> datetime:
    value = data.get(name)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise UntranslatableRecord(f"ticket {data.get('id')}: {name} {value!r}") from exc


def translate(raw: Envelope) -> Sequence[Envelope]:
    """``raw.benchdesk.ticket`` -> ``ticket.opened`` or ``complaint.opened``."""
    data = raw.data
    if not isinstance(data, dict) or "id" not in data:
        raise UntranslatableRecord(f"{raw.type} {raw.subject}: not a ticket object")
    instance = raw.source.removeprefix("/connectors/")
    ticket_id = f"{instance}:{data['id']}"
    order_id = next(
        (
            str(f["value"])
            for f in data.get("custom_fields") or ()
            if f.get("id") == ORDER_FIELD and f.get("value")
        ),
        None,
    )
    priority = data.get("priority") or "normal"
    if priority not in _PRIORITIES:
        raise UntranslatableRecord(f"ticket {data['id']}: priority {priority!r}")
    side = data.get("requester") or {}
    requester = Requester(name=side.get("name"), email=side.get("email"))
    ref = SourceRef(system=instance, id=f"user/{data['requester_id']}")
    opened_at = _time(data, "created_at")
    channel = _CHANNELS.get(str((data.get("via") or {}).get("channel")), "other")
    tags = set(data.get("tags") or ())
    payload: CanonicalModel
    if "complaint" in tags:
        category = next((t for t in tags if t in _COMPLAINT_CATEGORIES), "other")
        payload = ComplaintOpened(
            ticket_id=ticket_id,
            order_id=order_id,
            customer_ref=ref,
            priority=priority,
            complaint_id=f"{instance}:complaint/{data['id']}",
            opened_at=opened_at,
            channel=channel,
            category=category,
            description=str(data.get("description") or data.get("subject") or "-"),
            requester=requester,
        )
    else:
        payload = TicketOpened(
            ticket_id=ticket_id,
            order_id=order_id,
            customer_ref=ref,
            priority=priority,
            opened_at=opened_at,
            channel=channel,
            subject=str(data.get("subject") or "-"),
            requester=requester,
            category=next(iter(sorted(tags)), None),
        )
    return [
        canonical_event(
            payload,
            source=raw.source,
            id_parts=[str(data["id"]), "opened"],
            time=opened_at,
            partitionkey=ticket_id,
            subject=ticket_id,
            causationid=raw.id,
            correlationid=raw.correlationid or raw.id,
        )
    ]

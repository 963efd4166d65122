"""Which hub topic a canonical event goes to, and its key, as the contract says.

order.*, payment.*, invoice.*, shipment.*, return.* -> hub.orders keyed by order id;
customer.*, lead.*, opportunity.* -> hub.customers keyed by golden customer id;
ticket.*, complaint.* -> hub.support keyed by golden customer id (ticket id if none);
sla.breached -> hub.orders when it has an order id and no ticket id, else hub.support.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.topics import CUSTOMERS, ORDERS, SUPPORT

_ORDER_FAMILIES = frozenset(("order", "payment", "invoice", "shipment", "return"))
_CUSTOMER_FAMILIES = frozenset(("customer", "lead", "opportunity"))
_SUPPORT_FAMILIES = frozenset(("ticket", "complaint"))


class UnroutableEvent(ValueError):  # noqa: N818 - names the situation
    """A canonical event no hub topic takes, or one without the id its topic is keyed by."""


def _first(data: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def topic_and_key(event_type: str, data: Mapping[str, Any]) -> tuple[str, str]:
    family = event_type.split(".", 1)[0]
    if event_type == "sla.breached":
        family = "order" if data.get("order_id") and not data.get("ticket_id") else "ticket"
    if family in _ORDER_FAMILIES:
        topic, key = ORDERS, _first(data, "order_id")
    elif family in _CUSTOMER_FAMILIES:
        topic, key = CUSTOMERS, _first(data, "customer_id", "lead_id", "opportunity_id")
    elif family in _SUPPORT_FAMILIES:
        topic, key = SUPPORT, _first(data, "customer_id", "ticket_id")
    else:
        raise UnroutableEvent(f"no hub topic takes events of type {event_type!r}")
    if key is None:
        raise UnroutableEvent(f"{event_type} has no id to key {topic} by")
    return topic, key

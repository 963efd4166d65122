"""Field shapes the ``jsonl`` translator refuses by name instead of crashing on."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.jsonl.translate import translate
from connectors.kit.errors import UntranslatableRecord
from tests.unit.translate.table import raw_event

CUSTOMER = {
    "id": "C-100",
    "name": "Muster GmbH",
    "emails": ["info@muster.de"],
    "updated_at": "2026-11-20T08:00:00+00:00",
}


def test_a_customer_translates() -> None:
    [event] = translate(raw_event("shop", "customer", "C-100", 1, dict(CUSTOMER), "jsonl"))
    assert event.type == "customer.created"
    assert event.data["emails"] == ["info@muster.de"]


@pytest.mark.parametrize("emails", [True, 42, "info@muster.de", {"a": "b"}])
def test_emails_that_are_not_a_list_are_refused_by_name(emails: Any) -> None:
    """Found by the property suite's full run: ``emails: true`` raised a bare TypeError."""
    raw = raw_event("shop", "customer", "C-100", 1, CUSTOMER | {"emails": emails}, "jsonl")
    with pytest.raises(UntranslatableRecord, match="'emails' is not a list"):
        translate(raw)

"""The translator on recorded export records: event types, links, evidence, stable ids."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from connectors.kit.errors import UntranslatableRecord
from connectors.kit.source import Record, build_raw_event
from connectors.zendesk import translate
from hub.timeline.config import ProcessesConfig
from hub.timeline.ordering import TimelineEvent
from hub.timeline.store import TimelineStore
from schemas import Envelope
from schemas.registry import validate_event

FIXTURES = Path(__file__).parent / "fixtures" / "raw"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((FIXTURES / name).read_bytes())["data"]
    return data


def raw(data: dict[str, Any], entity: str = "ticket", instance: str = "helpdesk") -> Envelope:
    record = Record(
        id=str(data.get("id")),
        revision=str(data.get("updated_at")),
        time=datetime(2026, 11, 20, tzinfo=UTC),
        data=data,
    )
    return build_raw_event(instance, "zendesk", entity, record).envelope


def events(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for event in translate(raw(data)):
        validate_event(event)
        out[event.type] = {"id": event.id, **event.data}
    return out


def test_solved_escalated_ticket_of_an_organization() -> None:
    got = events(recorded("ticket_35440_solved.json"))
    assert list(got) == [
        "customer.updated",
        "ticket.opened",
        "ticket.updated",
        "ticket.escalated",
        "ticket.resolved",
    ]
    ref = {"system": "helpdesk", "id": "organization/35436"}
    assert all(e["customer_ref"] == ref for e in got.values())
    assert all(e["customer_id"] is None for e in got.values())
    profile = got["customer.updated"]
    assert profile["name"] == "Muster GmbH"
    assert profile["domain"] == "muster.de"
    assert profile["external_ids"] == {"erp_customer_number": "10042"}
    assert profile["contacts"][0]["email"] == "jana.weber@muster.de"  # lower-cased
    opened = got["ticket.opened"]
    assert opened["ticket_id"] == "helpdesk:35440"
    assert opened["order_id"] == "S00042"
    assert opened["requester"] == {
        "name": "Jana Weber",
        "email": "jana.weber@muster.de",
        "phone": None,
    }
    assert opened["opened_at"] == "2026-11-20T08:05:00Z"
    assert got["ticket.escalated"]["reason"] == "priority urgent"
    assert got["ticket.resolved"]["satisfaction"] == "good"
    assert got["ticket.updated"]["status"] == "solved"


def test_complaint_of_a_person_links_the_order_from_the_custom_field() -> None:
    got = events(recorded("ticket_35443_new.json"))
    assert list(got) == ["customer.updated", "ticket.opened", "complaint.opened"]
    assert got["customer.updated"]["kind"] == "person"
    assert got["customer.updated"]["emails"] == ["tom.kramer@example.net"]
    assert got["customer.updated"]["phones"] == ["+49 30 1234567"]
    assert got["ticket.opened"]["customer_ref"]["id"] == "user/35438"
    complaint = got["complaint.opened"]
    assert complaint["order_id"] == "S00043"
    assert complaint["category"] == "product_quality"
    assert complaint["channel"] == "email"
    assert complaint["complaint_id"] == "helpdesk:complaint/35443"


def test_ids_stay_stable_across_revisions_of_one_ticket() -> None:
    first = recorded("ticket_35440_solved.json")
    later = copy.deepcopy(first)
    later.update(updated_at="2026-11-24T09:00:00Z", status="closed", generated_timestamp=1795510800)
    one, two = events(first), events(later)
    for kind in ("customer.updated", "ticket.opened", "ticket.escalated", "ticket.resolved"):
        assert one[kind]["id"] == two[kind]["id"], kind
    assert one["ticket.updated"]["id"] != two["ticket.updated"]["id"]
    assert [e.id for e in translate(raw(first))] == [e.id for e in translate(raw(first))]


def test_a_ticket_solved_again_after_a_reopen_resolves_again() -> None:
    again = recorded("ticket_35450_solved.json")  # solved, reopened, solved again
    assert again["_handoff"]["metric_set"]["reopens"] == 1
    first = copy.deepcopy(again)  # the snapshot of the first solve
    first.update(updated_at="2026-11-20T09:07:00Z", generated_timestamp=1795165620)
    first["_handoff"]["metric_set"].update(reopens=0, solved_at="2026-11-20T09:07:00Z")
    reopened = copy.deepcopy(again)
    reopened.update(status="open", updated_at="2026-11-20T09:17:00Z")
    reopened["_handoff"]["metric_set"]["solved_at"] = "2026-11-20T09:07:00Z"
    closed = copy.deepcopy(again)  # closed later: the same solve
    closed.update(status="closed", updated_at="2026-11-24T09:00:00Z")
    one, two, three = events(first), events(again), events(closed)
    assert "ticket.resolved" not in events(reopened)
    assert one["ticket.resolved"]["id"] != two["ticket.resolved"]["id"]
    assert two["ticket.resolved"]["id"] == three["ticket.resolved"]["id"]
    assert one["ticket.resolved"]["resolved_at"] == "2026-11-20T09:07:00Z"
    assert two["ticket.resolved"]["resolved_at"] == "2026-11-20T09:27:00Z"
    assert three["ticket.resolved"]["resolved_at"] == "2026-11-20T09:27:00Z"  # solved_at
    # the first solve's id is the one a ticket never reopened always had
    plain = copy.deepcopy(first)
    del plain["_handoff"]["metric_set"]
    assert events(plain)["ticket.resolved"]["id"] == one["ticket.resolved"]["id"]


def test_a_complaint_solved_reopened_and_solved_again_follows_on_its_timeline(
    tmp_path: Path,
) -> None:
    """The snapshots of a complaint's first solve, its reopen and its second solve, as the
    translator turns them into events, move the complaint's process from resolved to open
    again to resolved (the reopen is the ticket.updated of the ``open`` snapshot)."""
    again = recorded("ticket_35450_solved.json")
    again["tags"] = ["complaint"]
    first = copy.deepcopy(again)
    first.update(updated_at="2026-11-20T09:07:00Z", generated_timestamp=1795165620)
    first["_handoff"]["metric_set"].update(reopens=0, solved_at="2026-11-20T09:07:00Z")
    reopened = copy.deepcopy(again)
    reopened.update(status="open", updated_at="2026-11-20T09:17:00Z")
    reopened["_handoff"]["metric_set"]["solved_at"] = "2026-11-20T09:07:00Z"
    store = TimelineStore(f"sqlite:///{tmp_path / 'timeline.db'}", ProcessesConfig())
    store.migrate()

    def complaint_after(snapshot: dict[str, Any]) -> tuple[str, str, str]:
        store.ingest(TimelineEvent.from_envelope(e) for e in translate(raw(snapshot)))
        with store.engine.connect() as conn:
            row = conn.execute(
                text("SELECT stage, owner, waiting_since FROM timeline_state WHERE kind = 'ticket'")
            ).one()
        return row.stage, row.owner, row.waiting_since

    assert complaint_after(first) == ("resolved", "support", "2026-11-20T09:07:00.000000Z")
    assert complaint_after(reopened) == ("acknowledged", "support", "2026-11-20T09:17:00.000000Z")
    assert complaint_after(again) == ("resolved", "support", "2026-11-20T09:27:00.000000Z")
    store.dispose()


def test_without_a_metric_set_a_ticket_resolves_at_its_update() -> None:
    data = recorded("ticket_35440_solved.json")
    data.update(updated_at="2026-11-21T10:00:00Z")
    data["_handoff"]["metric_set"] = None
    assert events(data)["ticket.resolved"]["resolved_at"] == "2026-11-21T10:00:00Z"
    data["_handoff"]["metric_set"] = {"reopens": "2", "solved_at": "not a time"}
    resolved = events(data)["ticket.resolved"]
    assert resolved["resolved_at"] == "2026-11-21T10:00:00Z"
    data["_handoff"]["metric_set"] = None
    assert events(data)["ticket.resolved"]["id"] == resolved["id"]  # a bad count is 0


def test_another_instance_gives_other_ids_and_refs() -> None:
    data = recorded("ticket_35440_solved.json")
    one, two = translate(raw(data)), translate(raw(data, instance="support-eu"))
    assert {e.id for e in one}.isdisjoint({e.id for e in two})
    assert two[1].data["ticket_id"] == "support-eu:35440"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": "hold"}, "on_hold"),
        ({"status": "pending"}, "pending"),
        ({"status": "open"}, "open"),
    ],
)
def test_statuses(changes: dict[str, Any], expected: str) -> None:
    data = {
        **recorded("ticket_35445_pending.json"),
        "updated_at": "2026-11-20T09:00:00Z",
        **changes,
    }
    assert events(data)["ticket.updated"]["status"] == expected


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("email", "email"),
        ("voice", "phone"),
        ("chat", "chat"),
        ("twitter", "social"),
        ("api", "other"),
        ("web", "web"),
    ],
)
def test_channels(channel: str, expected: str) -> None:
    data = {**recorded("ticket_35445_pending.json"), "via": {"channel": channel}}
    assert events(data)["ticket.opened"]["channel"] == expected


def test_escalation_by_tag_and_complaint_by_field() -> None:
    data = recorded("ticket_35445_pending.json")
    data["tags"] = ["vip", "escalated"]
    data["custom_fields"] = [{"id": 360009, "value": "delivery"}]
    data["_handoff"] = {**data["_handoff"], "complaint_field_id": 360009}
    got = events(data)
    assert got["ticket.escalated"]["reason"] == "tagged escalated"
    assert got["complaint.opened"]["category"] == "delivery"


def test_no_order_link_when_the_pattern_is_off_and_the_field_empty() -> None:
    data = recorded("ticket_35440_solved.json")
    data["_handoff"] = {**data["_handoff"], "order_number_pattern": None}
    assert events(data)["ticket.opened"]["order_id"] is None


def test_without_side_loads_the_ticket_still_links_by_id() -> None:
    data = recorded("ticket_35440_solved.json")
    del data["_handoff"]
    got = events(data)
    assert "customer.updated" not in got
    assert got["ticket.opened"]["requester"] is None
    assert got["ticket.opened"]["customer_ref"] == {
        "system": "helpdesk",
        "id": "organization/35436",
    }
    assert got["ticket.opened"]["order_id"] is None  # the pattern rides with the settings


def test_deleted_tickets_and_webhook_events_give_nothing() -> None:
    assert translate(raw(recorded("ticket_35448_deleted.json"))) == []
    event = orjson.loads((FIXTURES / "webhook_event_priority_changed.json").read_bytes())["data"]
    assert translate(raw(event, entity="webhook_event")) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": "35440"}, "integer id"),
        ({"created_at": None}, "created_at"),
        ({"updated_at": "yesterday"}, "not ISO 8601"),
        ({"status": "archived"}, "unknown status"),
        ({"priority": "critical"}, "unknown priority"),
    ],
)
def test_untranslatable_records_say_why(changes: dict[str, Any], reason: str) -> None:
    data = {**recorded("ticket_35440_solved.json"), **changes}
    with pytest.raises(UntranslatableRecord, match=reason):
        translate(raw(data))


@pytest.mark.parametrize("name", [["erp_customer_number"], {"field": "x"}, 7, None])
def test_an_external_id_mapped_to_no_field_name_is_untranslatable(name: object) -> None:
    """The mapping travels in the raw record (``_handoff``): a value that names no
    organization field is the record's fault, dead-lettered with the key, not a crash."""
    data = recorded("ticket_35440_solved.json")
    data["_handoff"] = {**data["_handoff"], "organization_external_ids": {"erp": name}}
    with pytest.raises(UntranslatableRecord, match=r"organization_external_ids\.erp is .*"):
        translate(raw(data))


def test_unknown_entity_is_untranslatable() -> None:
    with pytest.raises(UntranslatableRecord, match="no translation"):
        translate(raw(recorded("ticket_35440_solved.json"), entity="webhook_events"))

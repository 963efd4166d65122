"""The source in the kit's runner against the emulator: paging, resume, 429, credentials."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.errors import FatalError
from connectors.kit.runner import InstanceRunner
from connectors.testing import MemoryPublisher
from connectors.zendesk import CONNECTOR
from connectors.zendesk.emulator import ZendeskEmulator
from connectors.zendesk.source import ExportCursor, ZendeskSource
from schemas import Envelope
from tests.connectors.emulators import Clock, pauses_until_resumed

from .conftest import EMAIL, OAUTH, ORDER_FIELD, TOKEN, settings


def runner(
    base_url: str,
    publisher: MemoryPublisher,
    checkpoints: MemoryCheckpoints,
    sleep: Any = None,
    **overrides: Any,
) -> InstanceRunner:
    values = settings(base_url, backoff_initial_seconds=0.01, **overrides)
    extra = {"sleep": sleep} if sleep is not None else {}
    return InstanceRunner(
        "helpdesk",
        CONNECTOR,
        CONNECTOR.parse_settings(values),
        publisher=publisher,
        checkpoints=checkpoints,
        **extra,
    )


async def poll(run: InstanceRunner, max_pages: int | None = None) -> None:
    await run.source.open()
    try:
        await run.poll_stream("ticket", max_pages=max_pages)
    finally:
        await run.source.close()


def seed(desk: ZendeskEmulator, clock: Clock) -> dict[str, int]:
    org = desk.add_organization(
        "Muster GmbH",
        domain_names=["muster.de"],
        organization_fields={"erp_customer_number": "10042"},
    )
    jana = desk.add_user("Jana Weber", "Jana@Muster.de", organization_id=org)
    tom = desk.add_user("Tom Kramer", "tom@example.net")
    clock.advance(seconds=1)
    late = desk.open_ticket(jana, "Where is S00042?", "Not arrived.")
    clock.advance(seconds=1)
    complaint = desk.open_ticket(
        tom,
        "Broken chair",
        "Leg cracked.",
        tags=["complaint"],
        custom_fields={ORDER_FIELD: "S00043"},
    )
    clock.advance(seconds=1)
    question = desk.open_ticket(jana, "Invoice copy", "Please resend.")
    return {"org": org, "late": late, "complaint": complaint, "question": question}


def translated(events: list[tuple[str, Envelope]]) -> list[str]:
    return [e.type for _, raw in events for e in CONNECTOR.translate(raw)]


async def test_export_publishes_tickets_with_side_loads_that_translate(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(desk, clock)
    publisher = MemoryPublisher()
    await poll(runner(base_url, publisher, MemoryCheckpoints(), per_page=2))
    raw = publisher.raw()
    assert [(t, e.subject) for t, e in raw] == [
        ("raw.helpdesk.ticket", str(ids["late"])),
        ("raw.helpdesk.ticket", str(ids["complaint"])),
        ("raw.helpdesk.ticket", str(ids["question"])),
    ]
    first = raw[0][1]
    assert first.type == "raw.zendesk.ticket"
    assert first.partitionkey == first.subject
    assert first.data["_handoff"]["organization"]["name"] == "Muster GmbH"
    assert first.data["_handoff"]["requester"]["email"] == "Jana@Muster.de"
    assert [r["per_page"] for r in desk.requests] == ["2", "2"]
    assert desk.requests[0]["include"] == "users,organizations,metric_sets"
    assert first.data["_handoff"]["metric_set"]["ticket_id"] == ids["late"]
    assert "cursor" in desk.requests[1]
    assert translated(raw) == [
        "customer.updated",
        "ticket.opened",
        "customer.updated",
        "ticket.opened",
        "complaint.opened",
        "customer.updated",
        "ticket.opened",
    ]
    events = [e for _, r in raw for e in CONNECTOR.translate(r)]
    assert events[1].data["order_id"] == "S00042"  # from the subject
    assert events[3].data["order_id"] == "S00043"  # from the custom field
    assert events[0].data["external_ids"] == {"erp_customer_number": "10042"}


async def test_cursor_is_stored_and_resume_reads_only_what_changed(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(desk, clock)
    checkpoints = MemoryCheckpoints()
    await poll(runner(base_url, MemoryPublisher(), checkpoints))
    stored = checkpoints.cursors["helpdesk:ticket"].cursor or ""
    assert stored.startswith("cursor=")
    clock.advance(seconds=5)
    desk.set_priority(ids["late"], "urgent")
    clock.advance(seconds=1)
    desk.solve(ids["question"])
    again = MemoryPublisher()  # a new process: new runner, new source, same checkpoints
    await poll(runner(base_url, again, checkpoints))
    assert [e.subject for _, e in again.raw()] == [str(ids["late"]), str(ids["question"])]
    assert "ticket.escalated" in translated(again.raw()[:1])
    assert "ticket.resolved" in translated(again.raw()[1:])
    caught_up = MemoryPublisher()
    await poll(runner(base_url, caught_up, checkpoints))
    assert caught_up.sent == []
    assert (
        desk.requests[-1]["cursor"]
        == ExportCursor.decode(checkpoints.cursors["helpdesk:ticket"].cursor).cursor
    )


async def test_stop_inside_a_page_resumes_without_skipping_or_repeating(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    seed(desk, clock)
    full = MemoryPublisher()
    await poll(runner(base_url, full, MemoryCheckpoints()))
    checkpoints = MemoryCheckpoints()
    first = MemoryPublisher()
    await poll(runner(base_url, first, checkpoints, page_size=1), max_pages=1)
    assert "&after=" in (checkpoints.cursors["helpdesk:ticket"].cursor or "")
    second = MemoryPublisher()
    await poll(runner(base_url, second, checkpoints, page_size=1))
    ids = [e.id for _, e in first.raw() + second.raw()]
    assert ids == [e.id for _, e in full.raw()]


async def test_export_waits_for_its_interval_unless_a_webhook_says_otherwise(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    seed(desk, clock)
    run = runner(base_url, MemoryPublisher(), MemoryCheckpoints(), export_interval_seconds=600)
    await poll(run)
    exports = len(desk.requests)
    await poll(run)
    assert len(desk.requests) == exports, "an export ran before it was due"
    source = run.source
    assert isinstance(source, ZendeskSource)
    source.mark_changed(clock.now.timestamp())
    await poll(run)
    assert len(desk.requests) == exports + 1


async def test_webhook_waits_for_the_export_lag() -> None:
    source = CONNECTOR.build_source(
        CONNECTOR.parse_settings(settings("http://127.0.0.1:9", export_lag_seconds=60)), "hd"
    )
    assert isinstance(source, ZendeskSource)
    source._last_export = 1000.0
    source.mark_changed(1010.0)
    assert not source.export_due(1050.0)
    assert source.export_due(1070.0)


async def test_rate_limit_backs_off_for_retry_after_then_goes_on(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    seed(desk, clock)
    desk.rate_limit(1, retry_after=7)
    publisher = MemoryPublisher()
    backoff, after = await pauses_until_resumed(
        lambda sleep: runner(base_url, publisher, MemoryCheckpoints(), sleep=sleep)
    )
    assert backoff.state == "backing_off"
    assert "429" in str(backoff.reason)
    assert "APIRateLimitExceeded" in str(backoff.reason)
    assert backoff.seconds >= 7
    assert after.state == "running"
    assert len(publisher.raw()) == 3


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"api_token": "zd-revoked-token"}, "Couldn't authenticate you"),
        (
            {"email": None, "api_token": None, "oauth_token": "zd-unknown-oauth"},
            "Couldn't authenticate you",
        ),
        (
            {"email": None, "api_token": None, "oauth_token": OAUTH, "_expire": True},
            "invalid_token",
        ),
    ],
)
async def test_bad_or_expired_credentials_fail_the_instance_without_a_retry_loop(
    desk: ZendeskEmulator, clock: Clock, base_url: str, overrides: dict[str, Any], expected: str
) -> None:
    seed(desk, clock)
    if overrides.pop("_expire", False):
        desk.expire_oauth_token(OAUTH)
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    run = runner(base_url, MemoryPublisher(), MemoryCheckpoints(), sleep=sleep, **overrides)
    await asyncio.wait_for(run.run(), timeout=10)
    assert run.status.state == "failed"
    assert "401" in str(run.status.reason)
    assert expected in str(run.status.reason)
    for secret in (TOKEN, OAUTH, "zd-revoked-token", "zd-unknown-oauth"):
        assert secret not in str(run.status.reason)
    assert sleeps == []
    assert len(desk.requests) == 1


async def test_first_start_time_comes_from_settings(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    seed(desk, clock)
    since = clock.now.replace(microsecond=0)
    await poll(
        runner(base_url, MemoryPublisher(), MemoryCheckpoints(), start_time=since.isoformat())
    )
    assert desk.requests[0]["start_time"] == str(int(since.timestamp()))


def test_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="email and api_token"):
        CONNECTOR.parse_settings({"base_url": "https://acme.zendesk.com", "email": EMAIL})
    with pytest.raises(ValidationError, match="not both"):
        CONNECTOR.parse_settings(
            {
                "base_url": "https://acme.zendesk.com",
                "email": EMAIL,
                "api_token": TOKEN,
                "oauth_token": OAUTH,
            }
        )
    with pytest.raises(ValidationError) as caught:
        CONNECTOR.parse_settings(
            settings(
                "https://acme.zendesk.com",
                per_page=5000,
                order_number_pattern="S(",
                escalation_priorities=["critical"],
                export_interval_seconds=1,
            )
        )
    assert {e["loc"][0] for e in caught.value.errors()} == {
        "per_page",
        "order_number_pattern",
        "escalation_priorities",
        "export_interval_seconds",
    }
    built = CONNECTOR.parse_settings(settings("https://acme.zendesk.com"))
    assert TOKEN not in repr(built)
    assert built.poll_interval_seconds == 5.0


@pytest.mark.parametrize("zendesk_cursor", ["MTU4MDc1Mzc5OC4wfHw0MzJ8", "a+b/c==", "x&y=z"])
def test_stored_cursor_round_trips_any_zendesk_cursor(zendesk_cursor: str) -> None:
    at_end = ExportCursor.decode(ExportCursor(cursor=zendesk_cursor).request())
    assert (at_end.cursor, at_end.after) == (zendesk_cursor, None)
    inside = ExportCursor.decode(ExportCursor(cursor=zendesk_cursor).at((1795164900, 35440)))
    assert (inside.cursor, inside.after) == (zendesk_cursor, (1795164900, 35440))
    first = ExportCursor.decode(ExportCursor(start_time=42).at((43, 7)))
    assert (first.cursor, first.start_time, first.after) == (None, 42, (43, 7))
    assert ExportCursor.decode(None, default_start=99).start_time == 99


def test_a_cursor_this_connector_did_not_write_stops_the_instance() -> None:
    with pytest.raises(FatalError, match="not one this connector wrote"):
        ExportCursor.decode("after=nonsense")

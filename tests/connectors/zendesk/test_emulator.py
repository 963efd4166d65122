"""The emulator speaks Zendesk's export protocol: auth, cursor paging, side-loads, 429, 400."""

from __future__ import annotations

import base64

import httpx
import pytest

from connectors.zendesk.client import EXPORT_PATH, basic_token_auth
from connectors.zendesk.emulator import (
    EmulatorServer,
    ZendeskEmulator,
    decode_cursor,
    encode_cursor,
)
from tests.connectors.emulators import Clock

from .conftest import EMAIL, OAUTH, TOKEN

AUTH = {"Authorization": basic_token_auth(EMAIL, TOKEN)}


def seed(desk: ZendeskEmulator, clock: Clock, count: int) -> list[int]:
    org = desk.add_organization("Muster GmbH", domain_names=["muster.de"])
    user = desk.add_user("Jana Weber", "jana@muster.de", organization_id=org)
    ids = []
    for n in range(count):
        clock.advance(seconds=1)
        ids.append(desk.open_ticket(user, f"Question {n}", "..."))
    return ids


async def get(
    base_url: str, *, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    return await get_query(base_url, params, headers=headers)


async def get_query(
    base_url: str, params: dict[str, str], *, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.get(
            EXPORT_PATH, params=params, headers=AUTH if headers is None else headers
        )


def test_cursor_has_zendesks_shape() -> None:
    cursor = encode_cursor(1580753798, 432)
    assert cursor == "MTU4MDc1Mzc5OC4wfHw0MzJ8"  # the cursor in Zendesk's documentation example
    assert decode_cursor(cursor) == (1580753798, 432)
    assert decode_cursor("not base64!") is None


async def test_pages_follow_after_cursor_until_end_of_stream(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(desk, clock, 5)
    first = (await get(base_url, start_time="0", per_page="2")).json()
    assert [t["id"] for t in first["tickets"]] == ids[:2]
    assert first["end_of_stream"] is False
    assert first["after_url"].endswith(f"cursor={first['after_cursor']}")
    assert first["before_cursor"] is None
    second = (await get(base_url, cursor=first["after_cursor"], per_page="2")).json()
    third = (await get(base_url, cursor=second["after_cursor"], per_page="2")).json()
    assert [t["id"] for t in second["tickets"] + third["tickets"]] == ids[2:]
    assert third["end_of_stream"] is True
    again = (await get(base_url, cursor=third["after_cursor"], per_page="2")).json()
    assert again["tickets"] == []
    assert again["end_of_stream"] is True
    assert again["after_cursor"] == third["after_cursor"]  # keep it and poll later


async def test_a_ticket_changed_after_export_comes_again_later(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(desk, clock, 3)
    done = (await get(base_url, start_time="0")).json()
    clock.advance(seconds=5)
    desk.set_priority(ids[0], "urgent")
    later = (await get(base_url, cursor=done["after_cursor"])).json()
    assert [(t["id"], t["priority"]) for t in later["tickets"]] == [(ids[0], "urgent")]


async def test_side_loads_requesters_and_organizations(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    seed(desk, clock, 1)
    body = (await get(base_url, start_time="0", include="users,organizations")).json()
    assert [u["email"] for u in body["users"]] == ["jana@muster.de"]
    assert [o["domain_names"] for o in body["organizations"]] == [["muster.de"]]
    assert "users" not in (await get(base_url, start_time="0")).json()


async def test_metric_sets_count_reopens_and_keep_the_latest_solve(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(desk, clock, 2)
    clock.advance(seconds=5)
    desk.solve(ids[0])
    solved = desk.tickets[ids[0]]["updated_at"]
    clock.advance(seconds=5)
    desk.close(ids[1])  # closed without a reopen: no count
    for status in ("open", "solved", "pending", "solved"):
        clock.advance(seconds=5)
        desk.set_status(ids[0], status)
    body = (await get(base_url, start_time="0", include="metric_sets")).json()
    metrics = {m["ticket_id"]: m for m in body["metric_sets"]}
    assert sorted(metrics) == sorted(ids)
    assert metrics[ids[0]]["reopens"] == 2
    assert metrics[ids[0]]["solved_at"] == desk.tickets[ids[0]]["updated_at"] != solved
    assert metrics[ids[1]]["reopens"] == 0
    assert metrics[ids[1]]["solved_at"] is None
    assert "metric_sets" not in (await get(base_url, start_time="0")).json()


def test_the_requesters_reply_reopens_a_solved_ticket(desk: ZendeskEmulator, clock: Clock) -> None:
    (ticket,) = seed(desk, clock, 1)
    requester = desk.tickets[ticket]["requester_id"]
    desk.comment(ticket, "Looking into it.", author_id=requester + 100)  # an agent: opens
    assert desk.tickets[ticket]["status"] == "open"
    desk.solve(ticket)
    desk.comment(ticket, "Internal note.", author_id=requester + 100, public=False)
    assert desk.tickets[ticket]["status"] == "solved"
    desk.comment(ticket, "Still broken.", author_id=requester)
    assert desk.tickets[ticket]["status"] == "open"
    assert desk.metric_sets[ticket]["reopens"] == 1
    assert desk.metric_sets[ticket]["replies"] == 1


async def test_start_time_is_inclusive_and_the_last_minute_is_left_out(clock: Clock) -> None:
    desk = ZendeskEmulator(api_tokens={EMAIL: TOKEN}, clock=clock)  # Zendesk's one minute
    ids = seed(desk, clock, 2)
    async with EmulatorServer(desk) as url:
        assert (await get(url, start_time="0")).json()["tickets"] == []
        clock.advance(seconds=61)
        created = desk.tickets[ids[1]]["generated_timestamp"]
        body = (await get(url, start_time=str(created))).json()
        assert [t["id"] for t in body["tickets"]] == [ids[1]]
        too_recent = await get(url, start_time=str(int(clock.now.timestamp()) - 10))
        assert too_recent.status_code == 400
        assert "Too recent start_time" in too_recent.json()["description"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": basic_token_auth(EMAIL, "wrong")},
        {"Authorization": basic_token_auth("other@acme.example", TOKEN)},
        {"Authorization": "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()},
        {"Authorization": "Bearer not-a-token"},
    ],
)
async def test_bad_credentials_are_401_couldnt_authenticate_you(
    base_url: str, headers: dict[str, str]
) -> None:
    answer = await get(base_url, headers=headers, start_time="0")
    assert answer.status_code == 401
    assert answer.json() == {"error": "Couldn't authenticate you"}


async def test_oauth_bearer_and_its_expiry(desk: ZendeskEmulator, base_url: str) -> None:
    bearer = {"Authorization": f"Bearer {OAUTH}"}
    assert (await get(base_url, headers=bearer, start_time="0")).status_code == 200
    desk.expire_oauth_token(OAUTH)
    expired = await get(base_url, headers=bearer, start_time="0")
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"


async def test_rate_limit_is_429_with_retry_after(desk: ZendeskEmulator, base_url: str) -> None:
    desk.rate_limit(2, retry_after=17)
    for _ in range(2):
        answer = await get(base_url, start_time="0")
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "17"
        assert answer.json()["error"] == "APIRateLimitExceeded"
    assert (await get(base_url, start_time="0")).status_code == 200


async def test_ten_requests_a_minute(clock: Clock) -> None:
    desk = ZendeskEmulator(
        api_tokens={EMAIL: TOKEN}, clock=clock, export_lag_seconds=0, requests_per_minute=10
    )
    async with EmulatorServer(desk) as url:
        codes = [(await get(url, start_time="0")).status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        clock.advance(seconds=61)
        assert (await get(url, start_time="0")).status_code == 200


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "InvalidValue"),
        ({"cursor": "garbage"}, "InvalidPaginationParameter"),
        ({"start_time": "0", "per_page": "1001"}, "InvalidValue"),
        ({"start_time": "yesterday"}, "InvalidValue"),
    ],
)
async def test_bad_parameters_are_400(base_url: str, params: dict[str, str], error: str) -> None:
    answer = await get_query(base_url, params)
    assert answer.status_code == 400
    assert answer.json()["error"] == error


async def test_deleted_tickets_are_exported_unless_excluded(
    desk: ZendeskEmulator, clock: Clock, base_url: str
) -> None:
    ids = seed(desk, clock, 2)
    desk.delete_ticket(ids[0])
    everything = (await get(base_url, start_time="0")).json()["tickets"]
    assert {t["id"]: t["status"] for t in everything} == {ids[0]: "deleted", ids[1]: "new"}
    kept = (await get(base_url, start_time="0", exclude_deleted="true")).json()["tickets"]
    assert [t["id"] for t in kept] == [ids[1]]

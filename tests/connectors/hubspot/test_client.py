"""The client against the emulator: HubSpot's paging, cap, errors and bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.hubspot.client import (
    Cursor,
    HubSpotAuthError,
    HubSpotClient,
    HubSpotRateLimitError,
    HubSpotRequestError,
)
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.kit.errors import FatalError, RetriableError
from tests.connectors.emulators import Clock

from .conftest import TOKEN


async def _all(
    client: HubSpotClient, object_type: str, cursor: Cursor | None = None, **kw: Any
) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    async for record, after in client.changed_since(object_type, cursor, **kw):
        assert after is not None
        out.append((record, after))
    return out


async def _raw_search(base_url: str, object_type: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{base_url}/crm/v3/objects/{object_type}/search",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )


async def test_search_pages_with_after_like_hubspot(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    for n in range(25):
        clock.advance(seconds=1)
        crm.add_company(name=f"Company {n}", webhook=False)
    body: dict[str, Any] = {
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["name"],
        "limit": 10,
    }
    first = (await _raw_search(base_url, "companies", body)).json()
    assert first["total"] == 25
    assert [r["properties"]["name"] for r in first["results"]][:2] == ["Company 0", "Company 1"]
    assert first["paging"]["next"]["after"] == "10"
    assert set(first["results"][0]) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert all(isinstance(v, str) for v in first["results"][0]["properties"].values())
    last = (await _raw_search(base_url, "companies", {**body, "after": "20"})).json()
    assert len(last["results"]) == 5
    assert "paging" not in last


async def test_search_rejects_what_hubspot_rejects(crm: HubSpotEmulator, base_url: str) -> None:
    too_big = await _raw_search(base_url, "contacts", {"limit": 201})
    assert too_big.status_code == 400
    body = too_big.json()
    assert body["status"] == "error"
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    two_sorts = await _raw_search(
        base_url, "contacts", {"sorts": ["createdate", "lastmodifieddate"]}
    )
    assert two_sorts.status_code == 400
    past_cap = await _raw_search(base_url, "contacts", {"after": "10000", "limit": 10})
    assert past_cap.status_code == 400


async def test_changed_since_reads_everything_oldest_first(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    ids = []
    for n in range(23):
        clock.advance(milliseconds=1500)
        ids.append(crm.add_contact(email=f"p{n}@example.com", webhook=False))
    async with HubSpotClient(base_url, TOKEN) as client:
        got = await _all(client, "contacts", page_limit=10)
    assert [r["id"] for r, _ in got] == ids
    # every page is a new query anchored at the last modification time (keyset paging)
    searches = [body for method, _, body in crm.requests if method == "POST"]
    assert len(searches) == 3
    assert all("after" not in body for body in searches)
    assert searches[1]["filterGroups"][0]["filters"][0]["operator"] == "GTE"


async def test_cap_is_never_crossed_and_nothing_is_skipped(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    crm.result_cap = 20  # HubSpot's is 10,000; the behaviour is the same
    for n in range(47):
        clock.advance(seconds=1)
        crm.add_deal(dealname=f"Deal {n}", amount="100", webhook=False)
    async with HubSpotClient(base_url, TOKEN) as client:
        got = await _all(client, "deals", page_limit=15)
    assert len(got) == 47
    assert len({r["id"] for r, _ in got}) == 47


async def test_ties_on_one_millisecond_are_read_once_and_resumed(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    clock.advance(seconds=1)
    ids = [crm.add_company(name=f"Same time {n}", webhook=False) for n in range(12)]
    clock.advance(seconds=1)
    later = crm.add_company(name="Later", webhook=False)
    async with HubSpotClient(base_url, TOKEN) as client:
        got = await _all(client, "companies", page_limit=5)
        assert sorted(r["id"] for r, _ in got) == sorted([*ids, later])
        assert len(got) == 13
        # resume after the 7th record: the rest, nothing twice
        cursor = Cursor.decode(got[6][1].encode())
        rest = await _all(client, "companies", cursor, page_limit=5)
    assert [r["id"] for r, _ in rest] == [r["id"] for r, _ in got[7:]]


async def test_records_modified_while_paging_are_not_skipped(
    crm: HubSpotEmulator, clock: Clock, base_url: str
) -> None:
    ids = []
    for n in range(6):
        clock.advance(seconds=1)
        ids.append(crm.add_company(name=f"C{n}", webhook=False))
    seen: list[str] = []
    async with HubSpotClient(base_url, TOKEN) as client:
        async for record, _ in client.changed_since("companies", None, page_limit=2):
            seen.append(record["id"])
            if len(seen) == 2:
                # the first record changes between two pages: with offset paging it would
                # leave its place and the next record would slide past the offset
                clock.advance(seconds=1)
                crm.set_property("companies", ids[0], "name", "C0 renamed", webhook=False)
    assert seen[:2] == ids[:2]
    assert set(ids) <= set(seen)
    assert seen[-1] == ids[0]


async def test_rate_limit_is_retriable_with_retry_after(
    crm: HubSpotEmulator, base_url: str
) -> None:
    async with HubSpotClient(base_url, TOKEN) as client:
        crm.rate_limit(1, retry_after=2.5)
        with pytest.raises(HubSpotRateLimitError) as caught:
            await client.search("contacts", {})
        assert isinstance(caught.value, RetriableError)
        assert caught.value.retry_after == 2.5
        assert "secondly" in str(caught.value)
        crm.rate_limit(1, retry_after=None, policy="TEN_SECONDLY_ROLLING")
        with pytest.raises(HubSpotRateLimitError) as caught:
            await client.search("contacts", {})
        assert caught.value.retry_after == 10.0
        assert (await client.search("contacts", {}))["total"] == 0


async def test_rate_limit_body_is_hubspots(crm: HubSpotEmulator, base_url: str) -> None:
    crm.rate_limit(1, retry_after=1)
    answer = await _raw_search(base_url, "contacts", {})
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    body = answer.json()
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "SECONDLY"
    assert body["message"] == "You have reached your secondly limit."


async def test_bad_and_expired_tokens_are_fatal_with_hubspots_reason(
    crm: HubSpotEmulator, base_url: str
) -> None:
    async with HubSpotClient(base_url, "pat-wrong") as client:
        with pytest.raises(HubSpotAuthError) as caught:
            await client.search("contacts", {})
    assert isinstance(caught.value, FatalError)
    assert "INVALID_AUTHENTICATION" in str(caught.value)
    assert "pat-wrong" not in str(caught.value)
    crm.expire_token(TOKEN)
    async with HubSpotClient(base_url, TOKEN) as client:
        with pytest.raises(HubSpotAuthError, match="EXPIRED_AUTHENTICATION"):
            await client.get_object("contacts", "1")
    answer = await _raw_search(base_url, "contacts", {})
    assert answer.status_code == 401
    assert answer.json()["category"] == "EXPIRED_AUTHENTICATION"


async def test_get_object_with_associations(crm: HubSpotEmulator, base_url: str) -> None:
    acme = crm.add_company(name="Acme", domain="acme.de", webhook=False)
    jana = crm.add_contact(email="jana@acme.de", company_id=acme, webhook=False)
    deal = crm.add_deal(dealname="Desks", amount="99.50", company_id=acme, contact_ids=[jana])
    async with HubSpotClient(base_url, TOKEN) as client:
        got = await client.get_object(
            "deals", deal, properties=["amount"], associations=["companies", "contacts"]
        )
        assert got is not None
        assert got["properties"]["amount"] == "99.50"
        assert got["associations"]["companies"]["results"] == [
            {"id": acme, "type": "deal_to_company"}
        ]
        assert got["associations"]["contacts"]["results"][0]["id"] == jana
        assert await client.get_object("deals", "999999") is None
        with pytest.raises(HubSpotRequestError, match="400"):
            await client.search("tickets", {})


async def test_server_errors_and_dead_servers_are_retriable() -> None:
    async with HubSpotClient("http://127.0.0.1:9", TOKEN, timeout=2) as client:
        with pytest.raises(RetriableError):
            await client.search("contacts", {})

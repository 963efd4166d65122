"""The HTTP helpers map answers to the error model; recorded fixtures replay exchanges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import orjson
import pytest

from connectors.kit.errors import FatalError, RetriableError
from connectors.kit.http import (
    RecordedTransport,
    client,
    get_json,
    retry_after_seconds,
    use_transport,
)


def _serve(status: int, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, headers=headers or {}, json={"ok": True})
    )


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limits_are_retriable_with_retry_after(status: int) -> None:
    with use_transport(_serve(status, {"Retry-After": "17"})):
        http = client("https://api.example")
        with pytest.raises(RetriableError) as caught:
            await get_json(http, "/things")
    assert caught.value.retry_after == 17.0
    assert str(status) in str(caught.value)


@pytest.mark.parametrize("status", [401, 403])
async def test_bad_credentials_are_fatal(status: int) -> None:
    with use_transport(_serve(status)), pytest.raises(FatalError, match="credentials"):
        await get_json(client("https://api.example"), "/things", {"token": "x"})


async def test_timeouts_and_connection_failures_are_retriable() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    with (
        use_transport(httpx.MockTransport(boom)),
        pytest.raises(RetriableError, match="timed out"),
    ):
        await get_json(client("https://api.example"), "/things")


def test_retry_after_may_be_an_http_date() -> None:
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(header, now=now.timestamp()) == pytest.approx(90)
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds(None) is None


async def test_recorded_transport_replays_and_reports_unrecorded_requests(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(
        orjson.dumps(
            {
                "request": {"path": "/api/x", "params": {"page": 1}},
                "response": {"status": 200, "json": {"items": [1]}},
            }
        )
    )
    transport = RecordedTransport(tmp_path)
    with use_transport(transport):
        http = client("https://api.example")
        assert await get_json(http, "/api/x", {"page": 1}) == {"items": [1]}
        with pytest.raises(RetriableError):
            await get_json(http, "/api/x", {"page": 2})
    assert transport.unmatched == ["GET /api/x params={'page': '2'}"]
    assert transport.unused() == []


async def test_recorded_post_exchanges_match_on_the_json_body(tmp_path: Path) -> None:
    search = "/crm/v3/objects/contacts/search"

    def page(after: str | None, ids: list[int]) -> dict[str, object]:
        body: dict[str, object] = {"limit": 2, "sorts": ["hs_lastmodifieddate"]}
        if after is not None:
            body["after"] = after
        return {
            "request": {"method": "POST", "path": search, "json": body},
            "response": {"json": {"results": ids}},
        }

    (tmp_path / "search.json").write_bytes(
        orjson.dumps([page(None, [1, 2]), page("2", [3, 4]), page("4", [])])
    )
    (tmp_path / "rpc.json").write_bytes(
        orjson.dumps(
            [
                {
                    "request": {"method": "POST", "path": "/jsonrpc", "json": {"id": 1}},
                    "response": {"json": {"result": "one"}},
                },
                {  # no body recorded: answers any other body
                    "request": {"method": "POST", "path": "/jsonrpc"},
                    "response": {"json": {"result": "any"}},
                },
            ]
        )
    )
    transport = RecordedTransport(tmp_path)
    with use_transport(transport):
        http = client("https://api.example")
        pages = []
        for after in (None, "2", "4"):
            body: dict[str, object] = {"sorts": ["hs_lastmodifieddate"], "limit": 2}
            if after is not None:
                body["after"] = after
            pages.append((await http.post(search, json=body)).json()["results"])
        assert pages == [[1, 2], [3, 4], []], "one recorded page per request body"
        missing = await http.post(search, json={"limit": 2, "after": "99"})
        assert (await http.post("/jsonrpc", json={"id": 1})).json() == {"result": "one"}
        assert (await http.post("/jsonrpc", json={"id": 2})).json() == {"result": "any"}
        assert (await http.post("/jsonrpc", content=b"not json")).json() == {"result": "any"}
    assert missing.status_code == 599
    assert transport.unmatched == [f'POST {search} params={{}} body={{"limit":2,"after":"99"}}']
    assert transport.unused() == []

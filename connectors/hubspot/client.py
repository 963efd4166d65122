"""An async client for the part of HubSpot's CRM v3 API this connector reads.

Errors are mapped onto the kit's error classes so the kit knows what to do:

==========================================  ====================================================
HubSpot answer                              raised
==========================================  ====================================================
401 ``INVALID_AUTHENTICATION`` / ``EXPIRED``  :class:`HubSpotAuthError` (fatal: stop the instance)
403 (missing scope)                          :class:`HubSpotAuthError` (fatal)
429 ``RATE_LIMIT``                           :class:`HubSpotRateLimitError` (retriable, with the
                                             wait from ``Retry-After`` or the policy's window)
400 (a query HubSpot rejects)                :class:`HubSpotRequestError` (fatal: a bug or a
                                             setting to fix, retrying cannot help)
5xx, timeouts, connection errors             :class:`~connectors.kit.errors.RetriableError`
404 on ``GET`` of one object                 ``None`` (the object was deleted meanwhile)
==========================================  ====================================================

Reading changes (:meth:`HubSpotClient.changed_since`) uses *keyset* paging: every page is a
new search filtered ``GTE`` the modification time of the last record delivered, sorted
ascending by it, and records already delivered at exactly that millisecond are skipped
(the cursor names them). Offset paging with ``after`` alone is unsafe on a result set that
changes while it is read (a record modified between two pages leaves the set and shifts
every later record one place forward, so one would be skipped), and it stops at HubSpot's
10,000-result cap; re-anchoring on every page avoids both. ``after`` is still followed
within one anchor when a whole page holds records already delivered (more records share one
millisecond than fit in a page); if even that would cross the cap, the read stops with a
fatal error rather than skip records.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from connectors.kit import http as kit_http
from connectors.kit.errors import FatalError, RetriableError

MODIFIED_PROPERTY: dict[str, str] = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
RESULT_CAP = 10_000
MAX_PAGE = 200
#: Wait when a 429 names its policy but sends no ``Retry-After``: one window of the policy.
POLICY_WINDOWS: dict[str, float] = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0}


class HubSpotAuthError(FatalError):
    """The token is invalid, expired or lacks a scope: a human has to issue a new one."""


class HubSpotRequestError(FatalError):
    """HubSpot rejected a request as invalid (400)."""


class HubSpotRateLimitError(RetriableError):
    """HTTP 429; ``retry_after`` says how long to wait."""


@dataclass(frozen=True)
class Cursor:
    """Where a read resumes: the modification time (Unix ms) of the last record delivered
    and the ids already delivered at exactly that millisecond."""

    modified_ms: int
    seen_ids: tuple[str, ...] = field(default=())

    def encode(self) -> str:
        return f"{self.modified_ms}|{','.join(self.seen_ids)}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        head, _, tail = text.partition("|")
        try:
            modified = int(head)
        except ValueError:
            raise FatalError(f"stored cursor {text!r} is not a HubSpot cursor") from None
        return cls(modified, tuple(i for i in tail.split(",") if i))


def modified_ms(record: Mapping[str, Any], object_type: str) -> int | None:
    """Unix ms of a result's modification time (its property, else ``updatedAt``); None if
    it has none that can be read."""
    props = record.get("properties")
    value = props.get(MODIFIED_PROPERTY[object_type]) if isinstance(props, Mapping) else None
    text = value or record.get("updatedAt")
    return _to_ms(str(text)) if text is not None else None


def _to_ms(text: str) -> int | None:
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class HubSpotClient:
    """``base_url`` is ``https://api.hubapi.com`` (or an emulator); ``token`` a private-app
    access token sent as ``Authorization: Bearer``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._owns_http = http is None
        self._http = http or kit_http.client(self.base_url, timeout=timeout)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> HubSpotClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ----------------------------------------------------------------------- endpoints

    async def search(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /crm/v3/objects/{object_type}/search``."""
        answer = await self._request(
            "POST", f"/crm/v3/objects/{object_type}/search", json_body=body
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise RetriableError(f"HubSpot search on {object_type} answered without results")
        return answer

    async def get_object(
        self,
        object_type: str,
        object_id: str,
        *,
        properties: Sequence[str] = (),
        associations: Sequence[str] = (),
    ) -> dict[str, Any] | None:
        """``GET /crm/v3/objects/{object_type}/{id}``; ``None`` if it no longer exists."""
        params = {}
        if properties:
            params["properties"] = ",".join(properties)
        if associations:
            params["associations"] = ",".join(associations)
        answer = await self._request(
            "GET", f"/crm/v3/objects/{object_type}/{object_id}", params=params, missing_ok=True
        )
        return answer if isinstance(answer, dict) else None

    async def changed_since(
        self,
        object_type: str,
        cursor: Cursor | None,
        *,
        properties: Sequence[str] = (),
        page_limit: int = 100,
        until_ms: int | None = None,
    ) -> AsyncIterator[tuple[dict[str, Any], Cursor | None]]:
        """Every object of ``object_type`` modified at or after ``cursor`` (and at or before
        ``until_ms``), oldest first, each with the cursor *after* it; a result without an id
        or a readable modification time comes with ``None`` (the caller dead-letters it)."""
        if not 1 <= page_limit <= MAX_PAGE:
            raise ValueError(f"page_limit must be between 1 and {MAX_PAGE}")
        prop = MODIFIED_PROPERTY[object_type]
        current = cursor.modified_ms if cursor is not None else None
        seen = set(cursor.seen_ids) if cursor is not None else set()
        after: str | None = None
        while True:
            filters: list[dict[str, str]] = []
            if current is not None:
                filters.append({"propertyName": prop, "operator": "GTE", "value": str(current)})
            if until_ms is not None:
                filters.append({"propertyName": prop, "operator": "LTE", "value": str(until_ms)})
            body: dict[str, Any] = {
                "filterGroups": [{"filters": filters}] if filters else [],
                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
                "properties": list(dict.fromkeys([*properties, prop])),
                "limit": page_limit,
            }
            if after is not None:
                body["after"] = after
            page = await self.search(object_type, body)
            fresh = 0
            for record in page["results"]:
                ms = modified_ms(record, object_type)
                record_id = str(record.get("id") or "")
                if ms is None or not record_id:
                    yield record, None
                    continue
                if current is not None and (ms < current or (ms == current and record_id in seen)):
                    continue
                if current is None or ms > current:
                    current, seen = ms, set()
                seen.add(record_id)
                fresh += 1
                yield record, Cursor(current, tuple(sorted(seen, key=_id_order)))
            following = ((page.get("paging") or {}).get("next") or {}).get("after")
            if following is None:
                return
            if fresh:
                after = None  # re-anchor at the newest modification time delivered
                continue
            if int(following) >= RESULT_CAP:
                raise HubSpotRequestError(
                    f"more than {RESULT_CAP} {object_type} share the modification time "
                    f"{current}; HubSpot search cannot page past them"
                )
            after = str(following)

    # ------------------------------------------------------------------------ plumbing

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        url = self.base_url + path
        headers = dict(self._headers)
        content = None
        if json_body is not None:
            content = orjson.dumps(json_body)
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method, url, content=content, params=params, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise RetriableError(f"HubSpot {method} {path} timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise RetriableError(f"HubSpot {method} {path} failed: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise RetriableError(f"HubSpot {method} {path} answered non-JSON") from exc
        body = _error_body(response)
        message = str(body.get("message") or response.reason_phrase)
        category = str(body.get("category") or body.get("errorType") or "")
        if status == 404 and missing_ok:
            return None
        if status == 401:
            raise HubSpotAuthError(
                f"HubSpot rejected the access token ({category or 'HTTP 401'}): {message}"
            )
        if status == 403:
            raise HubSpotAuthError(
                f"HubSpot denied {method} {path} ({category or 'HTTP 403'}): {message}; "
                "check the private app's scopes"
            )
        if status == 429:
            raise HubSpotRateLimitError(
                f"HubSpot rate limit ({body.get('policyName') or 'unknown policy'}): {message}",
                retry_after=_retry_after(response, body),
            )
        if status >= 500:
            raise RetriableError(f"HubSpot {method} {path} answered {status}: {message}")
        raise HubSpotRequestError(
            f"HubSpot {method} {path} answered {status} ({category}): {message}"
        )


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response, body: Mapping[str, Any]) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    policy = str(body.get("policyName") or "")
    if policy in POLICY_WINDOWS:
        return POLICY_WINDOWS[policy]
    if policy == "DAILY":
        return 3600.0 - (time.time() % 3600.0)
    return 1.0


__all__ = [
    "MODIFIED_PROPERTY",
    "Cursor",
    "HubSpotAuthError",
    "HubSpotClient",
    "HubSpotRateLimitError",
    "HubSpotRequestError",
    "modified_ms",
]

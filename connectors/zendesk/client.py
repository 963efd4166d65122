"""A small async client for the cursor-based incremental ticket export.

``GET /api/v2/incremental/tickets/cursor.json`` with ``start_time`` (first request) or
``cursor`` (every later one), ``per_page`` and ``include=users,organizations,metric_sets``;
answers ``{"tickets": [...], "users": [...], "organizations": [...], "metric_sets": [...],
"after_cursor": ..., "after_url": ..., "before_cursor": null, "before_url": null,
"end_of_stream": bool}``.

Error mapping (the kit's error model): 429 and 5xx -> ``RetriableError`` (``Retry-After``
honoured); 401/403 -> ``FatalError`` naming Zendesk's error body (``{"error": "Couldn't
authenticate you"}``); other 4xx -> ``FatalError`` with the body.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from connectors.kit.errors import FatalError, RetriableError
from connectors.kit.http import RETRIABLE_STATUS, client, retry_after_seconds

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
SIDELOADS = "users,organizations,metric_sets"


def basic_token_auth(email: str, api_token: str) -> str:
    """``Authorization`` value for API-token authentication (``<email>/token:<token>``)."""
    raw = f"{email}/token:{api_token}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass
class ExportPage:
    """One page of the export, with the side-loaded users and organizations by id and the
    tickets' metric sets by ticket id."""

    tickets: list[Any]
    after_cursor: str | None
    end_of_stream: bool
    users: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    organizations: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    metric_sets: dict[int, Mapping[str, Any]] = field(default_factory=dict)


class ZendeskClient:
    """The incremental ticket export of one Zendesk account."""

    def __init__(self, base_url: str, authorization: str, *, timeout: float = 30.0) -> None:
        self.http = client(
            base_url.rstrip("/"),
            headers={"Authorization": authorization, "Accept": "application/json"},
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def export_page(
        self,
        *,
        cursor: str | None = None,
        start_time: int | None = None,
        per_page: int = 1000,
        include: str | None = SIDELOADS,
    ) -> ExportPage:
        """One page: from ``cursor`` if given, else from ``start_time`` (Unix seconds)."""
        params: dict[str, str] = {"per_page": str(per_page)}
        if cursor is not None:
            params["cursor"] = cursor
        else:
            params["start_time"] = str(start_time or 0)
        if include:
            params["include"] = include
        body = await self._get(EXPORT_PATH, params)
        tickets = body.get("tickets")
        if not isinstance(tickets, list):
            raise RetriableError(f"GET {EXPORT_PATH} answered without a tickets list")
        return ExportPage(
            tickets=tickets,
            after_cursor=body.get("after_cursor") or None,
            end_of_stream=bool(body.get("end_of_stream")),
            users=_by_id(body.get("users")),
            organizations=_by_id(body.get("organizations")),
            metric_sets=_by_id(body.get("metric_sets"), "ticket_id"),
        )

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            response = await self.http.get(path, params=dict(params))
        except httpx.TimeoutException as exc:
            raise RetriableError(f"GET {path} timed out") from exc
        except httpx.TransportError as exc:
            raise RetriableError(f"GET {path} failed: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status >= 400:
            detail = _error_text(response)
            if status in RETRIABLE_STATUS or status >= 500:
                raise RetriableError(
                    f"GET {path} answered {status}: {detail}",
                    retry_after=retry_after_seconds(response.headers.get("retry-after")),
                )
            if status in (401, 403):
                raise FatalError(
                    f"GET {path} answered {status} ({detail}): check the connector's email and "
                    "api_token or oauth_token (the export needs an admin)"
                )
            raise FatalError(f"GET {path} answered {status}: {detail}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise RetriableError(f"GET {path} answered with a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise RetriableError(f"GET {path} answered with a JSON {type(body).__name__}")
        return body


def _by_id(items: Any, key: str = "id") -> dict[int, Mapping[str, Any]]:
    out: dict[int, Mapping[str, Any]] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get(key), int):
            out[item[key]] = item
    return out


def _error_text(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:200]
    if isinstance(body, dict):
        parts = [
            str(body.get(k)) for k in ("error", "description", "error_description") if body.get(k)
        ]
        if parts:
            return ": ".join(parts)[:300]
    return response.text[:200]


__all__ = ["EXPORT_PATH", "SIDELOADS", "ExportPage", "ZendeskClient", "basic_token_auth"]

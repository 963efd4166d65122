"""HTTP helpers for sources that poll an API: one error mapping, one place to mock.

- :func:`client` gives an ``httpx.AsyncClient`` (timeouts set; in tests the contract suite
  swaps its transport for recorded fixtures, see :class:`RecordedTransport`);
- :func:`check` maps a response to the kit's error model: 429/503 (with ``Retry-After``),
  408, 425 and other 5xx -> :class:`RetriableError`; 401/403/404 and other 4xx ->
  :class:`FatalError` naming the URL and status;
- :func:`get_json` does both and maps timeouts and connection failures to ``RetriableError``.
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx
import orjson

from connectors.kit.errors import FatalError, RetriableError

_TRANSPORT: ContextVar[httpx.AsyncBaseTransport | None] = ContextVar(
    "handoff_connector_transport", default=None
)
RETRIABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@contextlib.contextmanager
def use_transport(transport: httpx.AsyncBaseTransport) -> Iterator[None]:
    """Make every :func:`client` created in this context use ``transport`` (tests)."""
    token = _TRANSPORT.set(transport)
    try:
        yield
    finally:
        _TRANSPORT.reset(token)


def client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    auth: httpx.Auth | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for a source; close it in the source's ``close()``."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=dict(headers or {}),
        timeout=timeout,
        auth=auth,
        transport=_TRANSPORT.get(),
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def check(response: httpx.Response) -> httpx.Response:
    """Return ``response`` if it succeeded, else raise the error the kit acts on."""
    status = response.status_code
    if status < 400:
        return response
    where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
    if status in RETRIABLE_STATUS or status >= 500:
        raise RetriableError(
            f"{where} answered {status}",
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    if status in (401, 403):
        raise FatalError(f"{where} answered {status}: check the connector's credentials")
    raise FatalError(f"{where} answered {status}: {response.text[:200]}")


async def get_json(
    http: httpx.AsyncClient, url: str, params: Mapping[str, Any] | None = None
) -> Any:
    """GET ``url`` and decode JSON, with the kit's error mapping."""
    try:
        response = await http.get(url, params=dict(params or {}))
    except httpx.TimeoutException as exc:
        raise RetriableError(f"GET {url} timed out") from exc
    except httpx.TransportError as exc:
        raise RetriableError(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc
    check(response)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise RetriableError(f"GET {url} answered with a body that is not JSON") from exc


_NO_BODY = object()


def _request_json(request: httpx.Request) -> Any:
    """The request's body decoded as JSON (``_NO_BODY`` when it is empty or not JSON)."""
    content = request.content
    if not content:
        return _NO_BODY
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return _NO_BODY


class RecordedTransport(httpx.AsyncBaseTransport):
    """Answers requests from recorded exchanges; an unrecorded request fails the test.

    Each ``*.json`` file in ``directory`` holds one exchange or a list of them::

        {"request": {"method": "GET", "path": "/api/contacts", "params": {"page": "1"}},
         "response": {"status": 200, "headers": {}, "json": {...}}}

        {"request": {"method": "POST", "path": "/crm/v3/objects/contacts/search",
                     "json": {"after": "100", "limit": 100}},
         "response": {"json": {...}}}

    A request matches on method, path and the exact query parameters, and, when the
    recording has a ``json`` body, on the request's JSON body too (equal as decoded JSON, so
    key order and spacing do not matter): POST-based APIs (search endpoints, JSON-RPC) can
    record one exchange per page. A recording with a body is preferred to one without for
    the same method, path and query; one without a body matches any body. Like Airbyte's
    ``HttpMocker``, :attr:`unmatched` lists requests nobody recorded (answered 599) and
    :meth:`unused` lists recordings no request used.
    """

    def __init__(self, directory: Path) -> None:
        self.exchanges: list[tuple[str, dict[str, Any]]] = []
        for path in sorted(directory.glob("*.json")):
            loaded = orjson.loads(path.read_bytes())
            for exchange in loaded if isinstance(loaded, list) else [loaded]:
                self.exchanges.append((path.name, exchange))
        self.used: set[int] = set()
        self.unmatched: list[str] = []

    def _match(self, request: httpx.Request, params: dict[str, str]) -> int | None:
        body: Any = None
        fallback: int | None = None
        for index, (_, exchange) in enumerate(self.exchanges):
            wanted = exchange["request"]
            if not (
                wanted.get("method", "GET").upper() == request.method
                and wanted["path"] == request.url.path
                and {k: str(v) for k, v in wanted.get("params", {}).items()} == params
            ):
                continue
            if "json" not in wanted:
                if fallback is None:
                    fallback = index
                continue
            if body is None:
                body = _request_json(request)
            if body is not _NO_BODY and body == wanted["json"]:
                return index
        return fallback

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = {k: v for k, v in request.url.params.multi_items()}
        await request.aread()
        index = self._match(request, params)
        if index is not None:
            self.used.add(index)
            answer = self.exchanges[index][1]["response"]
            body = orjson.dumps(answer["json"]) if "json" in answer else b""
            headers = {"content-type": "application/json", **answer.get("headers", {})}
            return httpx.Response(
                answer.get("status", 200), headers=headers, content=body, request=request
            )
        description = f"{request.method} {request.url.path} params={params}"
        if request.content:
            description += f" body={request.content[:300].decode(errors='replace')}"
        self.unmatched.append(description)
        return httpx.Response(
            599, content=f"no recording for {description}".encode(), request=request
        )

    def unused(self) -> list[str]:
        return [
            f"{name}: {exchange['request'].get('method', 'GET')} {exchange['request']['path']}"
            for index, (name, exchange) in enumerate(self.exchanges)
            if index not in self.used
        ]


__all__ = [
    "RETRIABLE_STATUS",
    "RecordedTransport",
    "check",
    "client",
    "get_json",
    "retry_after_seconds",
    "use_transport",
]

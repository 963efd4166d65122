"""An async client of Odoo's external JSON-RPC API (``POST /jsonrpc``).

Every call is a JSON-RPC 2.0 request ``{"jsonrpc": "2.0", "method": "call", "params":
{"service": ..., "method": ..., "args": [...]}, "id": n}``. Odoo answers HTTP 200 with either
``result`` or an ``error`` object ``{"code": 200, "message": "Odoo Server Error", "data":
{"name": "<python exception class>", "message": ..., ...}}``.

Errors map onto the kit's model:

- wrong login/password/API key (``authenticate`` answers ``false``, or ``execute_kw`` raises
  ``odoo.exceptions.AccessDenied`` after a re-login fails), an unknown database, a missing
  access right, an unknown model or field -> :class:`OdooFatalError` (a ``FatalError``: a human
  must fix the configuration);
- HTTP 429/5xx from Odoo or a proxy in front of it (``Retry-After`` honoured), timeouts,
  refused connections, and any other server-side exception -> :class:`OdooRetriableError`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from connectors.kit import http as kit_http
from connectors.kit.errors import FatalError, RetriableError

#: Server-side exception classes that no retry will cure.
FATAL_EXCEPTIONS = (
    "odoo.exceptions.AccessDenied",
    "odoo.exceptions.AccessError",
    "odoo.exceptions.UserError",  # "Object x doesn't exist": module not installed
    "builtins.ValueError",  # "Invalid field 'x' on model 'y'"
    "builtins.AttributeError",  # "The method 'x' does not exist on the model 'y'"
    "builtins.NameError",
    "builtins.TypeError",
    "psycopg2.OperationalError",  # unknown database
)


class OdooRetriableError(RetriableError):
    """A transient failure talking to Odoo; the kit backs off and retries."""


class OdooFatalError(FatalError):
    """Odoo refused the request for a reason only a human can fix."""


def server_error(error: Any, where: str) -> RetriableError | FatalError:
    """The kit error for a JSON-RPC ``error`` object, naming Odoo's exception."""
    data = error.get("data") if isinstance(error, dict) else None
    data = data if isinstance(data, dict) else {}
    name = str(data.get("name") or "unknown")
    message = str(data.get("message") or (error.get("message") if isinstance(error, dict) else ""))
    text = f"{where}: Odoo raised {name}: {message.strip()[:300]}"
    if name == "odoo.exceptions.AccessDenied":
        return OdooFatalError(f"{text} (check the login and the password or API key)")
    if name == "psycopg2.OperationalError" and "does not exist" in message:
        return OdooFatalError(f"{text} (check the database name)")
    if name in FATAL_EXCEPTIONS and name != "psycopg2.OperationalError":
        return OdooFatalError(text)
    return OdooRetriableError(text)


class OdooClient:
    """JSON-RPC calls against one Odoo database as one user.

    ``secret`` is the user's password or, preferably, an API key (Odoo 14+); it travels in
    the request body as Odoo requires and is never logged or put into an error message.
    """

    def __init__(
        self,
        base_url: str,
        *,
        db: str,
        login: str,
        secret: SecretStr,
        timeout: float = 30.0,
    ) -> None:
        self.db = db
        self.login = login
        self._secret = secret
        self._http = kit_http.client(
            base_url.rstrip("/"),
            headers={"User-Agent": "handoff-odoo-connector"},
            timeout=timeout,
        )
        self._ids = itertools.count(1)
        self.uid: int | None = None

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OdooClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, service: str, method: str, args: Sequence[Any]) -> Any:
        """One JSON-RPC call; returns ``result`` or raises the kit's error."""
        where = f"{service}.{method}" if service != "object" else f"{args[3]}.{args[4]}"
        body = orjson.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": list(args)},
                "id": next(self._ids),
            }
        )
        try:
            response = await self._http.post(
                "/jsonrpc", content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise OdooRetriableError(f"{where}: Odoo did not answer in time") from exc
        except httpx.TransportError as exc:
            raise OdooRetriableError(f"{where}: cannot reach Odoo: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise OdooFatalError(
                f"{where}: {response.request.url} answered 404: not an Odoo JSON-RPC endpoint"
            )
        try:
            kit_http.check(response)
        except RetriableError as exc:
            raise OdooRetriableError(f"{where}: {exc}", retry_after=exc.retry_after) from exc
        except FatalError as exc:
            raise OdooFatalError(f"{where}: {exc}") from exc
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise OdooRetriableError(
                f"{where}: Odoo answered with a body that is not JSON"
            ) from exc
        if not isinstance(payload, dict):
            raise OdooRetriableError(
                f"{where}: Odoo answered with a JSON-RPC body of the wrong shape"
            )
        if payload.get("error") is not None:
            raise server_error(payload["error"], where)
        return payload.get("result")

    async def version(self) -> dict[str, Any]:
        result = await self.call("common", "version", [])
        return dict(result) if isinstance(result, dict) else {}

    async def authenticate(self) -> int:
        """``common.authenticate``: the uid, or :class:`OdooFatalError` on bad credentials."""
        uid = await self.call(
            "common",
            "authenticate",
            [self.db, self.login, self._secret.get_secret_value(), {}],
        )
        if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
            raise OdooFatalError(
                f"Odoo rejected the login {self.login!r} on database {self.db!r}: "
                "wrong login, password or API key (or the key expired)"
            )
        self.uid = uid
        return uid

    async def execute_kw(
        self,
        model: str,
        method: str,
        args: Sequence[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """``object.execute_kw``; logs in first, and once more if Odoo denies access (a
        changed password then surfaces as a clear login failure)."""
        if self.uid is None:
            await self.authenticate()
        try:
            return await self._execute_kw(model, method, args, kwargs)
        except OdooFatalError as exc:
            if "AccessDenied" not in str(exc):
                raise
            await self.authenticate()
            return await self._execute_kw(model, method, args, kwargs)

    async def _execute_kw(
        self, model: str, method: str, args: Sequence[Any], kwargs: dict[str, Any] | None
    ) -> Any:
        return await self.call(
            "object",
            "execute_kw",
            [
                self.db,
                self.uid,
                self._secret.get_secret_value(),
                model,
                method,
                list(args),
                kwargs or {},
            ],
        )

    async def search_read(
        self,
        model: str,
        domain: Sequence[Any],
        fields: Sequence[str],
        *,
        order: str,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"fields": list(fields), "order": order, "offset": offset}
        if limit:
            kwargs["limit"] = limit
        rows = await self.execute_kw(model, "search_read", [list(domain)], kwargs)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise OdooRetriableError(f"{model}.search_read answered something that is not a list")
        return rows


__all__ = ["FATAL_EXCEPTIONS", "OdooClient", "OdooFatalError", "OdooRetriableError", "server_error"]

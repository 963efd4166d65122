"""HTTP routes of the connectors service: inbound webhooks and the instance list."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.kit.errors import BadRecordError
from connectors.kit.host import ConnectorHost
from connectors.kit.webhook import DeliveryLog, SignatureError, WebhookSource
from hub.runtime.errors import shown
from hub.runtime.metrics import HubMetrics

log = logging.getLogger(__name__)

#: Media types a webhook source accepts unless it declares ``content_types`` (a tuple).
JSON_TYPES = ("application/json",)
#: How long a delivery waits for the broker's acknowledgement before the answer is 503 (the
#: vendor retries); a source may declare its own ``publish_timeout_seconds``.
PUBLISH_TIMEOUT_SECONDS = 10.0


class _TooLarge(Exception):  # noqa: N818 - internal control flow
    pass


def _reply(code: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=code)


async def _read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _after_identical(
    deliveries: DeliveryLog, delivery: str, deadline: float
) -> JSONResponse | None:
    """The answer when ``delivery`` was accepted already, or once the identical delivery in
    flight is; ``None`` when this request is to publish it (the first, or a retry after the
    identical one failed)."""
    loop = asyncio.get_running_loop()
    while True:
        if delivery in deliveries:
            return _reply(202, status="duplicate", delivery_id=delivery)
        earlier = deliveries.in_flight(delivery)
        if earlier is None:
            return None
        try:
            await asyncio.wait_for(asyncio.shield(earlier), deadline - loop.time())
        except TimeoutError:
            return _reply(503, error="unavailable", detail="TimeoutError: not stored")


def connector_routes(host: ConnectorHost, metrics: HubMetrics | None = None) -> APIRouter:
    router = APIRouter(tags=["connectors"])

    def reject(name: str, reason: str, status: int, message: str) -> JSONResponse:
        if metrics is not None:
            metrics.webhook_rejections.labels(connector=name, reason=reason).inc()
        return _reply(status, error=reason, detail=message)

    @router.get("/v1/connectors")
    async def list_connectors() -> dict[str, Any]:
        """Configured connector instances with their state, reason and cursors."""
        return {"connectors": host.statuses()}

    @router.post("/v1/webhooks/{connector}", status_code=202)
    async def webhook(  # noqa: PLR0911 - one early answer per rejection reason
        connector: str, request: Request
    ) -> JSONResponse:
        """Inbound webhook: verified, de-duplicated, 202 once durably on its raw topic."""
        runner = host.webhook(connector)
        if runner is None:
            return _reply(404, error="unknown_connector", detail=f"no webhook {shown(connector)}")
        source = runner.source
        assert isinstance(source, WebhookSource)  # noqa: S101 - host.webhook checked it
        try:
            body = await _read_capped(request, source.max_body_bytes)
        except _TooLarge:
            return reject(
                connector, "too_large", 413, f"body larger than {source.max_body_bytes} bytes"
            )
        headers = dict(request.headers)
        uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            source.signature.verify(source.secret(), request.method, uri, body, headers)
        except SignatureError as exc:
            return reject(connector, exc.reason, 401, str(exc))
        # a declared media type the vendor does not send is a body the vendor does not send:
        # the contract's 400 (no Content-Type at all: let through, the body decides); asked
        # only of a signed request, so that a bad signature is 401 whatever else is wrong
        accepted = getattr(source, "content_types", JSON_TYPES)
        declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if declared and declared not in accepted:
            return reject(
                connector,
                "content_type",
                400,
                f"content type {shown(declared)}; expected {', '.join(accepted)}",
            )
        if not runner.takes_webhooks:
            return _reply(503, error="not_ready", detail=f"connector is {runner.status.state}")
        try:
            delivery = source.delivery_id(headers, body)
        except BadRecordError as exc:
            return reject(connector, "bad_body", 400, str(exc))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + getattr(source, "publish_timeout_seconds", PUBLISH_TIMEOUT_SECONDS)
        answered = await _after_identical(runner.deliveries, delivery, deadline)
        if answered is not None:
            return answered
        runner.deliveries.begin(delivery)
        stored = False
        try:
            count = await asyncio.wait_for(
                runner.accept_webhook(body, headers, delivery), deadline - loop.time()
            )
            stored = True
        except BadRecordError as exc:
            return reject(connector, "bad_body", 400, str(exc))
        except Exception as exc:
            log.exception("webhook %s could not be published", connector)
            return _reply(503, error="unavailable", detail=f"{type(exc).__name__}: not stored")
        finally:
            if not stored:  # the vendor's retry must be taken, not answered "duplicate"
                runner.deliveries.abandon(delivery)
        return _reply(202, status="accepted", delivery_id=delivery, events=count)

    return router


__all__ = ["connector_routes"]

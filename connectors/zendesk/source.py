"""The Zendesk source: the cursor-based incremental ticket export, woken by webhooks.

One source object per instance is both a polling source (stream ``ticket``) and a webhook
source (``POST /v1/webhooks/<instance>``):

* **Export.** The kit calls :meth:`ZendeskSource.read` every ``poll_interval_seconds``. It
  exports only when a webhook said a ticket changed (once the change is older than
  ``export_lag_seconds``: Zendesk leaves the last minute out of the export) or
  ``export_interval_seconds`` passed since the last export read to the end; otherwise it
  returns at once without an API call (Zendesk allows 10 export requests a minute).
  An export asks for ``start_time`` (first run: ``settings.start_time``, else 0) or the stored
  cursor, with ``include=users,organizations,metric_sets``, and follows ``after_cursor``
  until ``end_of_stream``. Each ticket is published to ``raw.<instance>.ticket`` with its
  requester, organization and metric set (from the side-loads) and the instance's mapping
  settings under ``_handoff``, so the translator needs nothing else.
* **Webhooks.** Zendesk event webhooks (``zen:event-type:*``) are verified
  (``X-Zendesk-Webhook-Signature`` over timestamp + body, timestamp within
  ``webhook_tolerance_seconds``), de-duplicated by ``X-Zendesk-Webhook-Invocation-Id`` (the
  same on Zendesk's retries; without it, by the event ``id`` in the body), published as
  sent to ``raw.<instance>.webhook_event`` (revision: the event ``id``, so a retry after a
  restart is the same raw event), and a ticket event marks the export due.

Checkpoint (the kit stores it once a page is acknowledged): ``cursor=<after_cursor>`` after
the last ticket of a Zendesk page, or ``<request>&after=<generated_timestamp>.<id>`` inside
one (``<request>`` is ``cursor=<c>`` or ``start_time=<t>``, the request that returned the
page): on resume the page is requested again and tickets at or before that position are
skipped. Positions are ``(generated_timestamp, id)``, the order Zendesk's cursor follows, so a
ticket changed in the meantime has moved to a later position and is not skipped. With
``end_of_stream`` the stored ``after_cursor`` is kept and polled again later.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import orjson

from connectors.kit.errors import BadRecordError, FatalError, RetriableError
from connectors.kit.polling import PollingSource
from connectors.kit.source import BadRecord, Record, SourceContext
from connectors.kit.webhook import WebhookSource
from connectors.zendesk.client import ZendeskClient, basic_token_auth
from connectors.zendesk.settings import ZendeskSettings
from connectors.zendesk.signature import INVOCATION_HEADER, ZendeskSignature
from connectors.zendesk.translate import MAPPING_KEY

Position = tuple[int, int]


class ExportCursor:
    """The stored checkpoint: the request to repeat and the position already published."""

    def __init__(
        self, *, cursor: str | None = None, start_time: int = 0, after: Position | None = None
    ) -> None:
        self.cursor = cursor
        self.start_time = start_time
        self.after = after

    @classmethod
    def decode(cls, text: str | None, default_start: int = 0) -> ExportCursor:
        if not text:
            return cls(start_time=default_start)
        fields = dict(parse_qsl(text, keep_blank_values=True))
        after = None
        if "after" in fields:
            stamp, _, ticket = fields["after"].partition(".")
            try:
                after = (int(stamp), int(ticket))
            except ValueError:
                raise FatalError(
                    f"stored cursor {text!r} is not one this connector wrote"
                ) from None
        if fields.get("cursor"):
            return cls(cursor=fields["cursor"], after=after)
        try:
            return cls(start_time=int(fields.get("start_time", "")), after=after)
        except ValueError:
            raise FatalError(f"stored cursor {text!r} is not one this connector wrote") from None

    def request(self) -> str:
        if self.cursor is not None:
            return urlencode({"cursor": self.cursor})
        return urlencode({"start_time": self.start_time})

    def at(self, position: Position) -> str:
        return f"{self.request()}&after={position[0]}.{position[1]}"


def ticket_position(ticket: Mapping[str, Any]) -> Position | None:
    """``(generated_timestamp, id)`` of a ticket (``updated_at`` when the export has no
    ``generated_timestamp``); ``None`` if it has neither."""
    ticket_id = ticket.get("id")
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
        return None
    stamp = ticket.get("generated_timestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return stamp, ticket_id
    updated = parse_time(ticket.get("updated_at"))
    return (int(updated.timestamp()), ticket_id) if updated else None


class ZendeskSource(PollingSource[ZendeskSettings], WebhookSource[ZendeskSettings]):
    """Tickets from Zendesk Support (see the module docstring)."""

    entities: ClassVar[tuple[str, ...]] = ("ticket", "webhook_event")
    signature: ZendeskSignature = ZendeskSignature()
    secret_field: ClassVar[str] = "webhook_signing_secret"  # noqa: S105 - a field name
    max_body_bytes: ClassVar[int] = 1024 * 1024

    def __init__(self, settings: ZendeskSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.signature = ZendeskSignature(tolerance_seconds=settings.webhook_tolerance_seconds)
        self.client: ZendeskClient | None = None
        self._last_export: float | None = None
        #: newest webhook event time (Unix seconds) no export has covered yet
        self._changed: float | None = None
        self._refused = secrets.token_hex(32)

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        settings = self.settings
        if settings.oauth_token is not None:
            authorization = "Bearer " + settings.oauth_token.get_secret_value()
        else:
            assert settings.api_token is not None  # noqa: S101 - the settings validated it
            assert settings.email  # noqa: S101 - the settings validated it
            authorization = basic_token_auth(settings.email, settings.api_token.get_secret_value())
        self.client = ZendeskClient(
            settings.base_url, authorization, timeout=settings.timeout_seconds
        )

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    # -- export ------------------------------------------------------------------------------

    def streams(self) -> tuple[str, ...]:
        return ("ticket",)

    def mark_changed(self, moment: float) -> None:
        """A webhook says a ticket changed at ``moment``: export once the export has it."""
        self._changed = max(self._changed or 0.0, moment)

    def export_due(self, now: float) -> bool:
        if self._changed is not None and self._changed <= now - self.settings.export_lag_seconds:
            return True
        last = self._last_export
        return last is None or now - last >= self.settings.export_interval_seconds

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        if stream != "ticket":
            raise FatalError(f"unknown stream {stream!r}; streams are {self.streams()}")
        client = self.client
        if client is None:
            raise FatalError("the Zendesk source was not opened")
        now = time.time()
        if not self.export_due(now):
            return
        position = ExportCursor.decode(cursor, self.settings.start_unix())
        if position.cursor is None:  # Zendesk refuses a start_time within its export lag
            position.start_time = min(
                position.start_time, int(now - self.settings.export_lag_seconds)
            )
        mapping = self.settings.mapping()
        while True:
            page = await client.export_page(
                cursor=position.cursor,
                start_time=position.start_time,
                per_page=self.settings.per_page,
            )
            last_index = len(page.tickets) - 1
            for index, ticket in enumerate(page.tickets):
                where = ticket_position(ticket) if isinstance(ticket, Mapping) else None
                if where is not None and position.after is not None and where <= position.after:
                    continue  # published before a restart, inside this page
                at_end = index == last_index and page.after_cursor is not None
                next_cursor = (
                    urlencode({"cursor": page.after_cursor})
                    if at_end
                    else (position.at(where) if where is not None else None)
                )
                yield self._record(
                    ticket,
                    where=where,
                    cursor=next_cursor,
                    users=page.users,
                    organizations=page.organizations,
                    metric_sets=page.metric_sets,
                    mapping=mapping,
                )
            if page.end_of_stream:
                break
            if not page.after_cursor:
                raise RetriableError("the export answered end_of_stream false without after_cursor")
            position = ExportCursor(cursor=page.after_cursor)
        # Only an export read to the end counts: after an error the next call exports again.
        self._last_export = now
        if self._changed is not None and self._changed <= now - self.settings.export_lag_seconds:
            self._changed = None

    def _record(
        self,
        ticket: Any,
        *,
        where: Position | None,
        cursor: str | None,
        users: Mapping[int, Mapping[str, Any]],
        organizations: Mapping[int, Mapping[str, Any]],
        metric_sets: Mapping[int, Mapping[str, Any]],
        mapping: Mapping[str, Any],
    ) -> Record | BadRecord:
        if not isinstance(ticket, Mapping):
            return BadRecord(raw=orjson.dumps(ticket), reason="export item is not an object")
        updated = parse_time(ticket.get("updated_at"))
        if where is None or updated is None:
            return BadRecord(
                raw=orjson.dumps(ticket),
                reason="ticket without an integer id or a readable updated_at",
                cursor=cursor,
                id=str(ticket.get("id")) if ticket.get("id") is not None else None,
            )
        requester = users.get(ticket.get("requester_id"))  # type: ignore[arg-type]
        org_id = ticket.get("organization_id")
        if org_id is None and requester is not None:
            org_id = requester.get("organization_id")
        organization = organizations.get(org_id) if isinstance(org_id, int) else None
        metric_set = metric_sets.get(where[1])
        return Record(
            id=str(where[1]),
            revision=f"{ticket.get('updated_at')}#{where[0]}",
            time=updated,
            data={
                **ticket,
                MAPPING_KEY: {
                    **mapping,
                    "requester": dict(requester) if requester is not None else None,
                    "organization": dict(organization) if organization is not None else None,
                    "metric_set": dict(metric_set) if metric_set is not None else None,
                },
            },
            cursor=cursor,
        )

    # -- webhooks ----------------------------------------------------------------------------

    def secret(self) -> bytes:
        value = self.settings.webhook_signing_secret
        if value is None or not value.get_secret_value():
            # No signing secret configured: a key nobody knows, so every signature fails.
            return self._refused.encode()
        return value.get_secret_value().encode()

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        lower = {k.lower(): v for k, v in headers.items()}
        invocation = lower.get(INVOCATION_HEADER.lower(), "").strip()
        if invocation:
            return f"zendesk-invocation-{invocation}"
        event_id = _event(body).get("id")
        if not isinstance(event_id, str) or not event_id:
            raise BadRecordError("no X-Zendesk-Webhook-Invocation-Id and no event id in the body")
        return "zendesk-event-" + hashlib.sha256(event_id.encode()).hexdigest()[:40]

    def parse(self, body: bytes, headers: Mapping[str, str], delivery_id: str) -> Sequence[Record]:
        event = _event(body)
        kind, event_id, subject = event.get("type"), event.get("id"), event.get("subject")
        if not isinstance(kind, str) or not kind.startswith("zen:event-type:"):
            raise BadRecordError(f"type is {kind!r}, not a Zendesk event type")
        if not isinstance(event_id, str) or not event_id:
            raise BadRecordError("the event has no id")
        if not isinstance(subject, str) or not subject.startswith("zen:") or subject.count(":") < 2:
            raise BadRecordError(f"subject is {subject!r}, not zen:<kind>:<id>")
        moment = parse_time(event.get("time"))
        if moment is None:
            raise BadRecordError(f"time {event.get('time')!r} is not an ISO 8601 time")
        _, what, object_id = subject.split(":", 2)
        if what == "ticket":
            self.mark_changed(moment.timestamp())
        return [
            Record(
                id=object_id if what == "ticket" else f"{what}/{object_id}",
                revision=event_id,
                time=moment,
                data=event,
                entity="webhook_event",
            )
        ]


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRecordError(f"body is not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise BadRecordError("body is not a JSON object (a Zendesk event)")
    return event


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["ExportCursor", "ZendeskSource", "parse_time", "ticket_position"]

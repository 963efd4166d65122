"""A local Zendesk Support: the documented subset this connector uses, held in memory.

Tests and the demo company start it on a loopback port (the kit's :class:`EmulatorServer`),
seed it through a small Python API and point the connector's ``base_url`` at it::

    desk = ZendeskEmulator(api_tokens={"agent@acme.example": "tok"})
    desk.set_webhook_target("http://127.0.0.1:8080/v1/webhooks/zendesk", signing_secret="s3")
    org = desk.add_organization("Muster GmbH", domain_names=["muster.de"],
                                organization_fields={"erp_customer_number": "10042"})
    jana = desk.add_user("Jana Weber", "Jana.Weber@muster.de", organization_id=org)
    ticket = desk.open_ticket(jana, "Where is S00042?", "The desk has not arrived.")
    desk.comment(ticket, "We are checking with the carrier.", author_id=None)
    desk.set_priority(ticket, "urgent")
    desk.add_tag(ticket, "complaint")
    desk.solve(ticket)
    async with EmulatorServer(desk) as base_url:
        await desk.deliver_webhooks()        # POST the queued, signed event webhooks

Every ticket mutation sets ``updated_at`` and ``generated_timestamp`` to the clock's current
second and, with ``webhook=True`` (the default) and a webhook target set, queues the
Zendesk event webhook (``zen:event-type:ticket.*``) Zendesk would send.

Behaviour copied from Zendesk (doc links in :mod:`connectors.zendesk`):

* ``GET /api/v2/incremental/tickets/cursor.json`` with ``start_time`` or ``cursor``,
  ``per_page`` (default and maximum 1000), ``include=users,organizations,metric_sets``
  side-loads and ``exclude_deleted``. Tickets are ordered by ``(generated_timestamp, id)``;
  the cursor encodes the position of the last ticket returned (base64 of ``<ts>.0||<id>|``,
  the shape of Zendesk's own cursors), so a ticket changed after it was exported appears
  again in a later page, as with Zendesk. ``end_of_stream`` is true when nothing newer is left; the
  ``after_cursor`` is returned on every page (also the last) and is what to poll with next.
* Each ticket's metric set (``metric_sets``: ``reopens``, ``replies``, ``solved_at``,
  ``assigned_at``, ``initially_assigned_at``, ``status_updated_at``,
  ``latest_comment_added_at``), kept as Zendesk does: a solved ticket set back to new, open,
  pending or on hold counts one reopen, and ``solved_at`` is the latest solve. As Zendesk's
  default triggers do, an agent's comment opens a new ticket and the requester's public
  reply reopens a pending or solved one.
* Changes within the last ``export_lag_seconds`` (Zendesk: one minute) are left out of the
  export, and a ``start_time`` newer than that is refused with 400.
* Basic authentication ``<email>/token:<api token>`` or ``Authorization: Bearer <oauth
  token>``; 401 ``{"error": "Couldn't authenticate you"}`` otherwise, and 401
  ``{"error": "invalid_token", ...}`` for an expired OAuth token.
* 429 with ``Retry-After`` while told to rate-limit (:meth:`rate_limit`), or when more than
  ``requests_per_minute`` export requests arrive within a minute (Zendesk: 10).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.kit.emulator_server import EmulatorServer
from connectors.zendesk.signature import (
    ACCOUNT_HEADER,
    INVOCATION_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_ID_HEADER,
    iso_timestamp,
    sign,
)

EXPORT_PATHS = ("/api/v2/incremental/tickets/cursor.json", "/api/v2/incremental/tickets/cursor")
MAX_PER_PAGE = 1000
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
UNAUTHENTICATED = {"error": "Couldn't authenticate you"}
EXPIRED = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid "
    "for other reasons.",
}
RATE_LIMITED = {
    "error": "APIRateLimitExceeded",
    "description": "Number of allowed incremental export API requests per minute exceeded",
}


def _now() -> datetime:
    return datetime.now(UTC)


def encode_cursor(timestamp: int, ticket_id: int) -> str:
    """A cursor after ``(timestamp, ticket_id)``, shaped like Zendesk's."""
    return base64.b64encode(f"{timestamp}.0||{ticket_id}|".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        stamp, _, rest = text.partition("||")
        return int(float(stamp)), int(rest.rstrip("|"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@dataclass
class WebhookTarget:
    url: str
    signing_secret: str
    webhook_id: str


@dataclass
class Delivery:
    """One webhook request the emulator made (``status`` 0: no answer)."""

    status: int
    event: dict[str, Any]
    headers: dict[str, str]
    invocation_id: str


@dataclass
class _Pending:
    event: dict[str, Any]
    invocation_id: str
    attempts: int = 0


@dataclass
class _RateLimit:
    remaining: int
    retry_after: int


@dataclass
class ZendeskError(Exception):
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class ZendeskEmulator:
    """In-memory tickets, users and organizations behind Zendesk's export API."""

    def __init__(
        self,
        *,
        api_tokens: Mapping[str, str] | None = None,
        oauth_tokens: Iterable[str] = (),
        clock: Callable[[], datetime] = _now,
        export_lag_seconds: float = 60.0,
        requests_per_minute: int | None = None,
        account_id: int = 12514403,
        subdomain: str = "acme",
    ) -> None:
        self.api_tokens: dict[str, str] = dict(api_tokens or {})
        self.oauth_tokens: dict[str, bool] = {token: True for token in oauth_tokens}
        self.clock = clock
        self.export_lag_seconds = export_lag_seconds
        self.requests_per_minute = requests_per_minute
        self.account_id = account_id
        self.subdomain = subdomain
        self.tickets: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}
        #: ticket id -> its metric set (the ``metric_sets`` side-load)
        self.metric_sets: dict[int, dict[str, Any]] = {}
        self.webhook_target: WebhookTarget | None = None
        self.pending: list[_Pending] = []
        self.deliveries: list[Delivery] = []
        self.requests: list[dict[str, str]] = []  # query of each export request, bounded
        self._ids = itertools.count(35436)
        self._metric_ids = itertools.count(18_200_000)
        self._limit: _RateLimit | None = None
        self._recent: list[float] = []
        self.app = Starlette(
            routes=[Route(path, self._export, methods=["GET"]) for path in EXPORT_PATHS]
        )

    # ------------------------------------------------------------------ control and seeding

    def add_api_token(self, email: str, token: str) -> None:
        self.api_tokens[email] = token

    def add_oauth_token(self, token: str) -> None:
        self.oauth_tokens[token] = True

    def expire_oauth_token(self, token: str) -> None:
        self.oauth_tokens[token] = False

    def rate_limit(self, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` export requests with 429 and ``Retry-After``."""
        self._limit = _RateLimit(times, retry_after)

    def set_webhook_target(
        self, url: str, *, signing_secret: str, webhook_id: str = "01F1KRFQ6BG29CNWFR60NK5FNY"
    ) -> None:
        self.webhook_target = WebhookTarget(url, signing_secret, webhook_id)

    def add_organization(
        self,
        name: str,
        *,
        domain_names: Sequence[str] = (),
        organization_fields: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        tags: Sequence[str] = (),
    ) -> int:
        org_id = next(self._ids)
        stamp = self._stamp()
        self.organizations[org_id] = {
            "id": org_id,
            "url": f"{self._api()}/organizations/{org_id}.json",
            "name": name,
            "domain_names": list(domain_names),
            "external_id": external_id,
            "details": "",
            "notes": "",
            "group_id": None,
            "shared_tickets": False,
            "shared_comments": False,
            "tags": list(tags),
            "organization_fields": dict(organization_fields or {}),
            "created_at": stamp,
            "updated_at": stamp,
        }
        return org_id

    def add_user(
        self,
        name: str,
        email: str | None,
        *,
        organization_id: int | None = None,
        role: str = "end-user",
        phone: str | None = None,
        external_id: str | None = None,
    ) -> int:
        user_id = next(self._ids)
        stamp = self._stamp()
        self.users[user_id] = {
            "id": user_id,
            "url": f"{self._api()}/users/{user_id}.json",
            "name": name,
            "email": email,
            "phone": phone,
            "external_id": external_id,
            "organization_id": organization_id,
            "role": role,
            "active": True,
            "verified": True,
            "locale": "en-US",
            "time_zone": "Europe/Berlin",
            "tags": [],
            "user_fields": {},
            "created_at": stamp,
            "updated_at": stamp,
        }
        return user_id

    def open_ticket(
        self,
        requester_id: int,
        subject: str,
        description: str,
        *,
        priority: str | None = None,
        ticket_type: str | None = None,
        tags: Sequence[str] = (),
        custom_fields: Mapping[int, Any] | None = None,
        channel: str = "web",
        assignee_id: int | None = None,
        group_id: int | None = None,
        webhook: bool = True,
    ) -> int:
        requester = self.users[requester_id]
        ticket_id = next(self._ids)
        moment = self.clock()
        stamp = iso_timestamp(moment)
        ticket = {
            "id": ticket_id,
            "url": f"{self._api()}/tickets/{ticket_id}.json",
            "external_id": None,
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": stamp,
            "updated_at": stamp,
            "generated_timestamp": int(moment.timestamp()),
            "type": ticket_type,
            "subject": subject,
            "raw_subject": subject,
            "description": description,
            "priority": _check(priority, PRIORITIES, "priority") if priority else None,
            "status": "new" if assignee_id is None else "open",
            "recipient": f"support@{self.subdomain}.zendesk.com",
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": assignee_id,
            "organization_id": requester.get("organization_id"),
            "group_id": group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(dict.fromkeys(tags)),
            "custom_fields": [
                {"id": field_id, "value": value}
                for field_id, value in sorted((custom_fields or {}).items())
            ],
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "custom_status_id": None,
            "fields": [],
            "followup_ids": [],
            "ticket_form_id": None,
            "brand_id": None,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": False,
        }
        ticket["fields"] = ticket["custom_fields"]
        self.tickets[ticket_id] = ticket
        self.metric_sets[ticket_id] = {
            "id": next(self._metric_ids),
            "ticket_id": ticket_id,
            "url": f"{self._api()}/ticket_metrics/{ticket_id}.json",
            "reopens": 0,
            "replies": 0,
            "assigned_at": stamp if assignee_id is not None else None,
            "initially_assigned_at": stamp if assignee_id is not None else None,
            "solved_at": None,
            "status_updated_at": stamp,
            "latest_comment_added_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.comments[ticket_id] = [
            {
                "id": next(self._ids),
                "author_id": requester_id,
                "body": description,
                "public": True,
                "created_at": stamp,
            }
        ]
        if webhook:
            self._emit(ticket, "ticket.created", {"meta": self._meta()})
        return ticket_id

    def comment(
        self,
        ticket_id: int,
        body: str,
        *,
        author_id: int | None = None,
        public: bool = True,
        webhook: bool = True,
    ) -> None:
        ticket = self._ticket(ticket_id)
        self._touch(ticket)
        self.comments[ticket_id].append(
            {
                "id": next(self._ids),
                "author_id": author_id,
                "body": body,
                "public": public,
                "created_at": ticket["updated_at"],
            }
        )
        metrics = self.metric_sets[ticket_id]
        metrics["latest_comment_added_at"] = ticket["updated_at"]
        by_requester = author_id == ticket["requester_id"]
        if public and not by_requester:
            metrics["replies"] += 1
        # an agent's answer opens a new ticket; the requester's reply reopens a pending or
        # solved one (Zendesk's default triggers)
        previous = ticket["status"]
        if (previous == "new" and not by_requester) or (
            previous in ("pending", "solved") and by_requester and public
        ):
            ticket["status"] = "open"
            self._status_metrics(ticket, previous, "open")
        if webhook:
            comment = {
                "id": str(self.comments[ticket_id][-1]["id"]),
                "body": body,
                "is_public": public,
                "author": {"id": str(author_id or 0)},
            }
            self._emit(ticket, "ticket.comment_added", {"comment": comment, "meta": self._meta()})

    def set_priority(self, ticket_id: int, priority: str, *, webhook: bool = True) -> None:
        self._change(ticket_id, "priority", _check(priority, PRIORITIES, "priority"), webhook)

    def set_status(self, ticket_id: int, status: str, *, webhook: bool = True) -> None:
        self._change(ticket_id, "status", _check(status, STATUSES, "status"), webhook)

    def solve(self, ticket_id: int, *, webhook: bool = True) -> None:
        self.set_status(ticket_id, "solved", webhook=webhook)

    def close(self, ticket_id: int, *, webhook: bool = True) -> None:
        self.set_status(ticket_id, "closed", webhook=webhook)

    def assign(self, ticket_id: int, assignee_id: int, *, webhook: bool = True) -> None:
        ticket = self._ticket(ticket_id)
        if ticket["status"] == "new":
            ticket["status"] = "open"
        self._change(ticket_id, "assignee_id", assignee_id, webhook)
        metrics = self.metric_sets[ticket_id]
        metrics["assigned_at"] = ticket["updated_at"]
        metrics["initially_assigned_at"] = metrics["initially_assigned_at"] or ticket["updated_at"]

    def add_tag(self, ticket_id: int, tag: str, *, webhook: bool = True) -> None:
        ticket = self._ticket(ticket_id)
        if tag in ticket["tags"]:
            return
        self._touch(ticket)
        ticket["tags"] = [*ticket["tags"], tag]
        if webhook:
            event = {"tags_added": [tag], "tags_removed": [], "meta": self._meta()}
            self._emit(ticket, "ticket.tags_changed", event)

    def set_custom_field(
        self, ticket_id: int, field_id: int, value: Any, *, webhook: bool = True
    ) -> None:
        ticket = self._ticket(ticket_id)
        self._touch(ticket)
        fields = {f["id"]: f["value"] for f in ticket["custom_fields"]}
        previous = fields.get(field_id)
        fields[field_id] = value
        ticket["custom_fields"] = [{"id": k, "value": v} for k, v in sorted(fields.items())]
        ticket["fields"] = ticket["custom_fields"]
        if webhook:
            event = {
                "custom_field": {"id": str(field_id)},
                "current": value,
                "previous": previous,
                "meta": self._meta(),
            }
            self._emit(ticket, "ticket.custom_field_changed", event)

    def rate_satisfaction(self, ticket_id: int, score: str, comment: str = "") -> None:
        ticket = self._ticket(ticket_id)
        self._touch(ticket)
        ticket["satisfaction_rating"] = {"id": next(self._ids), "score": score, "comment": comment}

    def delete_ticket(self, ticket_id: int, *, webhook: bool = True) -> None:
        self._change(ticket_id, "status", "deleted", webhook, event_type="ticket.soft_deleted")

    # ---------------------------------------------------------------------------- webhooks

    async def deliver_webhooks(self, *, http: httpx.AsyncClient | None = None) -> list[Delivery]:
        """POST every queued event (one request each, as Zendesk does), signed now.

        2xx and 4xx other than 409/429 end an invocation; 409, 429, 5xx and network errors
        keep it queued with the same ``X-Zendesk-Webhook-Invocation-Id`` for the next call.
        """
        if self.webhook_target is None or not self.pending:
            return []
        queue, self.pending = self.pending, []
        done: list[Delivery] = []
        owns = http is None
        client = http or httpx.AsyncClient(timeout=12.0)
        try:
            for item in queue:
                delivery = await self.send(
                    item.event, http=client, invocation_id=item.invocation_id
                )
                item.attempts += 1
                done.append(delivery)
                if delivery.status in (0, 409, 429) or delivery.status >= 500:
                    self.pending.append(item)
        finally:
            if owns:
                await client.aclose()
        return done

    async def deliver_forever(
        self, interval: float = 0.5, *, http: httpx.AsyncClient | None = None
    ) -> None:
        """Deliver queued events every ``interval`` seconds until cancelled (demo company:
        ``asyncio.create_task(desk.deliver_forever())`` after :meth:`set_webhook_target`)."""
        client = http or httpx.AsyncClient(timeout=12.0)
        try:
            while True:
                await self.deliver_webhooks(http=client)
                await asyncio.sleep(interval)
        finally:
            if http is None:
                await client.aclose()

    async def send(
        self,
        event: Mapping[str, Any],
        *,
        http: httpx.AsyncClient,
        invocation_id: str | None = None,
        timestamp: str | None = None,
        signature: str | None = None,
        body: bytes | None = None,
    ) -> Delivery:
        """Sign and POST one event; ``timestamp``/``signature``/``body`` override for tests
        of stale, forged or tampered requests. Status 0 means no answer."""
        target = self.webhook_target
        if target is None:
            raise RuntimeError("no webhook target: call set_webhook_target first")
        payload = body if body is not None else orjson.dumps(dict(event))
        stamp = timestamp if timestamp is not None else iso_timestamp(_now())
        invocation = invocation_id or str(next(self._ids) * 1000 + 7)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zendesk Webhook",
            ACCOUNT_HEADER: str(self.account_id),
            WEBHOOK_ID_HEADER: target.webhook_id,
            INVOCATION_HEADER: invocation,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature or sign(target.signing_secret, stamp, payload),
        }
        try:
            response = await http.post(target.url, content=payload, headers=headers)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        delivery = Delivery(status, dict(event), headers, invocation)
        self.deliveries.append(delivery)
        del self.deliveries[:-1000]
        return delivery

    # ------------------------------------------------------------------------- the export

    def export(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The export answer for ``params`` (raises :class:`ZendeskError`)."""
        per_page = self._per_page(params.get("per_page"))
        horizon = int(self.clock().timestamp() - self.export_lag_seconds)
        if params.get("cursor"):
            position = decode_cursor(params["cursor"])
            if position is None:
                raise ZendeskError(
                    400, {"error": "InvalidPaginationParameter", "description": "cursor is invalid"}
                )
        elif params.get("start_time") is not None:
            try:
                start = int(params["start_time"])
            except ValueError:
                raise ZendeskError(
                    400, {"error": "InvalidValue", "description": "start_time must be an integer"}
                ) from None
            if self.export_lag_seconds and start > horizon:
                raise ZendeskError(
                    400,
                    {
                        "error": "InvalidValue",
                        "description": "Too recent start_time. "
                        "Use a start_time older than 1 minute",
                    },
                )
            position = (start, 0)
        else:
            raise ZendeskError(
                400, {"error": "InvalidValue", "description": "start_time or cursor is required"}
            )
        exclude_deleted = params.get("exclude_deleted", "").lower() == "true"
        candidates = sorted(
            (
                t
                for t in self.tickets.values()
                if (t["generated_timestamp"], t["id"]) > position
                and t["generated_timestamp"] <= horizon
                and not (exclude_deleted and t["status"] == "deleted")
            ),
            key=lambda t: (t["generated_timestamp"], t["id"]),
        )
        page = candidates[:per_page]
        last = (page[-1]["generated_timestamp"], page[-1]["id"]) if page else position
        after = encode_cursor(*last)
        body: dict[str, Any] = {
            "tickets": [orjson.loads(orjson.dumps(t)) for t in page],
            "after_url": f"{self._api()}/incremental/tickets/cursor.json?cursor={after}",
            "after_cursor": after,
            "before_url": None,
            "before_cursor": None,
            "end_of_stream": len(candidates) <= per_page,
        }
        includes = {part.strip() for part in params.get("include", "").split(",") if part}
        if "users" in includes:
            ids = sorted(
                {
                    uid
                    for t in page
                    for uid in (t["requester_id"], t["submitter_id"], t["assignee_id"])
                    if uid in self.users
                }
            )
            body["users"] = [dict(self.users[i]) for i in ids]
        if "organizations" in includes:
            ids = sorted(
                {t["organization_id"] for t in page if t["organization_id"] in self.organizations}
            )
            body["organizations"] = [dict(self.organizations[i]) for i in ids]
        if "metric_sets" in includes:
            body["metric_sets"] = [dict(self.metric_sets[t["id"]]) for t in page]
        return body

    async def _export(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.requests.append(params)
        del self.requests[:-1000]
        try:
            self._authenticate(request.headers.get("authorization", ""))
            self._throttle()
            return _json(200, self.export(params))
        except ZendeskError as exc:
            return _json(exc.status, exc.body, exc.headers)

    def _authenticate(self, header: str) -> None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            state = self.oauth_tokens.get(value.strip())
            if state is None:
                raise ZendeskError(401, dict(UNAUTHENTICATED))
            if not state:
                raise ZendeskError(401, dict(EXPIRED))
            return
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise ZendeskError(401, dict(UNAUTHENTICATED)) from None
            email, _, kind = user.rpartition("/")
            if kind == "token" and email and self.api_tokens.get(email) == secret:
                return
        raise ZendeskError(401, dict(UNAUTHENTICATED))

    def _throttle(self) -> None:
        limit = self._limit
        if limit is not None and limit.remaining > 0:
            limit.remaining -= 1
            raise ZendeskError(429, dict(RATE_LIMITED), {"Retry-After": str(limit.retry_after)})
        if self.requests_per_minute is not None:
            now = self.clock().timestamp()
            self._recent = [t for t in self._recent if now - t < 60]
            if len(self._recent) >= self.requests_per_minute:
                wait = int(60 - (now - self._recent[0])) + 1
                raise ZendeskError(429, dict(RATE_LIMITED), {"Retry-After": str(wait)})
            self._recent.append(now)

    @staticmethod
    def _per_page(value: str | None) -> int:
        if value is None:
            return MAX_PER_PAGE
        try:
            number = int(value)
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_PER_PAGE:
            raise ZendeskError(
                400,
                {
                    "error": "InvalidValue",
                    "description": f"per_page must be between 1 and {MAX_PER_PAGE}",
                },
            )
        return number

    # ---------------------------------------------------------------------------- helpers

    def _api(self) -> str:
        return f"https://{self.subdomain}.zendesk.com/api/v2"

    def _stamp(self) -> str:
        return iso_timestamp(self.clock())

    def _ticket(self, ticket_id: int) -> dict[str, Any]:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise KeyError(f"no ticket {ticket_id}") from None

    def _touch(self, ticket: dict[str, Any]) -> None:
        moment = self.clock()
        ticket["updated_at"] = iso_timestamp(moment)
        ticket["generated_timestamp"] = max(int(moment.timestamp()), ticket["generated_timestamp"])

    def _change(
        self, ticket_id: int, name: str, value: Any, webhook: bool, event_type: str | None = None
    ) -> None:
        ticket = self._ticket(ticket_id)
        previous = ticket[name]
        if previous == value:
            return
        self._touch(ticket)
        ticket[name] = value
        if name == "status":
            self._status_metrics(ticket, previous, value)
        if webhook:
            kind = (
                event_type
                or {
                    "status": "ticket.status_changed",
                    "priority": "ticket.priority_changed",
                    "assignee_id": "ticket.agent_assignment_changed",
                }[name]
            )
            event = {"current": _upper(value), "previous": _upper(previous), "meta": self._meta()}
            self._emit(ticket, kind, event)

    def _status_metrics(self, ticket: Mapping[str, Any], previous: str, status: str) -> None:
        """Zendesk's bookkeeping of a status change: reopens and the latest solve."""
        metrics = self.metric_sets[ticket["id"]]
        stamp = ticket["updated_at"]
        metrics["status_updated_at"] = metrics["updated_at"] = stamp
        if previous == "solved" and status in ("new", "open", "pending", "hold"):
            metrics["reopens"] += 1
        if status == "solved":
            metrics["solved_at"] = stamp

    def _meta(self) -> dict[str, Any]:
        return {"sequence": {"id": str(uuid.uuid4()), "position": 1, "total": 1}}

    def _emit(self, ticket: Mapping[str, Any], kind: str, event: Mapping[str, Any]) -> None:
        if self.webhook_target is None:
            return
        payload = {
            "type": f"zen:event-type:{kind}",
            "account_id": self.account_id,
            "id": str(uuid.uuid4()),
            "time": ticket["updated_at"],
            "zendesk_event_version": "2022-11-06",
            "subject": f"zen:ticket:{ticket['id']}",
            "detail": _detail(ticket),
            "event": dict(event),
        }
        self.pending.append(_Pending(payload, str(next(self._ids) * 1000 + 7)))


def _detail(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ``detail`` object of ticket event webhooks: ids as strings, enums upper-case."""

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return {
        "actor_id": "-1",
        "assignee_id": text(ticket["assignee_id"]),
        "brand_id": text(ticket["brand_id"]),
        "created_at": ticket["created_at"],
        "custom_status": text(ticket["custom_status_id"]),
        "description": ticket["description"],
        "external_id": text(ticket["external_id"]),
        "form_id": text(ticket["ticket_form_id"]),
        "group_id": text(ticket["group_id"]),
        "id": str(ticket["id"]),
        "is_public": ticket["is_public"],
        "organization_id": text(ticket["organization_id"]),
        "priority": _upper(ticket["priority"]),
        "requester_id": str(ticket["requester_id"]),
        "status": _upper(ticket["status"]),
        "subject": ticket["subject"],
        "submitter_id": str(ticket["submitter_id"]),
        "tags": list(ticket["tags"]),
        "type": _upper(ticket["type"]),
        "updated_at": ticket["updated_at"],
        "via": {"channel": ticket["via"]["channel"]},
    }


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _check(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {list(allowed)}")
    return value


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=dict(headers or {}),
    )


__all__ = [
    "EXPORT_PATHS",
    "MAX_PER_PAGE",
    "Delivery",
    "EmulatorServer",
    "ZendeskEmulator",
    "ZendeskError",
    "decode_cursor",
    "encode_cursor",
]

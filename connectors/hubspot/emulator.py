"""A local HubSpot: the documented subset this connector uses, held in memory.

Tests and the demo company start it on a free loopback port (the kit's
:class:`EmulatorServer`), seed it through a small Python API and point the connector's
``base_url`` at it:

    crm = HubSpotEmulator(tokens={"pat-demo": None})
    crm.set_webhook_target("http://127.0.0.1:8080/v1/webhooks/hubspot", client_secret="s3cret")
    acme = crm.add_company(name="Acme GmbH", domain="acme.de", erp_customer_number="10042")
    jana = crm.add_contact(email="jana@acme.de", firstname="Jana", lastname="Weber",
                           company_id=acme, lifecyclestage="lead")
    deal = crm.add_deal(dealname="Oak desks", amount="12000", currency="EUR",
                        company_id=acme, contact_ids=[jana])
    crm.set_property("contacts", jana, "lifecyclestage", "customer")
    crm.close_deal_won(deal)
    async with EmulatorServer(crm) as base_url:
        await crm.deliver_webhooks()      # POST the queued, signed webhook batches

Every mutation bumps the object's modification time (``lastmodifieddate`` for contacts,
``hs_lastmodifieddate`` for companies and deals, and ``updatedAt``) and, when a webhook
target is set and ``webhook=True``, queues the v3 webhook events HubSpot would send
(``<type>.creation`` and one ``<type>.propertyChange`` per changed property).

Behaviour copied from HubSpot (see :mod:`connectors.hubspot` for the doc links): bearer
token checks with HubSpot's 401 bodies (invalid and expired), 429 with the ``RATE_LIMIT``
body (``Retry-After`` optional, as HubSpot does not promise it), the search endpoint with
filter groups, one sort rule, ``properties``, ``limit`` (10 by default, at most 200) and
``after`` paging, the 10,000-result cap (``result_cap``; a page starting at or past it is a
400), ``GET`` of one object with associations, and string-typed property values.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.hubspot.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v3
from connectors.kit.emulator_server import EmulatorServer

#: Plural object type in URLs -> singular name in webhook subscription types.
OBJECT_TYPES: dict[str, str] = {"contacts": "contact", "companies": "company", "deals": "deal"}
MODIFIED_PROPERTY: dict[str, str] = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
#: Properties holding date-times (ISO strings in responses, Unix ms accepted in filters).
DATETIME_PROPERTIES = frozenset(
    {
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "closedate",
        "hs_lifecyclestage_subscriber_date",
        "hs_lifecyclestage_lead_date",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hs_lifecyclestage_salesqualifiedlead_date",
        "hs_lifecyclestage_opportunity_date",
        "hs_lifecyclestage_customer_date",
        "hs_lifecyclestage_evangelist_date",
        "hs_lifecyclestage_other_date",
    }
)
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
#: Association type labels as HubSpot's v3 object API names them.
ASSOCIATION_LABELS: dict[tuple[str, str], str] = {
    ("contacts", "companies"): "contact_to_company",
    ("companies", "contacts"): "company_to_contact",
    ("deals", "companies"): "deal_to_company",
    ("companies", "deals"): "company_to_deal",
    ("deals", "contacts"): "deal_to_contact",
    ("contacts", "deals"): "contact_to_deal",
}
#: Subscription ids the emulated app uses, one per subscription type.
SUBSCRIPTION_IDS: dict[str, int] = {
    f"{singular}.{kind}": 1000 + 10 * i + j
    for i, singular in enumerate(("contact", "company", "deal"))
    for j, kind in enumerate(("creation", "propertyChange", "deletion"))
}
MAX_PAGE = 200
DEFAULT_PAGE = 10
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def iso_ms(moment: datetime) -> str:
    """HubSpot's date-time property format: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.astimezone(UTC).microsecond // 1000:03d}Z"
    )


def to_ms(value: str) -> int | None:
    """Unix milliseconds of a filter or property value (ms digits or ISO 8601), else None."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CrmObject:
    id: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived: bool = False


@dataclass
class WebhookTarget:
    url: str
    client_secret: str
    app_id: int = 2_000_001
    portal_id: int = 62515


@dataclass
class Delivery:
    """One webhook POST the emulator made, for assertions."""

    status: int
    events: list[dict[str, Any]]
    headers: dict[str, str]


@dataclass
class RateLimit:
    remaining: int
    retry_after: float | None
    policy: str


class HubSpotError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class HubSpotEmulator:
    """In-memory contacts, companies and deals behind HubSpot's HTTP API."""

    def __init__(
        self,
        *,
        tokens: Mapping[str, datetime | None] | None = None,
        clock: Callable[[], datetime] = _now,
        result_cap: int = 10_000,
        portal_id: int = 62515,
    ) -> None:
        #: token -> expiry (None: never expires, like a private-app token).
        self.tokens: dict[str, datetime | None] = dict(tokens or {})
        self.clock = clock
        self.result_cap = result_cap
        self.portal_id = portal_id
        self.objects: dict[str, dict[str, CrmObject]] = {t: {} for t in OBJECT_TYPES}
        self.associations: dict[tuple[str, str], dict[str, set[str]]] = {}
        self.webhook_target: WebhookTarget | None = None
        self.pending_events: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        #: Every API request: (method, path, JSON body or None).
        self.requests: list[tuple[str, str, Any]] = []
        self._rate_limit: RateLimit | None = None
        self._ids = itertools.count(101)
        self._event_ids = itertools.count(100_000_001)
        self._last_time: datetime | None = None
        self.app = Starlette(
            routes=[
                Route("/crm/v3/objects/{object_type}/search", self._search, methods=["POST"]),
                Route("/crm/v3/objects/{object_type}/{object_id}", self._get, methods=["GET"]),
            ]
        )

    # ----------------------------------------------------------------- controls for tests

    def add_token(self, token: str, expires_at: datetime | None = None) -> None:
        self.tokens[token] = expires_at

    def expire_token(self, token: str) -> None:
        """From now on, ``token`` is answered with the EXPIRED_AUTHENTICATION 401."""
        self.tokens[token] = self.clock()

    def rate_limit(
        self, requests: int = 1, *, retry_after: float | None = 1.0, policy: str = "SECONDLY"
    ) -> None:
        """Answer the next ``requests`` API calls with 429 (``Retry-After`` unless None)."""
        self._rate_limit = RateLimit(requests, retry_after, policy)

    def set_webhook_target(self, url: str, *, client_secret: str, app_id: int = 2_000_001) -> None:
        """Where webhook batches go, signed with the app's client secret."""
        self.webhook_target = WebhookTarget(url, client_secret, app_id, self.portal_id)

    # ------------------------------------------------------------------------ seed API

    def add_company(
        self,
        *,
        name: str,
        domain: str | None = None,
        erp_customer_number: str | None = None,
        properties: Mapping[str, str] | None = None,
        webhook: bool = True,
    ) -> str:
        """Create a company; returns its id."""
        props = {"name": name, **({"domain": domain} if domain else {})}
        if erp_customer_number is not None:
            props["erp_customer_number"] = erp_customer_number
        props.update(properties or {})
        return self._create("companies", props, webhook=webhook)

    def add_contact(
        self,
        *,
        email: str,
        firstname: str | None = None,
        lastname: str | None = None,
        company_id: str | None = None,
        lifecyclestage: str | None = None,
        properties: Mapping[str, str] | None = None,
        webhook: bool = True,
    ) -> str:
        """Create a contact (optionally associated with a company); returns its id."""
        props = {"email": email}
        if firstname:
            props["firstname"] = firstname
        if lastname:
            props["lastname"] = lastname
        props.update(properties or {})
        if lifecyclestage:
            props["lifecyclestage"] = lifecyclestage
        object_id = self._create("contacts", props, webhook=webhook)
        if company_id is not None:
            self.associate("contacts", object_id, "companies", company_id)
        return object_id

    def add_deal(
        self,
        *,
        dealname: str,
        amount: str | Decimal | None = None,
        currency: str | None = None,
        company_id: str | None = None,
        contact_ids: Iterable[str] = (),
        dealstage: str = "appointmentscheduled",
        properties: Mapping[str, str] | None = None,
        webhook: bool = True,
    ) -> str:
        """Create a deal in the default pipeline; returns its id."""
        props = {"dealname": dealname, "pipeline": "default", "dealstage": dealstage}
        if amount is not None:
            props["amount"] = str(amount)
        if currency:
            props["deal_currency_code"] = currency
        props.update(properties or {})
        object_id = self._create("deals", props, webhook=webhook)
        if company_id is not None:
            self.associate("deals", object_id, "companies", company_id)
        for contact_id in contact_ids:
            self.associate("deals", object_id, "contacts", contact_id)
        return object_id

    def set_property(
        self,
        object_type: str,
        object_id: str,
        name: str,
        value: str | None,
        *,
        webhook: bool = True,
        change_source: str = "CRM_UI",
    ) -> None:
        """Change one property (``None`` clears it), as a user in HubSpot's UI would."""
        self.set_properties(
            object_type, object_id, {name: value}, webhook=webhook, change_source=change_source
        )

    def set_properties(
        self,
        object_type: str,
        object_id: str,
        values: Mapping[str, str | None],
        *,
        webhook: bool = True,
        change_source: str = "CRM_UI",
    ) -> None:
        obj = self._object(object_type, object_id)
        now = self._tick()
        changed: list[tuple[str, str | None]] = []
        for name, value in values.items():
            if obj.properties.get(name) == value:
                continue
            if value is None:
                obj.properties.pop(name, None)
            else:
                obj.properties[name] = value
            changed.append((name, value))
            if name == "lifecyclestage" and value:
                stamp = f"hs_lifecyclestage_{value}_date"
                obj.properties.setdefault(stamp, iso_ms(now))
        if not changed:
            return
        self._touch(object_type, obj, now)
        if webhook:
            for name, value in changed:
                self._emit(
                    object_type,
                    kind="propertyChange",
                    object_id=obj.id,
                    when=now,
                    name=name,
                    value=value,
                    change_source=change_source,
                )

    def close_deal_won(self, deal_id: str, *, webhook: bool = True) -> None:
        """Move a deal to ``closedwon`` and stamp its close date, as HubSpot does."""
        now = self.clock()
        self.set_properties(
            "deals",
            deal_id,
            {"dealstage": "closedwon", "closedate": iso_ms(now), "hs_is_closed_won": "true"},
            webhook=webhook,
        )

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self._object(from_type, from_id)
        self._object(to_type, to_id)
        self.associations.setdefault((from_type, from_id), {}).setdefault(to_type, set()).add(to_id)
        self.associations.setdefault((to_type, to_id), {}).setdefault(from_type, set()).add(from_id)

    def get(self, object_type: str, object_id: str) -> CrmObject:
        return self._object(object_type, object_id)

    # ------------------------------------------------------------------------ webhooks

    async def deliver_webhooks(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        batch_size: int = 100,
        timestamp_ms: int | None = None,
    ) -> list[Delivery]:
        """POST the queued events in signed batches; failed batches stay queued.

        Like HubSpot: 2xx and 4xx (other than 429) end a batch; 429, 5xx and network
        errors keep its events queued with ``attemptNumber`` raised for the next call.
        """
        if self.webhook_target is None or not self.pending_events:
            return []
        queue, self.pending_events = self.pending_events, []
        done: list[Delivery] = []
        owns = http is None
        client = http or httpx.AsyncClient(timeout=5.0)
        try:
            for start in range(0, len(queue), batch_size):
                batch = queue[start : start + batch_size]
                delivery = await self.send_batch(batch, http=client, timestamp_ms=timestamp_ms)
                done.append(delivery)
                if delivery.status == 429 or delivery.status >= 500 or delivery.status == 0:
                    self.pending_events.extend(
                        {**e, "attemptNumber": e["attemptNumber"] + 1} for e in batch
                    )
        finally:
            if owns:
                await client.aclose()
        return done

    async def deliver_forever(
        self,
        interval: float = 0.5,
        *,
        batch_size: int = 100,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        """Deliver queued events every ``interval`` seconds until cancelled (demo company:
        ``asyncio.create_task(crm.deliver_forever())`` after :meth:`set_webhook_target`)."""
        client = http or httpx.AsyncClient(timeout=5.0)
        try:
            while True:
                await self.deliver_webhooks(http=client, batch_size=batch_size)
                await asyncio.sleep(interval)
        finally:
            if http is None:
                await client.aclose()

    async def send_batch(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        http: httpx.AsyncClient,
        timestamp_ms: int | None = None,
        signature: str | None = None,
        body: bytes | None = None,
    ) -> Delivery:
        """Sign and POST one batch; ``timestamp_ms``/``signature``/``body`` override for
        tests of stale, forged or tampered requests. Status 0 means no answer."""
        target = self.webhook_target
        if target is None:
            raise RuntimeError("no webhook target: call set_webhook_target first")
        payload = body if body is not None else orjson.dumps(list(events))
        stamp = str(
            timestamp_ms if timestamp_ms is not None else int(self.clock().timestamp() * 1000)
        )
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature
            or sign_v3(target.client_secret, "POST", target.url, payload, stamp),
        }
        try:
            response = await http.post(target.url, content=payload, headers=headers)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        delivery = Delivery(status, [dict(e) for e in events], headers)
        self.deliveries.append(delivery)
        return delivery

    # --------------------------------------------------------------------- HTTP handlers

    async def _search(self, request: Request) -> Response:
        try:
            object_type = self._guard(request)
            body = await self._json(request)
            self.requests.append(("POST", request.url.path, body))
            return _json(200, self.search(object_type, body))
        except HubSpotError as exc:
            return _json(exc.status, exc.body, exc.headers)

    async def _get(self, request: Request) -> Response:
        try:
            object_type = self._guard(request)
            self.requests.append(("GET", request.url.path, dict(request.query_params)))
            return _json(
                200,
                self.read(
                    object_type,
                    request.path_params["object_id"],
                    _split(request.query_params.get("properties")),
                    _split(request.query_params.get("associations")),
                ),
            )
        except HubSpotError as exc:
            return _json(exc.status, exc.body, exc.headers)

    def read(
        self,
        object_type: str,
        object_id: str,
        properties: Sequence[str] = (),
        associations: Sequence[str] = (),
    ) -> dict[str, Any]:
        """The object endpoint's answer for one object (raises :class:`HubSpotError`)."""
        obj = self.objects[object_type].get(object_id)
        if obj is None or obj.archived:
            raise HubSpotError(404, _error("Object not found.", "OBJECT_NOT_FOUND"))
        out = self._render(object_type, obj, properties)
        links = self.associations.get((object_type, object_id), {})
        rendered = {}
        for other in associations:
            ids = sorted(links.get(other, set()), key=int)
            if ids:
                label = ASSOCIATION_LABELS.get((object_type, other), "")
                rendered[other] = {"results": [{"id": i, "type": label} for i in ids]}
        if rendered:
            out["associations"] = rendered
        return out

    def _guard(self, request: Request) -> str:
        """Auth, rate limit and object type checks shared by every endpoint."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if token not in self.tokens:
            raise HubSpotError(401, _error(AUTH_MESSAGE, "INVALID_AUTHENTICATION"))
        expires = self.tokens[token]
        now = self.clock()
        if expires is not None and expires <= now:
            ago = int((now - expires).total_seconds())
            body = _error(
                f"The OAuth token used to make this call expired {ago} second(s) ago.",
                "EXPIRED_AUTHENTICATION",
            )
            body["context"] = {"expire time": [iso_ms(expires)]}
            raise HubSpotError(401, body)
        limit = self._rate_limit
        if limit is not None and limit.remaining > 0:
            limit.remaining -= 1
            if limit.remaining == 0:
                self._rate_limit = None
            period = {"SECONDLY": "secondly", "DAILY": "daily"}.get(limit.policy, "ten secondly")
            body = {
                "status": "error",
                "message": f"You have reached your {period} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": limit.policy,
            }
            headers = {} if limit.retry_after is None else {"Retry-After": f"{limit.retry_after:g}"}
            raise HubSpotError(429, body, headers)
        object_type = str(request.path_params["object_type"])
        if object_type not in OBJECT_TYPES:
            raise HubSpotError(
                400, _error(f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")
            )
        return object_type

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise HubSpotError(400, _error("Invalid input JSON", "VALIDATION_ERROR")) from None
        if not isinstance(body, dict):
            raise HubSpotError(400, _error("Invalid input JSON", "VALIDATION_ERROR"))
        return body

    # ------------------------------------------------------------------------- search

    def search(self, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The search endpoint's answer to ``body`` (raises :class:`HubSpotError`)."""
        groups = body.get("filterGroups") or []
        if len(groups) > MAX_FILTER_GROUPS:
            raise _invalid(f"Maximum of {MAX_FILTER_GROUPS} filterGroups allowed")
        total_filters = 0
        for group in groups:
            filters = group.get("filters") or []
            total_filters += len(filters)
            if len(filters) > MAX_FILTERS_PER_GROUP:
                raise _invalid(f"Maximum of {MAX_FILTERS_PER_GROUP} filters per group allowed")
        if total_filters > MAX_FILTERS:
            raise _invalid(f"Maximum of {MAX_FILTERS} filters allowed")
        sorts = [_sort_rule(s) for s in body.get("sorts") or []]
        if len(sorts) > 1:
            raise _invalid("Only one sort is allowed")
        limit = body.get("limit", DEFAULT_PAGE)
        if not isinstance(limit, int) or limit < 1 or limit > MAX_PAGE:
            raise _invalid(f"limit must be between 1 and {MAX_PAGE}")
        try:
            offset = int(body.get("after") or 0)
        except (TypeError, ValueError):
            raise _invalid("after must be a paging cursor from a previous response") from None
        if offset >= self.result_cap:
            raise _invalid(
                f"Paging beyond {self.result_cap} results is not supported; narrow the query"
            )
        matches = [
            obj
            for obj in self.objects[object_type].values()
            if not obj.archived and (not groups or any(_matches(obj, g) for g in groups))
        ]
        matches.sort(key=lambda o: int(o.id))
        if sorts:
            name, descending = sorts[0]
            matches.sort(key=lambda o: _sort_key(o, name), reverse=descending)
        page = matches[offset : offset + limit]
        names = [str(n) for n in body.get("properties") or []]
        out: dict[str, Any] = {
            "total": len(matches),
            "results": [self._render(object_type, obj, names) for obj in page],
        }
        if offset + limit < len(matches):
            after = str(offset + limit)
            out["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return out

    # ------------------------------------------------------------------------ internals

    def _render(self, object_type: str, obj: CrmObject, names: Sequence[str]) -> dict[str, Any]:
        wanted = list(DEFAULT_PROPERTIES[object_type]) + [
            n for n in names if n not in DEFAULT_PROPERTIES[object_type]
        ]
        props: dict[str, str | None] = {}
        for name in wanted:
            if name in obj.properties:
                props[name] = obj.properties[name]
            elif name in names:
                props[name] = None
        return {
            "id": obj.id,
            "properties": props,
            "createdAt": iso_ms(obj.created_at),
            "updatedAt": iso_ms(obj.updated_at),
            "archived": obj.archived,
        }

    def _object(self, object_type: str, object_id: str) -> CrmObject:
        if object_type not in OBJECT_TYPES:
            raise KeyError(f"unknown object type {object_type!r}; use one of {list(OBJECT_TYPES)}")
        try:
            return self.objects[object_type][str(object_id)]
        except KeyError:
            raise KeyError(f"no {object_type} with id {object_id}") from None

    def _tick(self) -> datetime:
        """Now, at millisecond precision (as HubSpot stores times)."""
        now = self.clock()
        return now.replace(microsecond=(now.microsecond // 1000) * 1000)

    def _create(self, object_type: str, props: Mapping[str, str], *, webhook: bool) -> str:
        now = self._tick()
        object_id = str(next(self._ids))
        properties = {k: v for k, v in props.items() if v is not None}
        properties["hs_object_id"] = object_id
        properties["createdate"] = iso_ms(now)
        stage = properties.get("lifecyclestage")
        if stage:
            properties.setdefault(f"hs_lifecyclestage_{stage}_date", iso_ms(now))
        obj = CrmObject(object_id, properties, now, now)
        self._touch(object_type, obj, now)
        self.objects[object_type][object_id] = obj
        if webhook:
            self._emit(object_type, kind="creation", object_id=object_id, when=now)
        return object_id

    @staticmethod
    def _touch(object_type: str, obj: CrmObject, now: datetime) -> None:
        obj.updated_at = now
        obj.properties[MODIFIED_PROPERTY[object_type]] = iso_ms(now)
        if object_type == "contacts":
            obj.properties["hs_lastmodifieddate"] = iso_ms(now)

    def _emit(
        self,
        object_type: str,
        *,
        kind: str,
        object_id: str,
        when: datetime,
        name: str | None = None,
        value: str | None = None,
        change_source: str = "CRM_UI",
    ) -> None:
        target = self.webhook_target
        if target is None:
            return
        subscription = f"{OBJECT_TYPES[object_type]}.{kind}"
        event: dict[str, Any] = {
            "eventId": next(self._event_ids),
            "subscriptionId": SUBSCRIPTION_IDS[subscription],
            "portalId": target.portal_id,
            "appId": target.app_id,
            "occurredAt": int(when.timestamp() * 1000),
            "subscriptionType": subscription,
            "attemptNumber": 0,
            "objectId": int(object_id),
            "changeSource": change_source,
        }
        if kind == "propertyChange":
            event["propertyName"] = name
            event["propertyValue"] = "" if value is None else value
        self.pending_events.append(event)


# ---------------------------------------------------------------------------- helpers


def _error(message: str, category: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def _invalid(message: str) -> HubSpotError:
    return HubSpotError(400, _error(message, "VALIDATION_ERROR"))


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json;charset=utf-8",
        headers=dict(headers or {}),
    )


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def _sort_rule(rule: Any) -> tuple[str, bool]:
    if isinstance(rule, str):
        return (rule[1:], True) if rule.startswith("-") else (rule, False)
    if isinstance(rule, Mapping) and isinstance(rule.get("propertyName"), str):
        return str(rule["propertyName"]), rule.get("direction", "ASCENDING") == "DESCENDING"
    raise _invalid(f"Invalid sort: {rule!r}")


def _typed(name: str, value: str) -> tuple[int, Any]:
    """A comparable form of a property value: (0, ms) for dates, (1, number), (2, text)."""
    if name in DATETIME_PROPERTIES:
        ms = to_ms(value)
        if ms is not None:
            return (0, ms)
    try:
        return (1, Decimal(value))
    except InvalidOperation:
        return (2, value.lower())


def _sort_key(obj: CrmObject, name: str) -> tuple[int, Any]:
    value = obj.properties.get(name)
    return (3, "") if value is None else _typed(name, value)


def _matches(obj: CrmObject, group: Mapping[str, Any]) -> bool:
    return all(_filter(obj, f) for f in group.get("filters") or [])


def _filter(obj: CrmObject, spec: Mapping[str, Any]) -> bool:
    name = spec.get("propertyName")
    operator = spec.get("operator", "EQ")
    if not isinstance(name, str):
        raise _invalid("filter without propertyName")
    actual = obj.properties.get(name)
    if operator == "HAS_PROPERTY":
        return actual is not None
    if operator == "NOT_HAS_PROPERTY":
        return actual is None
    if operator == "IN":
        values = [str(v).lower() for v in spec.get("values") or []]
        return actual is not None and actual.lower() in values
    if "value" not in spec:
        raise _invalid(f"filter on {name} with operator {operator} needs a value")
    if actual is None:
        return bool(operator == "NEQ")
    left, right = _typed(name, actual), _typed(name, str(spec["value"]))
    if left[0] != right[0]:
        left, right = (2, actual.lower()), (2, str(spec["value"]).lower())
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "EQ": lambda a, b: a == b,
        "NEQ": lambda a, b: a != b,
        "GT": lambda a, b: a > b,
        "GTE": lambda a, b: a >= b,
        "LT": lambda a, b: a < b,
        "LTE": lambda a, b: a <= b,
    }
    if operator not in comparisons:
        raise _invalid(f"Unsupported operator {operator}")
    return bool(comparisons[operator](left[1], right[1]))


__all__ = [
    "DEFAULT_PROPERTIES",
    "MODIFIED_PROPERTY",
    "OBJECT_TYPES",
    "CrmObject",
    "Delivery",
    "EmulatorServer",
    "HubSpotEmulator",
    "HubSpotError",
    "iso_ms",
    "to_ms",
]

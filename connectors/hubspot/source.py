"""The HubSpot source: search-based polling, woken by webhooks.

One source object per instance is both a polling source (streams ``contact``, ``company``,
``deal``) and a webhook source (``POST /v1/webhooks/<instance>``):

* **Webhook** deliveries are verified (v3 signature, five-minute window), published as is to
  ``raw.<instance>.webhook_event`` (one record per event, keyed by ``objectId``, revision
  ``<occurredAt>-<eventId>`` so HubSpot's retries of an event are one raw event), and mark
  the event's object type as *changed*. Nothing is fetched inside the request: HubSpot
  waits five seconds for the answer and batches up to 100 events.
* **Polling**: the kit calls :meth:`HubSpotSource.read` every ``poll_interval_seconds``
  (2 s). It searches only when a webhook marked the type changed (once the change is older
  than ``settle_seconds``, so the search index has it) or ``search_interval_seconds``
  passed since the last search; otherwise it returns at once without an API call. A search
  reads every object modified since the stored cursor (keyset paging, see
  :mod:`connectors.hubspot.client`) and publishes the full object to
  ``raw.<instance>.<entity>``: contacts and deals are fetched once more with their
  associations (search results carry none), and the instance's mapping settings ride along
  under ``_handoff`` for the translator.

So a webhook makes a change visible within seconds, a lost webhook within a minute, and the
raw object topic always carries the whole object the translator needs.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from connectors.hubspot.client import Cursor, HubSpotClient
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.signature import HubSpotSignatureV3, origin_of
from connectors.hubspot.translate import MAPPING_KEY
from connectors.kit.errors import BadRecordError, FatalError
from connectors.kit.polling import PollingSource
from connectors.kit.source import BadRecord, Record, SourceContext
from connectors.kit.webhook import WebhookSource

#: Stream (singular entity) -> object type in URLs.
OBJECT_TYPES: dict[str, str] = {"contact": "contacts", "company": "companies", "deal": "deals"}
LIFECYCLE_DATES = tuple(
    f"hs_lifecyclestage_{stage}_date"
    for stage in ("lead", "marketingqualifiedlead", "opportunity", "customer")
)
PROPERTIES: dict[str, tuple[str, ...]] = {
    "contacts": (
        "email",
        "firstname",
        "lastname",
        "phone",
        "mobilephone",
        "jobtitle",
        "company",
        "lifecyclestage",
        "hs_additional_emails",
        "hs_analytics_source",
        "hubspot_owner_id",
        "createdate",
        "lastmodifieddate",
        *LIFECYCLE_DATES,
    ),
    "companies": (
        "name",
        "domain",
        "phone",
        "address",
        "city",
        "zip",
        "state",
        "country",
        "lifecyclestage",
        "hubspot_owner_id",
        "createdate",
        "hs_lastmodifieddate",
    ),
    "deals": (
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "closedate",
        "hs_is_closed_won",
        "hubspot_owner_id",
        "createdate",
        "hs_lastmodifieddate",
    ),
}
ASSOCIATIONS: dict[str, tuple[str, ...]] = {
    "contacts": ("companies", "deals"),
    "companies": (),
    "deals": ("companies", "contacts"),
}


def wanted_properties(object_type: str, settings: HubSpotSettings) -> tuple[str, ...]:
    """The properties read for ``object_type``: the translator's, the cross-reference
    properties (contacts and companies) and ``extra_properties``, each once, in order."""
    cross_references = settings.external_id_properties.values() if object_type != "deals" else ()
    names = (*PROPERTIES[object_type], *cross_references, *settings.extra_properties)
    return tuple(dict.fromkeys(names))


class HubSpotSource(PollingSource[HubSpotSettings], WebhookSource[HubSpotSettings]):
    """Contacts, companies and deals from HubSpot (see the module docstring)."""

    entities: ClassVar[tuple[str, ...]] = ("contact", "company", "deal", "webhook_event")
    signature: HubSpotSignatureV3 = HubSpotSignatureV3()
    secret_field: ClassVar[str] = "client_secret"  # noqa: S105 - a field name
    max_body_bytes: ClassVar[int] = 4 * 1024 * 1024

    def __init__(self, settings: HubSpotSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        # The signed URI starts with the public origin HubSpot calls, which is per instance.
        self.signature = HubSpotSignatureV3(origin=origin_of(settings.webhook_url or ""))
        self.client: HubSpotClient | None = None
        self._last_search: dict[str, float] = {}
        #: stream -> occurredAt (Unix ms) of the newest webhook event no search covered yet
        self._changed: dict[str, int] = {}
        self._refused = secrets.token_hex(32)

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        self.client = HubSpotClient(
            self.settings.base_url,
            self.settings.access_token.get_secret_value(),
            timeout=self.settings.timeout_seconds,
        )

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    # -- polling -----------------------------------------------------------------------------

    def streams(self) -> tuple[str, ...]:
        return ("contact", "company", "deal")

    def mark_changed(self, stream: str, occurred_ms: int) -> None:
        """A webhook says ``stream`` changed at ``occurred_ms``: search once that settled."""
        self._changed[stream] = max(self._changed.get(stream, 0), occurred_ms)

    def search_due(self, stream: str, now: float) -> bool:
        until_ms = int((now - self.settings.settle_seconds) * 1000)
        changed = self._changed.get(stream)
        if changed is not None and changed <= until_ms:
            return True
        last = self._last_search.get(stream)
        return last is None or now - last >= self.settings.search_interval_seconds

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        object_type = OBJECT_TYPES.get(stream)
        if object_type is None:
            raise FatalError(f"unknown stream {stream!r}; streams are {self.streams()}")
        client = self.client
        if client is None:
            raise FatalError("the HubSpot source was not opened")
        now = time.time()
        if not self.search_due(stream, now):
            return
        until_ms = int((now - self.settings.settle_seconds) * 1000)
        start = Cursor.decode(cursor) if cursor else None
        if start is None and self.settings.backfill_since_ms() is not None:
            start = Cursor(self.settings.backfill_since_ms() or 0)
        properties = wanted_properties(object_type, self.settings)
        mapping = {
            "external_id_properties": dict(self.settings.external_id_properties),
            "won_stages": list(self.settings.won_stages),
            "default_currency": self.settings.default_currency,
        }
        async for found, after in client.changed_since(
            object_type,
            start,
            properties=properties,
            page_limit=self.settings.search_page_limit,
            until_ms=until_ms,
        ):
            if after is None:
                yield BadRecord(
                    raw=orjson.dumps(found),
                    reason=f"{object_type} search result without an id or a readable "
                    "modification time",
                    id=str(found.get("id") or "") or None,
                )
                continue
            if not isinstance(found.get("properties"), Mapping):
                yield BadRecord(
                    raw=orjson.dumps(found),
                    reason=f"{object_type} {found.get('id')} has no properties object",
                    cursor=after.encode(),
                    id=str(found.get("id")),
                )
                continue
            record: Mapping[str, Any] | None = found
            if ASSOCIATIONS[object_type]:
                record = await client.get_object(
                    object_type,
                    str(found["id"]),
                    properties=properties,
                    associations=ASSOCIATIONS[object_type],
                )
            if record is None:  # deleted between the search and the fetch
                continue
            revision = str(record.get("updatedAt") or found.get("updatedAt"))
            yield Record(
                id=str(record.get("id")),
                revision=revision,
                time=_parse_time(revision) or datetime.fromtimestamp(after.modified_ms / 1000, UTC),
                data={**record, MAPPING_KEY: mapping},
                cursor=after.encode(),
            )
        # Only a search read to the end counts: after an error the next call searches again.
        self._last_search[stream] = now
        if self._changed.get(stream, until_ms + 1) <= until_ms:
            del self._changed[stream]

    # -- webhooks ----------------------------------------------------------------------------

    def secret(self) -> bytes:
        value = self.settings.client_secret
        if value is None or not value.get_secret_value():
            # No client secret configured: a key nobody knows, so every signature fails.
            return self._refused.encode()
        return value.get_secret_value().encode()

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        events = _events(body)
        key = ",".join(f"{e.get('occurredAt')}-{e.get('eventId')}" for e in events)
        return "hubspot-" + hashlib.sha256(key.encode()).hexdigest()[:40]

    def parse(self, body: bytes, headers: Mapping[str, str], delivery_id: str) -> Sequence[Record]:
        records = []
        for index, event in enumerate(_events(body)):
            subscription = event.get("subscriptionType")
            object_id, event_id, occurred = (
                event.get("objectId"),
                event.get("eventId"),
                event.get("occurredAt"),
            )
            if not isinstance(subscription, str) or "." not in subscription:
                raise BadRecordError(f"event {index}: subscriptionType is {subscription!r}")
            if not isinstance(occurred, int) or isinstance(occurred, bool):
                raise BadRecordError(f"event {index}: occurredAt is not Unix milliseconds")
            if object_id in (None, "") or event_id in (None, ""):
                raise BadRecordError(f"event {index}: objectId and eventId are required")
            stream = subscription.split(".", 1)[0]
            if stream not in OBJECT_TYPES:
                continue  # an object type this connector does not read (e.g. ticket.*)
            self.mark_changed(stream, occurred)
            records.append(
                Record(
                    id=str(object_id),
                    revision=f"{occurred}-{event_id}",
                    time=datetime.fromtimestamp(occurred / 1000, UTC),
                    data=event,
                    entity="webhook_event",
                )
            )
        return records


def _events(body: bytes) -> list[dict[str, Any]]:
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRecordError(f"body is not JSON: {exc}") from exc
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise BadRecordError("body is not a JSON array of event objects")
    return events


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["ASSOCIATIONS", "OBJECT_TYPES", "PROPERTIES", "HubSpotSource", "wanted_properties"]

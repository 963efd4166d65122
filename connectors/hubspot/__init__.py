"""HubSpot CRM connector: contacts, companies and deals.

Two ways in, one raw object shape per entity (``raw.<instance>.contact|company|deal``):

* **Polling (backfill and catch-up)** through the CRM v3 search API.
* **Webhooks v3** pushed by HubSpot to ``POST /v1/webhooks/<instance>``, which wake the
  search (``raw.<instance>.webhook_event`` keeps the events themselves).

The documented subset this package implements (and its emulator reproduces)
==============================================================================

CRM search -- https://developers.hubspot.com/docs/api/crm/search ,
https://developers.hubspot.com/docs/api-reference/search/guide (section "Limitations")

* ``POST /crm/v3/objects/{contacts|companies|deals}/search``, ``Authorization: Bearer <token>``
  (private-app access token).
* Body: ``filterGroups`` (groups OR-ed, filters inside a group AND-ed; operators ``EQ``,
  ``NEQ``, ``GT``, ``GTE``, ``LT``, ``LTE``, ``HAS_PROPERTY``, ``NOT_HAS_PROPERTY``, ``IN``),
  ``sorts`` (``[{"propertyName": ..., "direction": "ASCENDING"|"DESCENDING"}]``; one sort
  rule), ``properties`` (names to return), ``limit`` and ``after``.
* ``limit``: the v3 page documented 100; the current docs allow up to **200** per page
  (changelog "Increasing our API limits", September 2024). The client asks for
  ``search_page_limit`` (default 100, at most 200). The default when omitted is 10.
* Response: ``{"total": n, "results": [{"id", "properties", "createdAt", "updatedAt",
  "archived"}], "paging": {"next": {"after": "<offset>", "link": ...}}}``; every property
  value is a string (or ``null`` for a requested property that is not set). ``after`` is
  opaque to us but is an offset into the result list.
* **At most 10,000 results per query**: asking for a page past the 10,000th result is
  answered with HTTP 400. The client never gets there: every page is a new query anchored
  at the modification time of the last record delivered (keyset paging), and ``after`` is
  only followed inside one anchor (see :mod:`connectors.hubspot.client`).
* Date-time filter values are Unix milliseconds (as strings); the modification-time property
  is ``lastmodifieddate`` for contacts and ``hs_lastmodifieddate`` for companies and deals
  (the default properties each search returns; both are kept by the emulator).
* Search is rate limited separately (five requests per second per account); the index lags
  writes by a few seconds, so the client never reads newer than ``now - settle_seconds``.

Objects -- https://developers.hubspot.com/docs/api/crm/understanding-the-crm ,
https://developers.hubspot.com/docs/api/crm/contacts , .../companies , .../deals

* ``GET /crm/v3/objects/{type}/{id}?properties=a,b&associations=companies,contacts``:
  the object with ``"associations": {"companies": {"results": [{"id", "type"}]}}``;
  404 ``{"status": "error", "category": "OBJECT_NOT_FOUND", ...}`` for an unknown id.
  Search results carry no associations, so the source fetches each contact and deal it
  publishes (contacts: their company; deals: their company and contacts).

Errors -- https://developers.hubspot.com/docs/api/usage-details (rate limits) ,
https://developers.hubspot.com/docs/api/error-handling

* ``429`` ``{"status": "error", "message": "You have reached your secondly limit.",
  "errorType": "RATE_LIMIT", "correlationId": "...", "policyName": "SECONDLY"}``
  (``policyName`` also ``TEN_SECONDLY_ROLLING`` or ``DAILY``). HubSpot does not promise a
  ``Retry-After`` header on API responses; the client honours it when present and otherwise
  waits one window of the named policy (1 s, 10 s, or until the next hour for ``DAILY``).
* ``401`` ``{"status": "error", "message": "Authentication credentials not found. ...",
  "correlationId": "...", "category": "INVALID_AUTHENTICATION"}`` for a bad token, and
  ``"category": "EXPIRED_AUTHENTICATION"`` ("The OAuth token used to make this call expired
  ... ago.") for an expired one: both stop the instance with a clear reason (no retry loop).
* ``403`` (missing scope) stops the instance too; ``5xx`` and network errors are retried.

Webhooks v3 -- https://developers.hubspot.com/docs/api/webhooks ,
https://developers.hubspot.com/docs/api/webhooks/validating-requests ,
https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation

* HubSpot POSTs a JSON **array** of events (batched, up to 100), each with ``eventId``,
  ``subscriptionId``, ``portalId``, ``appId``, ``occurredAt`` (Unix ms), ``subscriptionType``
  (``contact.creation``, ``contact.propertyChange``, ``company.creation``,
  ``company.propertyChange``, ``deal.creation``, ``deal.propertyChange``, ``*.deletion``),
  ``attemptNumber`` (0 on the first try), ``objectId``, and for property changes
  ``propertyName``, ``propertyValue``; plus ``changeSource`` (``CRM_UI``, ``API``, ...).
  ``eventId`` is documented as not guaranteed unique, so a record's revision is
  ``<occurredAt>-<eventId>``.
* ``X-HubSpot-Signature-v3`` = base64(HMAC-SHA256(app client secret, method + URI + body +
  timestamp)), ``X-HubSpot-Request-Timestamp`` in milliseconds; requests older than five
  minutes are rejected. The URI is the full URL HubSpot called (scheme, host, path, query),
  so the instance is configured with ``webhook_url`` (the public URL registered in HubSpot)
  instead of trusting what a proxy forwards. Before hashing, these escapes in the URI are
  decoded: ``%3A`` ``:``, ``%2F`` ``/``, ``%3F`` ``?``, ``%40`` ``@``, ``%21`` ``!``,
  ``%24`` ``$``, ``%27`` ``'``, ``%28`` ``(``, ``%29`` ``)``, ``%2A`` ``*``, ``%2C`` ``,``,
  ``%3B`` ``;`` (see :mod:`connectors.hubspot.signature`).
* HubSpot retries on 5xx, 429 and timeouts (up to 10 times over 24 hours) and not on 4xx;
  ``attemptNumber`` grows with each retry while ``eventId`` stays, so a replayed delivery
  yields the same raw event id.

What a webhook event becomes
============================

Webhook events carry ids and one changed property, not the object, so they are not enough
for the canonical events (a ``lead.created`` needs the person's name, an
``opportunity.won`` the amount and the customer). The source therefore does **not** fetch
the object inside the webhook request (HubSpot waits five seconds for the answer, a batch
holds up to 100 events, and a fetch per event would spend the API quota the search needs).
Instead:

1. each event is published as HubSpot sent it to ``raw.<instance>.webhook_event`` (keyed by
   ``objectId``, revision ``<occurredAt>-<eventId>``): an audit trail of who changed what
   (``changeSource``), which translates to no canonical event;
2. the event marks its object type as changed, and the polling side of the same source
   searches for that type as soon as the change is older than ``settle_seconds`` (HubSpot's
   search index lags writes by seconds) instead of waiting for ``search_interval_seconds``;
3. the search publishes the full object (with associations) to ``raw.<instance>.<entity>``,
   and the translator derives every canonical event from that object alone.

So webhooks give latency (seconds) and the search gives completeness (a lost webhook is
caught by the next periodic search); the raw object topics always carry what the translator
needs. See :mod:`connectors.hubspot.source` and :mod:`connectors.hubspot.translate`.
"""

from __future__ import annotations

from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.source import HubSpotSource
from connectors.hubspot.translate import translate
from connectors.kit.registry import ConnectorType

CONNECTOR = ConnectorType(
    name="hubspot",
    settings_model=HubSpotSettings,
    source=HubSpotSource,
    translate=translate,
    description="HubSpot CRM contacts, companies and deals (search API polling, webhooks v3)",
)

__all__ = ["CONNECTOR", "HubSpotSettings", "HubSpotSource", "translate"]

"""Zendesk Support connector: tickets (with their requesters and organizations).

Two ways in (see :mod:`connectors.zendesk.source`): the **cursor-based incremental ticket
export** (backfill and catch-up; ``raw.<instance>.ticket``) and Zendesk **event webhooks**
pushed to ``POST /v1/webhooks/<instance>`` (``raw.<instance>.webhook_event``), which wake
the export. The translator (:mod:`connectors.zendesk.translate`) derives ticket.opened /
updated / escalated / resolved, complaint.opened and the customer's identity evidence
(customer.updated) from the exported ticket alone.

The documented subset this package implements (and its emulator reproduces)
==============================================================================

Incremental ticket export, cursor based --
https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/ ,
https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api

* ``GET /api/v2/incremental/tickets/cursor.json?start_time=<unix seconds>`` for the first
  request, then ``?cursor=<after_cursor>``; ``per_page`` (at most 1000, the default),
  ``include=users,organizations,metric_sets`` (side-loads: top-level ``users``,
  ``organizations`` and ``metric_sets`` arrays; a metric set names its ``ticket_id``),
  ``exclude_deleted=true`` (not used: deleted tickets come with status ``deleted`` and
  translate to nothing). Allowed for admins.
* Response: ``{"tickets": [...], "after_cursor": "...", "after_url": "...",
  "before_cursor": null, "before_url": null, "end_of_stream": true|false}``.
  ``end_of_stream`` true means everything up to now was returned; the ``after_cursor`` of
  that last page is kept and polled again later. Tickets come in the order of their
  ``generated_timestamp`` (a ticket changed after it was exported comes again later); the
  cursor is opaque (Zendesk's decode to ``<timestamp>.0||<ticket id>|``).
* Items created or changed within the minute before the request are left out, and
  ``start_time`` must be at least one minute in the past (the source never asks for a newer
  one; the emulator answers 400 ``{"error": "InvalidValue", "description": "Too recent
  start_time. ..."}``, a body the docs do not spell out).
* Rate limit: 10 requests per minute on the export endpoints; ``429`` with ``Retry-After``
  (seconds), honoured by the kit's backoff
  (https://developer.zendesk.com/api-reference/introduction/rate-limits/).
* Authentication (https://developer.zendesk.com/api-reference/introduction/security-and-auth/):
  API token as basic auth with user ``<email>/token`` and the token as password, or an OAuth
  access token as ``Authorization: Bearer``. Bad credentials: ``401 {"error": "Couldn't
  authenticate you"}``; both 401 and 403 stop the instance with the reason (no retry loop).
* Ticket fields read: ``id``, ``created_at``, ``updated_at``, ``generated_timestamp``,
  ``subject`` / ``raw_subject``, ``description``, ``status`` (new, open, pending, hold,
  solved, closed, deleted), ``priority`` (low, normal, high, urgent or null), ``type``,
  ``via.channel``, ``requester_id``, ``organization_id``, ``assignee_id``, ``group_id``,
  ``tags``, ``custom_fields`` (``[{"id", "value"}]``), ``satisfaction_rating.score``.
  Users: ``id``, ``name``, ``email``, ``phone``, ``organization_id``, ``updated_at``.
  Organizations: ``id``, ``name``, ``domain_names``, ``organization_fields``, ``updated_at``.
  Metric sets (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/):
  ``ticket_id``, ``reopens`` (times a solved ticket was reopened), ``solved_at`` (the latest
  solve).

Webhooks -- https://developer.zendesk.com/documentation/webhooks/verifying/ ,
https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/ ,
https://developer.zendesk.com/api-reference/webhooks/event-types/webhook-event-types/

* Headers: ``X-Zendesk-Account-Id``, ``X-Zendesk-Webhook-Id``,
  ``X-Zendesk-Webhook-Invocation-Id``, ``X-Zendesk-Webhook-Signature``,
  ``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601, e.g. ``2021-03-25T05:09:27Z``).
* Signature: ``base64(HMAC-SHA256(signing secret, TIMESTAMP + BODY))``
  (:mod:`connectors.zendesk.signature`); the hub also rejects timestamps more than
  ``webhook_tolerance_seconds`` (300) from now, and de-duplicates by the invocation id
  (one invocation may have several attempts), else by the event ``id``.
* Body of an event webhook: ``{"type": "zen:event-type:ticket.status_changed",
  "account_id", "id", "time", "zendesk_event_version", "subject": "zen:ticket:<id>",
  "detail": {ticket fields as strings}, "event": {...}}``. Ticket events wake the export;
  user and organization events are kept for audit only. Trigger/automation webhooks with
  custom bodies are not supported (answered 400).

Emulator and seed API: :mod:`connectors.zendesk.emulator`.
"""

from __future__ import annotations

from connectors.kit.registry import ConnectorType
from connectors.zendesk.settings import ZendeskSettings
from connectors.zendesk.source import ZendeskSource
from connectors.zendesk.translate import translate

CONNECTOR = ConnectorType(
    name="zendesk",
    settings_model=ZendeskSettings,
    source=ZendeskSource,
    translate=translate,
    description="Zendesk Support tickets (incremental cursor export, event webhooks)",
)

__all__ = ["CONNECTOR", "ZendeskSettings", "ZendeskSource", "translate"]

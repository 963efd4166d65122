"""HubSpot raw records to canonical events: pure, stateless, one record at a time.

Input: ``raw.hubspot.<entity>`` events whose data is a CRM v3 object exactly as
``GET /crm/v3/objects/{type}/{id}`` returns it (``id``, ``properties`` with string values,
``createdAt``, ``updatedAt``, ``archived``, optional ``associations``), plus one key the
source adds, ``_handoff``, carrying the instance's mapping settings
(``external_id_properties``, ``won_stages``, ``default_currency``) because a translator has
no settings of its own. ``raw.hubspot.webhook_event`` records (webhook events as HubSpot
sent them) translate to nothing: they only tell the source to search now, and the object
it then publishes carries the change (see :mod:`connectors.hubspot.source`).

What each object becomes (``<i>`` is the connector instance, refs are
``SourceRef(system=<i>, id="company/<id>" | "contact/<id>")``):

**company** -> ``customer.created`` (kind ``company``) while the revision is within
``CREATED_WINDOW`` (60 s) of ``createdAt`` -- HubSpot recalculates properties for a few
seconds after a create, and each recalculation is a revision -- else ``customer.updated``.
``name`` (falls back to ``domain``), ``domain`` (lower-case, without ``www.``), ``phone``,
the address (``address``, ``zip``, ``city``, ``country`` when it is an ISO alpha-2 code) and
``external_ids`` from the configured properties (default: ``erp_customer_number`` holds the
ERP customer number).

**contact** -> the same customer event with kind ``person``: ``name`` = first and last name
(falls back to the e-mail), ``emails`` = ``email`` plus ``hs_additional_emails``
(lower-cased), ``phones`` = ``phone`` and ``mobilephone``; and the lead lifecycle, read from
the stage and from the dates HubSpot stamps when a contact enters a stage
(``hs_lifecyclestage_<stage>_date``):

* ``lead.created`` when the contact is, or ever was, a ``lead`` or
  ``marketingqualifiedlead`` (current ``lifecyclestage`` or either date set); ``created_at``
  is the earlier of those dates (else the revision time); ``lead_id`` = ``<i>:contact/<id>``.
* ``lead.converted`` when such a lead is, or ever was, an ``opportunity`` or ``customer``;
  ``converted_at`` is the earlier of those two dates (else the revision time);
  ``customer_ref`` is the contact's company when it has one. A contact that never was a lead
  (created directly as a customer) converts nothing.

**deal** -> ``opportunity.won`` when ``dealstage`` is a won stage (default ``closedwon``)
or ``hs_is_closed_won`` is ``true``: ``amount`` in ``deal_currency_code`` (else the
instance's ``default_currency``), ``won_at`` = ``closedate`` (else the revision time),
``customer_ref`` = the first associated company, else the first associated contact. Open
and lost deals translate to nothing; a won deal without a readable amount or currency is
untranslatable.

Event ids: ``customer.updated`` uses the record revision (each change is a new event); the
state events use the state itself (``customer.created``: ``created``, ``lead.created``:
``lead``, ``lead.converted``: ``converted``, ``opportunity.won``: ``won``), so every revision
that still shows a state yields the *same* ``ce_id`` and downstream de-duplication keeps one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from connectors.kit.errors import UntranslatableRecord
from schemas import (
    Address,
    CanonicalModel,
    CustomerCreated,
    CustomerUpdated,
    Envelope,
    LeadConverted,
    LeadCreated,
    Money,
    OpportunityWon,
    SourceRef,
    canonical_event,
)
from schemas.base import field_value
from schemas.codes import COUNTRY_CODES, CURRENCY_CODES

CREATED_WINDOW = timedelta(seconds=60)
LEAD_STAGES = ("lead", "marketingqualifiedlead")
CONVERTED_STAGES = ("opportunity", "customer")
DEFAULT_EXTERNAL_IDS = {"erp_customer_number": "erp_customer_number"}
DEFAULT_WON_STAGES = ("closedwon",)
#: Key the source adds to a raw object for the instance's mapping settings.
MAPPING_KEY = "_handoff"
_PHONE_CHARS = frozenset("0123456789+()./ -")


def translate(raw: Envelope) -> Sequence[Envelope]:
    """One raw ``raw.hubspot.<entity>`` event to its canonical events."""
    parts = raw.type.split(".")
    if len(parts) != 3 or parts[0] != "raw":
        raise UntranslatableRecord(f"not a raw event type: {raw.type!r}")
    entity = parts[2]
    data = raw.data
    if not isinstance(data, Mapping):
        raise UntranslatableRecord(f"{entity} {raw.subject}: data is not a JSON object")
    if entity == "webhook_event":
        return []
    try:
        record = _Object(raw, entity, data)
        if entity == "company":
            payloads = [record.customer("company")]
        elif entity == "contact":
            payloads = [record.customer("person"), *record.lead_events()]
        elif entity == "deal":
            payloads = record.deal_events()
        else:
            raise UntranslatableRecord(f"unknown entity {entity!r}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UntranslatableRecord(f"{entity} {data.get('id')}: {where}: {first['msg']}") from exc
    return [record.envelope(payload, id_parts) for payload, id_parts in payloads]


class _Object:
    """One CRM object and the helpers that read it."""

    def __init__(self, raw: Envelope, entity: str, data: Mapping[str, Any]) -> None:
        self.raw = raw
        self.entity = entity
        self.instance = raw.source.rsplit("/", 1)[-1]
        object_id = data.get("id")
        if object_id in (None, ""):
            raise UntranslatableRecord(f"{entity} record without an id")
        self.object_id = str(object_id)
        props = data.get("properties")
        if not isinstance(props, Mapping):
            raise UntranslatableRecord(f"{entity} {self.object_id}: no properties object")
        self.props: Mapping[str, Any] = props
        self.data = data
        mapping = data.get(MAPPING_KEY)
        self.mapping: Mapping[str, Any] = mapping if isinstance(mapping, Mapping) else {}
        self.updated = self.time_of("updatedAt", data.get("updatedAt"))
        created = data.get("createdAt") or props.get("createdate")
        self.created = self.time_of("createdAt", created) if created else self.updated
        self.ref = SourceRef(system=self.instance, id=f"{entity}/{self.object_id}")

    # -- reading -----------------------------------------------------------------------------

    def text(self, name: str) -> str | None:
        value = self.props.get(name)
        if value is None:
            return None
        text = str(value).strip()
        return text or None

    def time_of(self, name: str, value: Any) -> datetime:
        if value is None or value == "":
            raise UntranslatableRecord(f"{self.entity} {self.data.get('id')}: {name} is missing")
        text = str(value).strip()
        try:
            if text.isdigit():
                return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            raise UntranslatableRecord(
                f"{self.entity} {self.data.get('id')}: {name} is not a time: {text!r}"
            ) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def prop_time(self, name: str) -> datetime | None:
        value = self.text(name)
        return self.time_of(name, value) if value else None

    def associated(self, object_type: str) -> list[str]:
        links = self.data.get("associations")
        if not isinstance(links, Mapping):
            return []
        block = links.get(object_type)
        results = block.get("results") if isinstance(block, Mapping) else None
        if not isinstance(results, list):
            return []
        ids = [str(r["id"]) for r in results if isinstance(r, Mapping) and r.get("id")]
        return list(dict.fromkeys(ids))

    def external_ids(self) -> dict[str, str]:
        wanted = self.mapping.get("external_id_properties")
        mapping = wanted if isinstance(wanted, Mapping) else DEFAULT_EXTERNAL_IDS
        out = {}
        for key, prop in mapping.items():
            value = self.text(str(prop))
            if value:
                out[str(key)] = value
        return out

    # -- customers ---------------------------------------------------------------------------

    def customer(self, kind: str) -> tuple[CanonicalModel, list[str]]:
        emails: list[str] = []
        phones: list[str] = []
        if kind == "person":
            candidates = [self.text("email") or ""]
            candidates += (self.text("hs_additional_emails") or "").split(";")
            emails = _emails(candidates)
            first, last = self.text("firstname"), self.text("lastname")
            name = " ".join(p for p in (first, last) if p) or (emails[0] if emails else None)
            phones = _phones([self.text("phone"), self.text("mobilephone")])
            domain = None
        else:
            domain = _domain(self.text("domain"))
            name = self.text("name") or domain
            phones = _phones([self.text("phone")])
        if not name:
            what = "first name, last name or e-mail" if kind == "person" else "name or domain"
            raise UntranslatableRecord(f"{self.entity} {self.object_id} has no {what}")
        profile: dict[str, Any] = {
            "customer_ref": self.ref,
            "kind": kind,
            "name": name,
            "emails": emails,
            "phones": phones,
            "domain": domain,
            "external_ids": self.external_ids(),
            "addresses": self.addresses() if kind == "company" else [],
        }
        if self.updated - self.created <= CREATED_WINDOW:
            return CustomerCreated(**profile, created_at=self.created), [self.ref.id, "created"]
        return (
            CustomerUpdated(**profile, updated_at=self.updated),
            [self.ref.id, self.revision()],
        )

    def addresses(self) -> list[Address]:
        street, city = self.text("address"), self.text("city")
        country = (self.text("country") or "").upper()
        if not (street and city and country in COUNTRY_CODES):
            return []
        return [
            Address(
                street=street,
                postal_code=self.text("zip"),
                city=city,
                region=self.text("state"),
                country=country,
            )
        ]

    def revision(self) -> str:
        return str(self.data.get("updatedAt"))

    # -- leads -------------------------------------------------------------------------------

    def _stage_time(self, stages: Sequence[str]) -> datetime | None:
        stamps = [self.prop_time(f"hs_lifecyclestage_{stage}_date") for stage in stages]
        known = [s for s in stamps if s is not None]
        if known:
            return min(known)
        if self.text("lifecyclestage") in stages:
            return self.updated
        return None

    def lead_events(self) -> list[tuple[CanonicalModel, list[str]]]:
        became_lead = self._stage_time(LEAD_STAGES)
        if became_lead is None:
            return []
        lead_id = f"{self.instance}:{self.ref.id}"
        emails = _emails([self.text("email") or ""])
        first, last = self.text("firstname"), self.text("lastname")
        name = " ".join(p for p in (first, last) if p) or (emails[0] if emails else None)
        if not name:
            raise UntranslatableRecord(f"contact {self.object_id}: a lead needs a name or e-mail")
        phones = _phones([self.text("phone"), self.text("mobilephone")])
        out: list[tuple[CanonicalModel, list[str]]] = [
            (
                LeadCreated(
                    customer_ref=self.ref,
                    lead_id=lead_id,
                    created_at=became_lead,
                    name=name,
                    company=self.text("company"),
                    email=emails[0] if emails else None,
                    phone=phones[0] if phones else None,
                    source=self.text("hs_analytics_source"),
                    owner=self.text("hubspot_owner_id"),
                ),
                [self.ref.id, "lead"],
            )
        ]
        converted = self._stage_time(CONVERTED_STAGES)
        if converted is not None:
            companies = self.associated("companies")
            customer = (
                SourceRef(system=self.instance, id=f"company/{companies[0]}")
                if companies
                else self.ref
            )
            deals = self.associated("deals")
            out.append(
                (
                    LeadConverted(
                        customer_ref=customer,
                        lead_id=lead_id,
                        converted_at=max(converted, became_lead),
                        opportunity_id=f"{self.instance}:deal/{deals[0]}" if deals else None,
                    ),
                    [self.ref.id, "converted"],
                )
            )
        return out

    # -- deals -------------------------------------------------------------------------------

    def deal_events(self) -> list[tuple[CanonicalModel, list[str]]]:
        stages = self.mapping.get("won_stages")
        won_stages = (
            tuple(str(s) for s in stages) if isinstance(stages, list) else DEFAULT_WON_STAGES
        )
        won = self.text("dealstage") in won_stages or self.text("hs_is_closed_won") == "true"
        if not won:
            return []
        amount_text = self.text("amount")
        try:
            amount = Decimal(amount_text) if amount_text is not None else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            raise UntranslatableRecord(
                f"deal {self.object_id} is won but its amount is {amount_text!r}"
            )
        currency = self.text("deal_currency_code") or self.mapping.get("default_currency")
        if not isinstance(currency, str) or currency.upper() not in CURRENCY_CODES:
            raise UntranslatableRecord(
                f"deal {self.object_id} is won but has no ISO 4217 currency ({currency!r})"
            )
        companies, contacts = self.associated("companies"), self.associated("contacts")
        if companies:
            customer: SourceRef | None = SourceRef(
                system=self.instance, id=f"company/{companies[0]}"
            )
        elif contacts:
            customer = SourceRef(system=self.instance, id=f"contact/{contacts[0]}")
        else:
            customer = None
        won_at = self.prop_time("closedate") or self.updated
        return [
            (
                OpportunityWon(
                    customer_ref=customer,
                    opportunity_id=f"{self.instance}:{self.ref.id}",
                    name=self.text("dealname"),
                    won_at=won_at,
                    amount=Money(amount=amount, currency=currency.upper()),
                    owner=self.text("hubspot_owner_id"),
                ),
                [self.ref.id, "won"],
            )
        ]

    # -- output ------------------------------------------------------------------------------

    def envelope(self, payload: CanonicalModel, id_parts: list[str]) -> Envelope:
        ref = field_value(payload, "customer_ref") or self.ref
        raw = self.raw
        return canonical_event(
            payload,
            source=raw.source,
            id_parts=id_parts,
            time=_event_time(payload) or raw.time or self.updated,
            partitionkey=f"{ref.system}:{ref.id}",
            subject=self.ref.id,
            causationid=raw.id,
            correlationid=raw.correlationid or raw.id,
        )


def _event_time(payload: CanonicalModel) -> datetime | None:
    """The moment a state event happened (so every revision gives it the same time)."""
    for name in ("created_at", "converted_at", "won_at", "updated_at"):
        value = field_value(payload, name)
        if isinstance(value, datetime):
            return value
    return None


def _emails(values: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        email = value.strip().lower()
        local, _, host = email.partition("@")
        if local and host and " " not in email and email.count("@") == 1 and email not in out:
            out.append(email)
    return out


def _phones(values: Sequence[str | None]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value and len(value) >= 3 and set(value) <= _PHONE_CHARS and value not in out:
            out.append(value)
    return out


def _domain(value: str | None) -> str | None:
    if not value:
        return None
    domain = value.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/", 1)[0].removeprefix("www.")
    return domain or None


__all__ = [
    "CONVERTED_STAGES",
    "CREATED_WINDOW",
    "DEFAULT_EXTERNAL_IDS",
    "DEFAULT_WON_STAGES",
    "LEAD_STAGES",
    "MAPPING_KEY",
    "translate",
]

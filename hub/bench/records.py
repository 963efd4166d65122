"""Deterministic raw records: ERP orders (Odoo), CRM objects (HubSpot) and helpdesk tickets.

Each record is shaped as its connector reads it from the source (Odoo ``search_read`` rows
with the fields :data:`connectors.odoo.source.FIELDS` asks for and the order lines attached,
HubSpot CRM v3 objects with the instance mapping, Zendesk-style tickets) and wrapped by the
connector kit's own :func:`~connectors.kit.source.build_raw_event`, so the raw topics, ids,
keys and headers are the ones a running connector would publish. The same ``seed`` and index
always give the same record.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from connectors.kit.source import Record, build_raw_event
from connectors.odoo.source import LINES_KEY
from hub.bench.desk import ORDER_FIELD
from hub.bench.desk import TYPE_NAME as DESK_TYPE
from schemas import KafkaRecord

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
#: Out of every 100 records: (kind, share). Orders dominate, as in an ERP-heavy company.
MIX: tuple[tuple[str, int], ...] = (
    ("sale_order", 52),
    ("stock_picking", 10),
    ("res_partner", 6),
    ("company", 6),
    ("contact", 5),
    ("deal", 5),
    ("ticket", 16),
)
_KINDS = [kind for kind, share in MIX for _ in range(share)]
_PRODUCTS = (
    (1, "CHAIR-OAK", "Oak chair", 60.0),
    (2, "TABLE-OAK", "Oak table", 360.5),
    (3, "DESK-ASH", "Ash desk", 489.0),
    (4, "LAMP-BR", "Brass lamp", 79.9),
    (5, "SHELF-PINE", "Pine shelf", 129.0),
    (6, "CAB-STEEL", "Steel cabinet", 2450.0),
)
_CITIES = (("Berlin", "10115", "DE"), ("Wien", "1010", "AT"), ("Zuerich", "8001", "CH"))
_SUBJECTS = ("Where is my delivery?", "Invoice question", "Damaged item", "Change my address")


@dataclass(frozen=True)
class Instances:
    """Connector instance names of one run (a tag keeps runs on a shared cluster apart)."""

    erp: str = "bench-erp"
    crm: str = "bench-crm"
    desk: str = "bench-desk"

    @classmethod
    def tagged(cls, tag: str) -> Instances:
        return cls(f"bench{tag}-erp", f"bench{tag}-crm", f"bench{tag}-desk") if tag else cls()

    def streams(self) -> list[tuple[str, str]]:
        """(instance, entity) of every raw topic the generator writes."""
        return [
            (self.erp, "sale_order"),
            (self.erp, "stock_picking"),
            (self.erp, "res_partner"),
            (self.crm, "company"),
            (self.crm, "contact"),
            (self.crm, "deal"),
            (self.desk, "ticket"),
        ]


@dataclass(frozen=True)
class RawRecord:
    """One raw event ready to produce: topic, the Kafka record, and its CloudEvents id."""

    topic: str
    record: KafkaRecord
    event_id: str


def _odoo_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _hs_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Generator:
    """Records ``index`` 0, 1, 2, ... of one deterministic stream."""

    def __init__(
        self,
        instances: Instances | None = None,
        *,
        seed: int = 7,
        customers: int = 400,
        t0: datetime = T0,
    ) -> None:
        self.instances = instances or Instances()
        self.t0 = t0
        self.seed = seed
        self.customers = customers

    def record(self, index: int) -> RawRecord:
        rnd = random.Random(self.seed * 1_000_003 + index)  # noqa: S311 - not cryptography
        kind = _KINDS[rnd.randrange(len(_KINDS))]
        moment = self.t0 + timedelta(seconds=index)
        build = getattr(self, f"_{kind}")
        instance, type_name, entity, record = build(index, rnd, moment)
        raw = build_raw_event(instance, type_name, entity, record)
        return RawRecord(raw.topic, raw.envelope.to_kafka(), raw.envelope.id)

    def records(self, start: int, count: int) -> Iterator[RawRecord]:
        for index in range(start, start + count):
            yield self.record(index)

    # -- ERP (Odoo) ------------------------------------------------------------------------
    def _partner(self, rnd: random.Random) -> tuple[int, str]:
        n = rnd.randrange(self.customers)
        return 100 + n, f"Customer {n} GmbH"

    def _sale_order(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        partner = list(self._partner(rnd))
        number = f"S{index + 1:06d}"
        lines: list[dict[str, Any]] = []
        for n in range(rnd.choice((1, 1, 2, 3))):
            pid, code, name, price = _PRODUCTS[rnd.randrange(len(_PRODUCTS))]
            qty = float(rnd.randint(1, 8))
            lines.append(
                {
                    "id": index * 4 + n,
                    "order_id": [index + 1, number],
                    "sequence": 10 * (n + 1),
                    "display_type": False,
                    "product_id": [pid, f"[{code}] {name}"],
                    "name": f"[{code}] {name}",
                    "product_uom_qty": qty,
                    "product_uom": [1, "Units"],
                    "price_unit": price,
                    "discount": 0.0,
                    "price_subtotal": round(qty * price, 2),
                    "price_total": round(qty * price * 1.19, 2),
                    "currency_id": [1, "EUR"],
                }
            )
        untaxed = round(sum(line["price_subtotal"] for line in lines), 2)
        tax = round(untaxed * 0.19, 2)
        roll = rnd.random()
        state = "sale" if roll < 0.7 else "sent" if roll < 0.9 else "cancel"
        created = moment - timedelta(hours=3)
        data = {
            "id": index + 1,
            "name": number,
            "state": state,
            "partner_id": partner,
            "partner_shipping_id": partner,
            "date_order": _odoo_time(moment - timedelta(minutes=20)),
            "commitment_date": _odoo_time(moment + timedelta(days=7)),
            "client_order_ref": f"PO-{rnd.randrange(10_000)}",
            "origin": False,
            "currency_id": [1, "EUR"],
            "amount_untaxed": untaxed,
            "amount_tax": tax,
            "amount_total": round(untaxed + tax, 2),
            "order_line": [line["id"] for line in lines],
            "create_date": _odoo_time(created),
            "write_date": _odoo_time(moment),
            LINES_KEY: lines,
        }
        record = Record(id=str(index + 1), revision=str(data["write_date"]), time=moment, data=data)
        return self.instances.erp, "odoo", "sale_order", record

    def _stock_picking(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        partner = list(self._partner(rnd))
        order = rnd.randrange(max(index, 1)) + 1
        data = {
            "id": index + 1,
            "name": f"WH/OUT/{index + 1:06d}",
            "picking_type_code": "outgoing",
            "state": "done",
            "partner_id": partner,
            "origin": f"S{order:06d}",
            "sale_id": [order, f"S{order:06d}"],
            "scheduled_date": _odoo_time(moment - timedelta(days=1)),
            "date_deadline": _odoo_time(moment + timedelta(days=2)),
            "date_done": _odoo_time(moment),
            "carrier_id": [2, "DHL"],
            "carrier_tracking_ref": f"JJD{rnd.randrange(10**12):012d}",
            "create_date": _odoo_time(moment - timedelta(days=2)),
            "write_date": _odoo_time(moment),
            "x_delivered_date": False,
        }
        record = Record(id=str(index + 1), revision=str(data["write_date"]), time=moment, data=data)
        return self.instances.erp, "odoo", "stock_picking", record

    def _res_partner(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        pid, name = self._partner(rnd)
        n = pid - 100
        city, zip_code, country = _CITIES[n % len(_CITIES)]
        data = {
            "id": pid,
            "name": name,
            "display_name": name,
            "is_company": True,
            "parent_id": False,
            "commercial_partner_id": [pid, name],
            "email": f"orders@customer{n}.example",
            "phone": f"+49 30 {1_000_000 + n}",
            "mobile": False,
            "website": f"https://www.customer{n}.example",
            "vat": f"DE{100_000_000 + n}",
            "ref": str(10_000 + n),
            "street": f"Hauptstrasse {n % 90 + 1}",
            "street2": False,
            "zip": zip_code,
            "city": city,
            "country_id": [57, country],
            "country_code": country,
            "active": True,
            "create_date": _odoo_time(self.t0 - timedelta(days=30)),
            "write_date": _odoo_time(moment),
        }
        record = Record(id=str(pid), revision=str(data["write_date"]), time=moment, data=data)
        return self.instances.erp, "odoo", "res_partner", record

    # -- CRM (HubSpot) ---------------------------------------------------------------------
    _MAPPING: ClassVar[dict[str, Any]] = {
        "external_id_properties": {"erp_customer_number": "erp_customer_number"},
        "won_stages": ["closedwon"],
        "default_currency": "EUR",
    }

    def _hubspot(self, object_id: str, props: dict[str, Any], moment: datetime) -> dict[str, Any]:
        return {
            "id": object_id,
            "properties": props | {"hs_object_id": object_id},
            "createdAt": _hs_time(self.t0 - timedelta(days=10)),
            "updatedAt": _hs_time(moment),
            "archived": False,
            "_handoff": self._MAPPING,
        }

    def _company(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        n = rnd.randrange(self.customers)
        object_id = str(9000 + n)
        city, zip_code, country = _CITIES[n % len(_CITIES)]
        props = {
            "name": f"Customer {n} GmbH",
            "domain": f"customer{n}.example",
            "phone": f"+49 30 {1_000_000 + n}",
            "address": f"Hauptstrasse {n % 90 + 1}",
            "zip": zip_code,
            "city": city,
            "country": country,
            "erp_customer_number": str(10_000 + n),
            "createdate": _hs_time(self.t0 - timedelta(days=10)),
            "hs_lastmodifieddate": _hs_time(moment),
            "lifecyclestage": "customer",
        }
        data = self._hubspot(object_id, props, moment)
        record = Record(id=object_id, revision=_hs_time(moment), time=moment, data=data)
        return self.instances.crm, "hubspot", "company", record

    def _contact(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        n = rnd.randrange(self.customers)
        object_id = str(50_000 + index)
        props = {
            "email": f"buyer{index}@customer{n}.example",
            "firstname": "Jana",
            "lastname": f"Weber{index}",
            "phone": f"+49 30 {2_000_000 + index}",
            "mobilephone": None,
            "company": f"Customer {n} GmbH",
            "lifecyclestage": "lead",
            "hs_analytics_source": "OFFLINE",
            "hubspot_owner_id": "7788",
            "createdate": _hs_time(moment - timedelta(minutes=5)),
            "lastmodifieddate": _hs_time(moment),
            "hs_lifecyclestage_lead_date": _hs_time(moment),
        }
        data = self._hubspot(object_id, props, moment)
        data["associations"] = {
            "companies": {"results": [{"id": str(9000 + n), "type": "contact_to_company"}]}
        }
        record = Record(id=object_id, revision=_hs_time(moment), time=moment, data=data)
        return self.instances.crm, "hubspot", "contact", record

    def _deal(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        n = rnd.randrange(self.customers)
        object_id = str(30_000 + index)
        props = {
            "dealname": f"Office furniture {index}",
            "amount": f"{rnd.randrange(500, 40_000)}.00",
            "deal_currency_code": "EUR",
            "dealstage": "closedwon",
            "pipeline": "default",
            "closedate": _hs_time(moment),
            "hs_is_closed_won": "true",
            "hubspot_owner_id": "7788",
            "createdate": _hs_time(moment - timedelta(days=3)),
            "hs_lastmodifieddate": _hs_time(moment),
        }
        data = self._hubspot(object_id, props, moment)
        data["associations"] = {
            "companies": {"results": [{"id": str(9000 + n), "type": "deal_to_company"}]}
        }
        record = Record(id=object_id, revision=_hs_time(moment), time=moment, data=data)
        return self.instances.crm, "hubspot", "deal", record

    # -- helpdesk --------------------------------------------------------------------------
    def _ticket(self, index: int, rnd: random.Random, moment: datetime) -> Any:
        user = rnd.randrange(self.customers * 2)
        complaint = rnd.random() < 0.3
        tags = (
            ["complaint", rnd.choice(("delivery", "product_quality", "billing"))]
            if complaint
            else [rnd.choice(("delivery", "billing", "account"))]
        )
        order = rnd.randrange(max(index, 1)) + 1
        data = {
            "id": 70_000 + index,
            "subject": rnd.choice(_SUBJECTS),
            "description": "Hello, the order has not arrived yet. Please check.",
            "priority": rnd.choice(("low", "normal", "normal", "high", "urgent")),
            "status": "new",
            "type": "problem" if complaint else "question",
            "requester_id": 5000 + user,
            "requester": {"name": f"Requester {user}", "email": f"user{user}@mail.example"},
            "via": {"channel": rnd.choice(("email", "web", "voice"))},
            "tags": tags,
            "custom_fields": [{"id": ORDER_FIELD, "value": f"S{order:06d}"}],
            "created_at": _hs_time(moment),
            "updated_at": _hs_time(moment),
        }
        record = Record(id=str(data["id"]), revision=_hs_time(moment), time=moment, data=data)
        return self.instances.desk, DESK_TYPE, "ticket", record

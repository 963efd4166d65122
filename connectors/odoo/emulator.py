"""A local emulator of the subset of Odoo's external JSON-RPC API the connector uses.

It answers ``POST /jsonrpc`` exactly as Odoo 16/17 does for the calls below, on an
in-memory store that tests and the demo company seed through a small Python API
(:meth:`OdooEmulator.add_partner`, :meth:`~OdooEmulator.add_order`,
:meth:`~OdooEmulator.confirm_order`, :meth:`~OdooEmulator.ship`,
:meth:`~OdooEmulator.invoice`, :meth:`~OdooEmulator.pay`,
:meth:`~OdooEmulator.return_goods`, ...). Every change bumps the
touched records' ``write_date`` like the ORM does (microsecond precision in the store,
whole seconds on the wire).

Implemented (see ``connectors/odoo/README.md`` for the documentation it follows):

- service ``common``: ``version()``, ``login(db, login, password)``,
  ``authenticate(db, login, password, user_agent_env)`` -> uid, or ``false`` on bad
  credentials (Odoo catches ``AccessDenied`` there);
- service ``object``: ``execute_kw(db, uid, password, model, method, args, kwargs)`` with
  methods ``search_read``, ``search``, ``read``, ``search_count`` on ``res.partner``,
  ``sale.order``, ``sale.order.line``, ``stock.picking``, ``stock.move``, ``account.move`` and the
  referenced ``res.country``, ``res.currency``, ``product.product``, ``uom.uom``,
  ``delivery.carrier``; domains with ``= != > >= < <= in not in`` and ``& | !``;
  ``fields``, ``order``, ``limit``, ``offset``;
- values as Odoo serialises them: many2one ``[id, display_name]``, one2many lists of ids,
  datetimes ``"YYYY-MM-DD HH:MM:SS"`` (UTC), dates ``"YYYY-MM-DD"``, ``false`` for empty;
- errors as JSON-RPC error objects (HTTP 200) with Odoo's shape ``{"code": 200, "message":
  "Odoo Server Error", "data": {"name", "message", "arguments", "context", "debug"}}``:
  ``odoo.exceptions.AccessDenied`` for a wrong uid/password, ``odoo.exceptions.UserError``
  for an unknown model, ``builtins.ValueError`` for an unknown field, ``AttributeError`` for
  an unknown method, ``psycopg2.OperationalError`` for an unknown database;
- a reverse-proxy rate limit (Odoo itself has none): after :meth:`OdooEmulator.throttle`
  the next requests get HTTP 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from connectors.odoo.domain import (
    DATE_FORMAT,
    DomainError,
    evaluate,
    format_datetime,
)

SERVER_VERSION = "17.0"
REQUEST_LOG_SIZE = 10_000
COUNTRY_NAMES = {
    "DE": "Germany",
    "AT": "Austria",
    "CH": "Switzerland",
    "FR": "France",
    "NL": "Netherlands",
    "BE": "Belgium",
    "GB": "United Kingdom",
    "US": "United States",
}
SERVER_VERSION_INFO = [17, 0, 0, "final", 0, ""]

# --- models ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    type: str  # char, text, selection, boolean, integer, float, monetary, date, datetime,
    #            many2one, one2many, many2many
    relation: str | None = None


def _f(kind: str, relation: str | None = None) -> Field:
    return Field(kind, relation)


_LOG_ACCESS = {
    "create_date": _f("datetime"),
    "write_date": _f("datetime"),
    "display_name": _f("char"),
}

MODELS: dict[str, dict[str, Field]] = {
    "res.partner": {
        "name": _f("char"),
        "is_company": _f("boolean"),
        "parent_id": _f("many2one", "res.partner"),
        "commercial_partner_id": _f("many2one", "res.partner"),
        "child_ids": _f("one2many", "res.partner"),
        "email": _f("char"),
        "phone": _f("char"),
        "mobile": _f("char"),
        "website": _f("char"),
        "vat": _f("char"),
        "ref": _f("char"),
        "street": _f("char"),
        "street2": _f("char"),
        "zip": _f("char"),
        "city": _f("char"),
        "country_id": _f("many2one", "res.country"),
        "country_code": _f("char"),
        "lang": _f("char"),
        "active": _f("boolean"),
        "customer_rank": _f("integer"),
        "supplier_rank": _f("integer"),
    },
    "res.country": {"name": _f("char"), "code": _f("char")},
    "res.currency": {"name": _f("char"), "symbol": _f("char")},
    "uom.uom": {"name": _f("char")},
    "delivery.carrier": {"name": _f("char")},
    "product.product": {
        "name": _f("char"),
        "default_code": _f("char"),
        "list_price": _f("float"),
    },
    "sale.order": {
        "name": _f("char"),
        "state": _f("selection"),
        "partner_id": _f("many2one", "res.partner"),
        "partner_invoice_id": _f("many2one", "res.partner"),
        "partner_shipping_id": _f("many2one", "res.partner"),
        "date_order": _f("datetime"),
        "validity_date": _f("date"),
        "commitment_date": _f("datetime"),
        "client_order_ref": _f("char"),
        "origin": _f("char"),
        "currency_id": _f("many2one", "res.currency"),
        "amount_untaxed": _f("monetary"),
        "amount_tax": _f("monetary"),
        "amount_total": _f("monetary"),
        "order_line": _f("one2many", "sale.order.line"),
        "invoice_status": _f("selection"),
        "invoice_ids": _f("many2many", "account.move"),
        "picking_ids": _f("one2many", "stock.picking"),
    },
    "sale.order.line": {
        "order_id": _f("many2one", "sale.order"),
        "sequence": _f("integer"),
        "display_type": _f("selection"),
        "product_id": _f("many2one", "product.product"),
        "name": _f("text"),
        "product_uom_qty": _f("float"),
        "product_uom": _f("many2one", "uom.uom"),
        "price_unit": _f("float"),
        "discount": _f("float"),
        "price_subtotal": _f("monetary"),
        "price_tax": _f("float"),
        "price_total": _f("monetary"),
        "qty_delivered": _f("float"),
        "qty_invoiced": _f("float"),
        "currency_id": _f("many2one", "res.currency"),
    },
    "stock.picking": {
        "name": _f("char"),
        "picking_type_code": _f("selection"),
        "state": _f("selection"),
        "partner_id": _f("many2one", "res.partner"),
        "origin": _f("char"),
        "sale_id": _f("many2one", "sale.order"),
        "scheduled_date": _f("datetime"),
        "date_deadline": _f("datetime"),
        "date_done": _f("datetime"),
        "carrier_id": _f("many2one", "delivery.carrier"),
        "carrier_tracking_ref": _f("char"),
        "move_ids": _f("one2many", "stock.move"),
        # Odoo 17: the picking a return picking returns (16 links the moves only)
        "return_id": _f("many2one", "stock.picking"),
        "return_ids": _f("one2many", "stock.picking"),
        # Custom (Studio-style) fields: Odoo has no "delivered to the customer" date and
        # its return wizard asks for no reason.
        "x_delivered_date": _f("datetime"),
        "x_return_reason": _f("char"),
    },
    "stock.move": {
        "name": _f("char"),
        "picking_id": _f("many2one", "stock.picking"),
        "product_id": _f("many2one", "product.product"),
        "product_uom_qty": _f("float"),
        "product_uom": _f("many2one", "uom.uom"),
        "state": _f("selection"),
        "origin_returned_move_id": _f("many2one", "stock.move"),
        "returned_move_ids": _f("one2many", "stock.move"),
        "sale_line_id": _f("many2one", "sale.order.line"),
    },
    "account.move": {
        "name": _f("char"),
        "move_type": _f("selection"),
        "state": _f("selection"),
        "payment_state": _f("selection"),
        "partner_id": _f("many2one", "res.partner"),
        "commercial_partner_id": _f("many2one", "res.partner"),
        "invoice_origin": _f("char"),
        "invoice_date": _f("date"),
        "invoice_date_due": _f("date"),
        "date": _f("date"),
        "ref": _f("char"),
        "payment_reference": _f("char"),
        "currency_id": _f("many2one", "res.currency"),
        "amount_untaxed": _f("monetary"),
        "amount_tax": _f("monetary"),
        "amount_total": _f("monetary"),
        "amount_residual": _f("monetary"),
    },
}
for _fields in MODELS.values():
    _fields.update(_LOG_ACCESS)

#: Each model's ``_order`` (used when a call gives no ``order``).
DEFAULT_ORDER = {
    "res.partner": "display_name asc, id desc",
    "sale.order": "date_order desc, id desc",
    "sale.order.line": "order_id asc, sequence asc, id asc",
    "stock.picking": "scheduled_date asc, id desc",
    "stock.move": "id asc",
    "account.move": "date desc, name desc, id desc",
}


# --- errors ------------------------------------------------------------------------------


class OdooFault(Exception):  # noqa: N818 - named after what Odoo raises, not an "Error"
    """An exception the emulated server serialises into a JSON-RPC error object."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message

    def error_object(self) -> dict[str, Any]:
        short = self.name.rsplit(".", 1)[-1]
        debug = (
            f"{self.name}: {self.message}\n"
            if short == "AccessDenied"  # Odoo suppresses AccessDenied's traceback
            else f'Traceback (most recent call last):\n  File "odoo/http.py"\n{self.name}: '
            f"{self.message}\n"
        )
        return {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": self.name,
                "debug": debug,
                "message": self.message,
                "arguments": [self.message],
                "context": {},
            },
        }


def access_denied() -> OdooFault:
    return OdooFault("odoo.exceptions.AccessDenied", "Access Denied")


# --- the store -----------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class User:
    uid: int
    login: str
    password: str
    api_keys: set[str] = field(default_factory=set)


class OdooEmulator:
    """In-memory Odoo database ``db`` behind a JSON-RPC endpoint.

    ``clock`` returns naive UTC datetimes (Odoo's convention); tests pass a controllable
    one. All public methods are thread-safe, so a test thread can seed while the server
    thread answers.
    """

    def __init__(
        self,
        *,
        db: str = "odoo",
        login: str = "admin",
        password: str = "admin",  # noqa: S107 - the emulator's demo credentials
        clock: Callable[[], datetime] | None = None,
        currency: str = "EUR",
        tax_rate: float = 0.19,
    ) -> None:
        self.db = db
        self.clock = clock or _utcnow
        self.default_currency = currency
        self.tax_rate = tax_rate
        self._lock = threading.RLock()
        self._tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in MODELS}
        self._ids = {name: itertools.count(1) for name in MODELS}
        self._sequences: dict[str, itertools.count[int]] = {}
        self.users: dict[str, User] = {login: User(uid=2, login=login, password=password)}
        self._throttle_remaining = 0
        self._throttle_retry_after = 1.0
        self.requests: list[dict[str, Any]] = []  # every JSON-RPC call, for assertions
        self.app = Starlette(routes=[Route("/jsonrpc", self._endpoint, methods=["POST"])])
        self._last_write: datetime | None = None
        self._wire_overrides: dict[tuple[str, int], dict[str, Any]] = {}

    # --- credentials and proxy behaviour ---------------------------------------------------

    def add_api_key(self, login: str, key: str) -> None:
        """An API key usable instead of the password (Odoo 14+)."""
        with self._lock:
            self.users[login].api_keys.add(key)

    def revoke_api_key(self, login: str, key: str) -> None:
        with self._lock:
            self.users[login].api_keys.discard(key)

    def set_password(self, login: str, password: str) -> None:
        with self._lock:
            self.users[login].password = password

    def corrupt(self, model: str, record_id: int, **wire_values: Any) -> None:
        """Fault injection: serve these values for the record instead of the stored ones
        (what a broken custom module or a bad data migration can produce)."""
        with self._lock:
            self._record(model, record_id)
            self._wire_overrides[(model, record_id)] = dict(wire_values)

    def throttle(self, requests: int = 1, retry_after: float = 1.0) -> None:
        """Answer the next ``requests`` requests with HTTP 429 and ``Retry-After``, as a
        rate-limiting reverse proxy in front of Odoo would."""
        with self._lock:
            self._throttle_remaining = requests
            self._throttle_retry_after = retry_after

    # --- generic store access --------------------------------------------------------------

    def _now(self) -> datetime:
        """The transaction time; strictly increasing so every write is ordered."""
        now = self.clock()
        if self._last_write is not None and now <= self._last_write:
            now = self._last_write + timedelta(microseconds=1)
        self._last_write = now
        return now

    def _create(self, model: str, values: Mapping[str, Any]) -> int:
        record_id = next(self._ids[model])
        now = self._now()
        record: dict[str, Any] = dict.fromkeys(MODELS[model])
        for name, spec in MODELS[model].items():
            if spec.type in ("one2many", "many2many"):
                record[name] = []
            elif spec.type == "boolean":
                record[name] = False
            elif spec.type in ("integer", "float", "monetary"):
                record[name] = 0
        record.update(values)
        record["id"] = record_id
        record["create_date"] = now
        record["write_date"] = now
        self._tables[model][record_id] = record
        return record_id

    def _write(self, model: str, record_id: int, values: Mapping[str, Any]) -> None:
        record = self._record(model, record_id)
        unknown = set(values) - set(MODELS[model])
        if unknown:
            raise ValueError(f"unknown fields of {model}: {sorted(unknown)}")
        record.update(values)
        record["write_date"] = self._now()

    def _record(self, model: str, record_id: int) -> dict[str, Any]:
        try:
            return self._tables[model][record_id]
        except KeyError:
            raise KeyError(f"{model}({record_id},) does not exist") from None

    def record(self, model: str, record_id: int) -> dict[str, Any]:
        """The record as ``read`` returns it (all fields)."""
        with self._lock:
            return self._read_one(model, self._record(model, record_id), None)

    def write(self, model: str, record_id: int, **values: Any) -> None:
        """Write raw values (many2one as ids, datetimes as naive UTC) and bump write_date."""
        with self._lock:
            self._write(model, record_id, values)

    def _next_name(self, prefix: str, width: int = 5) -> str:
        counter = self._sequences.setdefault(prefix, itertools.count(1))
        return f"{prefix}{next(counter):0{width}d}"

    def _find_or_create(self, model: str, key: str, value: Any, **extra: Any) -> int:
        for record_id, record in self._tables[model].items():
            if record.get(key) == value:
                return record_id
        return self._create(model, {key: value, **extra})

    # --- seed API (tests and the demo company) ---------------------------------------------

    def add_partner(
        self,
        name: str,
        *,
        is_company: bool = True,
        email: str | None = None,
        phone: str | None = None,
        vat: str | None = None,
        ref: str | None = None,
        website: str | None = None,
        parent_id: int | None = None,
        street: str | None = None,
        zip: str | None = None,
        city: str | None = None,
        country_code: str | None = None,
    ) -> int:
        """Create a res.partner (a company, or a person when ``is_company`` is false)."""
        with self._lock:
            country = None
            if country_code:
                country = self._find_or_create(
                    "res.country",
                    "code",
                    country_code,
                    name=COUNTRY_NAMES.get(country_code, country_code),
                )
            partner_id = self._create(
                "res.partner",
                {
                    "name": name,
                    "is_company": is_company,
                    "email": email,
                    "phone": phone,
                    "vat": vat,
                    "ref": ref,
                    "website": website,
                    "parent_id": parent_id,
                    "street": street,
                    "zip": zip,
                    "city": city,
                    "country_id": country,
                    "country_code": country_code,
                    "active": True,
                    "lang": "en_US",
                },
            )
            record = self._tables["res.partner"][partner_id]
            record["commercial_partner_id"] = (
                partner_id if is_company or parent_id is None else parent_id
            )
            if parent_id is not None:
                self._record("res.partner", parent_id)["child_ids"].append(partner_id)
            return partner_id

    def update_partner(self, partner_id: int, **values: Any) -> None:
        """Change a partner's fields (raw values) and bump its write_date."""
        self.write("res.partner", partner_id, **values)

    def add_product(self, default_code: str, name: str | None = None, price: float = 0.0) -> int:
        with self._lock:
            for record_id, record in self._tables["product.product"].items():
                if record["default_code"] == default_code:
                    return record_id
            return self._create(
                "product.product",
                {"default_code": default_code, "name": name or default_code, "list_price": price},
            )

    def add_order(
        self,
        partner_id: int,
        lines: Sequence[tuple[str, float, float] | tuple[str, float, float, str]],
        *,
        currency: str | None = None,
        state: str = "draft",
        client_order_ref: str | None = None,
        commitment_date: datetime | None = None,
    ) -> int:
        """A quotation (sale.order in ``draft`` or ``sent``) with lines ``(sku, qty, price)``
        or ``(sku, qty, price, product name)``; unknown products are created.

        Returns the order's id; its ``name`` is ``S00001``, ``S00002``, ...
        """
        if state not in ("draft", "sent"):
            raise ValueError("a new order is a quotation: state draft or sent")
        with self._lock:
            self._record("res.partner", partner_id)
            currency_id = self._currency(currency or self.default_currency)
            now = self.clock()
            order_id = self._create(
                "sale.order",
                {
                    "name": self._next_name("S"),
                    "state": state,
                    "partner_id": partner_id,
                    "partner_invoice_id": partner_id,
                    "partner_shipping_id": partner_id,
                    "date_order": now.replace(microsecond=0),
                    "validity_date": (now + timedelta(days=30)).date(),
                    "commitment_date": commitment_date,
                    "client_order_ref": client_order_ref,
                    "origin": False,
                    "currency_id": currency_id,
                    "invoice_status": "no",
                },
            )
            units = self._find_or_create("uom.uom", "name", "Units")
            untaxed = tax = 0.0
            line_ids = []
            for sequence, line in enumerate(lines, start=1):
                sku, qty, price = line[0], line[1], line[2]
                product = self.add_product(sku, line[3] if len(line) > 3 else None, price)
                subtotal = round(qty * price, 2)
                line_tax = round(subtotal * self.tax_rate, 2)
                untaxed += subtotal
                tax += line_tax
                line_ids.append(
                    self._create(
                        "sale.order.line",
                        {
                            "order_id": order_id,
                            "sequence": sequence * 10,
                            "display_type": False,
                            "product_id": product,
                            "name": self._display_name(
                                "product.product", self._record("product.product", product)
                            ),
                            "product_uom_qty": qty,
                            "product_uom": units,
                            "price_unit": price,
                            "discount": 0.0,
                            "price_subtotal": subtotal,
                            "price_tax": line_tax,
                            "price_total": round(subtotal + line_tax, 2),
                            "currency_id": currency_id,
                        },
                    )
                )
            order = self._tables["sale.order"][order_id]
            order.update(
                order_line=line_ids,
                amount_untaxed=round(untaxed, 2),
                amount_tax=round(tax, 2),
                amount_total=round(untaxed + tax, 2),
            )
            self._bump_customer_rank(partner_id)
            return order_id

    def send_quotation(self, order_id: int) -> None:
        """draft -> sent (the quotation was e-mailed)."""
        with self._lock:
            self._expect_state("sale.order", order_id, ("draft",))
            self._write("sale.order", order_id, {"state": "sent"})

    def confirm_order(self, order_id: int, *, lead_days: float = 2.0) -> int:
        """Confirm (``action_confirm``): state ``sale``, ``date_order`` = now, and an
        outgoing delivery (stock.picking ``WH/OUT/…``, ready) is created. Returns its id."""
        with self._lock:
            order = self._expect_state("sale.order", order_id, ("draft", "sent"))
            now = self.clock().replace(microsecond=0)
            self._write(
                "sale.order",
                order_id,
                {"state": "sale", "date_order": now, "invoice_status": "to invoice"},
            )
            picking_id = self._create(
                "stock.picking",
                {
                    "name": self._next_name("WH/OUT/"),
                    "picking_type_code": "outgoing",
                    "state": "assigned",
                    "partner_id": order["partner_shipping_id"],
                    "origin": order["name"],
                    "sale_id": order_id,
                    "scheduled_date": now + timedelta(days=lead_days),
                    "date_deadline": order["commitment_date"],
                },
            )
            picking = self._tables["stock.picking"][picking_id]
            for line_id in order["order_line"]:
                line = self._tables["sale.order.line"][line_id]
                if line["display_type"] or not line["product_id"]:
                    continue
                picking["move_ids"].append(
                    self._create(
                        "stock.move",
                        {
                            "name": line["name"],
                            "picking_id": picking_id,
                            "product_id": line["product_id"],
                            "product_uom_qty": line["product_uom_qty"],
                            "product_uom": line["product_uom"],
                            "state": "assigned",
                            "sale_line_id": line_id,
                        },
                    )
                )
            order["picking_ids"].append(picking_id)
            return picking_id

    def cancel_order(self, order_id: int) -> None:
        """``action_cancel``: the order and its open deliveries are cancelled."""
        with self._lock:
            order = self._expect_state("sale.order", order_id, ("draft", "sent", "sale"))
            for picking_id in order["picking_ids"]:
                if self._tables["stock.picking"][picking_id]["state"] != "done":
                    self._set_moves(picking_id, "cancel")
                    self._write("stock.picking", picking_id, {"state": "cancel"})
            self._write("sale.order", order_id, {"state": "cancel"})

    def ship(
        self,
        order_id: int,
        *,
        carrier: str | None = "DHL",
        tracking_ref: str | None = None,
    ) -> int:
        """Validate the order's open delivery: state ``done``, ``date_done`` = now, the
        carrier and tracking reference set. Returns the picking's id."""
        with self._lock:
            order = self._expect_state("sale.order", order_id, ("sale", "done"))
            open_pickings = [
                p
                for p in order["picking_ids"]
                if self._tables["stock.picking"][p]["state"] not in ("done", "cancel")
            ]
            if not open_pickings:
                raise ValueError(f"sale.order {order['name']} has no delivery left to ship")
            picking_id: int = open_pickings[0]
            carrier_id = (
                self._find_or_create("delivery.carrier", "name", carrier) if carrier else None
            )
            self._write(
                "stock.picking",
                picking_id,
                {
                    "state": "done",
                    "date_done": self.clock().replace(microsecond=0),
                    "carrier_id": carrier_id,
                    "carrier_tracking_ref": tracking_ref,
                },
            )
            self._set_moves(picking_id, "done")
            for line_id in order["order_line"]:
                line = self._tables["sale.order.line"][line_id]
                line["qty_delivered"] = line["product_uom_qty"]
            return picking_id

    def _set_moves(self, picking_id: int, state: str) -> None:
        for move_id in self._tables["stock.picking"][picking_id]["move_ids"]:
            if self._tables["stock.move"][move_id]["state"] not in ("done", "cancel"):
                self._write("stock.move", move_id, {"state": state})

    def return_goods(
        self,
        order_or_picking: int | str,
        lines: Sequence[tuple[str, float]] | None = None,
        *,
        reason: str | None = None,
    ) -> int:
        """The customer sends delivered goods back: what Odoo's return wizard
        (``stock.return.picking``) does on a validated delivery.

        ``order_or_picking`` is a sale.order id, or the name of an order (``S00012``) or of
        a delivery (``WH/OUT/00012``); an order's last validated delivery is returned.
        ``lines`` are ``(sku, quantity)`` (default: everything not returned yet). Creates an
        incoming picking ``WH/IN/…``, ready (``assigned``), with ``origin`` ``"Return of
        WH/OUT/…"``, the order's ``sale_id``, ``return_id`` = the delivery and one move per
        line whose ``origin_returned_move_id`` is the delivered move; ``reason`` goes into
        the custom field ``x_return_reason``. Returns the new picking's id.
        """
        with self._lock:
            delivery = self._returnable_delivery(order_or_picking)
            moves = [self._tables["stock.move"][m] for m in delivery["move_ids"]]
            open_qty: dict[str, tuple[dict[str, Any], float]] = {}
            for move in moves:
                if move["state"] != "done":
                    continue
                returned = sum(
                    float(self._tables["stock.move"][r]["product_uom_qty"])
                    for r in move["returned_move_ids"]
                    if self._tables["stock.move"][r]["state"] != "cancel"
                )
                sku = self._record("product.product", move["product_id"])["default_code"]
                open_qty[str(sku)] = (move, float(move["product_uom_qty"]) - returned)
            wanted = (
                [(sku, qty) for sku, (_, qty) in open_qty.items() if qty > 0]
                if lines is None
                else [(sku, float(qty)) for sku, qty in lines]
            )
            for sku, qty in wanted:
                if sku not in open_qty:
                    raise ValueError(f"{delivery['name']} delivered no {sku}")
                if not 0 < qty <= open_qty[sku][1]:
                    raise ValueError(
                        f"{delivery['name']}: {qty:g} x {sku} cannot be returned "
                        f"({open_qty[sku][1]:g} delivered and not returned yet)"
                    )
            if not wanted:
                raise ValueError(f"everything of {delivery['name']} was returned already")
            now = self.clock().replace(microsecond=0)
            picking_id = self._create(
                "stock.picking",
                {
                    "name": self._next_name("WH/IN/"),
                    "picking_type_code": "incoming",
                    "state": "assigned",
                    "partner_id": delivery["partner_id"],
                    "origin": f"Return of {delivery['name']}",
                    "sale_id": delivery["sale_id"],
                    "scheduled_date": now,
                    "return_id": delivery["id"],
                    "x_return_reason": reason,
                },
            )
            picking = self._tables["stock.picking"][picking_id]
            for sku, qty in wanted:
                origin_move = open_qty[sku][0]
                move_id = self._create(
                    "stock.move",
                    {
                        "name": origin_move["name"],
                        "picking_id": picking_id,
                        "product_id": origin_move["product_id"],
                        "product_uom_qty": qty,
                        "product_uom": origin_move["product_uom"],
                        "state": "assigned",
                        "origin_returned_move_id": origin_move["id"],
                        "sale_line_id": origin_move["sale_line_id"],
                    },
                )
                picking["move_ids"].append(move_id)
                # inverse one2many fields change no write_date
                origin_move["returned_move_ids"].append(move_id)
            delivery["return_ids"].append(picking_id)
            if delivery["sale_id"]:
                self._tables["sale.order"][delivery["sale_id"]]["picking_ids"].append(picking_id)
            return picking_id

    def _returnable_delivery(self, order_or_picking: int | str) -> dict[str, Any]:
        pickings = self._tables["stock.picking"]
        if isinstance(order_or_picking, str):
            named = [p for p in pickings.values() if p["name"] == order_or_picking]
            if named:
                delivery = named[0]
                if delivery["picking_type_code"] != "outgoing" or delivery["state"] != "done":
                    raise ValueError(f"{order_or_picking} is not a validated delivery")
                return delivery
            orders = [
                i for i, o in self._tables["sale.order"].items() if o["name"] == order_or_picking
            ]
            if not orders:
                raise KeyError(f"no sale.order or stock.picking named {order_or_picking!r}")
            order_or_picking = orders[0]
        order = self._record("sale.order", order_or_picking)
        done = [
            pickings[p]
            for p in order["picking_ids"]
            if pickings[p]["picking_type_code"] == "outgoing" and pickings[p]["state"] == "done"
        ]
        if not done:
            raise ValueError(f"sale.order {order['name']} has no validated delivery to return")
        return done[-1]

    def receive_return(self, picking_id: int) -> None:
        """Validate a return picking (the goods are back): ``assigned`` -> ``done``,
        ``date_done`` = now; the order lines' delivered quantities go down."""
        with self._lock:
            picking = self._expect_state("stock.picking", picking_id, ("confirmed", "assigned"))
            if picking["picking_type_code"] != "incoming" or not picking["return_id"]:
                raise ValueError(f"stock.picking {picking['name']} is not a return")
            for move_id in picking["move_ids"]:
                move = self._tables["stock.move"][move_id]
                line = self._tables["sale.order.line"].get(move["sale_line_id"] or 0)
                if line is not None and move["state"] != "cancel":
                    line["qty_delivered"] = max(
                        0.0, float(line["qty_delivered"]) - float(move["product_uom_qty"])
                    )
            self._set_moves(picking_id, "done")
            self._write(
                "stock.picking",
                picking_id,
                {"state": "done", "date_done": self.clock().replace(microsecond=0)},
            )

    def deliver(self, picking_id: int) -> None:
        """Record delivery to the customer in the custom field ``x_delivered_date``."""
        with self._lock:
            self._expect_state("stock.picking", picking_id, ("done",))
            self._write(
                "stock.picking",
                picking_id,
                {"x_delivered_date": self.clock().replace(microsecond=0)},
            )

    def invoice(self, order_id: int, *, post: bool = True, due_days: int = 14) -> int:
        """Create the customer invoice of an order (posted unless ``post`` is false): name
        ``INV/<year>/00001``, ``invoice_origin`` = the order's name. Returns its id."""
        with self._lock:
            order = self._expect_state("sale.order", order_id, ("sale", "done"))
            today = self.clock().date()
            partner = self._record("res.partner", order["partner_invoice_id"])
            move_id = self._create(
                "account.move",
                {
                    "name": self._next_name(f"INV/{today.year}/") if post else "/",
                    "move_type": "out_invoice",
                    "state": "posted" if post else "draft",
                    "payment_state": "not_paid",
                    "partner_id": order["partner_invoice_id"],
                    "commercial_partner_id": partner["commercial_partner_id"],
                    "invoice_origin": order["name"],
                    "invoice_date": today if post else None,
                    "invoice_date_due": today + timedelta(days=due_days) if post else None,
                    "date": today,
                    "currency_id": order["currency_id"],
                    "amount_untaxed": order["amount_untaxed"],
                    "amount_tax": order["amount_tax"],
                    "amount_total": order["amount_total"],
                    "amount_residual": order["amount_total"],
                },
            )
            move = self._tables["account.move"][move_id]
            move["payment_reference"] = move["name"] if post else False
            order["invoice_ids"].append(move_id)
            for line_id in order["order_line"]:
                line = self._tables["sale.order.line"][line_id]
                line["qty_invoiced"] = line["product_uom_qty"]
            self._write("sale.order", order_id, {"invoice_status": "invoiced"})
            return move_id

    def post_invoice(self, move_id: int) -> None:
        """draft -> posted: the invoice gets its number and date."""
        with self._lock:
            move = self._expect_state("account.move", move_id, ("draft",))
            today = self.clock().date()
            name = self._next_name(f"INV/{today.year}/")
            self._write(
                "account.move",
                move_id,
                {
                    "state": "posted",
                    "name": name,
                    "payment_reference": name,
                    "invoice_date": move["invoice_date"] or today,
                    "invoice_date_due": move["invoice_date_due"] or today + timedelta(days=14),
                },
            )

    def pay(self, move_id: int, *, amount: float | None = None, reconciled: bool = True) -> None:
        """Register a payment: ``payment_state`` becomes ``paid`` (``in_payment`` when
        ``reconciled`` is false: registered, not yet matched with the bank statement), or
        ``partial`` when ``amount`` is less than the residual."""
        with self._lock:
            move = self._expect_state("account.move", move_id, ("posted",))
            residual = float(move["amount_residual"])
            paid = residual if amount is None else min(amount, residual)
            remaining = round(residual - paid, 2)
            state = "partial" if remaining > 0 else ("paid" if reconciled else "in_payment")
            self._write(
                "account.move",
                move_id,
                {"payment_state": state, "amount_residual": remaining},
            )

    def _expect_state(self, model: str, record_id: int, states: Sequence[str]) -> dict[str, Any]:
        record = self._record(model, record_id)
        if record["state"] not in states:
            raise ValueError(
                f"{model} {record.get('name')} is in state {record['state']!r}, "
                f"expected one of {list(states)}"
            )
        return record

    def _currency(self, code: str) -> int:
        return self._find_or_create("res.currency", "name", code, symbol=code)

    def _bump_customer_rank(self, partner_id: int) -> None:
        # Odoo raises the rank with a plain SQL UPDATE: write_date does not change.
        self._tables["res.partner"][partner_id]["customer_rank"] += 1

    # --- reading, the way the ORM serialises ----------------------------------------------

    def _display_name(self, model: str, record: Mapping[str, Any]) -> str:
        if model == "res.partner":
            parent = record.get("parent_id")
            if parent and not record.get("is_company"):
                return f"{self._tables['res.partner'][parent]['name']}, {record['name']}"
            return str(record["name"])
        if model == "product.product":
            code = record.get("default_code")
            return f"[{code}] {record['name']}" if code else str(record["name"])
        if model == "sale.order.line":
            order = self._tables["sale.order"].get(record.get("order_id") or 0)
            return f"{order['name'] if order else ''} - {record.get('name') or ''}"
        return str(record.get("name") or f"{model},{record['id']}")

    def _value(self, model: str, record: Mapping[str, Any], name: str) -> Any:
        """The comparable value domains and ordering see."""
        if name == "id":
            return record["id"]
        if name == "display_name":
            return self._display_name(model, record)
        value = record.get(name)
        return None if value is False else value

    def _read_one(  # noqa: PLR0912 - one branch per field type
        self, model: str, record: Mapping[str, Any], fields: Sequence[str] | None
    ) -> dict[str, Any]:
        names = list(fields) if fields else list(MODELS[model])
        out: dict[str, Any] = {"id": record["id"]}
        for name in names:
            if name == "id":
                continue
            spec = MODELS[model][name]
            value = self._value(model, record, name)
            if spec.type == "many2one":
                if value:
                    target = self._tables[spec.relation or ""][value]
                    out[name] = [value, self._display_name(spec.relation or "", target)]
                else:
                    out[name] = False
            elif spec.type in ("one2many", "many2many"):
                out[name] = list(value or [])
            elif spec.type == "datetime":
                out[name] = format_datetime(value) if value else False
            elif spec.type == "date":
                out[name] = value.strftime(DATE_FORMAT) if value else False
            elif spec.type == "boolean":
                out[name] = bool(value)
            elif spec.type in ("integer",):
                out[name] = int(value or 0)
            elif spec.type in ("float", "monetary"):
                out[name] = float(value or 0.0)
            else:
                out[name] = value if value not in (None, "") else False
        for name, value in self._wire_overrides.get((model, record["id"]), {}).items():
            if name in out:
                out[name] = value
        return out

    def _check_fields(self, model: str, names: Sequence[str]) -> None:
        for name in names:
            if name != "id" and name not in MODELS[model]:
                raise OdooFault("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")

    def _search(
        self,
        model: str,
        domain: Sequence[Any],
        *,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        def get(record: Mapping[str, Any], name: str) -> Any:
            if name != "id" and name not in MODELS[model]:
                raise OdooFault("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")
            return self._value(model, record, name)

        try:
            rows = [
                r
                for r in self._tables[model].values()
                if (r.get("active", True) is not False) and evaluate(domain, r, get)
            ]
        except DomainError as exc:
            raise OdooFault("builtins.ValueError", str(exc)) from exc
        for name, descending in reversed(self._parse_order(model, order)):
            present = [r for r in rows if self._value(model, r, name) is not None]
            empty = [r for r in rows if self._value(model, r, name) is None]
            present.sort(key=functools.partial(self._value, model, name=name), reverse=descending)
            # PostgreSQL: NULLS LAST ascending, NULLS FIRST descending
            rows = empty + present if descending else present + empty
        rows = rows[offset:]
        if limit:
            rows = rows[:limit]
        return rows

    def _parse_order(self, model: str, order: str | None) -> list[tuple[str, bool]]:
        spec = order or DEFAULT_ORDER.get(model, "id asc")
        out = []
        for part in spec.split(","):
            words = part.split()
            if not words or len(words) > 2:
                raise OdooFault("builtins.ValueError", f'Invalid "order" specified ({spec})')
            direction = words[1].lower() if len(words) == 2 else "asc"
            if direction not in ("asc", "desc"):
                raise OdooFault("builtins.ValueError", f'Invalid "order" specified ({spec})')
            self._check_fields(model, [words[0]])
            out.append((words[0], direction == "desc"))
        return out

    # --- RPC dispatch ----------------------------------------------------------------------

    def dispatch(self, service: str, method: str, args: Sequence[Any]) -> Any:
        """``odoo.http.dispatch_rpc``: run one call, raising :class:`OdooFault`."""
        with self._lock:
            self.requests.append({"service": service, "method": method, "args": list(args)})
            if len(self.requests) > REQUEST_LOG_SIZE:  # a long demo run keeps the recent ones
                del self.requests[: len(self.requests) - REQUEST_LOG_SIZE]
            if service == "common":
                return self._common(method, args)
            if service == "object":
                return self._object(method, args)
            raise OdooFault("builtins.KeyError", repr(service))

    def _common(self, method: str, args: Sequence[Any]) -> Any:
        if method == "version":
            return {
                "server_version": SERVER_VERSION,
                "server_version_info": SERVER_VERSION_INFO,
                "server_serie": SERVER_VERSION,
                "protocol_version": 1,
            }
        if method in ("login", "authenticate"):
            if len(args) < 3:
                raise OdooFault(
                    "builtins.TypeError",
                    f"exp_{method}() missing required positional arguments",
                )
            db, login, password = args[0], args[1], args[2]
            self._check_db(db)
            user = self.users.get(login)
            if user is None or not self._secret_ok(user, password):
                return False
            return user.uid
        raise OdooFault("builtins.NameError", f"Method not available {method}")

    def _check_db(self, db: Any) -> None:
        if db != self.db:
            raise OdooFault(
                "psycopg2.OperationalError",
                f'connection to server failed: FATAL:  database "{db}" does not exist\n',
            )

    @staticmethod
    def _secret_ok(user: User, secret: Any) -> bool:
        return isinstance(secret, str) and (secret == user.password or secret in user.api_keys)

    def _object(self, method: str, args: Sequence[Any]) -> Any:
        if method not in ("execute", "execute_kw"):
            raise OdooFault("builtins.NameError", f"Method not available {method}")
        if len(args) < 5:
            raise OdooFault("builtins.TypeError", f"{method}() missing required arguments")
        db, uid, password, model, name = args[:5]
        self._check_db(db)
        user = next((u for u in self.users.values() if u.uid == uid), None)
        if user is None or not self._secret_ok(user, password):
            raise access_denied()
        if method == "execute_kw":
            positional = list(args[5]) if len(args) > 5 and args[5] is not None else []
            keywords = dict(args[6]) if len(args) > 6 and args[6] is not None else {}
        else:
            positional, keywords = list(args[5:]), {}
        if model not in MODELS:
            raise OdooFault("odoo.exceptions.UserError", f"Object {model} doesn't exist")
        handlers: dict[str, Callable[..., Any]] = {
            "search_read": self._rpc_search_read,
            "search": self._rpc_search,
            "read": self._rpc_read,
            "search_count": self._rpc_search_count,
        }
        handler = handlers.get(str(name))
        if handler is None:
            raise OdooFault(
                "builtins.AttributeError",
                f"The method '{name}' does not exist on the model '{model}'",
            )
        try:
            return handler(model, *positional, **keywords)
        except TypeError as exc:
            raise OdooFault("builtins.TypeError", str(exc)) from exc

    def _rpc_search_read(  # noqa: PLR0917 - Odoo's positional signature
        self,
        model: str,
        domain: Sequence[Any] | None = None,
        fields: Sequence[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        **_context: Any,
    ) -> list[dict[str, Any]]:
        self._check_fields(model, fields or [])
        rows = self._search(model, domain or [], offset=offset, limit=limit, order=order)
        return [self._read_one(model, r, fields) for r in rows]

    def _rpc_search(
        self,
        model: str,
        domain: Sequence[Any],
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
        **_context: Any,
    ) -> list[int]:
        return [
            r["id"] for r in self._search(model, domain, offset=offset, limit=limit, order=order)
        ]

    def _rpc_search_count(self, model: str, domain: Sequence[Any], **_context: Any) -> int:
        return len(self._search(model, domain))

    def _rpc_read(
        self, model: str, ids: Sequence[int], fields: Sequence[str] | None = None, **_: Any
    ) -> list[dict[str, Any]]:
        self._check_fields(model, fields or [])
        table = self._tables[model]
        missing = [i for i in ids if i not in table]
        if missing:
            raise OdooFault(
                "odoo.exceptions.MissingError",
                "Record does not exist or has been deleted.\n"
                f"(Record: {model}({missing[0]},), User: 2)",
            )
        return [self._read_one(model, table[i], fields) for i in ids]

    # --- HTTP --------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        with self._lock:
            if self._throttle_remaining > 0:
                self._throttle_remaining -= 1
                return PlainTextResponse(
                    "<html><head><title>429 Too Many Requests</title></head><body>"
                    "<center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center>"
                    "</body></html>",
                    status_code=429,
                    headers={"Retry-After": _retry_after_text(self._throttle_retry_after)},
                    media_type="text/html",
                )
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return PlainTextResponse("Invalid JSON data", status_code=400)
        if not isinstance(payload, dict):
            return PlainTextResponse("Invalid JSON-RPC data", status_code=400)
        request_id = payload.get("id")
        params = payload.get("params") or {}
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        try:
            response["result"] = self._call(params)
        except OdooFault as fault:
            response["error"] = fault.error_object()
        return Response(orjson.dumps(response), media_type="application/json")

    def _call(self, params: Any) -> Any:
        if not isinstance(params, dict):
            raise OdooFault("builtins.TypeError", "params must be an object")
        service, method = params.get("service"), params.get("method")
        args = params.get("args") or []
        if not isinstance(service, str) or not isinstance(method, str):
            raise OdooFault(
                "builtins.TypeError",
                "jsonrpc() missing required arguments: 'service' and 'method'",
            )
        return self.dispatch(service, method, args)

    @contextlib.asynccontextmanager
    async def running(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on ``host:port`` (0: a free port) in the current event loop; yields the
        base URL (``http://127.0.0.1:PORT``)."""
        server = _Server(self.app, host, port)
        task = asyncio.create_task(server.serve())
        try:
            base_url = await server.ready(task)
            yield base_url
        finally:
            server.should_exit = True
            await task

    @contextlib.contextmanager
    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve from a background thread (for synchronous callers); yields the base URL."""
        server = _Server(self.app, host, port)
        thread = threading.Thread(target=server.run, name="odoo-emulator", daemon=True)
        thread.start()
        try:
            yield server.wait_started()
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _retry_after_text(seconds: float) -> str:
    return str(max(0, int(seconds))) if float(seconds).is_integer() else f"{seconds:g}"


class _Server(uvicorn.Server):
    """uvicorn on a pre-bound socket, so port 0 gives a free port we know."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        super().__init__(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.base_url = "http://{}:{}".format(*self.sock.getsockname()[:2])
        self._started_event = threading.Event()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().serve(sockets=[self.sock])
        finally:
            self.sock.close()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._started_event.set()

    async def ready(self, task: asyncio.Task[None]) -> str:
        while not self._started_event.is_set():
            if task.done():
                task.result()
                raise RuntimeError("the Odoo emulator stopped before it started")
            await asyncio.sleep(0.01)
        return self.base_url

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.run(self.serve())

    def wait_started(self, timeout: float = 10.0) -> str:
        if not self._started_event.wait(timeout):
            raise RuntimeError("the Odoo emulator did not start")
        return self.base_url


def demo_date(value: date | datetime) -> str:
    """Odoo's wire text for a date or datetime (helper for fixtures and seeds)."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return value.strftime(DATE_FORMAT)


__all__ = [
    "DEFAULT_ORDER",
    "MODELS",
    "Field",
    "OdooEmulator",
    "OdooFault",
    "access_denied",
    "demo_date",
]

"""The Odoo polling source: one stream per model, a ``write_date`` cursor with an id tie-break.

Odoo stores ``write_date`` with microseconds but returns (and lets us compare against)
whole seconds, and ``order="write_date asc, id asc"`` sorts by the stored microseconds.
A cursor ``(second, id)`` is therefore only sound if every visible second is read in id
order. The source does that:

1. *drain* the cursor's second: ``[('write_date', '>=', ts), ('write_date', '<', ts+1s),
   ('id', '>', id)]`` ordered ``id asc``, in pages of ``page_size``;
2. *advance*: ``[('write_date', '>=', ts+1s), ('write_date', '<', horizon)]`` ordered
   ``write_date asc, id asc``, one page; the seconds that page holds completely are
   yielded in ``(second, id)`` order, a second cut off by the page limit is drained (1.).

``horizon`` is the current second minus ``settle_seconds``: a second is read only once it
is over (Odoo stamps ``write_date`` at transaction start, so a long transaction can commit
rows in a second already read; ``settle_seconds`` is the margin for that and for clock
skew). The cursor text is ``"<YYYY-MM-DD HH:MM:SS>|<id>"``: everything before that second,
and that second's records up to that id, were published.

sale.order records carry their lines: after each page of orders the source reads
``sale.order.line`` (``search_read [('order_id', 'in', ids)]``) and adds the rows, in
``sequence`` order, under ``order_line_records`` (``order_line`` keeps Odoo's list of ids).

Incoming stock.picking records (receipts and customer returns) carry their moves the same
way: ``stock.move`` with ``[('picking_id', 'in', ids)]`` under ``move_records``. A move with
``origin_returned_move_id`` makes the picking a return (the link Odoo 16 and 17 both keep;
17 also has ``stock.picking.return_id``); the source then reads the returned move's
picking (name, origin, sale_id) and adds it under ``returned_picking``, so the translator
can find the order of a return whose ``sale_id`` is empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson

from connectors.kit.polling import PollingSource
from connectors.kit.source import BadRecord, Record
from connectors.odoo.client import OdooClient
from connectors.odoo.domain import (
    changed_between,
    format_datetime,
    parse_datetime,
    second_window,
)
from connectors.odoo.settings import OdooSettings

#: entity (raw topic ``raw.<instance>.<entity>``) -> Odoo model
MODELS: dict[str, str] = {
    "res_partner": "res.partner",
    "sale_order": "sale.order",
    "stock_picking": "stock.picking",
    "account_move": "account.move",
}

FIELDS: dict[str, tuple[str, ...]] = {
    "res.partner": (
        "name",
        "display_name",
        "is_company",
        "parent_id",
        "commercial_partner_id",
        "email",
        "phone",
        "mobile",
        "website",
        "vat",
        "ref",
        "street",
        "street2",
        "zip",
        "city",
        "country_id",
        "country_code",
        "active",
        "create_date",
        "write_date",
    ),
    "sale.order": (
        "name",
        "state",
        "partner_id",
        "partner_shipping_id",
        "date_order",
        "commitment_date",
        "client_order_ref",
        "origin",
        "currency_id",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "order_line",
        "create_date",
        "write_date",
    ),
    "sale.order.line": (
        "order_id",
        "sequence",
        "display_type",
        "product_id",
        "name",
        "product_uom_qty",
        "product_uom",
        "price_unit",
        "discount",
        "price_subtotal",
        "price_total",
        "currency_id",
    ),
    "stock.picking": (
        "name",
        "picking_type_code",
        "state",
        "partner_id",
        "origin",
        "sale_id",
        "scheduled_date",
        "date_deadline",
        "date_done",
        "carrier_id",
        "carrier_tracking_ref",
        "create_date",
        "write_date",
    ),
    "stock.move": (
        "picking_id",
        "product_id",
        "product_uom_qty",
        "product_uom",
        "state",
        "origin_returned_move_id",
    ),
    "account.move": (
        "name",
        "move_type",
        "state",
        "payment_state",
        "partner_id",
        "commercial_partner_id",
        "invoice_origin",
        "invoice_date",
        "invoice_date_due",
        "ref",
        "payment_reference",
        "currency_id",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "create_date",
        "write_date",
    ),
}
DELIVERED_FIELD = "x_delivered_date"
RETURN_REASON_FIELD = "x_return_reason"
LINES_KEY = "order_line_records"
#: incoming stock.picking rows carry their stock.move rows under this key ...
MOVES_KEY = "move_records"
#: ... and a return the delivery it returns: {"id", "name", "origin", "sale_id"}
RETURNED_KEY = "returned_picking"
#: fields of that returned delivery
RETURNED_FIELDS = ("name", "origin", "sale_id")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def encode_cursor(second: str, record_id: int) -> str:
    return f"{second}|{record_id}"


def decode_cursor(cursor: str | None) -> tuple[str | None, int]:
    """``(second, id)`` of a stored cursor; ``(None, 0)`` means from the beginning."""
    if not cursor:
        return None, 0
    second, _, record_id = cursor.partition("|")
    return format_datetime(parse_datetime(second)), int(record_id or 0)


class OdooSource(PollingSource[OdooSettings]):
    """Polls res.partner, sale.order (with lines), stock.picking and account.move."""

    entities: ClassVar[tuple[str, ...]] = tuple(MODELS)

    #: Naive-UTC clock deciding the settle horizon; tests replace it.
    clock: Callable[[], datetime] = staticmethod(_utcnow)
    client: OdooClient | None = None

    async def open(self) -> None:
        self.client = OdooClient(
            str(self.settings.url),
            db=self.settings.database,
            login=self.settings.login,
            secret=self.settings.api_key,
            timeout=self.settings.timeout_seconds,
        )
        # No network here: the first read() logs in, inside the kit's retry loop, so an
        # unreachable server backs off and bad credentials stop the instance (FatalError).

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    def fields(self, model: str) -> list[str]:
        fields = list(FIELDS[model])
        if model == "stock.picking" and self.settings.read_delivered_date:
            fields.append(DELIVERED_FIELD)
        if model == "stock.picking" and self.settings.read_return_reason:
            fields.append(RETURN_REASON_FIELD)
        return fields

    def base_domain(self, model: str) -> list[Any]:
        if model == "res.partner":
            return list(self.settings.partner_domain)
        return []

    def horizon(self) -> str:
        moment = self.clock() - timedelta(seconds=self.settings.settle_seconds)
        return format_datetime(moment.replace(microsecond=0))

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        if self.client is None:
            await self.open()
        model = MODELS[stream]
        second, last_id = decode_cursor(cursor)
        horizon = self.horizon()
        while True:
            if second is not None:
                async for item in self._drain(stream, model, second, last_id):
                    yield item
                lower: str | None = format_datetime(parse_datetime(second) + timedelta(seconds=1))
            else:
                lower = None
            if lower is not None and lower >= horizon:
                return
            rows = await self._search(
                model, changed_between(lower, horizon), "write_date asc, id asc"
            )
            if not rows:
                return
            groups: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                groups.setdefault(str(row.get("write_date")), []).append(row)
            seconds = list(groups)
            full_page = len(rows) >= self.settings.page_size
            complete = seconds[:-1] if full_page else seconds
            for sec in complete:
                for item in await self._records(stream, model, sorted(groups[sec], key=_id)):
                    yield item
            if not full_page:
                return
            # the page's last second may continue beyond the page: drain it by id
            second, last_id = seconds[-1], 0

    async def _drain(
        self, stream: str, model: str, second: str, after_id: int
    ) -> AsyncIterator[Record | BadRecord]:
        while True:
            rows = await self._search(model, second_window(second, after_id), "id asc")
            for item in await self._records(stream, model, rows):
                yield item
            if len(rows) < self.settings.page_size:
                return
            after_id = _id(rows[-1])

    async def _search(self, model: str, domain: list[Any], order: str) -> list[dict[str, Any]]:
        assert self.client is not None  # noqa: S101 - read() opened it
        return await self.client.search_read(
            model,
            self.base_domain(model) + domain,
            self.fields(model),
            order=order,
            limit=self.settings.page_size,
        )

    async def _records(
        self, stream: str, model: str, rows: Sequence[dict[str, Any]]
    ) -> list[Record | BadRecord]:
        if model == "sale.order" and rows:
            await self._attach_lines(rows)
        if model == "stock.picking":
            incoming = [r for r in rows if r.get("picking_type_code") == "incoming"]
            if incoming:
                await self._attach_moves(incoming)
        return [self._record(stream, row) for row in rows]

    async def _attach_moves(self, pickings: Sequence[dict[str, Any]]) -> None:
        """Receipts and returns carry their stock.move rows; a return (a move with
        ``origin_returned_move_id``, Odoo 16 and 17 alike) also the delivery it returns."""
        assert self.client is not None  # noqa: S101
        ids = [_id(p) for p in pickings]
        moves = await self.client.search_read(
            "stock.move",
            [("picking_id", "in", ids)],
            FIELDS["stock.move"],
            order="picking_id asc, id asc",
        )
        by_picking: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for move in moves:
            picking = move.get("picking_id")
            if isinstance(picking, list) and picking and picking[0] in by_picking:
                by_picking[picking[0]].append(move)
        returned_move_of: dict[int, int] = {}  # return picking id -> one returned move id
        for picking_row in pickings:
            rows = by_picking[_id(picking_row)]
            picking_row[MOVES_KEY] = rows
            for move in rows:
                origin = move.get("origin_returned_move_id")
                if isinstance(origin, list) and origin and isinstance(origin[0], int):
                    returned_move_of.setdefault(_id(picking_row), origin[0])
        if not returned_move_of:
            return
        origin_moves = await self.client.search_read(
            "stock.move",
            [("id", "in", sorted(set(returned_move_of.values())))],
            ["picking_id"],
            order="id asc",
        )
        delivery_of_move: dict[int, int] = {}
        for move in origin_moves:
            picking = move.get("picking_id")
            if isinstance(picking, list) and picking and isinstance(picking[0], int):
                delivery_of_move[_id(move)] = picking[0]
        deliveries = await self.client.search_read(
            "stock.picking",
            [("id", "in", sorted(set(delivery_of_move.values())))],
            list(RETURNED_FIELDS),
            order="id asc",
        )
        by_id = {_id(d): d for d in deliveries}
        for picking_row in pickings:
            move_id = returned_move_of.get(_id(picking_row))
            delivery = by_id.get(delivery_of_move.get(move_id or 0, 0))
            if delivery is not None:
                picking_row[RETURNED_KEY] = {
                    "id": _id(delivery),
                    **{name: delivery.get(name, False) for name in RETURNED_FIELDS},
                }

    async def _attach_lines(self, orders: Sequence[dict[str, Any]]) -> None:
        assert self.client is not None  # noqa: S101
        ids = [_id(o) for o in orders]
        lines = await self.client.search_read(
            "sale.order.line",
            [("order_id", "in", ids)],
            FIELDS["sale.order.line"],
            order="order_id asc, sequence asc, id asc",
        )
        by_order: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for line in lines:
            order = line.get("order_id")
            if isinstance(order, list) and order and order[0] in by_order:
                by_order[order[0]].append(line)
        for order_row in orders:
            order_row[LINES_KEY] = by_order[_id(order_row)]

    def _record(self, stream: str, row: dict[str, Any]) -> Record | BadRecord:
        record_id = row.get("id")
        write_date = row.get("write_date")
        changed = _when(write_date)
        if (
            not isinstance(record_id, int)
            or isinstance(record_id, bool)
            or not isinstance(write_date, str)
            or changed is None
        ):
            return BadRecord(
                raw=orjson.dumps(row, default=str),
                reason=(
                    f"{MODELS[stream]} row without an integer id and a write_date: "
                    f"id {record_id!r}, write_date {write_date!r}"
                ),
                entity=stream,
                id=str(record_id),
            )
        cursor = encode_cursor(write_date, record_id)
        problem = wire_problem(row)
        if problem is not None:
            return BadRecord(
                raw=orjson.dumps(row, default=str),
                reason=f"{MODELS[stream]} {record_id}: {problem}",
                cursor=cursor,
                entity=stream,
                id=str(record_id),
            )
        return Record(
            id=str(record_id),
            revision=write_date,
            time=changed,
            data=row,
            cursor=cursor,
            entity=stream,
        )


DATETIME_FIELDS = frozenset(
    {
        "create_date",
        "write_date",
        "date_order",
        "commitment_date",
        "scheduled_date",
        "date_deadline",
        "date_done",
        DELIVERED_FIELD,
    }
)
MANY2ONE_FIELDS = frozenset(
    {
        "parent_id",
        "commercial_partner_id",
        "country_id",
        "partner_id",
        "partner_shipping_id",
        "currency_id",
        "sale_id",
        "carrier_id",
        "product_id",
        "product_uom",
        "order_id",
        "picking_id",
        "origin_returned_move_id",
    }
)


def wire_problem(row: dict[str, Any]) -> str | None:
    """What in ``row`` is not shaped the way Odoo serialises its fields, or None."""
    for name, value in row.items():
        if value is False:
            continue
        if name in DATETIME_FIELDS:
            try:
                parse_datetime(str(value))
            except ValueError:
                return f"{name} {value!r} is not a 'YYYY-MM-DD HH:MM:SS' datetime"
        elif name in MANY2ONE_FIELDS and not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], str)
        ):
            return f"{name} {value!r} is not a many2one [id, display_name]"
    return None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def _id(row: dict[str, Any]) -> int:
    value = row.get("id")
    return value if isinstance(value, int) else 0


__all__ = [
    "FIELDS",
    "LINES_KEY",
    "MODELS",
    "MOVES_KEY",
    "RETURNED_KEY",
    "RETURN_REASON_FIELD",
    "OdooSource",
    "decode_cursor",
    "encode_cursor",
]

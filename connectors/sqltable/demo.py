"""A small ERP database: the schema the example mapping reads, and a writer for it.

The demo company (``hub up --demo``) and the tests use it to play an in-house ERP: they
create the tables in any supported database (a SQLite file is enough) and write customers,
orders with lines, shipments, invoices and payments the way such an ERP does, stamping
``updated_at`` on every write. A ``sqltable`` instance configured with
:func:`example_settings` then reads them like any ERP.

    erp = DemoErp("sqlite:///.hub/erp.db")
    await erp.create()
    customer = await erp.add_customer("10042", "Muster GmbH", "info@muster.de")
    order = await erp.place_order("SO042", customer, [("CHAIR-OAK", 4, "60.00")])
    await erp.set_order_status(order, "confirmed")
    shipment = await erp.dispatch("SO042", "DHL", "00340434161094042557")
    await erp.deliver(shipment)
    await erp.issue_invoice("SO042", "RE-2026-0042", customer, "240.00")
    await erp.receive_payment("SO042", "240.00", invoice_no="RE-2026-0042")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from connectors.sqltable.settings import DRIVERS


@dataclass(frozen=True)
class ErpTables:
    customers: sa.Table
    orders: sa.Table
    lines: sa.Table
    shipments: sa.Table
    invoices: sa.Table
    #: Amounts kept as text, as some in-house ERPs do (so a bad amount can happen).
    payments: sa.Table


def erp_tables(
    metadata: sa.MetaData, prefix: str = "erp", *, dialect: str = "sqlite", aware: bool = False
) -> ErpTables:
    """The ERP's tables, named ``<prefix>_customers`` etc. (plain names for an empty prefix).

    ``aware``: timestamps with a time zone (PostgreSQL ``timestamptz``); MariaDB/MySQL get
    ``DATETIME(6)``, so ties and order survive sub-second writes.
    """

    def name(table: str) -> str:
        return f"{prefix}_{table}" if prefix else table

    ts: sa.types.TypeEngine[Any] = (
        mysql.DATETIME(fsp=6) if dialect == "mysql" else sa.DateTime(timezone=aware)
    )
    money = sa.Numeric(14, 2)

    def key() -> sa.Column[Any]:
        return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)

    return ErpTables(
        customers=sa.Table(
            name("customers"),
            metadata,
            key(),
            sa.Column("customer_no", sa.String(20)),
            sa.Column("company_name", sa.String(200)),
            sa.Column("email", sa.String(200)),
            sa.Column("phone", sa.String(40)),
            sa.Column("website", sa.String(200)),
            sa.Column("vat_no", sa.String(30)),
            sa.Column("street", sa.String(200)),
            sa.Column("zip", sa.String(20)),
            sa.Column("city", sa.String(100)),
            sa.Column("country", sa.String(2)),
            sa.Column("created_at", ts),
            sa.Column("updated_at", ts, index=True),
        ),
        orders=sa.Table(
            name("orders"),
            metadata,
            key(),
            sa.Column("order_no", sa.String(20)),
            sa.Column("customer_id", sa.Integer),
            sa.Column("status", sa.String(20)),
            sa.Column("currency", sa.String(3)),
            sa.Column("total", money),
            sa.Column("tax", money),
            sa.Column("ordered_at", ts),
            sa.Column("confirmed_at", ts),
            sa.Column("updated_at", ts, index=True),
        ),
        lines=sa.Table(
            name("order_lines"),
            metadata,
            key(),
            sa.Column("order_id", sa.Integer, index=True),
            sa.Column("pos", sa.Integer),
            sa.Column("sku", sa.String(40)),
            sa.Column("name", sa.String(200)),
            sa.Column("qty", sa.Numeric(12, 3)),
            sa.Column("price", money),
        ),
        shipments=sa.Table(
            name("shipments"),
            metadata,
            key(),
            sa.Column("order_no", sa.String(20)),
            sa.Column("carrier", sa.String(40)),
            sa.Column("tracking", sa.String(60)),
            sa.Column("shipped_at", ts),
            sa.Column("delivered_at", ts),
            sa.Column("updated_at", ts, index=True),
        ),
        invoices=sa.Table(
            name("invoices"),
            metadata,
            key(),
            sa.Column("invoice_no", sa.String(30)),
            sa.Column("order_no", sa.String(20)),
            sa.Column("customer_id", sa.Integer),
            sa.Column("currency", sa.String(3)),
            sa.Column("total", money),
            sa.Column("issued_at", ts),
            sa.Column("due_date", sa.Date),
            sa.Column("updated_at", ts, index=True),
        ),
        payments=sa.Table(
            name("payments"),
            metadata,
            key(),
            sa.Column("order_no", sa.String(20)),
            sa.Column("invoice_no", sa.String(30)),
            sa.Column("amount", sa.String(32)),
            sa.Column("currency", sa.String(3)),
            sa.Column("method", sa.String(20)),
            sa.Column("received_at", ts),
            sa.Column("updated_at", ts, index=True),
        ),
    )


def _table(table: sa.Table, mapping: dict[str, Any]) -> dict[str, Any]:
    return {
        "table": table.name,
        "id_column": "id",
        "timestamp_column": "updated_at",
        "mapping": mapping,
    }


def example_tables(t: ErpTables) -> dict[str, dict[str, Any]]:
    """The ``tables:`` settings reading these tables (entity names as in the docs)."""
    return {
        "customers": _table(
            t.customers,
            {
                "kind": "customer",
                "name": "company_name",
                "emails": ["email"],
                "phones": ["phone"],
                "domain": "website",
                "vat_id": "vat_no",
                "external_ids": {"erp_customer_number": "customer_no"},
                "address": {
                    "street": "street",
                    "postal_code": "zip",
                    "city": "city",
                    "country": "country",
                },
                "created_at": "created_at",
            },
        ),
        "orders": _table(
            t.orders,
            {
                "kind": "order",
                "number": "order_no",
                "customer": "customer_id",
                "status": "status",
                "status_values": {
                    "quote": "ignore",
                    "open": "placed",
                    "confirmed": "confirmed",
                    "cancelled": "cancelled",
                },
                "placed_at": "ordered_at",
                "confirmed_at": "confirmed_at",
                "currency": "currency",
                "total": "total",
                "tax_total": "tax",
                "lines": {
                    "table": t.lines.name,
                    "order_column": "order_id",
                    "id_column": "id",
                    "position": "pos",
                    "sku": "sku",
                    "description": "name",
                    "quantity": "qty",
                    "unit_price": "price",
                },
            },
        ),
        "shipments": _table(
            t.shipments,
            {
                "kind": "shipment",
                "order_number": "order_no",
                "carrier": "carrier",
                "tracking_number": "tracking",
                "dispatched_at": "shipped_at",
                "delivered_at": "delivered_at",
            },
        ),
        "invoices": _table(
            t.invoices,
            {
                "kind": "invoice",
                "number": "invoice_no",
                "order_number": "order_no",
                "customer": "customer_id",
                "currency": "currency",
                "total": "total",
                "issued_at": "issued_at",
                "due_date": "due_date",
            },
        ),
        "payments": _table(
            t.payments,
            {
                "kind": "payment",
                "order_number": "order_no",
                "invoice_number": "invoice_no",
                "amount": "amount",
                "currency": "currency",
                "method": "method",
                "method_values": {"SEPA": "bank_transfer", "CARD": "card"},
                "received_at": "received_at",
            },
        ),
    }


def example_settings(url: str, prefix: str = "erp", **overrides: Any) -> dict[str, Any]:
    """Settings of a ``sqltable`` instance reading a :class:`DemoErp` at ``url``."""
    dialect = sa.engine.make_url(DRIVERS[url.partition("://")[0]] + "://").get_backend_name()
    tables = erp_tables(sa.MetaData(), prefix, dialect=dialect)
    return {"url": url, "tables": example_tables(tables), **overrides}


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for the new row")
    return int(key[0])


class DemoErp:
    """Writes ERP rows the way an in-house ERP does: every write stamps ``updated_at``."""

    def __init__(self, url: str, prefix: str = "erp", *, aware: bool = False) -> None:
        scheme = url.partition("://")[0]
        self.engine: AsyncEngine = create_async_engine(
            sa.engine.make_url(url).set(drivername=DRIVERS[scheme])
        )
        self.aware = aware
        self.metadata = sa.MetaData()
        self.tables = erp_tables(
            self.metadata, prefix, dialect=self.engine.dialect.name, aware=aware
        )

    def now(self) -> datetime:
        moment = datetime.now(UTC)
        return moment if self.aware else moment.replace(tzinfo=None)

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(self.metadata.create_all)

    async def drop(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(self.metadata.drop_all)

    async def close(self) -> None:
        await self.engine.dispose()

    async def _insert(self, table: sa.Table, **values: Any) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(table.insert().values(**values))
            return _new_id(result)

    async def _update(self, table: sa.Table, where: Any, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(table.update().where(where).values(**values, updated_at=self.now()))

    async def add_customer(
        self,
        customer_no: str,
        name: str,
        email: str | None = None,
        *,
        vat_no: str | None = None,
        website: str | None = None,
        street: str | None = None,
        zip_code: str | None = None,
        city: str | None = None,
        country: str | None = None,
    ) -> int:
        now = self.now()
        return await self._insert(
            self.tables.customers,
            customer_no=customer_no,
            company_name=name,
            email=email,
            vat_no=vat_no,
            website=website,
            street=street,
            zip=zip_code,
            city=city,
            country=country,
            created_at=now,
            updated_at=now,
        )

    async def update_customer(self, customer_id: int, **values: Any) -> None:
        await self._update(
            self.tables.customers, self.tables.customers.c.id == customer_id, **values
        )

    async def place_order(
        self,
        order_no: str,
        customer_id: int,
        lines: Sequence[tuple[str, int | str | Decimal, str | Decimal]],
        *,
        currency: str = "EUR",
        status: str = "open",
    ) -> int:
        """Header and lines in one transaction, as the ERP writes them; returns the row id."""
        now = self.now()
        total = sum((Decimal(str(q)) * Decimal(str(p)) for _, q, p in lines), Decimal(0))
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self.tables.orders.insert().values(
                    order_no=order_no,
                    customer_id=customer_id,
                    status=status,
                    currency=currency,
                    total=total,
                    ordered_at=now,
                    updated_at=now,
                )
            )
            order_id = _new_id(result)
            await conn.execute(
                self.tables.lines.insert(),
                [
                    {
                        "order_id": order_id,
                        "pos": pos,
                        "sku": sku,
                        "qty": Decimal(str(qty)),
                        "price": Decimal(str(price)),
                    }
                    for pos, (sku, qty, price) in enumerate(lines, start=1)
                ],
            )
        return order_id

    async def set_order_status(self, order_id: int, status: str) -> None:
        extra = {"confirmed_at": self.now()} if status == "confirmed" else {}
        await self._update(
            self.tables.orders, self.tables.orders.c.id == order_id, status=status, **extra
        )

    async def dispatch(self, order_no: str, carrier: str, tracking: str | None = None) -> int:
        now = self.now()
        return await self._insert(
            self.tables.shipments,
            order_no=order_no,
            carrier=carrier,
            tracking=tracking,
            shipped_at=now,
            updated_at=now,
        )

    async def deliver(self, shipment_id: int) -> None:
        await self._update(
            self.tables.shipments,
            self.tables.shipments.c.id == shipment_id,
            delivered_at=self.now(),
        )

    async def issue_invoice(
        self,
        order_no: str,
        invoice_no: str,
        customer_id: int,
        total: str | Decimal,
        *,
        currency: str = "EUR",
        due_in_days: int = 14,
    ) -> int:
        now = self.now()
        return await self._insert(
            self.tables.invoices,
            invoice_no=invoice_no,
            order_no=order_no,
            customer_id=customer_id,
            currency=currency,
            total=Decimal(str(total)),
            issued_at=now,
            due_date=now.date() + timedelta(days=due_in_days),
            updated_at=now,
        )

    async def receive_payment(
        self,
        order_no: str,
        amount: str,
        *,
        invoice_no: str | None = None,
        method: str = "SEPA",
        currency: str = "EUR",
    ) -> int:
        """``amount`` is text, as this ERP keeps it: a malformed one is a bad record."""
        now = self.now()
        return await self._insert(
            self.tables.payments,
            order_no=order_no,
            invoice_no=invoice_no,
            amount=amount,
            currency=currency,
            method=method,
            received_at=now,
            updated_at=now,
        )


__all__ = ["DemoErp", "ErpTables", "erp_tables", "example_settings", "example_tables"]

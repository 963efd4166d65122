"""Real PostgreSQL, MariaDB and SQLite databases for the sqltable tests.

The servers are the machine's own (PostgreSQL 127.0.0.1:5432 trust auth, MariaDB
127.0.0.1:3306 root without password, database ``test`` on both). A server that does not
answer is started with the machine's documented command; one that still does not answer
fails the tests (never a silent skip). Every test gets tables with a unique prefix, dropped
afterwards.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

SERVERS = {
    "postgresql": {
        "sync_url": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "url": "postgresql://postgres@127.0.0.1:5432/test",
        "start": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    },
    "mariadb": {
        "sync_url": "mysql+pymysql://root@127.0.0.1:3306/test",
        "url": "mariadb://root@127.0.0.1:3306/test",
        "start": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    },
}
BASE = datetime(2026, 1, 5, 10, 0, 0)  # naive; an hour of the ERP's past


def _answers(sync_url: str) -> bool:
    engine = sa.create_engine(sync_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        return False
    else:
        return True
    finally:
        engine.dispose()


def ensure_server(name: str) -> None:
    server = SERVERS[name]
    if _answers(server["sync_url"]):
        return
    subprocess.run(server["start"], shell=True, check=False, timeout=60)  # noqa: S602
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _answers(server["sync_url"]):
            return
        time.sleep(0.5)
    pytest.fail(f"{name} at {server['sync_url']} does not answer, even after {server['start']!r}")


def _timestamp(dialect: str, aware: bool) -> sa.types.TypeEngine[Any]:
    if dialect == "mysql":
        return mysql.DATETIME(fsp=6)
    return sa.DateTime(timezone=aware)


@dataclass
class Erp:
    """An ERP schema (customers, orders + lines, shipments, invoices, payments) in one db."""

    name: str  # postgresql | mariadb | sqlite
    url: str  # as written in hub.yaml
    engine: sa.Engine
    prefix: str
    aware: bool = False
    metadata: sa.MetaData = field(default_factory=sa.MetaData)

    def __post_init__(self) -> None:
        p, md, dialect = self.prefix, self.metadata, self.engine.dialect.name
        ts = _timestamp(dialect, self.aware)
        money = sa.Numeric(14, 2)
        self.customers = sa.Table(
            f"{p}_customers",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
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
            sa.Column("updated_at", ts),
        )
        self.orders = sa.Table(
            f"{p}_orders",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_no", sa.String(20)),
            sa.Column("customer_id", sa.Integer),
            sa.Column("status", sa.String(20)),
            sa.Column("currency", sa.String(3)),
            sa.Column("total", money),
            sa.Column("tax", money),
            sa.Column("ordered_at", ts),
            sa.Column("confirmed_at", ts),
            sa.Column("updated_at", ts),
        )
        self.lines = sa.Table(
            f"{p}_order_lines",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_id", sa.Integer),
            sa.Column("pos", sa.Integer),
            sa.Column("sku", sa.String(40)),
            sa.Column("name", sa.String(200)),
            sa.Column("qty", sa.Numeric(12, 3)),
            sa.Column("price", money),
        )
        self.shipments = sa.Table(
            f"{p}_shipments",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_no", sa.String(20)),
            sa.Column("carrier", sa.String(40)),
            sa.Column("tracking", sa.String(60)),
            sa.Column("shipped_at", ts),
            sa.Column("delivered_at", ts),
            sa.Column("updated_at", ts),
        )
        self.invoices = sa.Table(
            f"{p}_invoices",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("invoice_no", sa.String(30)),
            sa.Column("order_no", sa.String(20)),
            sa.Column("customer_id", sa.Integer),
            sa.Column("currency", sa.String(3)),
            sa.Column("total", money),
            sa.Column("issued_at", ts),
            sa.Column("due_date", sa.Date),
            sa.Column("updated_at", ts),
        )
        # A legacy table keeping amounts as text, as some in-house ERPs do.
        self.payments = sa.Table(
            f"{p}_payments",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("order_no", sa.String(20)),
            sa.Column("invoice_no", sa.String(30)),
            sa.Column("amount", sa.String(32)),
            sa.Column("currency", sa.String(3)),
            sa.Column("method", sa.String(20)),
            sa.Column("received_at", ts),
            sa.Column("updated_at", ts),
        )

    def create(self) -> None:
        self.metadata.create_all(self.engine)

    def drop(self) -> None:
        self.metadata.drop_all(self.engine)
        self.engine.dispose()

    def t(self, moment: datetime) -> datetime:
        """A naive ERP time as this schema stores it."""
        return moment.replace(tzinfo=UTC) if self.aware else moment

    def insert(self, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(table.insert(), [dict(r) for r in rows])

    def table_name(self, table: sa.Table) -> str:
        return table.name

    def settings(self, tables: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        """Settings of an instance reading this schema (all five tables unless given)."""
        values: dict[str, Any] = {
            "url": self.url,
            "timestamp_delay_seconds": 1,
            "page_size": 3,
            "tables": dict(tables) if tables is not None else self.all_tables(),
        }
        values.update(overrides)
        return values

    def all_tables(self) -> dict[str, Any]:
        return {
            "customers": self.customer_table(),
            "orders": self.order_table(),
            "shipments": {
                "table": self.shipments.name,
                "id_column": "id",
                "timestamp_column": "updated_at",
                "mapping": {
                    "kind": "shipment",
                    "order_number": "order_no",
                    "carrier": "carrier",
                    "tracking_number": "tracking",
                    "dispatched_at": "shipped_at",
                    "delivered_at": "delivered_at",
                },
            },
            "invoices": {
                "table": self.invoices.name,
                "id_column": "id",
                "timestamp_column": "updated_at",
                "mapping": {
                    "kind": "invoice",
                    "number": "invoice_no",
                    "order_number": "order_no",
                    "customer": "customer_id",
                    "currency": "currency",
                    "total": "total",
                    "issued_at": "issued_at",
                    "due_date": "due_date",
                },
            },
            "payments": self.payment_table(),
        }

    def customer_table(self) -> dict[str, Any]:
        return {
            "table": self.customers.name,
            "id_column": "id",
            "timestamp_column": "updated_at",
            "mapping": {
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
        }

    def order_table(self) -> dict[str, Any]:
        return {
            "table": self.orders.name,
            "id_column": "id",
            "timestamp_column": "updated_at",
            "mapping": {
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
                    "table": self.lines.name,
                    "order_column": "order_id",
                    "id_column": "id",
                    "position": "pos",
                    "sku": "sku",
                    "description": "name",
                    "quantity": "qty",
                    "unit_price": "price",
                },
            },
        }

    def payment_table(self) -> dict[str, Any]:
        return {
            "table": self.payments.name,
            "id_column": "id",
            "timestamp_column": "updated_at",
            "mapping": {
                "kind": "payment",
                "order_number": "order_no",
                "invoice_number": "invoice_no",
                "amount": "amount",
                "currency": "currency",
                "method": "method",
                "method_values": {"SEPA": "bank_transfer", "CARD": "card"},
                "received_at": "received_at",
            },
        }


@pytest.fixture(scope="session")
def postgres_server() -> str:
    ensure_server("postgresql")
    return "postgresql"


@pytest.fixture(scope="session")
def mariadb_server() -> str:
    ensure_server("mariadb")
    return "mariadb"


def _erp(name: str, tmp_path: Path, aware: bool = False) -> Iterator[Erp]:
    prefix = f"ht{uuid.uuid4().hex[:10]}"
    if name == "sqlite":
        path = tmp_path / "erp.db"
        erp = Erp(name, f"sqlite:///{path}", sa.create_engine(f"sqlite:///{path}"), prefix)
    else:
        server = SERVERS[name]
        erp = Erp(name, server["url"], sa.create_engine(server["sync_url"]), prefix, aware=aware)
    erp.create()
    try:
        yield erp
    finally:
        erp.drop()


@pytest.fixture(params=["postgresql", "mariadb"])
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Erp]:
    """The ERP schema on PostgreSQL (timestamp without time zone) and on MariaDB (DATETIME)."""
    ensure_server(request.param)
    yield from _erp(request.param, tmp_path)


@pytest.fixture
def pg_erp(postgres_server: str, tmp_path: Path) -> Iterator[Erp]:
    """The ERP schema on PostgreSQL with timestamptz columns."""
    yield from _erp("postgresql", tmp_path, aware=True)


@pytest.fixture
def maria_erp(mariadb_server: str, tmp_path: Path) -> Iterator[Erp]:
    yield from _erp("mariadb", tmp_path)


@pytest.fixture
def sqlite_erp(tmp_path: Path) -> Iterator[Erp]:
    yield from _erp("sqlite", tmp_path)

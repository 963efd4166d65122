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

from connectors.sqltable.demo import erp_tables, example_tables

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
        tables = erp_tables(
            self.metadata, self.prefix, dialect=self.engine.dialect.name, aware=self.aware
        )
        self.tables = tables
        self.customers = tables.customers
        self.orders = tables.orders
        self.lines = tables.lines
        self.shipments = tables.shipments
        self.invoices = tables.invoices
        self.payments = tables.payments

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
        return example_tables(self.tables)

    def customer_table(self) -> dict[str, Any]:
        return example_tables(self.tables)["customers"]

    def order_table(self) -> dict[str, Any]:
        return example_tables(self.tables)["orders"]

    def payment_table(self) -> dict[str, Any]:
        return example_tables(self.tables)["payments"]


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

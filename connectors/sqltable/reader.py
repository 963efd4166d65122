"""Reading ERP tables incrementally by (timestamp, id), with SQLAlchemy Core on asyncio.

One :class:`Database` per instance (an async engine with a small pool: psycopg 3 for
PostgreSQL, aiomysql for MariaDB/MySQL, aiosqlite for SQLite), one :class:`TableReader` per
configured table. Queries are built with SQLAlchemy Core from the reflected table, so
identifiers are quoted and values bound the way each dialect wants; no SQL text is formed
from configuration.

The page query (the keyset condition of Kafka Connect's ``timestamp+incrementing`` mode)::

    SELECT <columns> FROM <table>
    WHERE ts < :upper                                  -- the lag guard (database clock)
      AND (ts > :ts OR (ts = :ts AND id > :id))        -- after the cursor, ties by id
    ORDER BY ts, id
    LIMIT :page

Rows whose timestamp is NULL are never read (a modification time is required).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from connectors.kit.errors import FatalError, RetriableError
from connectors.sqltable.settings import (
    DRIVERS,
    LineColumns,
    SqlTableSettings,
    TableSettings,
    mapped_columns,
)

log = logging.getLogger(__name__)

#: How a timestamp column stores time: with a zone, naive UTC (MariaDB TIMESTAMP read in a
#: UTC session), or naive in the configured ``timezone`` (DATETIME, ``timestamp``).
TimeKind = Literal["aware", "naive_utc", "naive_local"]
LINES_KEY = "lines"

# SQLSTATE classes and MySQL error numbers a human must fix (no point retrying).
_FATAL_SQLSTATES = ("28", "3D", "42")  # auth, unknown database, syntax/permission/undefined
_FATAL_MYSQL_CODES = {1044, 1045, 1049, 1054, 1142, 1143, 1146}
_FATAL_WORDS = ("password authentication failed", "does not exist", "access denied")


@dataclass(frozen=True)
class Cursor:
    """Position after a row: its timestamp exactly as read, and its id."""

    ts: datetime
    id: Any

    def dump(self) -> str:
        return orjson.dumps({"ts": self.ts.isoformat(), "id": self.id}).decode()

    @classmethod
    def load(cls, text: str) -> Cursor:
        try:
            data = orjson.loads(text)
            return cls(ts=datetime.fromisoformat(data["ts"]), id=data["id"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise FatalError(f"stored cursor {text!r} is not a sqltable cursor: {exc}") from exc


def classify_error(exc: BaseException, what: str) -> FatalError | RetriableError:
    """A database error as the kit's error model: fix-by-human (fatal) or try again."""
    orig = getattr(exc, "orig", None) or exc
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = getattr(orig, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    message = f"{what}: {text}"
    if isinstance(exc, sa.exc.NoSuchTableError):
        return FatalError(f"{what}: table {exc} does not exist")
    if (sqlstate and str(sqlstate)[:2] in _FATAL_SQLSTATES) or code in _FATAL_MYSQL_CODES:
        return FatalError(message)
    if any(word in text.lower() for word in _FATAL_WORDS):
        return FatalError(message)
    return RetriableError(message)


def _split(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return schema or None, table


class Database:
    """The instance's engine, its clock and the naive-time zone."""

    def __init__(self, settings: SqlTableSettings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        scheme = settings.url.partition("://")[0]
        url = sa.engine.make_url(settings.url).set(drivername=DRIVERS[scheme])
        if settings.password is not None:
            url = url.set(password=settings.password.get_secret_value())
        self.dialect = url.get_backend_name()
        timeout = settings.connect_timeout_seconds
        kwargs: dict[str, Any] = {}
        if self.dialect == "postgresql":
            kwargs["connect_args"] = {
                "options": "-c TimeZone=UTC",
                "connect_timeout": max(1, int(timeout)),
                "application_name": "handoff-sqltable",
            }
        elif self.dialect == "mysql":
            # TIMESTAMP columns are then read (and compared) in UTC; DATETIME is unaffected.
            kwargs["connect_args"] = {
                "init_command": "SET time_zone = '+00:00'",
                "connect_timeout": max(1, int(timeout)),
            }
        if self.dialect != "sqlite":
            kwargs.update(pool_size=2, max_overflow=2, pool_pre_ping=True, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)

    async def close(self) -> None:
        await self.engine.dispose()

    async def now(self) -> datetime:
        """The database's clock, in UTC: the lag guard must not trust the hub's clock."""
        if self.dialect == "postgresql":
            query = sa.select(sa.func.clock_timestamp())
        elif self.dialect == "mysql":
            query = sa.select(sa.func.utc_timestamp(6))
        else:
            query = sa.select(sa.func.strftime("%Y-%m-%d %H:%M:%f", "now"))
        try:
            async with self.engine.connect() as conn:
                value = (await conn.execute(query)).scalar_one()
        except Exception as exc:
            raise classify_error(exc, "reading the database clock") from exc
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise RetriableError(f"database clock answered {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_kind(column: sa.Column[Any], dialect: str) -> TimeKind | None:
    """How ``column`` stores time, or None when it is not a date-time column."""
    kind = column.type
    if dialect == "mysql" and isinstance(kind, mysql.TIMESTAMP):
        return "naive_utc"
    if isinstance(kind, sa.DateTime):
        return "aware" if kind.timezone else "naive_local"
    return None


class TableReader:
    """Reads one configured table (and, for orders, its lines) page by page."""

    def __init__(self, db: Database, entity: str, config: TableSettings) -> None:
        self.db = db
        self.entity = entity
        self.config = config
        self.table: sa.Table | None = None
        self.columns: list[sa.Column[Any]] = []
        self.ts_kind: TimeKind = "aware"
        self.time_kinds: dict[str, TimeKind] = {}
        self.lines: LineColumns | None = getattr(config.mapping, "lines", None)
        self.lines_table: sa.Table | None = None
        self.line_time_kinds: dict[str, TimeKind] = {}

    async def _reflect(self, conn: AsyncConnection, name: str) -> sa.Table:
        schema, table = _split(name)

        def load(sync_conn: sa.Connection) -> sa.Table:
            return sa.Table(table, sa.MetaData(), schema=schema, autoload_with=sync_conn)

        return await conn.run_sync(load)

    async def prepare(self) -> None:
        """Reflect the table, check every configured column exists, learn the time kinds."""
        what = f"table {self.config.table!r} (entity {self.entity!r})"
        try:
            async with self.db.engine.connect() as conn:
                self.table = await self._reflect(conn, self.config.table)
                if self.lines is not None:
                    self.lines_table = await self._reflect(conn, self.lines.table)
        except Exception as exc:
            raise classify_error(exc, f"reading the definition of {what}") from exc
        table = self.table
        config = self.config
        wanted = {config.id_column, config.timestamp_column, *mapped_columns(config.mapping)}
        missing = sorted(name for name in wanted if name not in table.c)
        if config.columns is not None:
            missing += sorted(name for name in config.columns if name not in table.c)
        if missing:
            raise FatalError(f"{what} has no column(s) {', '.join(missing)}")
        names = (
            [c.name for c in table.c]
            if config.columns is None
            else list(dict.fromkeys([*config.columns, *sorted(wanted)]))
        )
        self.columns = [table.c[name] for name in names]
        self.time_kinds = {
            c.name: k for c in self.columns if (k := time_kind(c, self.db.dialect)) is not None
        }
        ts_kind = self.time_kinds.get(config.timestamp_column)
        if ts_kind is None:
            raise FatalError(
                f"{what}: timestamp column {config.timestamp_column!r} is "
                f"{table.c[config.timestamp_column].type}, not a date-time column"
            )
        self.ts_kind = ts_kind
        if self.lines is not None and self.lines_table is not None:
            if LINES_KEY in names:
                raise FatalError(f"{what} has a column named {LINES_KEY!r}; the lines go there")
            line_cols = {
                self.lines.order_column,
                self.lines.id_column,
                *mapped_columns(self.lines),
            }
            absent = sorted(n for n in line_cols if n not in self.lines_table.c)
            if absent:
                raise FatalError(
                    f"line table {self.lines.table!r} of {what} has no column(s) "
                    f"{', '.join(absent)}"
                )
            self.line_time_kinds = {
                c.name: k
                for c in self.lines_table.c
                if (k := time_kind(c, self.db.dialect)) is not None
            }

    def bound(self, moment: datetime) -> datetime:
        """An aware UTC moment in the representation the timestamp column compares with."""
        if self.ts_kind == "aware":
            return moment
        if self.ts_kind == "naive_utc":
            return moment.astimezone(UTC).replace(tzinfo=None)
        return moment.astimezone(self.db.zone).replace(tzinfo=None)

    def aware(self, value: datetime, kind: TimeKind) -> datetime:
        """A value read from a column of ``kind`` as an aware datetime."""
        if value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC if kind == "naive_utc" else self.db.zone)

    async def page(
        self, cursor: Cursor | None, upper: datetime, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` rows after ``cursor`` and before ``upper``, in (ts, id) order."""
        assert self.table is not None, "prepare() first"  # noqa: S101 - programming error
        ts = self.table.c[self.config.timestamp_column]
        key = self.table.c[self.config.id_column]
        query = sa.select(*self.columns).where(ts < upper)
        if cursor is not None:
            query = query.where(sa.or_(ts > cursor.ts, sa.and_(ts == cursor.ts, key > cursor.id)))
        query = query.order_by(ts, key).limit(limit)
        try:
            async with self.db.engine.connect() as conn:
                result = await conn.execute(query)
                rows = [dict(row) for row in result.mappings()]
                if rows and self.lines is not None:
                    await self._attach_lines(conn, rows)
        except Exception as exc:
            raise classify_error(exc, f"reading table {self.config.table!r}") from exc
        return rows

    async def _attach_lines(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        assert self.lines is not None  # noqa: S101 - prepare() set both
        assert self.lines_table is not None  # noqa: S101
        lines, table = self.lines, self.lines_table
        ids = list({row[self.config.id_column] for row in rows})
        order_col = table.c[lines.order_column]
        order_by = [order_col]
        if lines.position is not None:
            order_by.append(table.c[lines.position])
        order_by.append(table.c[lines.id_column])
        query = sa.select(table).where(order_col.in_(ids)).order_by(*order_by)
        by_order: dict[Any, list[dict[str, Any]]] = {}
        for line in (await conn.execute(query)).mappings():
            by_order.setdefault(line[lines.order_column], []).append(dict(line))
        for row in rows:
            row[LINES_KEY] = by_order.get(row[self.config.id_column], [])

    def cursor_of(self, row: Mapping[str, Any]) -> Cursor:
        return Cursor(ts=row[self.config.timestamp_column], id=jsonable(row[self.config.id_column]))

    def to_json(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row as a JSON object: exact decimals as strings, times aware ISO 8601."""
        out: dict[str, Any] = {}
        for name, value in row.items():
            # str(): SQLAlchemy names are str subclasses, which JSON encoders refuse as keys
            if name == LINES_KEY and isinstance(value, list):
                out[str(name)] = [self._json_row(line, self.line_time_kinds) for line in value]
            else:
                out[str(name)] = self._value(value, self.time_kinds.get(name))
        return out

    def _json_row(self, row: Mapping[str, Any], kinds: Mapping[str, TimeKind]) -> dict[str, Any]:
        return {str(name): self._value(v, kinds.get(name)) for name, v in row.items()}

    def _value(self, value: Any, kind: TimeKind | None) -> Any:
        if isinstance(value, datetime):
            return self.aware(value, kind or "naive_local").isoformat()
        return jsonable(value)


def jsonable(value: Any) -> Any:
    """A database value as JSON: Decimal as its exact string, bytes base64, dates ISO."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)  # Decimal (exact), UUID, intervals, enums, network addresses


__all__ = ["LINES_KEY", "Cursor", "Database", "TableReader", "classify_error", "jsonable"]

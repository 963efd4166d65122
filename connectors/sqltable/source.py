"""The polling source: one stream per configured table, cursor ``{"ts": ..., "id": ...}``.

Each poll of a stream reads the database clock once, fixes the upper bound
``now - timestamp_delay_seconds`` for the whole poll, and then reads pages of
``page_size`` rows after the cursor in (timestamp, id) order until a page comes back short.
Every page is a fresh query from the last row yielded, so rows written between two pages
with the timestamp of the last row read (and a larger id) are read by the next page, and
rows of one timestamp split across a page boundary are neither missed nor repeated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import orjson

from connectors.kit.errors import FatalError, RetriableError
from connectors.kit.polling import PollingSource
from connectors.kit.source import BadRecord, Record, SourceContext
from connectors.sqltable.reader import Cursor, Database, TableReader, jsonable
from connectors.sqltable.settings import SqlTableSettings
from connectors.sqltable.translate import check_row

log = logging.getLogger(__name__)


class SqlTableSource(PollingSource[SqlTableSettings]):
    """Reads the configured ERP tables of one database."""

    #: The entities are the instance's configured table names (the type's ``entities_for``);
    #: the type declares none of its own.
    entities = ()

    def __init__(self, settings: SqlTableSettings, context: SourceContext) -> None:
        super().__init__(settings, context)
        self.db: Database | None = None
        self.readers: dict[str, TableReader] = {}

    def streams(self) -> tuple[str, ...]:
        return tuple(self.settings.tables)

    async def open(self) -> None:
        """Create the engine and check every table and mapped column exists.

        A definition problem (unknown table or column, bad credentials) raises
        :class:`FatalError` here; a database that does not answer yet does not: ``read``
        tries again, inside the kit's backoff.
        """
        self.db = Database(self.settings)
        try:
            await self._prepare()
        except RetriableError as exc:
            log.warning(
                "sqltable %s: database not ready (%s); will retry", self.context.instance, exc
            )

    async def _prepare(self) -> None:
        assert self.db is not None  # noqa: S101 - open() set it
        readers = {
            entity: TableReader(self.db, entity, table)
            for entity, table in self.settings.tables.items()
        }
        for reader in readers.values():
            await reader.prepare()
        self.readers = readers

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None
        self.readers = {}

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        if self.db is None:
            self.db = Database(self.settings)
        if not self.readers:
            await self._prepare()
        reader = self.readers.get(stream)
        if reader is None:
            raise FatalError(f"no table is configured for stream {stream!r}")
        position = Cursor.load(cursor) if cursor else None
        now = await self.db.now()
        upper = reader.bound(now - timedelta(seconds=self.settings.timestamp_delay_seconds))
        size = self.settings.page_size
        config = reader.config
        while True:
            rows = await reader.page(position, upper, size)
            for row in rows:
                position = reader.cursor_of(row)
                record_id = str(jsonable(row[config.id_column]))
                data = reader.to_json(row)
                problem = check_row(data, config, f"{stream} {record_id} ({config.table})")
                if problem is not None:
                    yield BadRecord(
                        raw=orjson.dumps(data),
                        reason=problem,
                        cursor=position.dump(),
                        id=record_id,
                    )
                    continue
                yield Record(
                    id=record_id,
                    revision=position.ts.isoformat(),
                    time=reader.aware(position.ts, reader.ts_kind),
                    data=data,
                    cursor=position.dump(),
                )
            if len(rows) < size:
                return


__all__ = ["SqlTableSource"]

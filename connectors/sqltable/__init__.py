"""``sqltable``: ERP tables read incrementally from PostgreSQL, MariaDB/MySQL or SQLite.

Many in-house ERPs offer no API, only their database. This connector serves them the way
Kafka Connect's JDBC source connector does, in its ``timestamp+incrementing`` mode: each
configured table (``tables:`` in the instance's settings, one entity each) is polled for
rows changed since a cursor, and each row is published to ``raw.<instance>.<entity>``. The
translator then maps rows to canonical events by the declarative ``mapping`` of the table
(column names in ``hub.yaml``; see :mod:`connectors.sqltable.settings` and
:mod:`connectors.sqltable.translate`).

The documented behaviour this follows (Confluent JDBC source connector)
-------------------------------------------------------------------------
- https://docs.confluent.io/kafka-connectors/jdbc/current/source-connector/overview.html
  (incremental query modes; ``timestamp+incrementing``: "a timestamp column that detects
  new and modified rows and a strictly incrementing column which provides a globally unique
  ID for updates so each row can be assigned a unique stream offset")
- https://docs.huihoo.com/apache/kafka/confluent/3.0/connect/connect-jdbc/docs/configuration_options.html
  (``timestamp.delay.interval.ms``: "How long to wait after a row with certain timestamp
  appears before we include it in the result", ``batch.max.rows``, ``poll.interval.ms``)

Subset implemented, with the names used here:

=================================  ============================================================
JDBC source                        sqltable
=================================  ============================================================
``mode=timestamp+incrementing``    always; ``timestamp_column`` + ``id_column`` per table
``timestamp.column.name``          ``tables.<entity>.timestamp_column`` (one column, no
                                   COALESCE of several)
``incrementing.column.name``       ``tables.<entity>.id_column`` (any unique, ordered key:
                                   integer or text)
``timestamp.delay.interval.ms``    ``timestamp_delay_seconds`` (default 5 s)
``db.timezone``                    ``timezone`` (zone of columns without a time zone)
``batch.max.rows``                 ``page_size`` (kit setting, default 100)
``poll.interval.ms``               ``poll_interval_seconds`` (kit setting)
``table.whitelist``                ``tables`` (explicit; no discovery of new tables)
``query``                          not supported: a view over the join or filter is read like
                                   a table, and its columns are checked at start-up
bulk / incrementing-only modes     not supported (the hub needs modifications, not just
                                   inserts)
=================================  ============================================================

The cursor: (timestamp, id), never timestamp alone
--------------------------------------------------
A page is ``WHERE ts < :upper AND (ts > :ts OR (ts = :ts AND id > :id)) ORDER BY ts, id
LIMIT :page_size``, where ``(:ts, :id)`` is the last row read. Reading ``ts > :ts`` alone
(the classic bug of timestamp-only incremental readers) skips the rest of a group of rows
sharing the last timestamp when a page ends inside that group, or when more rows with that
timestamp are committed after it was read; reading ``ts >= :ts`` repeats them forever. With
the id as tie-break both cases are exact: each row is read once per change. The cursor is
stored by the kit on ``hub.checkpoints`` only after the page's records are acknowledged, so
a restart resumes after the last stored row (at-least-once: a page being published at the
crash is read again and de-duplicated downstream by its stable event ids).

The lag guard: only rows older than the database's now minus a small delay
----------------------------------------------------------------------------
The ERP sets the timestamp when its transaction *writes* the row, but the row becomes
visible only when that transaction *commits*. Transaction A may write ``ts = 10:00:00.100``,
transaction B ``ts = 10:00:00.200`` and commit first; a poll between the two commits reads
B and moves the cursor past A, which then commits "in the past" and is never read. So each
poll reads only rows with ``ts < now - timestamp_delay_seconds``, as Kafka Connect's
``timestamp.delay.interval.ms`` does: a transaction that commits within the delay is
visible before the cursor can pass its timestamp. ``now`` is read from the *database's*
clock (``clock_timestamp()``, ``UTC_TIMESTAMP(6)``, SQLite's ``'now'``) once per poll,
because the timestamps are written by the database or by ERP servers synchronised with it;
the hub's own clock may be minutes off and would make the guard either useless (hub behind)
or a needless delay (hub ahead). The price is latency: a change is published at least
``timestamp_delay_seconds`` after it was written. Set the delay above the ERP's longest
write transaction; transactions longer than the delay can still be missed (the only
complete fix is log-based capture, which needs privileges in-house ERPs rarely grant).

Time zones: columns with a zone (``timestamptz``) are compared as they are; columns without
(PostgreSQL ``timestamp``, MariaDB ``DATETIME``, SQLite text) are taken to be in
``timezone``; MariaDB ``TIMESTAMP`` columns are read in a UTC session. Records carry aware
ISO 8601 times, exact decimals as strings, and, for order tables with ``lines``, the order's
line rows under ``"lines"``.

SQLite has no date-time type: its timestamps are text compared as text, so they must all be
written in one fixed-width format, SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff`` (as
:mod:`connectors.sqltable.demo` writes them). It serves the demo; production ERPs run on
PostgreSQL or MariaDB.

Drivers: SQLAlchemy Core 2.0 on asyncio (reflection checks every configured column at
start-up, quoting and binding are the dialect's), psycopg 3 for PostgreSQL, aiomysql for
MariaDB/MySQL, aiosqlite for SQLite (demo). Authentication failures, unknown databases,
tables or columns and missing permissions stop the instance (``failed``, with the reason);
connection losses and timeouts are retried with backoff.
"""

from connectors.kit.registry import ConnectorType
from connectors.sqltable.settings import SqlTableSettings
from connectors.sqltable.source import SqlTableSource
from connectors.sqltable.translate import translator


def entities_for(settings: SqlTableSettings) -> tuple[str, ...]:
    """The entities (raw topics ``raw.<instance>.<entity>``) of one configured instance:
    the keys of its ``tables``."""
    return tuple(settings.tables)


CONNECTOR = ConnectorType(
    name="sqltable",
    settings_model=SqlTableSettings,
    source=SqlTableSource,
    translator_factory=translator,
    entities_for=entities_for,
    description="ERP tables read incrementally by (timestamp, id) from PostgreSQL, "
    "MariaDB/MySQL or SQLite",
)

__all__ = ["CONNECTOR", "SqlTableSettings", "SqlTableSource", "entities_for", "translator"]

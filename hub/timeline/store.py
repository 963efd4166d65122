"""The timeline store: events stored once by ce_id, derived state recomputed per aggregate.

One SQL layer for SQLite (default, a file under ``./.hub/``) and PostgreSQL
(``HUB_DATABASE_URL=postgresql://...``), through SQLAlchemy Core: it gives both dialects
one parameter style, connection pooling and the psycopg 3 driver, while the statements stay
plain SQL both databases accept (``INSERT ... ON CONFLICT``). Migrations are numbered SQL
files in :mod:`hub.timeline.migrations`, applied once each and recorded in
``timeline_schema_version``.

Each consumed batch is one transaction: insert the events (a duplicate id is ignored), then
recompute the state and SLA clocks of every aggregate the batch touched from *all* its
stored events in timeline order. So redelivery, replay, late events and any arrival order
end in the same rows.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import orjson
from sqlalchemy import Connection, Engine, TextClause, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from hub.timeline.config import LifecycleConfig, ProcessesConfig
from hub.timeline.ordering import TimelineEvent, ordered, parse_time_key, time_key
from hub.timeline.processes import (
    LifecycleState,
    lifecycle,
    lifecycle_from_json,
    lifecycle_to_json,
    lifecycle_types,
    reopen_types,
    stage_process,
    state_to_json,
)

Kind = str  # "order" | "ticket" | "customer"
KINDS: tuple[Kind, ...] = ("order", "ticket", "customer")
_CHUNK = 500
#: The version of the rules that derive state from events, part of the states'
#: fingerprint: a change of them (2: reopened stages) recomputes stored states as a change
#: of ``processes:`` in hub.yaml does.
STATE_RULES = 2
_MAX_MERGE_HOPS = 32


class StoreError(RuntimeError):
    """The timeline database cannot be used (bad URL, unreachable, failed migration)."""


def engine_url(url: str) -> str:
    """Map the contract's URL forms onto SQLAlchemy driver names."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def migrations() -> list[tuple[int, str]]:
    """``(version, sql)`` of every migration file, in order."""
    folder = resources.files("hub.timeline.migrations")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(sql: str) -> Iterator[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement.strip()


@dataclass(frozen=True)
class StageTransition:
    """A stage an item left in this batch (for the stage-duration histogram)."""

    process: str
    stage: str
    seconds: float


@dataclass
class IngestResult:
    #: Events stored by this batch (not stored before).
    stored: int = 0
    #: Events that belong to no timeline.
    ignored: int = 0
    #: Events already stored (redelivered or replayed): they change nothing.
    duplicates: int = 0
    touched: dict[Kind, set[str]] = field(default_factory=lambda: defaultdict(set))
    transitions: list[StageTransition] = field(default_factory=list)


@dataclass(frozen=True)
class StoredTimeline:
    """What the store knows about one aggregate: events in order, state, clocks."""

    kind: Kind
    id: str
    requested_id: str
    events: list[TimelineEvent]
    state: dict[str, Any] | None
    #: Clock rows of this aggregate and of related ones (an order's complaints, a
    #: customer's orders and tickets); each with ``kind``, ``agg_id`` and ``breach``.
    clocks: list[dict[str, Any]]
    #: Customer ids merged into this one (customer timelines only).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class DueClock:
    kind: Kind
    agg_id: str
    rule: str
    process: str
    deadline: datetime
    order_id: str | None
    customer_id: str | None
    ticket_id: str | None
    clock: dict[str, Any]
    stage: str | None


_EVENT_COLUMNS = (
    "ce_id, sort_time, type, source, subject, order_id, customer_id, ticket_id, attributes, data"
)
_STATE_COLUMNS = (
    "kind, agg_id, process, stage, owner, waiting_since, done, order_id, customer_id,"
    " updated_time, state"
)
_INSERT_EVENT = text(
    "INSERT INTO timeline_events (ce_id, sort_time, type_rank, type, source, subject, order_id,"
    " customer_id, ticket_id, attributes, data) VALUES (:ce_id, :sort_time, :type_rank, :type,"
    " :source, :subject, :order_id, :customer_id, :ticket_id, :attributes, :data)"
    " ON CONFLICT (ce_id) DO NOTHING"
)
_UPSERT_MERGE = text(
    "INSERT INTO timeline_merges (merged_id, survivor_id, sort_time, ce_id)"
    " VALUES (:merged_id, :survivor_id, :sort_time, :ce_id)"
    " ON CONFLICT (merged_id) DO UPDATE SET survivor_id = excluded.survivor_id,"
    " sort_time = excluded.sort_time, ce_id = excluded.ce_id"
    " WHERE excluded.sort_time > timeline_merges.sort_time"
    " OR (excluded.sort_time = timeline_merges.sort_time"
    " AND excluded.ce_id > timeline_merges.ce_id)"
)
_META_STATES = text("SELECT value FROM timeline_meta WHERE name = 'states'")
_UPSERT_META = text(
    "INSERT INTO timeline_meta (name, value) VALUES ('states', :value)"
    " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)
_REFRESH_IDS = text(
    "SELECT agg_id FROM timeline_state WHERE kind = :kind AND agg_id > :after"
    " ORDER BY agg_id LIMIT :limit"
)
_UPSERT_STATE = text(
    "INSERT INTO timeline_state (kind, agg_id, process, stage, owner, waiting_since, done,"
    " order_id, customer_id, updated_time, state) VALUES (:kind, :agg_id, :process, :stage,"
    " :owner, :waiting_since, :done, :order_id, :customer_id, :updated_time, :state)"
    " ON CONFLICT (kind, agg_id) DO UPDATE SET process = excluded.process,"
    " stage = excluded.stage, owner = excluded.owner, waiting_since = excluded.waiting_since,"
    " done = excluded.done, order_id = excluded.order_id, customer_id = excluded.customer_id,"
    " updated_time = excluded.updated_time, state = excluded.state"
)
_UPSERT_CLOCK = text(
    "INSERT INTO timeline_clocks (kind, agg_id, rule, process, status, deadline, order_id,"
    " customer_id, ticket_id, clock) VALUES (:kind, :agg_id, :rule, :process, :status,"
    " :deadline, :order_id, :customer_id, :ticket_id, :clock)"
    " ON CONFLICT (kind, agg_id, rule) DO UPDATE SET process = excluded.process,"
    " status = excluded.status, deadline = excluded.deadline, order_id = excluded.order_id,"
    " customer_id = excluded.customer_id, ticket_id = excluded.ticket_id,"
    " clock = excluded.clock"
)
_DELETE_CLOCK = text(
    "DELETE FROM timeline_clocks WHERE kind = :kind AND agg_id = :agg_id AND rule = :rule"
)
_INSERT_BREACH = text(
    "INSERT INTO timeline_breaches (kind, agg_id, rule, process, event_id, deadline, emitted_at,"
    " owner, escalate_to, order_id, customer_id) VALUES (:kind, :agg_id, :rule, :process,"
    " :event_id, :deadline, :emitted_at, :owner, :escalate_to, :order_id, :customer_id)"
    " ON CONFLICT (kind, agg_id, rule) DO NOTHING"
)


def states_fingerprint(processes: ProcessesConfig) -> str:
    """What stored states depend on besides the events: the processes and the rules."""
    body = f"{STATE_RULES}:{processes.model_dump_json()}"
    return hashlib.sha256(body.encode()).hexdigest()


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start : start + _CHUNK])


def _in(column: str, values: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """``column IN :ids`` with an expanding parameter (one cached statement per shape)."""
    return f"{column} IN :ids", {"ids": list(values)}


def _sql(statement: str) -> TextClause:
    """A statement whose ``:ids`` (``:types``, ``:data_types``) parameters are expanding IN
    lists."""
    return _text_cached(statement)


@functools.lru_cache(maxsize=256)
def _text_cached(statement: str) -> TextClause:
    clause = text(statement)
    for name in ("ids", "types", "data_types"):
        if f":{name}" in statement:
            clause = clause.bindparams(bindparam(name, expanding=True))
    return clause


def _event_from_row(row: Any) -> TimelineEvent:
    data = orjson.loads(row.data)
    return TimelineEvent(
        id=row.ce_id,
        type=row.type,
        time=parse_time_key(row.sort_time),
        source=row.source,
        data=data,
        subject=row.subject,
        order_id=row.order_id,
        customer_id=row.customer_id,
        ticket_id=row.ticket_id,
        attributes=tuple((k, v) for k, v in orjson.loads(row.attributes)),
    )


@dataclass(slots=True)
class _Stored:
    """What recomputing state reads of a stored event (no attributes; data only of the
    types a ``reopened_by`` rule reads)."""

    sort_key: tuple[str, int, str]
    type: str
    time: datetime
    order_id: str | None
    customer_id: str | None
    data: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        return self.sort_key[0]


# A customer's lifecycle keeps its latest lifecycle events (up to _TAIL_MAX, none older
# than _TAIL_WINDOW before the latest) next to the state of all earlier ones, so that a
# batch adds its events without reading the customer's history, even when they arrive
# late. Only an event older than every kept one makes the store read it all. Late is
# common while a backlog drains: the three canonical topics are read at different speeds,
# so a customer's order events can come hours after its later customer events. With a
# 6-hour window, 1,007 of the first 7,869 lifecycle updates of the benchmark's backlog
# read the customer's history; with 3 days none did, and offline ingestion of its 113k
# events went from 5.0k-5.2k to 6.3k-6.9k events/s. _TAIL_MAX still bounds the row.
_TAIL_WINDOW = timedelta(days=3)
_TAIL_MAX = 64


def _key(value: Sequence[Any]) -> tuple[str, int, str]:
    return (str(value[0]), int(value[1]), str(value[2]))


@dataclass(frozen=True, slots=True)
class _Folded:
    """``head`` = :func:`lifecycle` of every event; ``base`` = of those before ``tail``."""

    base: LifecycleState
    base_through: tuple[str, int, str] | None
    tail: list[_Stored]
    head: LifecycleState

    @classmethod
    def of(cls, definition: LifecycleConfig, events: Sequence[_Stored]) -> _Folded:
        """From all of a customer's lifecycle events, in timeline order."""
        cut = _tail_start(events)
        base = lifecycle(definition, events[:cut])
        through = events[cut - 1].sort_key if cut else None
        tail = list(events[cut:])
        return cls(base, through, tail, lifecycle(definition, tail, start=base))

    def add(self, definition: LifecycleConfig, new: list[_Stored]) -> _Folded | None:
        """With ``new`` (events not folded yet) added; None if one sorts before the tail
        (the base would change: only a full recompute knows how)."""
        new.sort(key=lambda e: e.sort_key)
        if self.base_through is not None and new[0].sort_key <= self.base_through:
            return None
        if not self.tail or new[0].sort_key > self.tail[-1].sort_key:
            events = self.tail + new
            head = lifecycle(definition, new, start=self.head)
        else:
            events = sorted(self.tail + new, key=lambda e: e.sort_key)
            head = lifecycle(definition, events, start=self.base)
        cut = _tail_start(events)
        if not cut:
            return _Folded(self.base, self.base_through, events, head)
        base = lifecycle(definition, events[:cut], start=self.base)
        return _Folded(base, events[cut - 1].sort_key, events[cut:], head)

    def to_json(self) -> dict[str, Any]:
        return lifecycle_to_json(self.head) | {
            "base": lifecycle_to_json(self.base)
            | {"through": list(self.base_through) if self.base_through else None},
            "tail": [[*e.sort_key, e.type] for e in self.tail],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> _Folded | None:
        """None for a state written before the store kept the tail."""
        if "tail" not in body or "base" not in body:
            return None
        through = body["base"].get("through")
        tail = [
            _Stored(_key(item), str(item[3]), parse_time_key(str(item[0])), None, None)
            for item in body["tail"]
        ]
        return cls(
            lifecycle_from_json(body["base"]),
            _key(through) if through else None,
            tail,
            lifecycle_from_json(body),
        )


def _tail_start(events: Sequence[_Stored]) -> int:
    """Where the kept tail of these ordered events starts."""
    if not events:
        return 0
    cut = max(len(events) - _TAIL_MAX, 0)
    oldest = events[-1].time - _TAIL_WINDOW
    while cut < len(events) and events[cut].time < oldest:
        cut += 1
    return cut


@functools.lru_cache(maxsize=32)
def _driver_sql(statement: str, dialect: str) -> str:
    """``:name`` parameters in the driver's style (sqlite3 takes them as they are)."""
    if dialect == "sqlite":
        return statement
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", statement)


def _event_row(e: TimelineEvent) -> dict[str, Any]:
    sort_time, rank, _ = e.sort_key
    return {
        "ce_id": e.id,
        "sort_time": sort_time,
        "type_rank": rank,
        "type": e.type,
        "source": e.source,
        "subject": e.subject,
        "order_id": e.order_id,
        "customer_id": e.customer_id,
        "ticket_id": e.ticket_id,
        "attributes": orjson.dumps(list(e.attributes)).decode(),
        "data": orjson.dumps(e.data).decode(),
    }


def _clock_rows(row: dict[str, Any], body: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The clock rows of a state row, by rule. Clock rows are written with the state and
    mirror the clocks in its JSON, so the old ones are known without reading them."""
    if not body:
        return {}
    kind, agg_id = row["kind"], row["agg_id"]
    return {
        clock["rule"]: {
            "kind": kind,
            "agg_id": agg_id,
            "rule": clock["rule"],
            "process": row["process"],
            "status": clock["status"],
            "deadline": clock["deadline"],
            "order_id": row["order_id"],
            "customer_id": row["customer_id"],
            "ticket_id": agg_id if kind == "ticket" else None,
            "clock": clock,
        }
        for clock in body.get("clocks", ())
    }


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


#: answered from the partial index ``timeline_state_open`` (migration 0004), whose condition
#: ``done = 0`` this WHERE clause must keep
OPEN_ITEMS = (
    "SELECT process, stage, owner, COUNT(*) AS n FROM timeline_state"
    " WHERE done = 0 AND process IS NOT NULL AND stage IS NOT NULL"
    " AND owner IS NOT NULL GROUP BY process, stage, owner"
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


#: The two-key advisory lock of :meth:`TimelineStore._lock_merges` (the one-key locks of
#: single aggregates are another key space).
_MERGES_LOCK = {"space": 0x48414E44, "key": 1}


class TimelineStore:
    """Synchronous store; async services call it through :meth:`call`."""

    def __init__(self, url: str, processes: ProcessesConfig, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self.processes = processes
        self._write_lock = threading.Lock()
        self._thread: ThreadPoolExecutor | None = None
        try:
            sa_url = make_url(engine_url(url))
        except Exception as exc:
            raise StoreError(f"HUB_DATABASE_URL is not a database URL: {url!r}") from exc
        self.dialect = sa_url.get_backend_name()
        if self.dialect == "sqlite":
            database = sa_url.database
            memory = not database or database == ":memory:"
            if not memory:
                Path(str(database)).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                sa_url,
                connect_args={"check_same_thread": False, "timeout": 30},
                # one shared connection, or every checkout would see a new empty database
                poolclass=StaticPool if memory else None,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.dialect == "postgresql":
            connect_args: dict[str, Any] = {}
            if schema:
                connect_args["options"] = f"-csearch_path={schema}"
            self.engine = create_engine(sa_url, connect_args=connect_args, pool_pre_ping=True)
        else:
            raise StoreError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")

    # -- schema -------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply the migrations this database has not seen; returns their versions."""
        applied: list[int] = []
        try:
            with self._write_lock, self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    # two pods starting together: one migrates, the other waits
                    conn.execute(text("SELECT pg_advisory_xact_lock(727172)"))
                conn.execute(
                    text(
                        "CREATE TABLE IF NOT EXISTS timeline_schema_version"
                        " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                    )
                )
                done = {
                    row[0]
                    for row in conn.execute(text("SELECT version FROM timeline_schema_version"))
                }
                for version, sql in migrations():
                    if version in done:
                        continue
                    for statement in _statements(sql):
                        conn.execute(text(statement))
                    conn.execute(
                        text(
                            "INSERT INTO timeline_schema_version (version, applied_at)"
                            " VALUES (:v, :at)"
                        ),
                        {"v": version, "at": time_key(datetime.now().astimezone())},
                    )
                    applied.append(version)
        except Exception as exc:
            where = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot prepare the timeline database {where}: {exc}") from exc
        return applied

    def dispose(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        self.engine.dispose()

    async def call(self, method: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """``method(*args, **kwargs)`` on this store's own thread, one call at a time.

        The timeline service's batches and its SLA clock all go through one thread rather
        than the event loop's shared pool. With the pool, successive batches ran on
        whichever of its threads was idle: SQLite opened a connection, with its own page
        cache, for each, and glibc served each thread's allocations from an arena of its
        own, so a long run kept several half-used copies of the same working set."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="timeline-store")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(method, *args, **kwargs))

    # -- recomputing every state ----------------------------------------------------------

    def states_current(self) -> bool:
        """Whether the state and clock rows were computed under this store's processes and
        the current state rules. A store without state rows is marked current at once;
        otherwise :meth:`refresh_step` over every kind, then :meth:`mark_states_current`."""
        fingerprint = states_fingerprint(self.processes)
        try:
            with self._write_lock, self.engine.begin() as conn:
                stored = conn.execute(_META_STATES).scalar()
                if stored == fingerprint:
                    return True
                if conn.execute(text("SELECT 1 FROM timeline_state LIMIT 1")).first() is None:
                    conn.execute(_UPSERT_META, {"value": fingerprint})
                    return True
        except Exception as exc:
            where = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(f"cannot read the timeline database {where}: {exc}") from exc
        return False

    def refresh_step(self, kind: Kind, after: str = "", limit: int = _CHUNK) -> str | None:
        """Recompute the state and clocks of the next ``limit`` aggregates of ``kind`` by id
        after ``after``, in one transaction; the last id done, None when none was left.
        Rows that come out the same are not written; no stage-duration is measured."""
        with self._write_lock, self.engine.begin() as conn:
            ids = [
                str(row[0])
                for row in conn.execute(
                    _REFRESH_IDS, {"kind": kind, "after": after, "limit": limit}
                )
            ]
            if not ids:
                return None
            if kind == "customer":
                # a row of an id merged away since (another pod's batch) goes, as in
                # ingest; only survivors have a lifecycle
                self._lock_merges(conn, exclusive=False)
                golden = self._golden_many(conn, ids)
                survivors = sorted(i for i in ids if golden.get(i, i) == i)
                self._lock(conn, kind, sorted({*ids, *golden.values()}))
                self._forget_merged(conn, golden)
                old = self._state_rows(conn, kind, survivors)
                states = self._lifecycle_rows(conn, survivors, old)
                if states:
                    self._many(conn, _UPSERT_STATE, states)
            else:
                result = IngestResult()
                result.touched[kind] = set(ids)
                self._recompute(conn, result)
        return ids[-1]

    def mark_states_current(self) -> None:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(_UPSERT_META, {"value": states_fingerprint(self.processes)})

    # -- writing ------------------------------------------------------------------------

    def ingest(self, events: Iterable[TimelineEvent]) -> IngestResult:
        """Store a batch (duplicates ignored) and recompute what it touched, atomically.

        Only aggregates that received an event not stored before are recomputed (their
        state was written with the events already stored), and only state and clock rows
        that changed are written.
        """
        result = IngestResult()
        batch = []
        for item in ordered(events):
            if item.placeable:
                batch.append(item)
            else:
                result.ignored += 1
        if not batch:
            return result
        with self._write_lock, self.engine.begin() as conn:
            known = self._known_ids(conn, [e.id for e in batch])
            new = [e for e in batch if e.id not in known]
            result.duplicates = len(batch) - len(new)
            result.stored = len(new)
            if not new:
                return result
            self._lock_merges(conn, exclusive=any(e.merge is not None for e in new))
            self._many(conn, _INSERT_EVENT, [_event_row(e) for e in new])
            remerged = self._store_merges(conn, new)
            for e in new:
                if e.order_id:
                    result.touched["order"].add(e.order_id)
                if e.ticket_id:
                    result.touched["ticket"].add(e.ticket_id)
                if e.customer_id:
                    result.touched["customer"].add(e.customer_id)
            result.touched["customer"].update(remerged)
            self._recompute(conn, result)
            touched = sorted(result.touched.get("customer", ()))
            if touched:
                self._recompute_customers(conn, touched, new, remerged)
        return result

    def _many(self, conn: Connection, statement: TextClause, rows: list[dict[str, Any]]) -> None:
        """``executemany`` straight through the driver: the statements are plain SQL with
        named parameters, so SQLAlchemy's per-row parameter processing is not needed."""
        conn.exec_driver_sql(_driver_sql(statement.text, self.dialect), rows)

    def _known_ids(self, conn: Connection, ids: Sequence[str]) -> set[str]:
        """The ids among ``ids`` already stored (a redelivery or replay)."""
        known: set[str] = set()
        for chunk in _chunks(ids):
            clause, params = _in("ce_id", chunk)
            rows = conn.execute(
                _sql(f"SELECT ce_id FROM timeline_events WHERE {clause}"),  # noqa: S608
                params,
            )
            known.update(row[0] for row in rows)
        return known

    def _store_merges(self, conn: Connection, new: Sequence[TimelineEvent]) -> set[str]:
        """Record the batch's customer.merged events; returns every id whose group may
        have changed: both sides of each merge and the survivor a merge replaced."""
        merges = [
            {"merged_id": m[0], "survivor_id": m[1], "sort_time": e.sort_key[0], "ce_id": e.id}
            for e in new
            if (m := e.merge) is not None
        ]
        if not merges:
            return set()
        changed = {m["merged_id"] for m in merges} | {m["survivor_id"] for m in merges}
        for chunk in _chunks(sorted({m["merged_id"] for m in merges})):
            clause, params = _in("merged_id", chunk)
            rows = conn.execute(
                _sql(f"SELECT survivor_id FROM timeline_merges WHERE {clause}"),  # noqa: S608
                params,
            )
            changed.update(row[0] for row in rows)
        conn.execute(_UPSERT_MERGE, merges)
        return changed

    def _lock_merges(self, conn: Connection, *, exclusive: bool) -> None:
        """PostgreSQL: who is merged into whom stays as this transaction reads it.

        Per-aggregate locks cannot cover a merge: a pod storing an event of ``G-2`` while
        another stores ``G-2 merged into G-1`` would follow ``G-2`` to itself (the merge not
        yet committed) and lock only ``G-2``, while the merge's pod reads ``G-1``'s events
        without that event: ``G-1`` would miss it and ``G-2`` keep a row of its own. So a
        batch with a merge takes this lock exclusively and every other batch shares it,
        before any other lock: merges wait for the batches in flight and the batches after
        them read the merge. Merges are rare; batches without one do not wait for each
        other. SQLite has one writer anyway.
        """
        if self.dialect != "postgresql":
            return
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {function}(:space, :key)"), _MERGES_LOCK)

    def _lock(self, conn: Connection, kind: Kind, ids: Iterable[str]) -> None:
        """PostgreSQL: serialise recomputing an aggregate between pods until commit.

        Another pod's batch may hold events of the same aggregate (a customer's events
        arrive on three topics). Whoever takes the lock second reads, after the first has
        committed, every event of both, so the last state written is complete. SQLite has
        one writer anyway. Locks are taken in hash order, so two pods never deadlock.
        """
        if self.dialect != "postgresql":
            return
        keys = sorted({f"{kind}:{i}" for i in ids})
        if keys:
            conn.execute(
                text(
                    "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT"
                    " hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k"
                    " ORDER BY h) AS ordered_keys"
                ),
                {"keys": keys},
            )

    def _recompute(self, conn: Connection, result: IngestResult) -> None:
        by_aggregate = self.processes.by_aggregate()
        for kind in ("order", "ticket"):
            self._lock(conn, kind, result.touched.get(kind, ()))
        for kind in ("order", "ticket"):
            ids = sorted(result.touched.get(kind, ()))
            if not ids:
                continue
            name, definition = by_aggregate[kind]
            old = self._state_rows(conn, kind, ids)
            grouped = self._stored_by(conn, f"{kind}_id", ids, data_of=reopen_types(definition))
            states: list[dict[str, Any]] = []
            clocks: list[dict[str, Any]] = []
            gone: list[dict[str, Any]] = []
            for agg_id in ids:
                events = grouped.get(agg_id)
                if not events:
                    continue
                state = stage_process(name, definition, events)
                body = state_to_json(state) if state is not None else None
                row = {
                    "kind": kind,
                    "agg_id": agg_id,
                    "process": name if state else None,
                    "stage": state.stage if state else None,
                    "owner": state.owner if state else None,
                    "waiting_since": time_key(state.waiting_since) if state else None,
                    "done": int(state.done) if state else 1,
                    "order_id": agg_id if kind == "order" else _first(e.order_id for e in events),
                    "customer_id": _first(e.customer_id for e in events),
                    "updated_time": events[-1].key,
                    "state": orjson.dumps(body).decode(),
                }
                before = old.get(agg_id)
                if row == before:
                    continue
                states.append(row)
                old_body = orjson.loads(before["state"]) if before is not None else None
                if state is not None:
                    self._transitions(result, name, old_body, body)
                new_clocks = _clock_rows(row, body)
                old_clocks = _clock_rows(before, old_body) if before is not None else {}
                clocks += [c for rule, c in new_clocks.items() if old_clocks.get(rule) != c]
                gone += [c for rule, c in old_clocks.items() if rule not in new_clocks]
            self._write(conn, states, clocks, gone)

    @staticmethod
    def _transitions(
        result: IngestResult, process: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        """A stage's visits that ended since ``old``: per stage, those beyond as many as
        had ended before (a reopened stage is visited more than once)."""
        ended = Counter(v["name"] for v in (old or {}).get("visits", []) if v["left"])
        for visit in (new or {}).get("visits", []):
            if not visit["left"]:
                continue
            if ended[visit["name"]] > 0:
                ended[visit["name"]] -= 1
            else:
                seconds = (
                    parse_time_key(visit["left"]) - parse_time_key(visit["entered"])
                ).total_seconds()
                result.transitions.append(StageTransition(process, visit["name"], seconds))

    def _write(
        self,
        conn: Connection,
        states: list[dict[str, Any]],
        clocks: list[dict[str, Any]],
        gone: list[dict[str, Any]],
    ) -> None:
        if states:
            self._many(conn, _UPSERT_STATE, states)
        if gone:
            keys = ("kind", "agg_id", "rule")
            conn.execute(_DELETE_CLOCK, [{k: c[k] for k in keys} for c in gone])
        if clocks:
            self._many(
                conn,
                _UPSERT_CLOCK,
                [c | {"clock": orjson.dumps(c["clock"]).decode()} for c in clocks],
            )

    def _recompute_customers(
        self,
        conn: Connection,
        touched: Sequence[str],
        new: Sequence[TimelineEvent],
        remerged: set[str],
    ) -> None:
        """Lifecycles of the golden customers the batch touched.

        A lifecycle is recomputed from the customer's stored events (all its ids) when the
        batch brought an event of a type that can change it or changed who is merged into
        whom; otherwise only its latest event time can have moved.
        """
        golden = self._golden_many(conn, touched)
        survivors = sorted(set(golden.values()))
        self._lock(conn, "customer", survivors)
        self._forget_merged(conn, golden)
        definition = self.processes.customer_lifecycle
        types = lifecycle_types(definition)
        old = self._state_rows(conn, "customer", survivors)
        full = {golden[i] for i in remerged if i in golden}
        latest: dict[str, str] = {}
        arrived: dict[str, list[TimelineEvent]] = defaultdict(list)
        for e in new:
            if e.customer_id and (survivor := golden.get(e.customer_id)) is not None:
                if e.sort_key[0] > latest.get(survivor, ""):
                    latest[survivor] = e.sort_key[0]
                if e.type in types:
                    arrived[survivor].append(e)
        fresh = [s for s in survivors if s not in old and s not in full]
        states = self._fresh_lifecycle_rows(conn, fresh, new, arrived, latest)
        full.update(s for s in fresh if s not in {row["agg_id"] for row in states})
        for survivor in survivors:
            before = old.get(survivor)
            if survivor in full or before is None:
                continue
            updated = max(before["updated_time"], latest.get(survivor, ""))
            events = arrived.get(survivor)
            if events:
                row = self._resumed_lifecycle_row(survivor, before, updated, events)
                if row is None:
                    full.add(survivor)
                elif row != before:
                    states.append(row)
            elif updated != before["updated_time"]:
                states.append(before | {"updated_time": updated})
        if full:
            states += self._lifecycle_rows(conn, sorted(full), old)
        if states:
            self._many(conn, _UPSERT_STATE, states)

    def _fresh_lifecycle_rows(
        self,
        conn: Connection,
        fresh: Sequence[str],
        new: Sequence[TimelineEvent],
        arrived: dict[str, list[TimelineEvent]],
        latest: dict[str, str],
    ) -> list[dict[str, Any]]:
        """Lifecycle rows of those of ``fresh`` (survivors without a state row) whose every
        stored event came with this batch and into whom no other id is merged: folded from
        the batch alone, without reading anything back.

        In a database this store wrote, a customer with stored events has a state row, so
        every fresh survivor passes the check; it is there for a database where that does
        not hold. On PostgreSQL it runs under the customers' advisory locks, so another
        pod's concurrent batch of the same customer is either seen here or sees this one's
        row. In the benchmark's backlog a new customer's full recompute (three queries and
        its events read back) was a third of the customers' share of a batch.
        """
        if not fresh:
            return []
        merged_into: set[str] = set()
        stored: dict[str, int] = {}
        for chunk in _chunks(fresh):
            clause, params = _in("survivor_id", chunk)
            merged_into.update(
                row[0]
                for row in conn.execute(
                    _sql(f"SELECT DISTINCT survivor_id FROM timeline_merges WHERE {clause}"),  # noqa: S608
                    params,
                )
            )
            clause, params = _in("customer_id", chunk)
            stored.update(
                (row[0], row[1])
                for row in conn.execute(
                    _sql(
                        "SELECT customer_id, COUNT(*) FROM timeline_events"  # noqa: S608
                        f" WHERE {clause} GROUP BY customer_id"
                    ),
                    params,
                )
            )
        in_batch = Counter(e.customer_id for e in new if e.customer_id in stored)
        definition = self.processes.customer_lifecycle
        rows = []
        for survivor in fresh:
            if survivor in merged_into or survivor not in latest:
                continue
            if stored.get(survivor) != in_batch[survivor]:
                continue
            events = sorted(
                (
                    _Stored(e.sort_key, e.type, e.time, None, None)
                    for e in arrived.get(survivor, ())
                ),
                key=lambda e: e.sort_key,
            )
            rows.append(
                self._lifecycle_row(survivor, _Folded.of(definition, events), latest[survivor])
            )
        return rows

    def _forget_merged(self, conn: Connection, golden: dict[str, str]) -> None:
        """Ids merged into another have no lifecycle of their own."""
        merged_away = sorted(i for i, g in golden.items() if g != i)
        for chunk in _chunks(merged_away):
            clause, params = _in("agg_id", chunk)
            conn.execute(
                _sql(f"DELETE FROM timeline_state WHERE kind = 'customer' AND {clause}"),  # noqa: S608
                params,
            )

    def _lifecycle_rows(
        self, conn: Connection, survivors: Sequence[str], old: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Recomputed lifecycle state rows of ``survivors`` that differ from ``old``."""
        definition = self.processes.customer_lifecycle
        members = self._members_many(conn, survivors)
        ids = sorted(set().union(*members.values()))
        grouped = self._stored_by(conn, "customer_id", ids, types=lifecycle_types(definition))
        last = self._latest_times(conn, ids)
        states = []
        for survivor in survivors:
            group = members[survivor]
            times = [last[i] for i in group if i in last]
            if not times:
                continue
            events = sorted(
                (e for i in group for e in grouped.get(i, ())), key=lambda e: e.sort_key
            )
            row = self._lifecycle_row(survivor, _Folded.of(definition, events), max(times))
            if row != old.get(survivor):
                states.append(row)
        return states

    def _resumed_lifecycle_row(
        self,
        survivor: str,
        before: dict[str, Any],
        updated: str,
        events: list[TimelineEvent],
    ) -> dict[str, Any] | None:
        """The lifecycle row with ``events`` (a batch's new lifecycle events of the
        survivor) added to its stored fold, or None when a full recompute is needed."""
        folded = _Folded.from_json(orjson.loads(before["state"]))
        if folded is None:
            return None
        added = [_Stored(e.sort_key, e.type, e.time, None, None) for e in events]
        resumed = folded.add(self.processes.customer_lifecycle, added)
        if resumed is None:
            return None
        return self._lifecycle_row(survivor, resumed, updated)

    def _lifecycle_row(self, survivor: str, folded: _Folded, updated: str) -> dict[str, Any]:
        definition = self.processes.customer_lifecycle
        state = folded.head
        return {
            "kind": "customer",
            "agg_id": survivor,
            "process": "customer_lifecycle",
            "stage": state.stage,
            "owner": definition.owners.get(state.stage) if state.stage else None,
            "waiting_since": time_key(state.since) if state.since else None,
            # a lifecycle is a standing, not an item waiting on a department
            "done": 1,
            "order_id": None,
            "customer_id": survivor,
            "updated_time": updated,
            "state": orjson.dumps(folded.to_json()).decode(),
        }

    # -- identity ---------------------------------------------------------------------

    def _golden_many(self, conn: Connection, ids: Sequence[str]) -> dict[str, str]:
        """Follow customer.merged from each id to its survivor (cycles: smallest id)."""
        survivor_of: dict[str, str | None] = {}
        frontier = sorted(set(ids))
        for _ in range(_MAX_MERGE_HOPS):
            frontier = [i for i in frontier if i not in survivor_of]
            if not frontier:
                break
            for i in frontier:
                survivor_of[i] = None
            for chunk in _chunks(frontier):
                clause, params = _in("merged_id", chunk)
                for row in conn.execute(
                    _sql(f"SELECT merged_id, survivor_id FROM timeline_merges WHERE {clause}"),  # noqa: S608
                    params,
                ):
                    survivor_of[row.merged_id] = row.survivor_id
            frontier = [s for s in survivor_of.values() if s is not None]
        out = {}
        for start in ids:
            path, current = [start], start
            while (nxt := survivor_of.get(current)) is not None and nxt not in path:
                path.append(nxt)
                current = nxt
            nxt = survivor_of.get(current)
            out[start] = min(path[path.index(nxt) :]) if nxt is not None else current
        return out

    def _members_many(self, conn: Connection, survivors: Sequence[str]) -> dict[str, set[str]]:
        """Each survivor with every id merged into it, directly or through another."""
        owner = {s: s for s in survivors}  # id -> the survivor whose group it joined
        members: dict[str, set[str]] = {s: {s} for s in survivors}
        frontier = sorted(owner)
        for _ in range(_MAX_MERGE_HOPS):
            if not frontier:
                break
            found: list[tuple[str, str]] = []
            for chunk in _chunks(frontier):
                clause, params = _in("survivor_id", chunk)
                found += [
                    (row.merged_id, row.survivor_id)
                    for row in conn.execute(
                        _sql(
                            f"SELECT merged_id, survivor_id FROM timeline_merges WHERE {clause}"  # noqa: S608
                        ),
                        params,
                    )
                ]
            frontier = []
            for merged, survivor in found:
                if merged not in owner:
                    owner[merged] = owner[survivor]
                    members[owner[survivor]].add(merged)
                    frontier.append(merged)
        return members

    def _members(self, conn: Connection, survivor: str) -> set[str]:
        return self._members_many(conn, [survivor])[survivor]

    def golden_id(self, customer_id: str) -> str:
        with self.engine.connect() as conn:
            return self._golden_many(conn, [customer_id])[customer_id]

    # -- reading ----------------------------------------------------------------------

    def _events_by(
        self, conn: Connection, column: str, ids: Sequence[str]
    ) -> dict[str, list[TimelineEvent]]:
        """Events per id in timeline order."""
        grouped: dict[str, list[TimelineEvent]] = defaultdict(list)
        for chunk in _chunks(ids):
            clause, params = _in(column, chunk)
            rows = conn.execute(
                _sql(
                    f"SELECT {_EVENT_COLUMNS} FROM timeline_events WHERE {clause}"  # noqa: S608
                    f" ORDER BY {column}, sort_time, type_rank, ce_id"
                ),
                params,
            )
            for row in rows:
                grouped[getattr(row, column)].append(_event_from_row(row))
        return grouped

    def _stored_by(
        self,
        conn: Connection,
        column: str,
        ids: Sequence[str],
        *,
        types: Iterable[str] | None = None,
        data_of: Iterable[str] = (),
    ) -> dict[str, list[_Stored]]:
        """What state needs of the events per id (only of ``types`` if given; with the
        data of the ``data_of`` types), in timeline order: one query per 500 ids."""
        grouped: dict[str, list[_Stored]] = defaultdict(list)
        only = " AND type IN :types" if types is not None else ""
        extra = {"types": sorted(types)} if types is not None else {}
        data_types = sorted(data_of)
        parse, loads = parse_time_key, orjson.loads
        for chunk in _chunks(ids):
            clause, params = _in(column, chunk)
            rows = conn.execute(
                _sql(
                    f"SELECT {column}, sort_time, type_rank, ce_id, type, order_id, customer_id"  # noqa: S608
                    f" FROM timeline_events WHERE {clause}{only}"
                    f" ORDER BY {column}, sort_time, type_rank, ce_id"
                ),
                params | extra,
            )
            # the data in a second query of those types only: the first one stays within
            # its covering index (migration 0003) and reads no row of the table
            data: dict[str, Any] = {}
            if data_types:
                found = conn.execute(
                    _sql(
                        f"SELECT ce_id, data FROM timeline_events"  # noqa: S608
                        f" WHERE {clause} AND type IN :data_types"
                    ),
                    params | {"data_types": data_types},
                )
                data = {ce_id: body for ce_id, body in found}
            for agg, sort_time, rank, ce_id, type_, order_id, customer_id in rows:
                body = data.get(ce_id)
                grouped[agg].append(
                    _Stored(
                        (sort_time, rank, ce_id),
                        type_,
                        parse(sort_time),
                        order_id,
                        customer_id,
                        loads(body) if body is not None else None,
                    )
                )
        return grouped

    def _latest_times(self, conn: Connection, ids: Sequence[str]) -> dict[str, str]:
        """The time key of the latest event of each customer id that has events."""
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            clause, params = _in("customer_id", chunk)
            rows = conn.execute(
                _sql(
                    "SELECT customer_id, MAX(sort_time) FROM timeline_events"  # noqa: S608
                    f" WHERE {clause} GROUP BY customer_id"
                ),
                params,
            )
            out.update((customer_id, latest) for customer_id, latest in rows)
        return out

    def _state_rows(
        self, conn: Connection, kind: Kind, ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The stored state rows, as written by :data:`_UPSERT_STATE`."""
        out = {}
        for chunk in _chunks(ids):
            clause, params = _in("agg_id", chunk)
            for row in conn.execute(
                _sql(
                    f"SELECT {_STATE_COLUMNS} FROM timeline_state"  # noqa: S608
                    f" WHERE kind = :kind AND {clause}"
                ),
                {"kind": kind, **params},
            ):
                out[row.agg_id] = dict(row._mapping)
        return out

    def _states(
        self, conn: Connection, kind: Kind, ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        out = {}
        for chunk in _chunks(ids):
            clause, params = _in("agg_id", chunk)
            for row in conn.execute(
                _sql(f"SELECT agg_id, state FROM timeline_state WHERE kind = :kind AND {clause}"),  # noqa: S608
                {"kind": kind, **params},
            ):
                out[row.agg_id] = orjson.loads(row.state)
        return out

    def _clocks(self, conn: Connection, column: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for chunk in _chunks(ids):
            clause, params = _in(f"c.{column}", chunk)
            rows = conn.execute(
                _sql(
                    "SELECT c.kind, c.agg_id, c.clock, b.event_id, b.emitted_at"  # noqa: S608
                    " FROM timeline_clocks c LEFT JOIN timeline_breaches b"
                    " ON b.kind = c.kind AND b.agg_id = c.agg_id AND b.rule = c.rule"
                    f" WHERE {clause} ORDER BY c.deadline, c.kind, c.agg_id, c.rule"
                ),
                params,
            )
            for row in rows:
                clock = orjson.loads(row.clock)
                clock["kind"], clock["agg_id"] = row.kind, row.agg_id
                clock["breach"] = (
                    {"event_id": row.event_id, "emitted_at": row.emitted_at}
                    if row.event_id
                    else None
                )
                out.append(clock)
        out.sort(key=lambda c: (c["deadline"], c["kind"], c["agg_id"], c["rule"]))
        return out

    def order_timeline(self, order_id: str) -> StoredTimeline | None:
        with self.engine.connect() as conn:
            events = self._events_by(conn, "order_id", [order_id]).get(order_id, [])
            if not events:
                return None
            state = self._states(conn, "order", [order_id]).get(order_id)
            clocks = self._clocks(conn, "order_id", [order_id])
        return StoredTimeline("order", order_id, order_id, events, state, clocks)

    def customer_timeline(self, customer_id: str) -> StoredTimeline | None:
        with self.engine.connect() as conn:
            golden = self._golden_many(conn, [customer_id])[customer_id]
            ids = sorted(self._members(conn, golden))
            grouped = self._events_by(conn, "customer_id", ids)
            events = ordered(e for i in ids for e in grouped.get(i, []))
            if not events:
                return None
            state = self._states(conn, "customer", [golden]).get(golden)
            clocks = self._clocks(conn, "customer_id", ids)
        aliases = tuple(i for i in ids if i != golden)
        return StoredTimeline("customer", golden, customer_id, events, state, clocks, aliases)

    def recent(self, kind: Kind, limit: int = 20) -> list[dict[str, Any]]:
        """The aggregates of a kind with the latest events, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT agg_id, process, stage, owner, waiting_since, done, updated_time"
                    " FROM timeline_state WHERE kind = :kind"
                    " ORDER BY updated_time DESC, agg_id LIMIT :limit"
                ),
                {"kind": kind, "limit": limit},
            )
            return [dict(row._mapping) for row in rows]

    # -- SLA clocks -------------------------------------------------------------------

    def due_clocks(self, now: datetime, limit: int = 1000) -> list[DueClock]:
        """Open clocks whose deadline passed at ``now`` and that have no breach yet."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT c.kind, c.agg_id, c.rule, c.process, c.deadline, c.order_id,"
                    " c.customer_id, c.ticket_id, c.clock, s.stage"
                    " FROM timeline_clocks c"
                    " LEFT JOIN timeline_breaches b"
                    " ON b.kind = c.kind AND b.agg_id = c.agg_id AND b.rule = c.rule"
                    " LEFT JOIN timeline_state s ON s.kind = c.kind AND s.agg_id = c.agg_id"
                    " WHERE c.status = 'open' AND c.deadline <= :now AND b.rule IS NULL"
                    " ORDER BY c.deadline, c.kind, c.agg_id, c.rule LIMIT :limit"
                ),
                {"now": time_key(now), "limit": limit},
            )
            golden = {}
            out = []
            for row in rows:
                customer_id = row.customer_id
                if customer_id:
                    if customer_id not in golden:
                        golden[customer_id] = self._golden_many(conn, [customer_id])[customer_id]
                    customer_id = golden[customer_id]
                out.append(
                    DueClock(
                        kind=row.kind,
                        agg_id=row.agg_id,
                        rule=row.rule,
                        process=row.process,
                        deadline=parse_time_key(row.deadline),
                        order_id=row.order_id,
                        customer_id=customer_id,
                        ticket_id=row.ticket_id,
                        clock=orjson.loads(row.clock),
                        stage=row.stage,
                    )
                )
            return out

    def record_breach(self, clock: DueClock, event_id: str, emitted_at: datetime) -> bool:
        """Remember a breach was emitted; False if it already was (by anyone)."""
        with self._write_lock, self.engine.begin() as conn:
            result = conn.execute(
                _INSERT_BREACH,
                {
                    "kind": clock.kind,
                    "agg_id": clock.agg_id,
                    "rule": clock.rule,
                    "process": clock.process,
                    "event_id": event_id,
                    "deadline": time_key(clock.deadline),
                    "emitted_at": time_key(emitted_at),
                    "owner": clock.clock.get("owner"),
                    "escalate_to": clock.clock.get("escalate_to"),
                    "order_id": clock.order_id,
                    "customer_id": clock.customer_id,
                },
            )
            return bool(result.rowcount)

    def breaches(self, department: str, limit: int = 20) -> list[dict[str, Any]]:
        """Breaches emitted that ``department`` answers for or hears of, latest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT kind, agg_id, rule, process, event_id, deadline, emitted_at, owner,"
                    " escalate_to, order_id, customer_id FROM timeline_breaches"
                    " WHERE owner = :department OR escalate_to = :department"
                    " ORDER BY deadline DESC, kind, agg_id, rule LIMIT :limit"
                ),
                {"department": department, "limit": limit},
            )
            return [dict(row._mapping) for row in rows]

    def open_items(self) -> list[tuple[str, str, str, int]]:
        """``(process, stage, owner, count)`` of unfinished process instances."""
        with self.engine.connect() as conn:
            rows = conn.execute(text(OPEN_ITEMS))
            return [(r.process, r.stage, r.owner, int(r.n)) for r in rows]

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table in a stable order (tests compare two stores with it)."""
        queries = {
            "events": f"SELECT {_EVENT_COLUMNS} FROM timeline_events"  # noqa: S608
            + " ORDER BY sort_time, type_rank, ce_id",
            "merges": "SELECT * FROM timeline_merges ORDER BY merged_id",
            "state": "SELECT kind, agg_id, process, stage, owner, waiting_since, done, order_id,"
            " customer_id, updated_time, state FROM timeline_state ORDER BY kind, agg_id",
            "clocks": "SELECT * FROM timeline_clocks ORDER BY kind, agg_id, rule",
        }
        with self.engine.connect() as conn:
            return {
                name: [tuple(row) for row in conn.execute(text(sql))]
                for name, sql in queries.items()
            }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # recomputing reads the index pages of every touched aggregate: keep up to 8 MB of
    # pages per connection instead of the default 2 MB. 32 MB was no faster once customer
    # lifecycles stopped re-reading their history, and every connection's cache filled up
    # as the database grew (soak, 300k events: RSS 405 MB at 32 MB, 296 MB at 8 MB)
    cursor.execute("PRAGMA cache_size=-8192")
    # a batch dirties index pages all over the events table (ids are random): copy the WAL
    # into the database every 16,000 pages (64 MB) rather than every 1,000, so that a page
    # that many batches change is copied once. Measured: ingestion after 85k events 6.2k to
    # 6.3k events/s at the default, 9.2k at this setting
    cursor.execute("PRAGMA wal_autocheckpoint=16000")
    cursor.close()

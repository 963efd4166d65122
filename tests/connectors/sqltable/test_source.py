"""The sqltable source against real PostgreSQL and MariaDB: paging, ties, resume, lag guard,
bad rows and failures, through the kit's runner where the kit is involved."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.errors import FatalError, RetriableError
from connectors.kit.runner import InstanceRunner
from connectors.kit.source import BadRecord, Record, SourceContext
from connectors.sqltable import CONNECTOR
from connectors.sqltable.settings import SqlTableSettings
from connectors.sqltable.source import SqlTableSource
from connectors.testing import MemoryPublisher
from schemas.registry import validate_event
from tests.connectors.sqltable.conftest import BASE, Erp, ensure_server

INSTANCE = "erp_test"


def settings_for(erp: Erp, **overrides: Any) -> SqlTableSettings:
    return SqlTableSettings.model_validate(erp.settings(**overrides))


def source_for(erp: Erp, **overrides: Any) -> SqlTableSource:
    return SqlTableSource(settings_for(erp, **overrides), SourceContext(INSTANCE, "sqltable"))


async def no_sleep(_: float) -> None:
    return None


def runner_for(
    erp: Erp, publisher: MemoryPublisher, checkpoints: MemoryCheckpoints, **overrides: Any
) -> InstanceRunner:
    return InstanceRunner(
        INSTANCE,
        CONNECTOR,
        settings_for(erp, **overrides),
        publisher=publisher,
        checkpoints=checkpoints,
        sleep=no_sleep,
    )


def customer(erp: Erp, n: int, updated: datetime, **extra: Any) -> dict[str, Any]:
    row = {
        "customer_no": f"K{n:05d}",
        "company_name": f"Kunde {n} GmbH",
        "email": f"Info@Kunde{n}.de",
        "phone": "+49 30 1234567",
        "website": f"https://www.kunde{n}.de",
        "vat_no": f"DE{n:09d}",
        "street": "Hauptstrasse 5",
        "zip": "10115",
        "city": "Berlin",
        "country": "DE",
        "created_at": erp.t(BASE),
        "updated_at": erp.t(updated),
    }
    row.update(extra)
    return row


async def read_all(source: SqlTableSource, stream: str, cursor: str | None = None) -> list[Any]:
    return [item async for item in source.read(stream, cursor)]


def ids(items: list[Any]) -> list[str]:
    return [item.id for item in items]


async def test_rows_sharing_a_timestamp_across_page_boundaries_are_read_once(erp: Erp) -> None:
    same = BASE + timedelta(minutes=5)
    rows = [customer(erp, n, same) for n in range(1, 11)]
    rows += [customer(erp, n, same + timedelta(seconds=n)) for n in range(11, 14)]
    erp.insert(erp.customers, rows)
    source = source_for(erp, page_size=3)
    await source.open()
    try:
        items = await read_all(source, "customers")
    finally:
        await source.close()
    assert ids(items) == [str(n) for n in range(1, 14)]
    assert all(isinstance(item, Record) for item in items)
    assert items[0].time == same.replace(tzinfo=UTC)


async def test_rows_written_between_pages_with_the_last_timestamp_are_read(erp: Erp) -> None:
    tied = BASE + timedelta(minutes=1)
    erp.insert(erp.customers, [customer(erp, n, tied) for n in (1, 2, 3)])
    source = source_for(erp, page_size=2)
    await source.open()
    try:
        reader = source.read("customers", None)
        first_page = [await anext(reader), await anext(reader)]
        assert ids(first_page) == ["1", "2"]
        # Between two pages of one poll, two more rows arrive with the timestamp of the last
        # row read (and larger ids): a cursor on the timestamp alone would skip them.
        erp.insert(erp.customers, [customer(erp, n, tied) for n in (4, 5)])
        rest = [item async for item in reader]
    finally:
        await source.close()
    assert ids(rest) == ["3", "4", "5"]
    with erp.engine.connect() as conn:
        after_timestamp_only = conn.execute(
            sa.select(sa.func.count()).where(erp.customers.c.updated_at > erp.t(tied))
        ).scalar_one()
    assert after_timestamp_only == 0


async def test_resume_after_restart_from_the_stored_checkpoint(erp: Erp) -> None:
    erp.insert(
        erp.customers,
        [customer(erp, n, BASE + timedelta(seconds=n // 2)) for n in range(1, 8)],
    )
    tables = {"customers": erp.customer_table()}
    checkpoints = MemoryCheckpoints()
    first = MemoryPublisher()
    runner = runner_for(erp, first, checkpoints, tables=tables, page_size=3)
    await runner.source.open()
    await runner.poll_stream("customers", max_pages=1)
    await runner.source.close()
    stored = checkpoints.get(INSTANCE, "customers")
    assert stored is not None
    assert stored.cursor is not None
    # A new runner and source: the process restarted; only the cursor survived.
    second = MemoryPublisher()
    runner = runner_for(erp, second, checkpoints, tables=tables, page_size=3)
    await runner.source.open()
    await runner.poll_stream("customers")
    # A row written later with the last row's timestamp is read by the next poll, alone.
    erp.insert(erp.customers, [customer(erp, 8, BASE + timedelta(seconds=3))])
    third = MemoryPublisher()
    runner.publisher = third
    await runner.poll_stream("customers")
    await runner.source.close()
    subjects = [[e.subject for _, e in p.raw()] for p in (first, second, third)]
    assert subjects == [["1", "2", "3"], ["4", "5", "6", "7"], ["8"]]
    assert all(topic == f"raw.{INSTANCE}.customers" for topic, _ in second.raw())


async def test_recent_rows_wait_for_the_lag_guard_on_the_database_clock(erp: Erp) -> None:
    with erp.engine.connect() as conn:
        if erp.name == "mariadb":
            now = conn.execute(sa.text("SELECT UTC_TIMESTAMP(6)")).scalar_one()
        else:
            now = conn.execute(sa.text("SELECT now() AT TIME ZONE 'UTC'")).scalar_one()
    erp.insert(erp.customers, [customer(erp, 1, BASE), customer(erp, 2, now)])
    held = source_for(erp, timestamp_delay_seconds=600)
    await held.open()
    try:
        assert ids(await read_all(held, "customers")) == ["1"]
    finally:
        await held.close()
    unguarded = source_for(erp, timestamp_delay_seconds=0)
    await unguarded.open()
    try:
        # the database clock moves on; a zero delay reads the row once its time has passed
        await asyncio.sleep(0.05)
        assert ids(await read_all(unguarded, "customers")) == ["1", "2"]
    finally:
        await unguarded.close()


async def test_late_commit_with_an_earlier_timestamp_is_not_skipped(pg_erp: Erp) -> None:
    """Transaction A writes first but commits after B: the guard keeps the cursor behind A."""
    erp = pg_erp
    table = erp.customers
    late = erp.engine.connect()
    late_tx = late.begin()
    late.execute(table.insert().values(**customer(erp, 1, BASE), id=1))
    late.execute(table.update().where(table.c.id == 1).values(updated_at=sa.func.now()))
    await asyncio.sleep(0.05)
    with erp.engine.begin() as conn:  # B: written after A started, committed first
        conn.execute(table.insert().values(**customer(erp, 2, BASE), id=2))
        conn.execute(
            table.update().where(table.c.id == 2).values(updated_at=sa.func.clock_timestamp())
        )
    unguarded = source_for(erp, timestamp_delay_seconds=0)
    guarded = source_for(erp, timestamp_delay_seconds=2)
    for source in (unguarded, guarded):
        await source.open()
    try:
        await asyncio.sleep(0.05)
        unguarded_items = await read_all(unguarded, "customers")
        assert ids(unguarded_items) == ["2"]
        guarded_items = await read_all(guarded, "customers")
        assert guarded_items == []  # both rows are younger than the delay
        late_tx.commit()  # A commits with a timestamp before B's
        late.close()
        await asyncio.sleep(2.2)
        # Without the guard the cursor already passed A's timestamp: A is lost.
        assert await read_all(unguarded, "customers", unguarded_items[-1].cursor) == []
        assert ids(await read_all(guarded, "customers")) == ["1", "2"]
    finally:
        for source in (unguarded, guarded):
            await source.close()


async def test_bad_row_is_dead_lettered_and_the_source_goes_on(erp: Erp) -> None:
    rows = [
        {"order_no": "SO1", "amount": "100.00", "currency": "EUR", "method": "SEPA"},
        {"order_no": "SO2", "amount": "12,50 EUR", "currency": "EUR", "method": "SEPA"},
        {"order_no": "SO3", "amount": "7.5", "currency": "EUR", "method": "CARD"},
    ]
    erp.insert(
        erp.payments,
        [
            {**r, "received_at": erp.t(BASE), "updated_at": erp.t(BASE + timedelta(seconds=i))}
            for i, r in enumerate(rows)
        ],
    )
    publisher = MemoryPublisher()
    checkpoints = MemoryCheckpoints()
    runner = runner_for(erp, publisher, checkpoints, tables={"payments": erp.payment_table()})
    await runner.source.open()
    await runner.poll_stream("payments")
    await runner.source.close()
    topics = [topic for topic, _ in publisher.sent]
    raw_topic = f"raw.{INSTANCE}.payments"
    assert topics == [raw_topic, "hub.dlq", raw_topic]
    letter = publisher.dead_letters()[0]
    headers = dict(letter.headers)
    assert headers["dlq_stage"] == f"connector:{INSTANCE}".encode()
    assert headers["dlq_original_topic"] == raw_topic.encode()
    assert b"'amount'" in headers["dlq_error_message"]
    assert b"12,50 EUR" in headers["dlq_error_message"]
    assert letter.key == b"2"
    assert runner.status.dead_letters == 1
    stored = checkpoints.get(INSTANCE, "payments")
    assert stored is not None
    assert '"id":3' in (stored.cursor or "")
    translate = CONNECTOR.translator(runner.settings)
    events = [e for _, raw in publisher.raw() for e in translate(raw)]
    assert [(e.type, e.data["amount"]["amount"]) for e in events] == [
        ("payment.received", "100.00"),
        ("payment.received", "7.5"),
    ]


async def test_orders_are_read_with_their_lines_and_translate(erp: Erp) -> None:
    erp.insert(
        erp.orders,
        [
            {
                "id": 41,
                "order_no": "SO041",
                "customer_id": 7,
                "status": "confirmed",
                "currency": "EUR",
                "total": Decimal("714.60"),
                "tax": Decimal("114.10"),
                "ordered_at": erp.t(BASE),
                "confirmed_at": erp.t(BASE + timedelta(hours=1)),
                "updated_at": erp.t(BASE + timedelta(hours=1)),
            },
            {
                "id": 42,
                "order_no": "SO042",
                "customer_id": 7,
                "status": "quote",
                "currency": "EUR",
                "total": Decimal("10.00"),
                "tax": None,
                "ordered_at": erp.t(BASE),
                "confirmed_at": None,
                "updated_at": erp.t(BASE + timedelta(hours=2)),
            },
        ],
    )
    erp.insert(
        erp.lines,
        [
            {"order_id": 41, "pos": 2, "sku": "TABLE-OAK", "qty": 1, "price": Decimal("360.50")},
            {"order_id": 41, "pos": 1, "sku": "CHAIR-OAK", "qty": 4, "price": Decimal("60.00")},
            {"order_id": 42, "pos": 1, "sku": "CHAIR-OAK", "qty": 1, "price": Decimal("10.00")},
        ],
    )
    publisher = MemoryPublisher()
    runner = runner_for(erp, publisher, MemoryCheckpoints(), tables={"orders": erp.order_table()})
    await runner.source.open()
    await runner.poll_stream("orders")
    await runner.source.close()
    raws = [raw for _, raw in publisher.raw()]
    assert [r.subject for r in raws] == ["41", "42"]
    assert [line["sku"] for line in raws[0].data["lines"]] == ["CHAIR-OAK", "TABLE-OAK"]
    assert raws[0].data["total"] == "714.60"
    translate = CONNECTOR.translator(runner.settings)
    events = [e for raw in raws for e in translate(raw)]
    for event in events:
        validate_event(event)
    assert [e.type for e in events] == ["order.placed", "order.confirmed"]
    placed = events[0].data
    assert placed["order_id"] == "SO041"
    assert placed["customer_ref"] == {"system": INSTANCE, "id": "7"}
    assert [(li["line_no"], li["line_total"]["amount"]) for li in placed["lines"]] == [
        (1, "240.00000"),
        (2, "360.500"),
    ] or [(li["line_no"], Decimal(li["line_total"]["amount"])) for li in placed["lines"]] == [
        (1, Decimal("240")),
        (2, Decimal("360.5")),
    ]
    assert events[1].time == (BASE + timedelta(hours=1)).replace(tzinfo=UTC)


async def test_naive_columns_are_read_in_the_configured_time_zone(maria_erp: Erp) -> None:
    erp = maria_erp
    erp.insert(erp.customers, [customer(erp, 1, BASE)])  # 10:00 in Berlin = 09:00 UTC
    source = source_for(erp, timezone="Europe/Berlin")
    await source.open()
    try:
        (item,) = await read_all(source, "customers")
    finally:
        await source.close()
    assert item.time == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert item.data["updated_at"] == "2026-01-05T10:00:00+01:00"


async def test_timestamptz_columns_compare_as_they_are(pg_erp: Erp) -> None:
    erp = pg_erp
    erp.insert(erp.customers, [customer(erp, n, BASE + timedelta(seconds=n)) for n in (1, 2)])
    source = source_for(erp, timezone="America/New_York")  # irrelevant for timestamptz
    await source.open()
    try:
        items = await read_all(source, "customers")
        again = await read_all(source, "customers", items[0].cursor)
    finally:
        await source.close()
    assert ids(items) == ["1", "2"]
    assert ids(again) == ["2"]
    assert items[0].time == (BASE + timedelta(seconds=1)).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("server", "url"),
    [
        ("postgresql", "postgresql://no_such_role@127.0.0.1:5432/test"),
        ("mariadb", "mariadb://no_such_user@127.0.0.1:3306/test"),
    ],
)
async def test_wrong_credentials_stop_the_instance_with_a_clear_reason(
    server: str, url: str
) -> None:
    ensure_server(server)
    settings = SqlTableSettings.model_validate(
        {
            "url": url,
            "password": "not-the-password",
            "tables": {
                "customers": {
                    "table": "customers",
                    "id_column": "id",
                    "timestamp_column": "updated_at",
                    "mapping": {"kind": "customer", "name": "name"},
                }
            },
        }
    )
    publisher = MemoryPublisher()
    runner = InstanceRunner(
        INSTANCE,
        CONNECTOR,
        settings,
        publisher=publisher,
        checkpoints=MemoryCheckpoints(),
        sleep=no_sleep,
    )
    await asyncio.wait_for(runner.run(), timeout=20)  # returns: no crash loop
    assert runner.status.state == "failed"
    assert runner.status.reason is not None
    assert "FatalError" in runner.status.reason
    assert "no_such" in runner.status.reason
    assert "not-the-password" not in runner.status.reason
    assert publisher.sent == []


async def test_a_missing_column_stops_the_instance_naming_it(erp: Erp) -> None:
    tables = {"customers": {**erp.customer_table(), "timestamp_column": "modified"}}
    runner = runner_for(erp, MemoryPublisher(), MemoryCheckpoints(), tables=tables)
    await asyncio.wait_for(runner.run(), timeout=20)
    assert runner.status.state == "failed"
    assert "modified" in (runner.status.reason or "")
    assert erp.customers.name in (runner.status.reason or "")


async def test_an_unreachable_server_is_retried_not_failed(erp: Erp) -> None:
    url = (
        "postgresql://postgres@127.0.0.1:9/test"
        if erp.name == "postgresql"
        else ("mariadb://root@127.0.0.1:9/test")
    )
    source = source_for(erp, url=url, connect_timeout_seconds=2)
    await source.open()  # does not fail: the server may come back
    with pytest.raises(RetriableError):
        await read_all(source, "customers")
    await source.close()
    sleeps: list[float] = []

    async def record_sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) >= 2:
            raise asyncio.CancelledError

    runner = InstanceRunner(
        INSTANCE,
        CONNECTOR,
        settings_for(erp, url=url, connect_timeout_seconds=2),
        publisher=MemoryPublisher(),
        checkpoints=MemoryCheckpoints(),
        sleep=record_sleep,
    )
    with pytest.raises(asyncio.CancelledError):
        await runner.run()
    assert len(sleeps) == 2
    assert runner.status.state in ("backing_off", "stopped")


async def test_fatal_errors_are_fatal_at_open(erp: Erp) -> None:
    source = source_for(erp, tables={"customers": {**erp.customer_table(), "table": "nope_x"}})
    with pytest.raises(FatalError, match="nope_x"):
        await source.open()
    await source.close()


async def test_sqlite_source_reads_the_same_way(sqlite_erp: Erp) -> None:
    erp = sqlite_erp
    same = BASE + timedelta(minutes=5)
    erp.insert(erp.customers, [customer(erp, n, same) for n in range(1, 6)])
    source = source_for(erp, page_size=2)
    await source.open()
    try:
        items = await read_all(source, "customers")
        resumed = await read_all(source, "customers", items[2].cursor)
    finally:
        await source.close()
    assert ids(items) == ["1", "2", "3", "4", "5"]
    assert ids(resumed) == ["4", "5"]
    assert not any(isinstance(i, BadRecord) for i in items)

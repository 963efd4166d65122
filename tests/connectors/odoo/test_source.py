"""The polling source against the emulator through the kit's runner: paging, cursors and
resume, the settle horizon, 429 with Retry-After, and credentials that stop the instance."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.runner import InstanceRunner
from connectors.odoo import CONNECTOR
from connectors.odoo.emulator import OdooEmulator
from connectors.odoo.source import (
    LINES_KEY,
    MOVES_KEY,
    RETURNED_KEY,
    OdooSource,
    decode_cursor,
)
from connectors.testing import MemoryPublisher
from tests.connectors.odoo.conftest import API_KEY, Clock, make_settings

INSTANCE = "erp"


class Sleeps:
    """A sleep that records delays and stops ``run()`` after ``limit`` calls."""

    def __init__(self, limit: int = 2) -> None:
        self.delays: list[float] = []
        self.limit = limit

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) >= self.limit:
            raise asyncio.CancelledError


def runner(
    url: str,
    clock: Clock,
    publisher: MemoryPublisher,
    checkpoints: MemoryCheckpoints,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    **overrides: Any,
) -> InstanceRunner:
    run = InstanceRunner(
        INSTANCE,
        CONNECTOR,
        make_settings(url, **overrides),
        publisher=publisher,
        checkpoints=checkpoints,
        sleep=sleep or Sleeps(),
    )
    source = run.source
    assert isinstance(source, OdooSource)
    source.clock = lambda: clock.now + timedelta(seconds=10)
    return run


async def poll(run: InstanceRunner, stream: str, max_pages: int | None = None) -> int:
    return await run.poll_stream(stream, max_pages=max_pages)


def published(publisher: MemoryPublisher, entity: str) -> list[tuple[str, str]]:
    """``(record id, revision write_date)`` of every raw event of ``entity``, in order."""
    return [
        (str(event.subject), str(event.data["write_date"]))
        for topic, event in publisher.raw()
        if topic == f"raw.{INSTANCE}.{entity}"
    ]


async def test_paging_reads_every_record_once_in_cursor_order(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    for n in range(23):
        emulator.add_partner(f"Partner {n:02d}", email=f"p{n}@example.com")
        if n % 3 == 2:
            clock.tick()
    publisher, checkpoints = MemoryPublisher(), MemoryCheckpoints()
    run = runner(odoo_url, clock, publisher, checkpoints, page_size=4)
    before = len(emulator.requests)
    pages = await poll(run, "res_partner")
    got = published(publisher, "res_partner")
    assert [int(i) for i, _ in got] == list(range(1, 24))
    assert pages == 6
    reads = [r for r in emulator.requests[before:] if r["service"] == "object"]
    assert all(r["args"][6]["limit"] == 4 for r in reads)
    stored = checkpoints.get(INSTANCE, "res_partner")
    assert stored is not None
    assert decode_cursor(stored.cursor) == ("2026-11-20 09:00:07", 23)
    again = MemoryPublisher()
    await poll(runner(odoo_url, clock, again, checkpoints, page_size=4), "res_partner")
    assert again.sent == []


async def test_same_second_across_page_boundary_and_restart(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    for n in range(10):
        emulator.add_partner(f"Partner {n}")
    # still the same second: id 2 is stored last (microseconds), reads back as 09:00:00
    emulator.update_partner(2, email="changed@example.com")
    clock.tick()
    emulator.add_partner("Next second")
    checkpoints = MemoryCheckpoints()
    first = MemoryPublisher()
    await poll(runner(odoo_url, clock, first, checkpoints, page_size=3), "res_partner", 2)
    assert len(published(first, "res_partner")) == 6
    second = MemoryPublisher()
    await poll(runner(odoo_url, clock, second, checkpoints, page_size=3), "res_partner")
    ids = [i for i, _ in published(first, "res_partner") + published(second, "res_partner")]
    assert Counter(ids) == Counter(str(n) for n in range(1, 12))
    assert ids == [str(n) for n in range(1, 12)], "within a second, records go in id order"
    partner_2 = next(e for _, e in first.raw() if e.subject == "2")
    assert partner_2.data["email"] == "changed@example.com"


async def test_a_second_is_read_only_once_it_is_over(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    emulator.add_partner("Early")
    clock.tick(5)
    emulator.add_partner("Now")
    checkpoints = MemoryCheckpoints()
    publisher = MemoryPublisher()
    run = runner(odoo_url, clock, publisher, checkpoints)
    source = run.source
    assert isinstance(source, OdooSource)
    source.clock = lambda: clock.now  # settle 2 s
    await poll(run, "res_partner")
    assert [i for i, _ in published(publisher, "res_partner")] == ["1"]
    emulator.add_partner("Same second, later")  # 09:00:05 as well
    clock.tick(3)
    await poll(run, "res_partner")
    assert [i for i, _ in published(publisher, "res_partner")] == ["1", "2", "3"]


async def test_resume_reads_only_what_changed(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    partner = emulator.add_partner("Muster GmbH", email="info@muster.de")
    first_order = emulator.add_order(partner, [("CHAIR-OAK", 4, 60.0)], state="sent")
    emulator.add_order(partner, [("TABLE-OAK", 1, 360.5)], state="sent")
    clock.tick()
    checkpoints = MemoryCheckpoints()
    publisher = MemoryPublisher()
    run = runner(odoo_url, clock, publisher, checkpoints)
    for stream in run.source.entities:
        await poll(run, stream)
    assert [i for i, _ in published(publisher, "sale_order")] == ["1", "2"]
    assert [e.data[LINES_KEY][0]["product_id"][1] for _, e in publisher.raw()[1:]] == [
        "[CHAIR-OAK] CHAIR-OAK",
        "[TABLE-OAK] TABLE-OAK",
    ]
    clock.tick(30)
    emulator.confirm_order(first_order)
    clock.tick()
    restarted = MemoryPublisher()
    run = runner(odoo_url, clock, restarted, checkpoints)  # a new process, stored cursors
    for stream in run.source.entities:
        await poll(run, stream)
    assert [t for t, _ in restarted.raw()] == [
        f"raw.{INSTANCE}.sale_order",
        f"raw.{INSTANCE}.stock_picking",
    ]
    [order] = [e for t, e in restarted.raw() if t.endswith("sale_order")]
    assert order.data["state"] == "sale"
    events = CONNECTOR.translate(order)
    assert [e.type for e in events] == ["order.placed", "order.confirmed"]


async def test_rate_limited_poll_backs_off_for_retry_after_then_reads(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    emulator.add_partner("Muster GmbH")
    clock.tick()
    emulator.throttle(requests=1, retry_after=5)
    publisher = MemoryPublisher()
    sleeps = Sleeps(limit=2)
    run = runner(odoo_url, clock, publisher, MemoryCheckpoints(), sleep=sleeps)
    states: list[tuple[str, str | None]] = []
    original = run.set_state

    def spy(state: Any, reason: str | None = None) -> None:
        states.append((state, reason))
        original(state, reason)

    run.set_state = spy  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await run.run()
    assert sleeps.delays[0] >= 5, "Retry-After was not honoured"
    backing_off = [reason for state, reason in states if state == "backing_off"]
    assert backing_off
    assert "429" in str(backing_off[0])
    assert [i for i, _ in published(publisher, "res_partner")] == ["1"]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"api_key": "not-the-key"}, "rejected the login"),
        ({"login": "someone@example.com"}, "rejected the login"),
        ({"database": "prod"}, 'database "prod" does not exist'),
    ],
)
async def test_bad_credentials_stop_the_instance_with_a_clear_reason(
    emulator: OdooEmulator,
    clock: Clock,
    odoo_url: str,
    overrides: dict[str, Any],
    words: str,
) -> None:
    sleeps = Sleeps(limit=1)
    run = runner(odoo_url, clock, MemoryPublisher(), MemoryCheckpoints(), sleep=sleeps, **overrides)
    await asyncio.wait_for(run.run(), timeout=10)  # returns: no retry loop
    assert run.status.state == "failed"
    assert words in str(run.status.reason)
    assert sleeps.delays == []
    assert API_KEY not in str(run.status.reason)


async def test_key_revoked_while_running_stops_the_instance(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    emulator.add_partner("Muster GmbH")
    clock.tick()
    publisher = MemoryPublisher()
    sleeps = Sleeps(limit=5)

    async def revoke_then_sleep(delay: float) -> None:
        emulator.revoke_api_key("integration@example.com", API_KEY)
        await sleeps(delay)

    run = runner(odoo_url, clock, publisher, MemoryCheckpoints(), sleep=revoke_then_sleep)
    await asyncio.wait_for(run.run(), timeout=10)
    assert run.status.state == "failed"
    assert "rejected the login" in str(run.status.reason)
    assert len(sleeps.delays) == 1  # one poll interval, then the failed poll; no retries
    assert published(publisher, "res_partner") == [("1", "2026-11-20 09:00:00")]


async def test_unreachable_server_is_retried(clock: Clock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps(limit=2)
    run = runner(
        f"http://127.0.0.1:{port}", clock, MemoryPublisher(), MemoryCheckpoints(), sleep=sleeps
    )
    with pytest.raises(asyncio.CancelledError):
        await run.run()
    assert run.status.state != "failed"
    assert len(sleeps.delays) == 2


async def test_delivered_date_and_partner_domain_settings(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    customer = emulator.add_partner("Muster GmbH")
    emulator.add_partner("Supplier AG")
    order = emulator.add_order(customer, [("CHAIR-OAK", 4, 60.0)], state="sent")
    picking = emulator.confirm_order(order)
    clock.tick(3600)
    emulator.ship(order, tracking_ref="00340434161094042557")
    clock.tick(86400)
    emulator.deliver(picking)
    clock.tick()
    publisher = MemoryPublisher()
    run = runner(
        odoo_url,
        clock,
        publisher,
        MemoryCheckpoints(),
        read_delivered_date=True,
        partner_domain=[["customer_rank", ">", 0]],
    )
    for stream in run.source.entities:
        await poll(run, stream)
    assert [i for i, _ in published(publisher, "res_partner")] == ["1"]
    [(_, picking_event)] = [(t, e) for t, e in publisher.raw() if t.endswith("stock_picking")]
    assert picking_event.data["x_delivered_date"] == "2026-11-21 10:00:00"
    types = [e.type for e in CONNECTOR.translate(picking_event)]
    assert types == ["shipment.dispatched", "shipment.delivered"]


async def test_returns_come_with_their_moves_and_the_delivery_they_return(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    customer = emulator.add_partner("Muster GmbH")
    order = emulator.add_order(customer, [("CHAIR-OAK", 4, 60.0)], state="sent")
    emulator.confirm_order(order)
    clock.tick(3600)
    emulator.ship(order)
    clock.tick(86400)
    returned = emulator.return_goods(order, [("CHAIR-OAK", 1)], reason="Wrong item")
    # a return whose procurement group lost the order (sale_id empty): the delivery tells
    emulator.write("stock.picking", returned, sale_id=None)
    clock.tick()
    publisher = MemoryPublisher()
    run = runner(odoo_url, clock, publisher, MemoryCheckpoints(), read_return_reason=True)
    await poll(run, "stock_picking")
    events = {e.data["name"]: e for t, e in publisher.raw() if t.endswith("stock_picking")}
    assert set(events) == {"WH/OUT/00001", "WH/IN/00001"}
    assert MOVES_KEY not in events["WH/OUT/00001"].data  # deliveries are read as before
    incoming = events["WH/IN/00001"].data
    [move] = incoming[MOVES_KEY]
    assert move["product_id"][1] == "[CHAIR-OAK] CHAIR-OAK"
    assert move["origin_returned_move_id"][0] == 1
    assert incoming[RETURNED_KEY] == {
        "id": 1,
        "name": "WH/OUT/00001",
        "origin": "S00001",
        "sale_id": [order, "S00001"],
    }
    [requested] = CONNECTOR.translate(events["WH/IN/00001"])
    assert requested.type == "return.requested"
    assert requested.data["order_id"] == "S00001"
    assert requested.data["reason"] == "wrong_item"
    assert requested.data["lines"] == [{"sku": "CHAIR-OAK", "quantity": "1.0"}]
    # received: a new revision, the same event
    clock.tick(3600)
    emulator.receive_return(returned)
    clock.tick()
    await poll(run, "stock_picking")
    [(_, done)] = [(t, e) for t, e in publisher.raw() if t.endswith("stock_picking")][2:]
    assert done.data["state"] == "done"
    assert [e.id for e in CONNECTOR.translate(done)] == [requested.id]

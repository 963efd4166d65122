"""Record the contract fixtures from the emulator.

Run ``python -m tests.connectors.zendesk.record_fixtures``.

Seeds a small helpdesk on a fixed clock, writes the export answers the source asks for to
``fixtures/http/`` (with one garbage ticket inserted in the first page, for the dead-letter
check) and the raw ticket records the source publishes to ``fixtures/raw/`` (without
``expect``: the expected event types are written by hand after review).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.runner import InstanceRunner
from connectors.testing import MemoryPublisher
from connectors.zendesk import CONNECTOR
from connectors.zendesk.emulator import EmulatorServer, ZendeskEmulator
from tests.connectors.emulators import Clock

from .conftest import EMAIL, ORDER_FIELD, TOKEN, settings

HERE = Path(__file__).parent / "fixtures"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def seed(clock: Clock) -> ZendeskEmulator:
    desk = ZendeskEmulator(api_tokens={EMAIL: TOKEN}, clock=clock, export_lag_seconds=0)
    muster = desk.add_organization(
        "Muster GmbH",
        domain_names=["muster.de"],
        organization_fields={"erp_customer_number": "10042"},
    )
    jana = desk.add_user("Jana Weber", "Jana.Weber@Muster.de", organization_id=muster)
    tom = desk.add_user("Tom Kramer", "tom.kramer@example.net", phone="+49 30 1234567")
    agent = desk.add_user("Petra Agent", "petra@acme.example", role="agent")
    clock.advance(minutes=5)
    late = desk.open_ticket(jana, "Where is my order S00042?", "The desk has not arrived yet.")
    clock.advance(minutes=10)
    desk.comment(late, "We are checking with the carrier.", author_id=agent)
    desk.assign(late, agent)
    clock.advance(minutes=10)
    desk.set_priority(late, "urgent")
    clock.advance(minutes=5)
    desk.open_ticket(
        tom,
        "Chair leg cracked",
        "One leg of the chair I received is cracked.",
        priority="high",
        tags=["complaint", "complaint_product_quality"],
        custom_fields={ORDER_FIELD: "S00043"},
        channel="email",
    )
    clock.advance(minutes=5)
    question = desk.open_ticket(jana, "Copy of invoice", "Please send the invoice again.")
    desk.set_status(question, "pending")
    clock.advance(minutes=20)
    desk.solve(late)
    desk.rate_satisfaction(late, "good", "Thanks!")
    clock.advance(minutes=1)
    spam = desk.open_ticket(tom, "You won!", "Click here.")
    desk.delete_ticket(spam)
    clock.advance(minutes=1)
    address = desk.open_ticket(jana, "Wrong address on S00042", "Please correct the invoice.")
    desk.assign(address, agent)
    clock.advance(minutes=10)
    desk.solve(address)
    clock.advance(minutes=10)
    # the requester's reply reopens it: the export shows only the second solve
    desk.comment(address, "It still shows the old street.", author_id=jana)
    clock.advance(minutes=10)
    desk.solve(address)
    return desk


def write(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(content, option=orjson.OPT_INDENT_2) + b"\n")


def record() -> None:
    clock = Clock(START)
    desk = seed(clock)
    clock.advance(minutes=5)
    base = {"per_page": "3", "include": "users,organizations,metric_sets"}
    first = desk.export({**base, "start_time": "0"})
    second = desk.export({**base, "cursor": first["after_cursor"]})
    caught_up = desk.export({**base, "cursor": second["after_cursor"]})
    assert not first["end_of_stream"]
    assert second["end_of_stream"]
    assert not caught_up["tickets"]
    garbage = {**first["tickets"][0], "id": 35999, "updated_at": None}
    first["tickets"].insert(1, garbage)
    for name, params, answer in (
        ("first_page", {**base, "start_time": "0"}, first),
        ("second_page", {**base, "cursor": first["after_cursor"]}, second),
        ("caught_up", {**base, "cursor": second["after_cursor"]}, caught_up),
    ):
        request = {"method": "GET", "path": "/api/v2/incremental/tickets/cursor.json"}
        write(
            HERE / "http" / f"{name}.json",
            {"request": {**request, "params": params}, "response": {"status": 200, "json": answer}},
        )

    async def run() -> MemoryPublisher:
        publisher = MemoryPublisher()
        async with EmulatorServer(desk) as url:
            values = settings(url, per_page=3)
            runner = InstanceRunner(
                "zendesk",
                CONNECTOR,
                CONNECTOR.parse_settings(values),
                publisher=publisher,
                checkpoints=MemoryCheckpoints(),
            )
            await runner.source.open()
            try:
                await runner.poll_stream("ticket")
            finally:
                await runner.source.close()
        return publisher

    publisher = asyncio.run(run())
    for _, event in publisher.raw():
        data = dict(event.data)
        assert event.time is not None
        name = f"ticket_{data['id']}_{data['status']}.json"
        write(
            HERE / "raw" / name,
            {"entity": "ticket", "id": event.subject, "time": event.time.isoformat(), "data": data},
        )


if __name__ == "__main__":
    record()

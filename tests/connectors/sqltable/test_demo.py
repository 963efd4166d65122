"""The demo ERP writer drives a sqltable instance end to end: rows in, canonical events out."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from connectors.kit.checkpoints import MemoryCheckpoints
from connectors.kit.runner import InstanceRunner
from connectors.sqltable import CONNECTOR, entities_for
from connectors.sqltable.demo import DemoErp, example_settings
from connectors.sqltable.settings import SqlTableSettings
from connectors.testing import MemoryPublisher
from schemas.registry import validate_event
from tests.connectors.sqltable.conftest import SERVERS, ensure_server

EXPECTED = [
    "customer.created",
    "order.placed",
    "order.confirmed",
    "shipment.dispatched",
    "shipment.delivered",
    "invoice.issued",
    "payment.received",
]


async def _play(erp: DemoErp) -> None:
    customer = await erp.add_customer(
        "10042", "Muster GmbH", "info@muster.de", city="Berlin", country="DE"
    )
    order = await erp.place_order("SO042", customer, [("CHAIR-OAK", 4, "60.00")])
    await erp.set_order_status(order, "confirmed")
    shipment = await erp.dispatch("SO042", "DHL", "00340434161094042557")
    await erp.deliver(shipment)
    await erp.issue_invoice("SO042", "RE-2026-0042", customer, "240.00")
    await erp.receive_payment("SO042", "240.00", invoice_no="RE-2026-0042")
    await erp.receive_payment("SO042", "zwei Euro")  # the ERP let a clerk type this


async def _run(url: str, prefix: str, instance: str) -> tuple[list[str], MemoryPublisher]:
    erp = DemoErp(url, prefix)
    await erp.create()
    try:
        await _play(erp)
        await asyncio.sleep(0.05)
        settings = SqlTableSettings.model_validate(
            example_settings(url, prefix, timestamp_delay_seconds=0)
        )
        assert entities_for(settings) == (
            "customers",
            "orders",
            "shipments",
            "invoices",
            "payments",
        )
        publisher = MemoryPublisher()
        runner = InstanceRunner(
            instance, CONNECTOR, settings, publisher=publisher, checkpoints=MemoryCheckpoints()
        )
        await runner.source.open()
        try:
            await runner.poll_once()
        finally:
            await runner.source.close()
    finally:
        await erp.drop()
        await erp.close()
    translate = CONNECTOR.translator(settings)
    events = [e for _, raw in publisher.raw() for e in translate(raw)]
    for event in events:
        validate_event(event)
    return [e.type for e in events], publisher


async def test_demo_erp_on_sqlite(tmp_path: Path) -> None:
    types, publisher = await _run(f"sqlite:///{tmp_path / 'erp.db'}", "erp", "demo_erp")
    assert types == EXPECTED
    assert len(publisher.dead_letters()) == 1


async def test_demo_erp_on_postgresql() -> None:
    ensure_server("postgresql")
    prefix = f"hd{uuid.uuid4().hex[:8]}"
    types, publisher = await _run(SERVERS["postgresql"]["url"], prefix, "demo_pg")
    assert types == EXPECTED
    assert len(publisher.dead_letters()) == 1

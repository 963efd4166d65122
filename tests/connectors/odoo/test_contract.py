"""The kit's contract suite on the odoo connector, reading from a seeded emulator."""

from __future__ import annotations

import atexit
from datetime import datetime, timedelta
from pathlib import Path

from connectors.odoo import CONNECTOR
from connectors.odoo.emulator import OdooEmulator
from connectors.testing import connector_contract_tests
from tests.connectors.odoo.conftest import API_KEY, DB, LOGIN, Clock

FIXTURES = Path(__file__).parent / "fixtures"


def seeded() -> OdooEmulator:
    """A small company history, long over (so no record sits in the settle window)."""
    clock = Clock(datetime(2026, 11, 16, 8, 0, 0))
    emulator = OdooEmulator(db=DB, login=LOGIN, password="a long passphrase", clock=clock)
    emulator.add_api_key(LOGIN, API_KEY)
    muster = emulator.add_partner(
        "Muster GmbH", email="info@muster.de", vat="DE123456789", country_code="DE"
    )
    broken = emulator.add_partner("Broken import", is_company=False)
    emulator.corrupt("res.partner", broken, parent_id="Muster GmbH")  # not [id, name]
    clock.tick()
    emulator.add_partner("Acme Ltd", email="buy@acme.test", country_code="GB")
    for n, sku in enumerate(("CHAIR-OAK", "TABLE-OAK", "LAMP-01")):
        clock.tick(60)
        order = emulator.add_order(muster, [(sku, n + 1, 50.0 * (n + 1))], state="sent")
        clock.tick(600)
        emulator.confirm_order(order)
        if n < 2:
            clock.tick(3600)
            emulator.ship(order, tracking_ref=f"TRACK{n}")
            move = emulator.invoice(order)
            clock.tick(timedelta(days=1).total_seconds())
            emulator.pay(move)
    clock.tick(3600)
    returned = emulator.return_goods("S00001", reason="damaged")  # a customer return
    clock.tick(86400)
    emulator.receive_return(returned)
    return emulator


EMULATOR = seeded()
_SERVING = EMULATOR.serve_in_thread()
URL = _SERVING.__enter__()
atexit.register(_SERVING.__exit__, None, None, None)

TestOdooContract = connector_contract_tests(
    CONNECTOR,
    fixtures=FIXTURES,
    settings={"url": URL, "database": DB, "login": LOGIN, "api_key": API_KEY},
)

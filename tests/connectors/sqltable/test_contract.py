"""The kit's contract suite on ``sqltable``, reading a SQLite ERP database seeded here.

The database holds one row per table plus a payment whose text amount is not a number
('12,50 EUR'), written before a good one: the suite checks it is dead-lettered while the
source goes on. The PostgreSQL and MariaDB behaviour is in test_source.py.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from connectors.sqltable import CONNECTOR
from connectors.testing import connector_contract_tests
from tests.connectors.sqltable.conftest import Erp

FIXTURES = Path(__file__).parent / "fixtures"
INSTANCE = "contract"
T0 = datetime(2026, 1, 5, 9, 15)  # in the past: the lag guard holds back future rows


def _seeded_erp() -> Erp:
    folder = Path(tempfile.mkdtemp(prefix="sqltable-contract-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "erp.db"
    erp = Erp("sqlite", f"sqlite:///{path}", sa.create_engine(f"sqlite:///{path}"), "erp")
    erp.create()
    erp.insert(
        erp.customers,
        [
            {
                "id": 7,
                "customer_no": "10042",
                "company_name": "Muster GmbH",
                "email": "info@muster.de",
                "country": "DE",
                "created_at": T0,
                "updated_at": T0,
            }
        ],
    )
    erp.insert(
        erp.orders,
        [
            {
                "id": 41,
                "order_no": "SO041",
                "customer_id": 7,
                "status": "confirmed",
                "currency": "EUR",
                "total": Decimal("240.00"),
                "tax": None,
                "ordered_at": T0,
                "confirmed_at": T0 + timedelta(hours=1),
                "updated_at": T0 + timedelta(hours=1),
            }
        ],
    )
    erp.insert(
        erp.lines,
        [{"order_id": 41, "pos": 1, "sku": "CHAIR-OAK", "qty": 4, "price": Decimal("60.00")}],
    )
    erp.insert(
        erp.shipments,
        [
            {
                "order_no": "SO041",
                "carrier": "DHL",
                "tracking": "0034043416",
                "shipped_at": T0 + timedelta(days=1),
                "delivered_at": None,
                "updated_at": T0 + timedelta(days=1),
            }
        ],
    )
    erp.insert(
        erp.invoices,
        [
            {
                "invoice_no": "RE-2026-0042",
                "order_no": "SO041",
                "customer_id": 7,
                "currency": "EUR",
                "total": Decimal("240.00"),
                "issued_at": T0 + timedelta(hours=2),
                "due_date": None,
                "updated_at": T0 + timedelta(hours=2),
            }
        ],
    )
    erp.insert(
        erp.payments,
        [
            {
                "order_no": "SO041",
                "invoice_no": None,
                "amount": amount,
                "currency": "EUR",
                "method": "SEPA",
                "received_at": T0 + timedelta(days=2),
                "updated_at": T0 + timedelta(days=2, seconds=n),
            }
            for n, amount in enumerate(["12,50 EUR", "240.00"])
        ],
    )
    erp.engine.dispose()
    return erp


ERP = _seeded_erp()
SETTINGS = ERP.settings(timestamp_delay_seconds=0)

TestSqltableContract = connector_contract_tests(
    CONNECTOR, fixtures=FIXTURES, settings=SETTINGS, instance=INSTANCE
)

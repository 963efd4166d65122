"""Regenerate ``fixtures/http`` (the exchanges the contract suite replays) from the emulator.

Run ``.venv/bin/python -m tests.connectors.hubspot.record_fixtures`` after changing the
properties or associations the source asks for: the recorded ``GET`` query strings must
match the source's exactly. One company search result is made malformed on purpose (no
``properties`` object) between two good ones: the suite checks it is dead-lettered and the
source goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from connectors.hubspot.emulator import HubSpotEmulator
from connectors.hubspot.settings import HubSpotSettings
from connectors.hubspot.source import ASSOCIATIONS, PROPERTIES, wanted_properties

HERE = Path(__file__).parent / "fixtures" / "http"


def seeded() -> HubSpotEmulator:
    now = [datetime(2026, 11, 20, 8, 0, tzinfo=UTC)]

    def clock() -> datetime:
        now[0] += timedelta(seconds=7)
        return now[0]

    crm = HubSpotEmulator(tokens={"pat-contract": None}, clock=clock)
    muster = crm.add_company(name="Muster GmbH", domain="muster.de", erp_customer_number="10042")
    nord = crm.add_company(name="Nordlicht AG", domain="nordlicht.example")
    jana = crm.add_contact(
        email="j.weber@muster.de",
        firstname="Jana",
        lastname="Weber",
        company_id=muster,
        lifecyclestage="lead",
    )
    crm.add_contact(email="ole@nordlicht.example", firstname="Ole", company_id=nord)
    deal = crm.add_deal(
        dealname="Oak desks",
        amount="12000.50",
        currency="EUR",
        company_id=muster,
        contact_ids=[jana],
    )
    crm.add_deal(dealname="Chairs", amount="800", company_id=nord)
    crm.set_property("contacts", jana, "lifecyclestage", "customer")
    crm.close_deal_won(deal)
    return crm


def exchanges(crm: HubSpotEmulator) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {}
    settings = HubSpotSettings(access_token="pat-contract")
    for object_type in PROPERTIES:
        props = wanted_properties(object_type, settings)
        found = crm.search(object_type, {"properties": list(props), "limit": 100})
        found.pop("paging", None)
        if object_type == "companies":
            broken = dict(found["results"][0])
            broken["id"] = "999"
            broken["properties"] = None
            found["results"].insert(1, broken)
            found["total"] += 1
        recorded = [
            {
                "request": {"method": "POST", "path": f"/crm/v3/objects/{object_type}/search"},
                "response": {"status": 200, "json": found},
            }
        ]
        for result in found["results"]:
            if not ASSOCIATIONS[object_type] or not result.get("properties"):
                continue
            recorded.append(
                {
                    "request": {
                        "method": "GET",
                        "path": f"/crm/v3/objects/{object_type}/{result['id']}",
                        "params": {
                            "properties": ",".join(props),
                            "associations": ",".join(ASSOCIATIONS[object_type]),
                        },
                    },
                    "response": {
                        "status": 200,
                        "json": crm.read(
                            object_type, result["id"], props, ASSOCIATIONS[object_type]
                        ),
                    },
                }
            )
        files[f"{object_type}.json"] = recorded
    return files


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, content in exchanges(seeded()).items():
        (HERE / name).write_bytes(orjson.dumps(content, option=orjson.OPT_INDENT_2) + b"\n")


if __name__ == "__main__":
    main()

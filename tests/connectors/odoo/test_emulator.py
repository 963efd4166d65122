"""The emulator answers like Odoo 16/17's /jsonrpc: shapes, errors, domains, ordering, 429."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.odoo.emulator import OdooEmulator
from tests.connectors.odoo.conftest import API_KEY, DB, LOGIN, Clock


async def rpc(url: str, service: str, method: str, *args: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post(
            "/jsonrpc",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": list(args)},
                "id": 7,
            },
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["id"] == 7
    return body


async def execute(url: str, model: str, method: str, *args: Any, **kw: Any) -> dict[str, Any]:
    return await rpc(url, "object", "execute_kw", DB, 2, API_KEY, model, method, list(args), kw)


def seed(emulator: OdooEmulator, clock: Clock) -> dict[str, int]:
    company = emulator.add_partner(
        "Muster GmbH", email="info@muster.de", vat="DE123456789", country_code="DE"
    )
    person = emulator.add_partner("Jana Weber", is_company=False, parent_id=company)
    clock.tick()
    order = emulator.add_order(company, [("CHAIR-OAK", 4, 60.0), ("TABLE-OAK", 1, 360.5)])
    return {"company": company, "person": person, "order": order}


async def test_authenticate_returns_uid_or_false(emulator: OdooEmulator, odoo_url: str) -> None:
    assert (await rpc(odoo_url, "common", "authenticate", DB, LOGIN, API_KEY, {}))["result"] == 2
    assert (await rpc(odoo_url, "common", "authenticate", DB, LOGIN, "a long passphrase", {}))[
        "result"
    ] == 2
    assert (await rpc(odoo_url, "common", "authenticate", DB, LOGIN, "nope", {}))["result"] is False
    assert (await rpc(odoo_url, "common", "authenticate", DB, "who", API_KEY, {}))[
        "result"
    ] is False
    version = (await rpc(odoo_url, "common", "version"))["result"]
    assert version["protocol_version"] == 1
    assert version["server_serie"] == "17.0"


async def test_access_denied_has_odoos_error_shape(odoo_url: str) -> None:
    body = await rpc(
        odoo_url, "object", "execute_kw", DB, 2, "wrong", "res.partner", "search_read", [[]], {}
    )
    assert "result" not in body
    error = body["error"]
    assert error["code"] == 200
    assert error["message"] == "Odoo Server Error"
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert error["data"]["message"] == "Access Denied"
    assert error["data"]["arguments"] == ["Access Denied"]
    assert set(error["data"]) == {"name", "debug", "message", "arguments", "context"}


async def test_unknown_database_model_field_and_method(odoo_url: str) -> None:
    body = await rpc(odoo_url, "common", "authenticate", "other", LOGIN, API_KEY, {})
    assert body["error"]["data"]["name"] == "psycopg2.OperationalError"
    assert 'database "other" does not exist' in body["error"]["data"]["message"]
    body = await execute(odoo_url, "crm.lead", "search_read", [])
    assert body["error"]["data"]["name"] == "odoo.exceptions.UserError"
    assert body["error"]["data"]["message"] == "Object crm.lead doesn't exist"
    body = await execute(odoo_url, "res.partner", "search_read", [], fields=["nope"])
    assert body["error"]["data"]["name"] == "builtins.ValueError"
    assert body["error"]["data"]["message"] == "Invalid field 'nope' on model 'res.partner'"
    body = await execute(odoo_url, "res.partner", "unlink", [1])
    assert body["error"]["data"]["name"] == "builtins.AttributeError"


async def test_values_are_serialised_like_the_orm(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    ids = seed(emulator, clock)
    body = await execute(
        odoo_url,
        "res.partner",
        "search_read",
        [["id", "=", ids["person"]]],
        fields=["name", "display_name", "parent_id", "email", "is_company", "write_date"],
    )
    [person] = body["result"]
    assert person == {
        "id": ids["person"],
        "name": "Jana Weber",
        "display_name": "Muster GmbH, Jana Weber",
        "parent_id": [ids["company"], "Muster GmbH"],
        "email": False,
        "is_company": False,
        "write_date": "2026-11-20 09:00:00",
    }
    [order] = (await execute(odoo_url, "sale.order", "read", [ids["order"]]))["result"]
    assert order["name"] == "S00001"
    assert order["state"] == "draft"
    assert order["currency_id"] == [1, "EUR"]
    assert order["commitment_date"] is False
    assert order["date_order"] == "2026-11-20 09:00:01"
    assert order["validity_date"] == "2026-12-20"
    assert order["amount_total"] == pytest.approx(714.6)
    assert len(order["order_line"]) == 2
    lines = (
        await execute(
            odoo_url,
            "sale.order.line",
            "search_read",
            [["order_id", "in", [ids["order"]]]],
            fields=["product_id", "product_uom_qty", "price_subtotal"],
        )
    )["result"]
    assert [line["product_id"][1] for line in lines] == [
        "[CHAIR-OAK] CHAIR-OAK",
        "[TABLE-OAK] TABLE-OAK",
    ]
    assert lines[0]["price_subtotal"] == 240.0


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ([["is_company", "=", True]], ["Acme", "Muster GmbH"]),
        ([["email", "=", False]], ["Jana Weber"]),
        ([["email", "!=", False]], ["Acme", "Muster GmbH"]),
        ([["id", ">", 1], ["id", "<=", 2]], ["Jana Weber"]),
        (["|", ["name", "=", "Acme"], ["name", "=", "Jana Weber"]], ["Acme", "Jana Weber"]),
        (["!", ["is_company", "=", True]], ["Jana Weber"]),
        (["&", ["id", ">=", 2], ["id", "not in", [2]]], ["Acme"]),
        # stored microseconds: Jana's write_date is 09:00:00.000001, after "09:00:00"
        ([["write_date", ">", "2026-11-20 09:00:00"]], ["Acme", "Jana Weber"]),
        (
            [
                ["write_date", ">=", "2026-11-20 09:00:00"],
                ["write_date", "<", "2026-11-20 09:00:01"],
            ],
            ["Jana Weber", "Muster GmbH"],
        ),
        ([["parent_id", "in", [1]]], ["Jana Weber"]),
    ],
)
async def test_domains(
    emulator: OdooEmulator, clock: Clock, odoo_url: str, domain: list[Any], expected: list[str]
) -> None:
    emulator.add_partner("Muster GmbH", email="info@muster.de")
    emulator.add_partner("Jana Weber", is_company=False, parent_id=1)
    clock.tick(1)
    emulator.add_partner("Acme", email="hello@acme.test")
    body = await execute(
        odoo_url, "res.partner", "search_read", domain, fields=["name"], order="name asc"
    )
    assert [r["name"] for r in body["result"]] == expected


async def test_order_limit_offset_and_microsecond_write_dates(
    emulator: OdooEmulator, clock: Clock, odoo_url: str
) -> None:
    for name in ("a", "b", "c", "d"):
        emulator.add_partner(name)
    emulator.update_partner(2, email="late@b.test")  # same second, written last
    body = await execute(
        odoo_url,
        "res.partner",
        "search_read",
        [],
        fields=["name", "write_date"],
        order="write_date asc, id asc",
        limit=3,
        offset=1,
    )
    # stored with microseconds, so the update of id 2 sorts last although every
    # write_date reads back as the same second
    assert [r["name"] for r in body["result"]] == ["c", "d", "b"]
    assert {r["write_date"] for r in body["result"]} == {"2026-11-20 09:00:00"}
    count = await execute(odoo_url, "res.partner", "search_count", [["id", ">", 1]])
    assert count["result"] == 3
    bad = await execute(odoo_url, "res.partner", "search", [], order="name sideways")
    assert bad["error"]["data"]["name"] == "builtins.ValueError"


async def test_throttle_answers_429_with_retry_after(emulator: OdooEmulator, odoo_url: str) -> None:
    emulator.throttle(requests=2, retry_after=7)
    async with httpx.AsyncClient(base_url=odoo_url) as http:
        for _ in range(2):
            response = await http.post("/jsonrpc", json={"params": {}})
            assert response.status_code == 429
            assert response.headers["retry-after"] == "7"
    ok = await rpc(odoo_url, "common", "version")
    assert "result" in ok


async def test_not_json_is_a_400(odoo_url: str) -> None:
    async with httpx.AsyncClient(base_url=odoo_url) as http:
        response = await http.post(
            "/jsonrpc", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400


def test_seed_flow_bumps_write_date(emulator: OdooEmulator, clock: Clock) -> None:
    partner = emulator.add_partner("Muster GmbH")
    order = emulator.add_order(partner, [("SKU-1", 2, 10.0)], state="sent")
    first = emulator.record("sale.order", order)["write_date"]
    clock.tick(5)
    picking = emulator.confirm_order(order)
    confirmed = emulator.record("sale.order", order)
    assert confirmed["state"] == "sale"
    assert confirmed["write_date"] > first
    assert confirmed["date_order"] == "2026-11-20 09:00:05"
    assert emulator.record("stock.picking", picking)["state"] == "assigned"
    clock.tick(60)
    assert emulator.ship(order, tracking_ref="TRACK1") == picking
    shipped = emulator.record("stock.picking", picking)
    assert (shipped["state"], shipped["carrier_id"][1], shipped["carrier_tracking_ref"]) == (
        "done",
        "DHL",
        "TRACK1",
    )
    move = emulator.invoice(order)
    assert emulator.record("account.move", move)["name"] == "INV/2026/00001"
    emulator.pay(move, amount=5.0)
    assert emulator.record("account.move", move)["payment_state"] == "partial"
    emulator.pay(move)
    paid = emulator.record("account.move", move)
    assert (paid["payment_state"], paid["amount_residual"]) == ("paid", 0.0)
    with pytest.raises(ValueError, match="expected one of"):
        emulator.confirm_order(order)


def test_return_goods_creates_a_ready_return_picking(emulator: OdooEmulator, clock: Clock) -> None:
    partner = emulator.add_partner("Muster GmbH")
    order = emulator.add_order(partner, [("CHAIR-OAK", 4, 60.0), ("LAMP-01", 2, 20.0)])
    delivery = emulator.confirm_order(order)
    with pytest.raises(ValueError, match="no validated delivery"):
        emulator.return_goods(order)
    emulator.ship(order)
    clock.tick(86400)
    before = emulator.record("stock.picking", delivery)["write_date"]
    returned = emulator.return_goods("S00001", [("CHAIR-OAK", 1)], reason="damaged")
    picking = emulator.record("stock.picking", returned)
    assert (picking["name"], picking["picking_type_code"], picking["state"]) == (
        "WH/IN/00001",
        "incoming",
        "assigned",
    )
    assert picking["origin"] == "Return of WH/OUT/00001"
    assert picking["sale_id"] == [order, "S00001"]
    assert picking["return_id"] == [delivery, "WH/OUT/00001"]
    assert picking["x_return_reason"] == "damaged"
    assert picking["create_date"] == "2026-11-21 09:00:00"
    [move] = [emulator.record("stock.move", m) for m in picking["move_ids"]]
    assert move["product_id"][1] == "[CHAIR-OAK] CHAIR-OAK"
    assert move["product_uom_qty"] == 1.0
    origin = emulator.record("stock.move", move["origin_returned_move_id"][0])
    assert origin["picking_id"] == [delivery, "WH/OUT/00001"]
    assert origin["returned_move_ids"] == [move["id"]]
    assert emulator.record("stock.picking", delivery)["return_ids"] == [returned]
    assert emulator.record("stock.picking", delivery)["write_date"] == before
    with pytest.raises(ValueError, match="cannot be returned"):
        emulator.return_goods(order, [("CHAIR-OAK", 4)])  # one of four is on its way back
    with pytest.raises(ValueError, match="delivered no"):
        emulator.return_goods("WH/OUT/00001", [("DESK-1", 1)])
    rest = emulator.return_goods("WH/OUT/00001")  # everything not returned yet
    rest_moves = [
        emulator.record("stock.move", m) for m in emulator.record("stock.picking", rest)["move_ids"]
    ]
    assert [(m["product_id"][1], m["product_uom_qty"]) for m in rest_moves] == [
        ("[CHAIR-OAK] CHAIR-OAK", 3.0),
        ("[LAMP-01] LAMP-01", 2.0),
    ]
    with pytest.raises(ValueError, match="returned already"):
        emulator.return_goods(order)
    clock.tick(3600)
    emulator.receive_return(returned)
    received = emulator.record("stock.picking", returned)
    assert (received["state"], received["date_done"]) == ("done", "2026-11-21 10:00:00")
    assert emulator.record("stock.move", move["id"])["state"] == "done"
    line = emulator.record("sale.order.line", emulator.record("sale.order", order)["order_line"][0])
    assert line["qty_delivered"] == 3.0
    with pytest.raises(ValueError, match="expected one of"):
        emulator.receive_return(returned)
    with pytest.raises(ValueError, match="not a return"):
        emulator.receive_return(
            emulator.confirm_order(emulator.add_order(partner, [("X", 1, 1.0)]))
        )

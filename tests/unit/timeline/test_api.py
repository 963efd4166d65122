"""The timeline API on a real store and the router's own routing and field policies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.api.auth import token_sha256
from hub.api.timelines import timeline_router
from hub.config import DEFAULT_DEPARTMENTS, HubConfig
from hub.timeline.store import TimelineStore
from hub.web import page_router
from tests.unit.timeline.builders import at, timeline_event

TOKENS = {name: f"token-of-{name}" for name in DEFAULT_DEPARTMENTS}
ORDER = "odoo:SO-77"


def _config() -> HubConfig:
    return HubConfig.model_validate(
        {"departments": {n: {"token_sha256": token_sha256(t)} for n, t in TOKENS.items()}}
    )


@pytest.fixture
def client(store: TimelineStore) -> Iterator[TestClient]:
    store.ingest(
        [
            timeline_event("customer.created", 0, system="hubspot", customer_id="G-1"),
            timeline_event("order.placed", 1, order_id=ORDER, customer_id="G-2"),
            timeline_event("payment.received", 2, order_id=ORDER, customer_id="G-2"),
            timeline_event(
                "complaint.opened",
                3,
                system="zendesk",
                ticket_id="zendesk:1",
                order_id=ORDER,
                customer_id="G-3",
            ),
            timeline_event(
                "customer.merged", 4, system="identity", survivor_id="G-1", merged_id="G-2"
            ),
            timeline_event(
                "customer.merged", 5, system="identity", survivor_id="G-1", merged_id="G-3"
            ),
        ]
    )
    app = FastAPI()
    app.include_router(timeline_router(store, _config(), lambda: at(60)))
    app.include_router(page_router())
    with TestClient(app) as test_client:
        yield test_client


def get(client: TestClient, path: str, department: str | None) -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Authorization": f"Bearer {TOKENS[department]}"} if department else {}
    response = client.get(path, headers=headers)
    return response.status_code, response.json()


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_401_without_a_valid_token(client: TestClient, header: str | None) -> None:
    response = client.get(
        f"/v1/orders/{ORDER}/timeline", headers={"Authorization": header} if header else {}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "detail" in response.json()


def test_404_for_an_unknown_id(client: TestClient) -> None:
    status, body = get(client, "/v1/orders/nope/timeline", "sales")
    assert (status, body["error"]) == (404, "not_found")
    status, body = get(client, "/v1/customers/nope/timeline", "sales")
    assert (status, body["error"]) == (404, "not_found")


def test_finance_sees_the_order_with_amounts(client: TestClient) -> None:
    status, body = get(client, f"/v1/orders/{ORDER}/timeline", "finance")
    assert status == 200
    assert body["id"] == ORDER
    assert (body["stage"], body["owner"]) == ("paid", "logistics")
    assert body["waiting_since"] == "2026-11-02T10:00:00Z"
    payment = next(e for e in body["events"] if e["type"] == "payment.received")
    assert payment["data"]["amount"] == {"amount": "714.60", "currency": "EUR"}
    assert "payer_iban" not in payment["data"], "restricted field dropped by the policy"
    assert {e["type"] for e in body["events"]} == {"payment.received"}, "only what is routed"
    assert set(payment) >= {"id", "type", "time", "source", "data"}
    breached = {c["rule"] for c in body["breaches"]}
    assert breached == {"dispatch", "acknowledge"}, "deadlines passed at now=+60h"
    assert {c["rule"]: c["status"] for c in body["clocks"]} == {
        "acknowledge": "breached",
        "dispatch": "breached",
        "resolve": "open",
    }


def test_marketing_is_refused_orders_and_never_sees_amounts(client: TestClient) -> None:
    status, body = get(client, f"/v1/orders/{ORDER}/timeline", "marketing")
    assert (status, body["error"]) == (403, "forbidden")
    status, body = get(client, "/v1/customers/G-2/timeline", "marketing")
    assert status == 200
    assert "714.60" not in str(body)
    assert [e["type"] for e in body["events"]] == [
        "customer.created",
        "customer.merged",
        "customer.merged",
    ]


def test_customer_timeline_joins_systems_under_merged_ids(client: TestClient) -> None:
    status, body = get(client, "/v1/customers/G-3/timeline", "sales")
    assert status == 200
    assert (body["id"], body["requested_id"]) == ("G-1", "G-3")
    assert sorted(body["merged_ids"]) == ["G-2", "G-3"]
    assert body["stage"] == "active"
    assert body["systems"] == ["/connectors/hubspot", "/connectors/identity", "/connectors/odoo"]
    status, support = get(client, "/v1/customers/G-1/timeline", "support")
    assert status == 200
    assert [e["source"] for e in support["events"]] == ["/connectors/zendesk"]
    lanes = {lane["department"] for lane in body["lanes"]}
    assert lanes <= set(DEFAULT_DEPARTMENTS)


def test_events_are_in_timeline_order_with_lanes(client: TestClient) -> None:
    status, body = get(client, f"/v1/orders/{ORDER}/timeline", "sales")
    assert status == 200
    times = [e["time"] for e in body["events"]]
    assert times == sorted(times)
    by_lane = {lane["department"]: lane["events"] for lane in body["lanes"]}
    placed = next(e for e in body["events"] if e["type"] == "order.placed")
    assert placed["id"] in by_lane["sales"]
    assert [s["status"] for s in body["stages"]][:3] == ["done", "skipped", "current"]


def test_recent_lists_and_me(client: TestClient) -> None:
    status, rows = get(client, "/v1/orders", "sales")
    assert status == 200
    assert [r["id"] for r in rows] == [ORDER]  # type: ignore[index]
    status, me = get(client, "/v1/me", "support")
    assert me == {"department": "support"}


def test_breaches_list_for_owner_and_escalation(client: TestClient, store: TimelineStore) -> None:
    for clock in store.due_clocks(at(60)):
        store.record_breach(clock, f"event-{clock.rule}", at(60))
    status, rows = get(client, "/v1/breaches", "management")
    assert status == 200
    assert [(r["rule"], r["owner"]) for r in rows] == [  # type: ignore[index]
        ("dispatch", "logistics"),
        ("acknowledge", "support"),
    ]
    status, rows = get(client, "/v1/breaches", "logistics")
    assert [r["subject"] for r in rows] == [{"kind": "order", "id": ORDER}]  # type: ignore[index]
    assert get(client, "/v1/breaches", "marketing") == (200, [])
    assert client.get("/v1/breaches").status_code == 401


def test_openapi_docs_and_page(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/orders/{order_id}/timeline" in spec["paths"]
    assert "/v1/customers/{customer_id}/timeline" in spec["paths"]
    assert "401" in spec["paths"]["/v1/orders/{order_id}/timeline"]["get"]["responses"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200
    assert "Handoff timelines" in page.text


def test_the_clock_reads_now_late_churn(store: TimelineStore) -> None:
    store.ingest([timeline_event("order.placed", 0, order_id="X", customer_id="C")])
    app = FastAPI()
    app.include_router(timeline_router(store, _config(), lambda: at(0) + timedelta(days=200)))
    with TestClient(app) as test_client:
        status, body = get(test_client, "/v1/customers/C/timeline", "sales")
    assert (status, body["stage"]) == (200, "churned")

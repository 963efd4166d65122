"""Abuse of the timeline API as ``hub run timeline`` serves it (the assembled app).

Bad tokens, another department's data, path traversal and huge ids get 401/403/404/400 as
JSON; never a 5xx, never a traceback, never another department's fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.auth import token_sha256
from hub.config import DEFAULT_DEPARTMENTS, HubConfig
from hub.runtime.app import ServiceHost, build_app, make_runtime
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, KafkaCluster
from hub.runtime.settings import HubSettings
from hub.services.timeline import timeline
from hub.timeline.store import TimelineStore
from tests.integration.hub_process import free_port
from tests.unit.timeline.builders import timeline_event

TOKENS = {name: f"token-of-{name}-0123456789" for name in DEFAULT_DEPARTMENTS}
ORDER = "odoo:SO-77"
CUSTOMER = "G-1"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'timeline.db'}"
    config = HubConfig.model_validate(
        {"departments": {n: {"token_sha256": token_sha256(t)} for n, t in TOKENS.items()}}
    )
    store = TimelineStore(url, config.processes)
    store.migrate()
    store.ingest(
        [
            timeline_event("customer.created", 0, system="hubspot", customer_id=CUSTOMER),
            timeline_event("order.placed", 1, order_id=ORDER, customer_id=CUSTOMER),
            timeline_event("payment.received", 2, order_id=ORDER, customer_id=CUSTOMER),
        ]
    )
    store.dispose()
    # no broker answers on this port: the API must work (and fail cleanly) regardless
    cluster = KafkaCluster(f"127.0.0.1:{free_port()}", "embedded", EMBEDDED_CAPABILITIES)
    settings = HubSettings(database_url=url, state_dir=tmp_path / "state")
    host = ServiceHost(make_runtime(settings, config, cluster), [timeline])
    with TestClient(build_app(host), raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(department: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[department]}"}


def assert_json_error(response: object, *allowed: int) -> dict[str, object]:
    status = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert status in allowed, f"{status}: {text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), text[:300]  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body.get("error") or body.get("detail"), body
    assert "Traceback" not in text
    assert 'File "' not in text
    return body  # type: ignore[no-any-return]


def test_the_owner_department_reads_the_order(client: TestClient) -> None:
    """The baseline the abuse cases differ from."""
    response = client.get(f"/v1/orders/{ORDER}/timeline", headers=bearer("finance"))
    assert response.status_code == 200, response.text
    assert "payment.received" in [e["type"] for e in response.json()["events"]]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "bearer wrong",
        "Basic " + "dXNlcjpwYXNz",
        "Bearer " + token_sha256(TOKENS["finance"]),  # the configured hash is not the token
        "Bearer " + TOKENS["finance"][:-1],
        "Bearer " + TOKENS["finance"] + "x",
        "Bearer " + "A" * 8000,
        "Bearer " + TOKENS["finance"] + " " + TOKENS["sales"],
        "Bearer ' OR '1'='1",
        "Token " + TOKENS["finance"],
    ],
)
@pytest.mark.parametrize(
    "path",
    [f"/v1/orders/{ORDER}/timeline", f"/v1/customers/{CUSTOMER}/timeline", "/v1/orders", "/v1/me"],
)
def test_bad_tokens_are_401(client: TestClient, header: str | None, path: str) -> None:
    headers = {"Authorization": header} if header is not None else {}
    body = assert_json_error(client.get(path, headers=headers), 401)
    assert body["error"] == "unauthorized"


def test_non_latin1_token_is_a_clean_4xx(client: TestClient) -> None:
    raw_header = "Bearer tökén".encode()
    response = client.get(f"/v1/orders/{ORDER}/timeline", headers={"Authorization": raw_header})
    assert_json_error(response, 400, 401)


def test_another_departments_order_is_403_without_its_data(client: TestClient) -> None:
    response = client.get(f"/v1/orders/{ORDER}/timeline", headers=bearer("marketing"))
    body = assert_json_error(response, 403)
    assert body["error"] == "forbidden"
    assert "amount" not in response.text
    assert "payment" not in response.text


@pytest.mark.parametrize(
    "order_id",
    [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "..%252F..%252Fetc%252Fpasswd",
        "%2e%2e%2f%2e%2e%2fhub.yaml",
        "....//....//etc//passwd",
        "..\\..\\windows\\win.ini",
        "%00",
        "odoo:SO-77%00.json",
        "odoo:SO-77'%20OR%20'1'='1",
        "odoo:SO-77%22%3B%20DROP%20TABLE%20timeline_events%3B--",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%F0%9F%92%A3",
        "%FF%FE",
    ],
)
def test_traversal_and_injection_ids_are_404(client: TestClient, order_id: str) -> None:
    for kind in ("orders", "customers"):
        response = client.get(f"/v1/{kind}/{order_id}/timeline", headers=bearer("finance"))
        assert_json_error(response, 400, 404)
        assert "<script>" not in response.text or response.headers["content-type"].startswith(
            "application/json"
        )
    # the store is intact after the injection attempts
    assert client.get(f"/v1/orders/{ORDER}/timeline", headers=bearer("finance")).status_code == 200


@pytest.mark.parametrize("path", ["/v1/orders/../../etc/passwd", "/v1/../hub.yaml", "/../../.hub"])
def test_dot_segments_never_reach_files(client: TestClient, path: str) -> None:
    response = client.get(path, headers=bearer("finance"))
    assert_json_error(response, 400, 404)
    assert "departments" not in response.text


@pytest.mark.parametrize("size", [1_000, 60_000])  # httpx caps URLs at 64 KiB
def test_huge_ids_are_a_clean_4xx(client: TestClient, size: int) -> None:
    for kind in ("orders", "customers"):
        response = client.get(f"/v1/{kind}/{'9' * size}/timeline", headers=bearer("finance"))
        assert_json_error(response, 400, 404, 414)


@pytest.mark.parametrize("limit", ["0", "-1", "201", "abc", "1e9", "99999999999999999999999"])
def test_bad_query_parameters_are_4xx_json(client: TestClient, limit: str) -> None:
    response = client.get(f"/v1/orders?limit={limit}", headers=bearer("finance"))
    assert_json_error(response, 400, 422)


def test_the_lookup_is_not_served_by_the_timeline_service(client: TestClient) -> None:
    # the lookup belongs to the translator (tests/integration/test_translator.py); here the
    # path is simply unknown, and the answer is still the JSON error shape
    response = client.get("/v1/customers/lookup?system=x&id=y", headers=bearer("finance"))
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found"}

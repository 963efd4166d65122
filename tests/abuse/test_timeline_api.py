"""Abuse of the timeline API as ``hub run timeline`` serves it (the assembled app).

Bad tokens, another department's data, path traversal and huge ids get 401/403/404/400 as
JSON; never a 5xx, never a traceback, never another department's fields. The identity
lookup the translator serves answers 400/404/503 as JSON, with or without a token.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from hub.api.auth import token_sha256
from hub.config import DEFAULT_DEPARTMENTS, HubConfig
from hub.identity.resolver import IdentityResolver
from hub.identity.store import IdentityStore
from hub.runtime.app import ServiceHost, build_app, make_runtime
from hub.runtime.cluster import EMBEDDED_CAPABILITIES, KafkaCluster
from hub.runtime.errors import install_error_handlers
from hub.runtime.service import Runtime, Service, ServiceFactory
from hub.runtime.settings import HubSettings
from hub.services.timeline import build
from hub.services.translator import lookup_routes, translator
from hub.timeline.store import TimelineStore
from tests.integration.hub_process import free_port
from tests.unit.timeline.builders import at, record_due_breaches, timeline_event

TOKENS = {name: f"token-of-{name}-0123456789" for name in DEFAULT_DEPARTMENTS}
ORDER = "odoo:SO-77"
CUSTOMER = "G-1"
#: The reading time of the clocks: stages and SLA clocks must not move with the date the
#: suite happens to run on (the events are dated November 2026).
NOW = at(60)
#: Who the default routing rules let open which timeline of the fixture (without breaches).
MAY_OPEN = {
    "order": {"sales", "finance"},
    "customer": {"sales", "finance", "marketing"},
}
#: The source identities the lookup knows; ``erp:C5`` is linked to ``crm:co/5``.
KNOWN_IDENTITIES = (("crm", "co/5"), ("erp", "C5"))
#: Strings of /etc/passwd, hub.yaml and the state directory that must never come back.
FILE_CONTENT = ("root:", "/bin/", "departments", "token_sha256", "sqlite")


def timeline_at_now(runtime: Runtime) -> Service:
    """``hub run timeline`` with its clock read at :data:`NOW`."""
    return build(runtime, now=lambda: NOW)


@contextlib.contextmanager
def assembled(
    tmp_path: Path,
    factories: tuple[ServiceFactory, ...] = (timeline_at_now,),
    *,
    breached: bool = False,
) -> Iterator[FastAPI]:
    """The app of ``hub run`` for ``factories`` on a store holding one customer and one
    order; with ``breached``, the order's dispatch deadline has passed and the ticker has
    emitted and recorded its ``sla.breached`` event."""
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
    if breached:
        record_due_breaches(store, NOW)
    store.dispose()
    # no broker answers on this port: the API must work (and fail cleanly) regardless
    cluster = KafkaCluster(f"127.0.0.1:{free_port()}", "embedded", EMBEDDED_CAPABILITIES)
    settings = HubSettings(database_url=url, state_dir=tmp_path / "state")
    yield build_app(ServiceHost(make_runtime(settings, config, cluster), list(factories)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with (
        assembled(tmp_path) as app,
        TestClient(app, raise_server_exceptions=False) as test_client,
    ):
        yield test_client


@pytest.fixture
def breached_client(tmp_path: Path) -> Iterator[TestClient]:
    with (
        assembled(tmp_path, breached=True) as app,
        TestClient(app, raise_server_exceptions=False) as test_client,
    ):
        yield test_client


@pytest.fixture
def hub_up_client(tmp_path: Path) -> Iterator[TestClient]:
    """Translator and timeline on one port, as ``hub up`` serves them."""
    with (
        assembled(tmp_path, (translator, timeline_at_now)) as app,
        TestClient(app, raise_server_exceptions=False) as test_client,
    ):
        yield test_client


def bearer(department: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[department]}"}


def assert_json_error(response: object, status: int) -> dict[str, object]:
    code = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert code == status, f"{code}: {text[:300]}"
    assert response.headers["content-type"].startswith("application/json"), text[:300]  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body.get("error") or body.get("detail"), body
    assert "Traceback" not in text
    assert 'File "' not in text
    return body  # type: ignore[no-any-return]


def leaves(value: Any) -> set[str]:
    """Every string and number of a JSON value (its keys left out): what a body must not
    contain when it may show none of that value."""
    if isinstance(value, dict):
        return set().union(*(leaves(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(leaves(v) for v in value))
    if isinstance(value, bool) or value is None:
        return set()
    return {str(value)}


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
    [
        f"/v1/orders/{ORDER}/timeline",
        f"/v1/customers/{CUSTOMER}/timeline",
        "/v1/orders",
        "/v1/customers",
        "/v1/breaches",
        "/v1/me",
    ],
)
def test_bad_tokens_are_401(client: TestClient, header: str | None, path: str) -> None:
    headers = {"Authorization": header} if header is not None else {}
    body = assert_json_error(client.get(path, headers=headers), 401)
    assert body["error"] == "unauthorized"


def test_non_latin1_token_is_a_clean_4xx(client: TestClient) -> None:
    raw_header = "Bearer tökén".encode()
    response = client.get(f"/v1/orders/{ORDER}/timeline", headers={"Authorization": raw_header})
    assert assert_json_error(response, 401)["error"] == "unauthorized"


def test_another_departments_order_is_403_without_its_data(client: TestClient) -> None:
    response = client.get(f"/v1/orders/{ORDER}/timeline", headers=bearer("marketing"))
    body = assert_json_error(response, 403)
    assert body["error"] == "forbidden"
    assert "amount" not in response.text
    assert "payment" not in response.text


@pytest.mark.parametrize("department", sorted(set(DEFAULT_DEPARTMENTS) - MAY_OPEN["customer"]))
def test_another_departments_customer_is_403_without_its_data(
    client: TestClient, department: str
) -> None:
    """The customer timeline is refused like the order one: the answer names the refusal
    and holds nothing of what the sales department sees on that timeline."""
    full = client.get(f"/v1/customers/{CUSTOMER}/timeline", headers=bearer("sales")).json()
    response = client.get(f"/v1/customers/{CUSTOMER}/timeline", headers=bearer(department))
    body = assert_json_error(response, 403)
    assert body == {
        "error": "forbidden",
        "detail": f"department {department!r} may not see this customer timeline",
    }
    shown = leaves(full["events"]) | {e["id"] for e in full["events"]} | {full["waiting_since"]}
    assert {value for value in shown if value in response.text} == set()


@pytest.mark.parametrize("department", DEFAULT_DEPARTMENTS)
@pytest.mark.parametrize(
    ("path", "kind", "ident"),
    [
        ("/v1/orders", "order", ORDER),
        ("/v1/customers", "customer", CUSTOMER),
    ],
)
def test_lists_name_only_timelines_the_department_may_open(
    client: TestClient, department: str, path: str, kind: str, ident: str
) -> None:
    """A list row is the timeline's id, stage, owner and waiting time: a department that
    would be refused the timeline (403) must not read them from the list instead."""
    response = client.get(path, headers=bearer(department))
    assert response.status_code == 200, response.text
    opens = client.get(f"/v1/{kind}s/{ident}/timeline", headers=bearer(department))
    if department in MAY_OPEN[kind]:
        assert opens.status_code == 200
        assert [row["id"] for row in response.json()] == [ident]
    else:
        assert opens.status_code == 403
        assert response.json() == []
        assert ident not in response.text


@pytest.mark.parametrize("department", DEFAULT_DEPARTMENTS)
def test_breaches_reach_only_their_owner_and_escalation(
    breached_client: TestClient, department: str
) -> None:
    """The dispatch breach belongs to logistics and is escalated to management; every other
    department's list holds nothing of it."""
    response = breached_client.get("/v1/breaches", headers=bearer(department))
    assert response.status_code == 200, response.text
    rows = response.json()
    if department in ("logistics", "management"):
        assert [(r["subject"], r["rule"], r["owner"], r["escalate_to"]) for r in rows] == [
            ({"kind": "order", "id": ORDER}, "dispatch", "logistics", "management")
        ]
    else:
        assert rows == []
        assert ORDER not in response.text
        assert CUSTOMER not in response.text


@pytest.mark.parametrize("department", sorted(MAY_OPEN["customer"]))
def test_a_customer_timeline_shows_only_the_clocks_of_what_the_department_sees(
    breached_client: TestClient, department: str
) -> None:
    """A customer's timeline gathers the clocks of all its orders. A department that may
    open the customer but not the order (marketing) must not read the order's id, its
    deadline and its breach there; the order's departments, and the clock's owner and
    escalation, do."""
    response = breached_client.get(f"/v1/customers/{CUSTOMER}/timeline", headers=bearer(department))
    assert response.status_code == 200, response.text
    body = response.json()
    subjects = [c["subject"] for c in body["clocks"] + body["breaches"]]
    if department in MAY_OPEN["order"]:
        assert subjects == [{"kind": "order", "id": ORDER}] * 2
    else:
        assert subjects == []
        assert ORDER not in response.text


def test_the_customer_timeline_has_the_contract_fields(breached_client: TestClient) -> None:
    """The contract's fields on a customer timeline: id, stage, owner, waiting_since, the
    open SLA clocks and breaches of its orders, and its events in timeline order, each with
    id, type, time, source and data."""
    response = breached_client.get(f"/v1/customers/{CUSTOMER}/timeline", headers=bearer("sales"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert (body["id"], body["kind"], body["department"]) == (CUSTOMER, "customer", "sales")
    assert (body["stage"], body["owner"]) == ("active", "sales")
    assert body["waiting_since"] == "2026-11-02T09:00:00Z", "active since the order at +1h"
    dispatch = {
        "subject": {"kind": "order", "id": ORDER},
        "rule": "dispatch",
        "owner": "logistics",
        "status": "breached",
        "deadline": "2026-11-04T10:00:00Z",
    }
    assert [{k: c[k] for k in dispatch} for c in body["clocks"]] == [dispatch]
    assert [{k: c[k] for k in dispatch} for c in body["breaches"]] == [dispatch]
    events = body["events"]
    assert [e["type"] for e in events] == ["customer.created", "order.placed", "payment.received"]
    assert [e["time"] for e in events] == [
        "2026-11-02T08:00:00Z",
        "2026-11-02T09:00:00Z",
        "2026-11-02T10:00:00Z",
    ]
    assert [e["source"] for e in events] == [
        "/connectors/hubspot",
        "/connectors/odoo",
        "/connectors/odoo",
    ]
    for event in events:
        assert {"id", "type", "time", "source", "data"} <= set(event), event
        assert isinstance(event["id"], str)
        assert event["id"]
        assert event["data"]["customer_id"] == CUSTOMER
    assert len({e["id"] for e in events}) == len(events)
    breach_ids = {c["breach_event_id"] for c in body["breaches"]}
    management = breached_client.get(
        f"/v1/customers/{CUSTOMER}/timeline", headers=bearer("management")
    ).json()
    assert breach_ids == {e["id"] for e in management["events"] if e["type"] == "sla.breached"}


@pytest.mark.parametrize(
    ("order_id", "answered_by"),
    [
        # an encoded slash is decoded before routing: extra path segments match no route
        ("..%2F..%2F..%2Fetc%2Fpasswd", "router"),
        ("%2e%2e%2f%2e%2e%2fhub.yaml", "router"),
        ("....//....//etc//passwd", "router"),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", "router"),
        # the test client decodes a path twice (uvicorn once: test_dot_segments_never_reach_files)
        ("..%252F..%252Fetc%252Fpasswd", "router"),
        # one path segment: the handler asks the store, which does not know it
        ("..\\..\\windows\\win.ini", "store"),
        ("..%5C..%5Chub.yaml", "store"),
        ("%2e%2e", "store"),
        ("%00", "store"),
        ("odoo:SO-77%00.json", "store"),
        ("odoo:SO-77'%20OR%20'1'='1", "store"),
        ("odoo:SO-77%22%3B%20DROP%20TABLE%20timeline_events%3B--", "store"),
        ("G-1%20OR%201=1", "store"),
        ("%25", "store"),
        ("G-%25", "store"),
        ("G-_", "store"),
        ("odoo:SO-7_", "store"),
        ("odoo:SO-7*", "store"),
        ("odoo:SO-77%20", "store"),
        ("ODOO:SO-77", "store"),
        ("odoo:SO-77%0D%0AX-Injected:%201", "store"),
        ("%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", "store"),
        ("%F0%9F%92%A3", "store"),
        ("%FF%FE", "store"),
        ("nope", "store"),
    ],
)
def test_traversal_and_injection_ids_are_404(
    client: TestClient, order_id: str, answered_by: str
) -> None:
    """An id the store does not know is a 404 whatever it looks like: SQL, LIKE wildcards,
    markup and traversal find nothing and break nothing; an id whose decoded form has a
    slash is a 404 for a path no route serves."""
    for kind, noun in (("orders", "order"), ("customers", "customer")):
        response = client.get(f"/v1/{kind}/{order_id}/timeline", headers=bearer("finance"))
        body = assert_json_error(response, 404)
        assert body["error"] == "not_found"
        if answered_by == "router":
            assert body["detail"] == "Not Found"
        else:
            assert str(body["detail"]).startswith(f"no {noun} "), body
        assert not {line for line in FILE_CONTENT if line in response.text}
        assert "x-injected" not in response.headers
    # the store is intact after the injection attempts
    assert client.get(f"/v1/orders/{ORDER}/timeline", headers=bearer("finance")).status_code == 200


class Recorder:
    """An ASGI wrapper that keeps the path and raw path of every HTTP request it passes on:
    what the server handed the app, after its own parsing and before any routing."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.seen: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["path"], scope["raw_path"]))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Recorder]]:
    """The translator and timeline behind a real uvicorn server, as ``hub up`` runs them:
    request targets reach it byte for byte, as no HTTP client library would send them."""
    with assembled(tmp_path_factory.mktemp("served"), (translator, timeline_at_now)) as app:
        recorder = Recorder(app)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield port, recorder
        server.should_exit = True
        thread.join(10)


def raw_get(port: int, target: bytes, department: str) -> tuple[int, dict[str, str], bytes]:
    """``GET target`` written on a socket as is: status, headers and body of the answer."""
    request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n" % (
        target,
        TOKENS[department].encode(),
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request + b"Connection: close\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("target", "path", "answered_by"),
    [
        (b"/v1/orders/../../etc/passwd", "/v1/orders/../../etc/passwd", "router"),
        (b"/v1/../hub.yaml", "/v1/../hub.yaml", "router"),
        (b"/../../.hub/timeline.db", "/../../.hub/timeline.db", "router"),
        (b"/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd", "router"),
        (b"/v1/orders/%2e%2e/%2E%2E/etc/passwd", "/v1/orders/../../etc/passwd", "router"),
        (b"/..%2f..%2fetc%2fpasswd", "/../../etc/passwd", "router"),
        (
            b"/v1/orders/..%2F..%2F..%2Fetc%2Fpasswd/timeline",
            "/v1/orders/../../../etc/passwd/timeline",
            "router",
        ),
        # a normalising server would turn these into the order's own timeline (a 200)
        (b"/v1/orders/x/../odoo:SO-77/timeline", "/v1/orders/x/../odoo:SO-77/timeline", "router"),
        (
            b"/v1/orders/x%2F..%2Fodoo:SO-77/timeline",
            "/v1/orders/x/../odoo:SO-77/timeline",
            "router",
        ),
        (
            b"/v1/orders/odoo:SO-77/timeline/../../../../etc/passwd",
            "/v1/orders/odoo:SO-77/timeline/../../../../etc/passwd",
            "router",
        ),
        (
            b"/v1/customers/lookup/../../../etc/passwd",
            "/v1/customers/lookup/../../../etc/passwd",
            "router",
        ),
        (b"/docs/../../../etc/passwd", "/docs/../../../etc/passwd", "router"),
        (b"//etc/passwd", "//etc/passwd", "router"),
        # one segment ``..`` (or backslashes, which are no separator): the store is asked
        (
            b"/v1/orders/..%252F..%252Fetc%252Fpasswd/timeline",
            "/v1/orders/..%2F..%2Fetc%2Fpasswd/timeline",
            "store",
        ),
        (b"/v1/orders/../timeline", "/v1/orders/../timeline", "store"),
        (b"/v1/customers/%2e%2e/timeline", "/v1/customers/../timeline", "store"),
        (
            b"/v1/orders/..\\..\\..\\etc\\passwd/timeline",
            "/v1/orders/..\\..\\..\\etc\\passwd/timeline",
            "store",
        ),
        (
            b"/v1/customers/..%5C..%5Chub.yaml/timeline",
            "/v1/customers/..\\..\\hub.yaml/timeline",
            "store",
        ),
    ],
)
def test_dot_segments_never_reach_files(
    served: tuple[int, Recorder], target: bytes, path: str, answered_by: str
) -> None:
    """Dot segments, encoded dots, encoded slashes and backslashes reach the app unresolved
    (the recorder sees the very bytes sent) and get the JSON 404: there is no route that
    reads a file, and the store treats what it is given as an id."""
    port, recorder = served
    recorder.seen.clear()
    status, headers, body = raw_get(port, target, "finance")
    assert recorder.seen == [(path, target)], "the request reached the app as sent"
    text = body.decode("utf-8", "replace")
    assert not {line for line in FILE_CONTENT if line in text}, text[:300]
    assert "Traceback" not in text
    assert status == 404, text[:300]
    assert headers["content-type"].startswith("application/json"), headers
    error = orjson.loads(body)
    assert error["error"] == "not_found", error
    if answered_by == "router":
        assert error == {"error": "not_found", "detail": "Not Found"}
    else:
        assert str(error["detail"]).startswith(("no order ", "no customer ")), error


def test_the_raw_server_still_serves_the_order(served: tuple[int, Recorder]) -> None:
    """The baseline of the raw requests: the same socket path reads a real timeline."""
    port, recorder = served
    recorder.seen.clear()
    status, _, body = raw_get(port, f"/v1/orders/{ORDER}/timeline".encode(), "finance")
    assert status == 200, body[:300]
    assert orjson.loads(body)["id"] == ORDER


@pytest.mark.parametrize("size", [1_000, 60_000])  # httpx caps URLs at 64 KiB
def test_huge_ids_are_a_clean_4xx(client: TestClient, size: int) -> None:
    """No length limit applies to an id inside the app: a huge one is simply unknown."""
    for kind in ("orders", "customers"):
        response = client.get(f"/v1/{kind}/{'9' * size}/timeline", headers=bearer("finance"))
        body = assert_json_error(response, 404)
        assert body["error"] == "not_found"
        # the message names the id, cut short: the answer does not grow with the id
        assert f"({size:,} characters)" in str(body["detail"])
        assert len(response.content) < 400, response.content[:500]


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/customers", "/v1/breaches"])
@pytest.mark.parametrize("limit", ["0", "-1", "201", "abc", "1e9", "99999999999999999999999", ""])
def test_bad_query_parameters_are_4xx_json(client: TestClient, path: str, limit: str) -> None:
    response = client.get(f"{path}?limit={limit}", headers=bearer("finance"))
    body = assert_json_error(response, 400)
    assert body["error"] == "bad_request"
    assert "limit" in str(body["detail"])


def test_the_lookup_is_not_served_by_the_timeline_service(client: TestClient) -> None:
    # the lookup belongs to the translator (tests/integration/test_translator.py); here the
    # path is simply unknown, and the answer is still the JSON error shape
    response = client.get("/v1/customers/lookup?system=x&id=y", headers=bearer("finance"))
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found"}


@contextlib.contextmanager
def lookup_app(*, loaded: bool) -> Iterator[TestClient]:
    """The translator's lookup routes with the error handlers of every ``hub`` app, on an
    identity map that knows :data:`KNOWN_IDENTITIES` once ``loaded``."""
    resolver = IdentityResolver()
    resolver.observe(*KNOWN_IDENTITIES[0], (), ())
    resolver.observe(*KNOWN_IDENTITIES[1], (), (":".join(KNOWN_IDENTITIES[0]),))
    cluster = KafkaCluster(f"127.0.0.1:{free_port()}", "embedded", EMBEDDED_CAPABILITIES)
    store = IdentityStore(cluster, resolver)
    if loaded:
        store.ready.set()
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(lookup_routes(store))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def lookup() -> Iterator[TestClient]:
    with lookup_app(loaded=True) as test_client:
        yield test_client


def test_lookup_answers_without_a_token(lookup: TestClient) -> None:
    """The baseline: both linked identities name the same golden id, and no token is asked
    for (the contract names none for the lookup)."""
    answers = []
    for system, source_id in KNOWN_IDENTITIES:
        response = lookup.get("/v1/customers/lookup", params={"system": system, "id": source_id})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["system"], body["id"]) == (system, source_id)
        answers.append(body["customer_id"])
    assert len(set(answers)) == 1
    assert str(answers[0]).startswith("cust-")


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        ("", "system, id"),
        ("?system=crm", "id"),
        ("?id=co/5", "system"),
        ("?system=&id=", "system, id"),
        ("?system=crm&id=", "id"),
        ("?system=&id=co/5", "system"),
        ("?System=crm&ID=co/5", "system, id"),
        ("?system", "system, id"),
        ("?id[]=co/5&system[]=crm", "system, id"),
    ],
)
def test_lookup_without_its_parameters_is_400(lookup: TestClient, query: str, missing: str) -> None:
    body = assert_json_error(lookup.get(f"/v1/customers/lookup{query}"), 400)
    assert body == {"error": "bad_request", "detail": f"missing query parameter(s): {missing}"}


def lookup_query(system: str, source_id: str) -> str:
    return str(httpx.QueryParams({"system": system, "id": source_id}))


@pytest.mark.parametrize(
    "params",
    [
        lookup_query("crm", "nobody"),
        lookup_query("nosuchsystem", "co/5"),
        lookup_query("CRM", "co/5"),
        lookup_query("crm", "co/5 "),
        lookup_query(" ", " "),
        lookup_query("crm", "9" * 60_000),
        lookup_query("c" * 10_000, "co/5"),
        lookup_query("crm", "' OR '1'='1"),
        lookup_query("crm' --", "co/5"),
        lookup_query("crm", "co/5'; DROP TABLE identities;--"),
        lookup_query("crm", "%"),
        lookup_query("crm", "co/_"),
        lookup_query("crm", "*"),
        lookup_query("crm", "<script>alert(1)</script>"),
        lookup_query("<script>alert(1)</script>", "co/5"),
        lookup_query("crm", "../../../etc/passwd"),
        lookup_query("../../etc", "passwd"),
        lookup_query("crm", "..\\..\\hub.yaml"),
        lookup_query("crm", "..%2F..%2Fetc%2Fpasswd"),
        lookup_query("crm", "co/5\x00"),
        "system=crm&id=co%2F5%00",
        "system=crm&id=%FF%FE",
        "system=crm&id=co/5&id=nobody",
    ],
)
def test_lookup_abuse_is_a_json_404(lookup: TestClient, params: str) -> None:
    """Whatever the identity looks like, an unknown one is a 404 in JSON: never an HTML
    page that would run an echoed script, never a file, never a 5xx."""
    response = lookup.get(f"/v1/customers/lookup?{params}")
    body = assert_json_error(response, 404)
    assert body["error"] == "not_found"
    assert "text/html" not in response.headers["content-type"]
    assert not {line for line in FILE_CONTENT if line in response.text}
    assert "customer_id" not in body


def test_a_huge_unknown_identity_is_a_short_404(lookup: TestClient) -> None:
    response = lookup.get("/v1/customers/lookup", params={"system": "crm", "id": "7" * 60_000})
    body = assert_json_error(response, 404)
    assert body == {
        "error": "not_found",
        "detail": f"unknown identity: system 'crm', id '{'7' * 119}... (60,000 characters)",
    }


def test_lookup_is_503_while_the_identity_map_loads() -> None:
    """Until the map is rebuilt from hub.identity a lookup cannot tell unknown from not yet
    read: 503, not a 404 that a caller would take for an answer. Missing parameters are
    still the caller's 400."""
    with lookup_app(loaded=False) as loading:
        system, source_id = KNOWN_IDENTITIES[0]
        response = loading.get("/v1/customers/lookup", params={"system": system, "id": source_id})
        body = assert_json_error(response, 503)
        assert body == {"error": "not_ready", "detail": "identity map is still loading"}
        assert assert_json_error(loading.get("/v1/customers/lookup"), 400)["error"] == (
            "bad_request"
        )


def test_lookup_in_the_assembled_hub_is_503_until_the_map_loads(
    hub_up_client: TestClient,
) -> None:
    """With no broker the map never loads: the assembled app answers 503 without a token,
    the bad request 400, and serves the timelines beside it all the while."""
    for headers in ({}, bearer("finance"), {"Authorization": "Bearer wrong"}):
        response = hub_up_client.get(
            "/v1/customers/lookup", params={"system": "crm", "id": "co/5"}, headers=headers
        )
        assert assert_json_error(response, 503)["error"] == "not_ready"
        response = hub_up_client.get("/v1/customers/lookup?system=crm", headers=headers)
        assert assert_json_error(response, 400)["error"] == "bad_request"
    readiness = hub_up_client.get("/readyz").json()
    assert readiness["checks"]["services"]["loading"] == {
        "translator": "identity map is still loading"
    }
    timeline = hub_up_client.get(f"/v1/orders/{ORDER}/timeline", headers=bearer("finance"))
    assert timeline.status_code == 200

"""Every non-success HTTP answer is ``{"error", "detail"}`` JSON, never a traceback."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.runtime.errors import error_code, install_error_handlers, shown


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items/{item_id}")
    async def item(item_id: int, limit: int = 10) -> dict[str, int]:
        return {"id": item_id, "limit": limit}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal state")

    return app


def test_a_bad_parameter_is_400_naming_it() -> None:
    response = TestClient(_app()).get("/items/7?limit=lots")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    assert "limit" in body["detail"]


def test_an_unknown_path_is_a_json_404() -> None:
    response = TestClient(_app()).get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not Found"}


def test_a_wrong_method_is_a_json_405() -> None:
    response = TestClient(_app()).post("/items/7")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_an_unexpected_failure_is_a_json_500_without_the_traceback() -> None:
    response = TestClient(_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    assert "secret internal state" not in response.text
    assert "Traceback" not in response.text


def test_error_codes_follow_the_reason_phrase() -> None:
    assert error_code(401) == "unauthorized"
    assert error_code(413) == "request_entity_too_large" or error_code(413) == "content_too_large"
    assert error_code(599) == "error"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("S00042", "'S00042'"),
        ("x" * 118, repr("x" * 118)),  # 120 characters quoted: shown whole
        ("x" * 119, "'" + "x" * 119 + "... (119 characters)"),
        ("\x00" * 1000, "'" + "\\x00" * 29 + "\\x0... (1,000 characters)"),
    ],
)
def test_a_value_in_a_message_is_cut_to_120_quoted_characters(value: str, expected: str) -> None:
    assert shown(value) == expected

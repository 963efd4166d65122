"""One JSON error shape for every HTTP answer that is not a success.

Users and scripts read ``{"error": <code>, "detail": <message>}`` whatever went wrong: a bad
query parameter is a 400 naming the parameter (FastAPI's default 422 list is for forms, not
for an integration API), an unknown path a JSON 404, and an unexpected failure a JSON 500
whose detail points to the log, never a traceback in the response.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


def error_code(status: int) -> str:
    """``404`` -> ``not_found``: the HTTP reason phrase as a stable snake-case code."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


#: How many characters of a value the client sent an error message repeats.
SHOWN = 120


def shown(value: str, limit: int = SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters, then the value's length: a message
    names what was asked without sending a 60 KB id back to its sender (the cut is of the
    quoted text, so escapes cannot make it longer)."""
    quoted = repr(value)
    if len(quoted) <= limit:
        return quoted
    return f"{quoted[:limit]}... ({len(value):,} characters)"


def error_response(status: int, detail: object, code: str | None = None) -> JSONResponse:
    return JSONResponse({"error": code or error_code(status), "detail": detail}, status_code=status)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for this class only
    response = error_response(exc.status_code, exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this class only
    problems = "; ".join(
        f"{'.'.join(str(part) for part in err.get('loc', ()))}: {err.get('msg', 'invalid')}"
        for err in exc.errors()
    )
    return error_response(400, problems or "invalid request", "bad_request")


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error answering %s %s",
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return error_response(500, "unexpected error; the service log has the details", "internal")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)

"""``GET /v1/orders/{id}/timeline`` and ``GET /v1/customers/{id}/timeline`` (the contract).

401 without a valid department token, 403 when the department may see none of the
timeline's events (it has no route to them), 404 for an id the store does not know. The
lists (``/v1/orders``, ``/v1/customers``) hold only the timelines the department may open:
a timeline it would be refused is not named there either. Every error is
``{"error": ..., "detail": ...}``. The handlers are plain functions: FastAPI runs them in
its thread pool, where the synchronous store belongs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from hub.api.auth import department_for
from hub.api.views import may_see, timeline_view
from hub.config import HubConfig
from hub.runtime.errors import shown
from hub.timeline.clocks import Now
from hub.timeline.ordering import parse_time_key
from hub.timeline.store import Kind, StoredTimeline, TimelineStore
from schemas.envelope import format_time


class ErrorBody(BaseModel):
    error: str
    detail: str


class TimelineEventBody(BaseModel):
    id: str
    type: str
    time: str
    source: str
    subject: str | None = None
    lane: str
    data: Any


class TimelineBody(BaseModel):
    """The timeline as the caller's department may see it (fields beyond these may follow)."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    requested_id: str
    department: str
    process: str | None
    stage: str | None
    owner: str | None
    waiting_since: str | None
    next_stage: str | None
    done: bool
    stages: list[dict[str, Any]]
    clocks: list[dict[str, Any]]
    breaches: list[dict[str, Any]]
    systems: list[str]
    lanes: list[dict[str, Any]]
    events: list[TimelineEventBody]
    #: Customer timelines: the ids merged into this one.
    merged_ids: list[str] = []
    #: The reading time the clocks were evaluated at.
    now: str


class SummaryBody(BaseModel):
    id: str
    process: str | None
    stage: str | None
    owner: str | None
    waiting_since: str | None
    done: bool
    updated: str


class BreachBody(BaseModel):
    subject: dict[str, str]
    process: str
    rule: str
    owner: str | None
    escalate_to: str | None
    deadline: str | None
    emitted_at: str | None
    event_id: str
    order_id: str | None
    customer_id: str | None


def error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or unknown department token"},
    403: {"model": ErrorBody, "description": "the department may see none of these events"},
    404: {"model": ErrorBody, "description": "unknown id"},
}
#: How many of the latest timelines of a kind a list looks through for the ones the caller's
#: department may open (each one is read to decide): a department that may open few of
#: them gets a shorter list rather than a scan of the whole store.
LIST_SCAN = 1000
Authorization = Annotated[
    str | None, Header(description="Bearer <department token>", include_in_schema=True)
]


def timeline_router(store: TimelineStore, config: HubConfig, now: Now) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["timelines"])

    def answer(
        department: str, kind: str, asked: str, stored: StoredTimeline | None
    ) -> JSONResponse | dict[str, Any]:
        if stored is None:
            return error(404, "not_found", f"no {kind} {shown(asked)} on any timeline")
        view = timeline_view(stored, department=department, config=config, now=now())
        if view is None:
            return error(
                403, "forbidden", f"department {department!r} may not see this {kind} timeline"
            )
        return view

    def authorized(authorization: str | None) -> str | JSONResponse:
        department = department_for(config, authorization)
        if department is None:
            return error(401, "unauthorized", "send Authorization: Bearer <department token>")
        return department

    @router.get(
        "/orders/{order_id}/timeline",
        response_model=TimelineBody,
        responses=ERRORS,
        summary="An order's timeline as the caller's department may see it",
    )
    def order_timeline(
        order_id: str, authorization: Authorization = None
    ) -> JSONResponse | dict[str, Any]:
        if isinstance(checked := authorized(authorization), JSONResponse):
            return checked
        return answer(checked, "order", order_id, store.order_timeline(order_id))

    @router.get(
        "/customers/{customer_id}/timeline",
        response_model=TimelineBody,
        responses=ERRORS,
        summary="A customer's timeline across every system and merged id",
    )
    def customer_timeline(
        customer_id: str, authorization: Authorization = None
    ) -> JSONResponse | dict[str, Any]:
        if isinstance(checked := authorized(authorization), JSONResponse):
            return checked
        return answer(checked, "customer", customer_id, store.customer_timeline(customer_id))

    def visible_recent(kind: Kind, department: str, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` of the latest timelines of ``kind`` that ``department`` may open,
        looking through at most :data:`LIST_SCAN` of the latest of all departments."""
        load = store.order_timeline if kind == "order" else store.customer_timeline
        found: list[dict[str, Any]] = []
        looked: set[str] = set()
        fetch = limit
        while True:
            rows = store.recent(kind, fetch)
            for row in rows:
                if row["agg_id"] in looked:
                    continue
                looked.add(row["agg_id"])
                stored = load(row["agg_id"])
                if stored is not None and may_see(stored, department, config):
                    found.append(row)
                    if len(found) == limit:
                        return found
            if len(rows) < fetch or fetch >= LIST_SCAN:
                return found
            fetch = min(fetch * 4, LIST_SCAN)

    def recent(kind: Kind, authorization: str | None, limit: int) -> JSONResponse | list[Any]:
        if isinstance(checked := authorized(authorization), JSONResponse):
            return checked
        return [
            {
                "id": row["agg_id"],
                "process": row["process"],
                "stage": row["stage"],
                "owner": row["owner"],
                "waiting_since": _iso(row["waiting_since"]),
                "done": bool(row["done"]),
                "updated": _iso(row["updated_time"]),
            }
            for row in visible_recent(kind, checked, limit)
        ]

    @router.get(
        "/orders",
        response_model=list[SummaryBody],
        responses={401: ERRORS[401]},
        summary="Orders the caller's department may open, latest first (ids and stages only)",
    )
    def recent_orders(
        authorization: Authorization = None, limit: Annotated[int, Query(ge=1, le=200)] = 20
    ) -> JSONResponse | list[Any]:
        return recent("order", authorization, limit)

    @router.get(
        "/customers",
        response_model=list[SummaryBody],
        responses={401: ERRORS[401]},
        summary="Customers the caller's department may open, latest first (ids and stages only)",
    )
    def recent_customers(
        authorization: Authorization = None, limit: Annotated[int, Query(ge=1, le=200)] = 20
    ) -> JSONResponse | list[Any]:
        return recent("customer", authorization, limit)

    @router.get(
        "/breaches",
        response_model=list[BreachBody],
        responses={401: ERRORS[401]},
        summary="SLA breaches the caller's department answers for or is escalated, latest first",
    )
    def breaches(
        authorization: Authorization = None, limit: Annotated[int, Query(ge=1, le=200)] = 20
    ) -> JSONResponse | list[Any]:
        if isinstance(checked := authorized(authorization), JSONResponse):
            return checked
        return [
            {
                "subject": {"kind": row["kind"], "id": row["agg_id"]},
                "process": row["process"],
                "rule": row["rule"],
                "owner": row["owner"],
                "escalate_to": row["escalate_to"],
                "deadline": _iso(row["deadline"]),
                "emitted_at": _iso(row["emitted_at"]),
                "event_id": row["event_id"],
                "order_id": row["order_id"],
                "customer_id": row["customer_id"],
            }
            for row in store.breaches(checked, limit)
        ]

    @router.get(
        "/me",
        response_model=dict[str, str],
        responses={401: ERRORS[401]},
        summary="The department of a token",
    )
    def me(authorization: Authorization = None) -> JSONResponse | dict[str, str]:
        if isinstance(checked := authorized(authorization), JSONResponse):
            return checked
        return {"department": checked}

    return router


def _iso(key: str | None) -> str | None:
    return None if key is None else format_time(parse_time_key(key))

"""The timeline page at ``/``: static HTML and JavaScript, no build step.

The page holds no data of its own: it asks the JSON API with the department token the user
pastes, so it shows exactly what the API sends that department.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse


def page_html() -> str:
    return resources.files("hub.web").joinpath("index.html").read_text(encoding="utf-8")


def page_router() -> APIRouter:
    router = APIRouter(tags=["page"])
    html = page_html()

    @router.get("/", response_class=HTMLResponse, summary="The timeline page")
    def page() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    return router

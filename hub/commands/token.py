"""``hub token new DEPARTMENT``: a department API token and the hash to configure."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from hub.api.auth import new_token
from hub.commands.environment import fail
from hub.config import HubConfig

app = typer.Typer(help="Department API tokens for the timeline API.", no_args_is_help=True)


def _check_department(department: str) -> None:
    """Exit 2 unless hub.yaml accepts ``department`` as a department name (its own check)."""
    try:
        HubConfig.model_validate({"departments": {department: {}}})
    except ValidationError as exc:
        reasons = [str(err.get("ctx", {}).get("error") or err["msg"]) for err in exc.errors()]
        fail(f"{department!r} cannot be a department in hub.yaml: {'; '.join(reasons)}")


@app.command("new")
def new(department: Annotated[str, typer.Argument(help="department name, e.g. finance")]) -> None:
    """Print a fresh token (give it to the department) and its hash (put it in hub.yaml)."""
    _check_department(department)
    token, digest = new_token()
    typer.echo(f"token for {department} (shown once; hand it over, do not store it):\n  {token}")
    typer.echo(f"in hub.yaml:\n  departments:\n    {department}:\n      token_sha256: {digest}")

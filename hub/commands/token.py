"""``hub token new DEPARTMENT``: a department API token and the hash to configure."""

from __future__ import annotations

from typing import Annotated

import typer

from hub.api.auth import new_token

app = typer.Typer(help="Department API tokens for the timeline API.", no_args_is_help=True)


@app.command("new")
def new(department: Annotated[str, typer.Argument(help="department name, e.g. finance")]) -> None:
    """Print a fresh token (give it to the department) and its hash (put it in hub.yaml)."""
    token, digest = new_token()
    typer.echo(f"token for {department} (shown once; hand it over, do not store it):\n  {token}")
    typer.echo(f"in hub.yaml:\n  departments:\n    {department}:\n      token_sha256: {digest}")

"""``hub connector``: scaffold a connector package, list connector types and instances."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from connectors.kit.checkpoints import Checkpoint, KafkaCheckpoints
from connectors.kit.registry import UnknownConnectorType, connector_types, get_type
from connectors.kit.scaffold import ScaffoldError, generate
from connectors.kit.settings import masked, secret_fields
from hub.config import ConfigError, HubConfig, load_config
from hub.runtime.settings import KafkaSettings
from hub.topics import CHECKPOINTS
from schemas.envelope import KafkaRecord

app = typer.Typer(help="Connector types and instances.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="connector type name, e.g. acme_crm")],
    directory: Annotated[
        Path, typer.Option("--dir", help="where to create the package (default: here)")
    ] = Path(),
) -> None:
    """Scaffold a connector package (settings, source, translator, fixtures, contract tests)."""
    try:
        target = generate(name, directory)
    except ScaffoldError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"created {target}")
    typer.echo(f"next: cd {target} && pytest        (the contract suite passes as generated)")
    typer.echo("      pip install -e .             (makes 'hub connector list' show it)")


def _load_config() -> HubConfig:
    path = Path(os.environ.get("HUB_CONFIG", "hub.yaml"))
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _print_statuses(rows: list[dict[str, Any]]) -> None:
    typer.echo(f"{'INSTANCE':<20} {'TYPE':<12} {'STATE':<12} CURSORS / REASON")
    for row in rows:
        cursors = ", ".join(f"{k}={v}" for k, v in (row.get("cursors") or {}).items())
        detail = row.get("reason") or cursors or "-"
        typer.echo(f"{row['instance']:<20} {row['type']:<12} {row['state']:<12} {detail}")


@app.command("list")
def list_connectors(
    url: Annotated[
        str | None,
        typer.Option(help="a running hub (e.g. http://127.0.0.1:8080) to ask for live state"),
    ] = None,
) -> None:
    """Installed connector types, and configured instances with their state."""
    if url:
        try:
            response = httpx.get(url.rstrip("/") + "/v1/connectors", timeout=10)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise _fail(f"cannot read {url}/v1/connectors: {exc}") from None
        _print_statuses(response.json()["connectors"])
        return
    types = connector_types()
    typer.echo("Installed connector types:")
    for type_name, connector_type in types.items():
        typer.echo(f"  {type_name:<14} {connector_type.kind:<16} {connector_type.description}")
    if not types:
        typer.echo("  (none)")
    config = _load_config()
    cursors = _stored_cursors()
    typer.echo("\nConfigured instances (hub.yaml; --url URL shows live state):")
    if not config.connectors:
        typer.echo("  (none)")
    for name, instance in config.connectors.items():
        connector_type = types[instance.type]
        parsed = connector_type.parse_settings(instance.settings)
        settings = masked(parsed)
        state = "configured" if instance.enabled else "disabled"
        shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k in instance.settings)
        typer.echo(f"  {name:<18} {instance.type:<12} {state:<11} {shown}")
        entities = ", ".join(connector_type.entities_of(parsed))
        typer.echo(f"      entities: {entities} (topics raw.{name}.<entity>)")
        for _, checkpoint in sorted(cursors.items()):
            if checkpoint.instance == name:
                typer.echo(f"      cursor {checkpoint.stream}: {checkpoint.cursor}")


def _stored_cursors() -> dict[str, Checkpoint]:
    """Cursors on ``hub.checkpoints`` when ``KAFKA_BOOTSTRAP_SERVERS`` names a cluster."""
    kafka = KafkaSettings()
    if not kafka.bootstrap_servers:
        return {}
    options = {"bootstrap_servers": kafka.bootstrap_servers, **kafka.client_options()}
    store = KafkaCheckpoints(_NoPublisher(), options, CHECKPOINTS)
    try:
        return asyncio.run(store.load(timeout=15))
    except Exception as exc:  # noqa: BLE001 - the list still shows hub.yaml
        typer.secho(f"(cursors unavailable: {type(exc).__name__}: {exc})", err=True)
        return {}


class _NoPublisher:
    async def send(self, topic: str, record: KafkaRecord) -> Awaitable[Any]:
        raise RuntimeError("hub connector list only reads checkpoints")


@app.command("describe")
def describe(name: Annotated[str, typer.Argument(help="an installed connector type")]) -> None:
    """A connector type's entities and settings, from its settings model."""
    try:
        connector_type = get_type(name)
    except UnknownConnectorType as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{connector_type.name} ({connector_type.kind}): {connector_type.description}")
    if connector_type.per_instance_entities:
        typer.echo("entities: per instance, from its settings (hub connector list shows them)")
    else:
        typer.echo(f"entities: {', '.join(connector_type.entities)}")
    if connector_type.per_instance_translator:
        typer.echo("translator: per instance, built from its settings")
    secrets = set(secret_fields(connector_type.settings_model))
    typer.echo("settings (connectors.<instance>.<setting> in hub.yaml):")
    for field_name, field in connector_type.settings_model.model_fields.items():
        required = "required" if field.is_required() else f"default {field.default!r}"
        kind = "secret" if field_name in secrets else getattr(field.annotation, "__name__", "")
        typer.echo(f"  {field_name:<24} {kind:<8} {required:<24} {field.description or ''}")

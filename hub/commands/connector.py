"""``hub connector``: scaffold a connector package, list connector types and instances."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic.fields import FieldInfo

from connectors.kit.checkpoints import Checkpoint, KafkaCheckpoints
from connectors.kit.registry import UnknownConnectorType, connector_types, get_type
from connectors.kit.scaffold import ScaffoldError, generate
from connectors.kit.settings import masked, secret_fields
from hub.commands.environment import load_hub_config, load_settings
from hub.config import HubConfig
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


def _load_config() -> tuple[HubConfig, KafkaSettings]:
    """``hub.yaml`` and the ``KAFKA_*`` settings as ``hub run`` loads them: an invalid
    environment, or a ``HUB_CONFIG`` naming a missing or unusable file, exits 2 (a missing
    ``hub.yaml`` that nobody named means the shipped defaults)."""
    settings, kafka = load_settings()
    return load_hub_config(settings), kafka


_STATUS_KEYS = ("instance", "type", "state")


def _statuses(url: str, response: httpx.Response) -> list[dict[str, Any]]:
    """The rows of a hub's ``GET /v1/connectors``; exit 2 naming what else ``url`` answered."""
    where = f"{url} did not answer a hub's connector list"
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise _fail(f"{where}: the answer is not JSON ({kind})") from None
    rows = body.get("connectors") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise _fail(f"{where}: the JSON has no 'connectors' list")
    for row in rows:
        if not isinstance(row, dict) or any(key not in row for key in _STATUS_KEYS):
            raise _fail(f"{where}: a row lacks {', '.join(_STATUS_KEYS)}: {row!r:.80}")
    return rows


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
            # a status error's text adds a line pointing at MDN's page on the status
            reason = str(exc).partition("\n")[0] or type(exc).__name__
            raise _fail(f"cannot read {url}/v1/connectors: {reason}") from None
        _print_statuses(_statuses(url, response))
        return
    types = connector_types()
    typer.echo("Installed connector types:")
    for type_name, connector_type in types.items():
        typer.echo(f"  {type_name:<14} {connector_type.kind:<16} {connector_type.description}")
    if not types:
        typer.echo("  (none)")
    config, kafka = _load_config()
    cursors = _stored_cursors(kafka)
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


def _stored_cursors(kafka: KafkaSettings) -> dict[str, Checkpoint]:
    """Cursors on ``hub.checkpoints`` when ``KAFKA_BOOTSTRAP_SERVERS`` names a cluster."""
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
        required = "required" if field.is_required() else f"default {_default(field)}"
        kind = "secret" if field_name in secrets else getattr(field.annotation, "__name__", "")
        typer.echo(f"  {field_name:<24} {kind:<8} {required:<24} {field.description or ''}")


def _default(field: FieldInfo) -> str:
    """A setting's default; for a ``default_factory`` the value it makes, or ``(computed)``
    when it needs the other settings or fails without them."""
    if field.default_factory is None:
        return repr(field.default)
    try:  # a factory taking the validated data raises ValueError without it
        return repr(field.get_default(call_default_factory=True))
    except Exception:  # noqa: BLE001 - a factory that fails here is still a default
        return "(computed)"

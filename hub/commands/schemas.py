"""``hub schemas`` and ``hub docs``: schema artefacts and the compatibility gate.

Everything here is generated from the models in :mod:`schemas`; nothing is written twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from faststream.specification import AsyncAPI

import hub
from hub.commands.environment import fail
from hub.config import HubConfig
from hub.runtime.app import ServiceHost, make_runtime
from hub.runtime.cluster import APACHE_KAFKA_CAPABILITIES, KafkaCluster
from hub.runtime.service import Runtime, Service, ServiceFactory
from hub.runtime.settings import HubSettings
from hub.services import ONE_HOP, SERVICES
from schemas.asyncapi import add_canonical_channels, normalize_keys
from schemas.compat import SNAPSHOT_DIR, check, write_snapshots
from schemas.docs import render_markdown
from schemas.jsonschema import dumps, export_schemas
from schemas.registry import REGISTRY, SchemaError, field_labels

app = typer.Typer(help="Canonical schemas: export, snapshots, compatibility.", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation artefacts.", no_args_is_help=True)

SCHEMAS_DOC = Path("docs/schemas.md")
ASYNCAPI_SERVER = "kafka"

SnapshotOption = Annotated[
    Path, typer.Option("--snapshots", help="snapshot folder (default: schemas/snapshots)")
]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)


@app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="folder to write <type>/v<n>.schema.json")],
) -> None:
    """Write the JSON Schema of every canonical type and version."""
    written = export_schemas(directory, REGISTRY)
    typer.echo(f"wrote {len(written)} JSON Schemas to {directory}")


@app.command("check")
def check_command(
    snapshots: SnapshotOption = SNAPSHOT_DIR,
    update: Annotated[
        bool, typer.Option("--update", help="record snapshots of new versions (never rewrites)")
    ] = False,
) -> None:
    """Fail on a breaking change against the committed snapshots."""
    if not snapshots.is_dir():  # a mistyped folder would report every type as new
        fail(f"--snapshots {snapshots} is not a folder (the snapshots are in {SNAPSHOT_DIR})")
    report = check(snapshots, REGISTRY)
    for problem in report.errors:
        _fail(problem)
    for name in report.changed:
        _fail(
            f"{name}: compatible change not recorded in its snapshot "
            "(run 'hub schemas snapshot' and commit schemas/snapshots/)"
        )
    if report.new:
        if update and report.ok:
            for path in write_snapshots(snapshots, REGISTRY, compatible=False):
                typer.echo(f"recorded {path}")
        else:
            for name in report.new:
                _fail(
                    f"new: {name} has no snapshot yet: run 'hub schemas snapshot' and commit "
                    "schemas/snapshots/ (a released version must be recorded to be protected)"
                )
    if report.errors or report.changed or (report.new and not update):
        raise typer.Exit(1)
    where = snapshots.resolve()
    shown = where.relative_to(Path.cwd()) if where.is_relative_to(Path.cwd()) else where
    typer.echo(f"schemas compatible: {report.checked} type versions checked against {shown}")


@app.command("snapshot")
def snapshot(snapshots: SnapshotOption = SNAPSHOT_DIR) -> None:
    """Record new versions and compatible changes; a breaking change is never recorded."""
    report = check(snapshots, REGISTRY)
    written = write_snapshots(snapshots, REGISTRY)
    for path in written:
        typer.echo(f"recorded {path}")
    if report.errors:
        for problem in report.errors:
            _fail(problem)
        raise typer.Exit(1)
    if not written:
        typer.echo("snapshots up to date")


@app.command("labels")
def labels(event_type: Annotated[str, typer.Argument(help="e.g. order.placed")]) -> None:
    """Print the effective classification of every field of a type's current version."""
    try:
        model = REGISTRY.model_for(event_type)
    except SchemaError as exc:
        _fail(str(exc))
        raise typer.Exit(2) from exc
    for path, label in field_labels(model).items():
        typer.echo(f"{path:<40} {label.classification:<13} {'pii' if label.pii else ''}")


def _named(name: str, factory: ServiceFactory) -> ServiceFactory:
    """The factory, with a failure naming the service it could not assemble."""

    def build(runtime: Runtime) -> Service:
        try:
            return factory(runtime)
        except Exception as exc:
            raise RuntimeError(
                f"service {name!r} cannot be assembled for the AsyncAPI document: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    return build


def build_asyncapi() -> dict[str, Any]:
    """AsyncAPI 3.0 of every registered service plus the canonical channels.

    The services are assembled exactly as ``hub up`` assembles them (nothing connects), so
    FastStream documents each service's subscribers; the canonical topics are added from
    the models and the topic catalog.
    """
    config = HubConfig()
    cluster = KafkaCluster("kafka:9092", "external", APACHE_KAFKA_CAPABILITIES)
    runtime = make_runtime(HubSettings(), config, cluster)
    # the one-hop service reads and writes the same channels as translator and router
    services = [_named(n, f) for n, f in SERVICES.items() if n != ONE_HOP]
    ServiceHost(runtime, services)
    spec = AsyncAPI(
        runtime.broker,
        title="Handoff",
        version=hub.__version__,
        description="Event-driven integration hub: raw, canonical and department topics.",
        schema_version="3.0.0",
    ).to_specification()
    document: dict[str, Any] = normalize_keys(spec.to_jsonable())
    servers = document.get("servers") or {}
    if servers:
        # one server entry, named for what it is rather than FastStream's "development"
        (old_name, server), *_ = servers.items()
        document["servers"] = {ASYNCAPI_SERVER: server}
        raw = orjson.dumps(document).replace(
            f'"#/servers/{old_name}"'.encode(), f'"#/servers/{ASYNCAPI_SERVER}"'.encode()
        )
        document = orjson.loads(raw)
    return add_canonical_channels(
        document,
        departments=list(config.departments),
        server=ASYNCAPI_SERVER if servers else None,
    )


@docs_app.command("asyncapi")
def asyncapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """Write the AsyncAPI 3.0 document (JSON) of every service's channels and messages."""
    try:
        text = dumps(build_asyncapi())
    except RuntimeError as exc:
        _fail(str(exc))
        raise typer.Exit(1) from exc
    if output is None:
        typer.echo(text.decode(), nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(text)
        typer.echo(f"wrote {output}")


@docs_app.command("schemas")
def schemas_doc(
    output: Annotated[Path, typer.Option("--output", "-o")] = SCHEMAS_DOC,
    check_only: Annotated[
        bool, typer.Option("--check", help="fail if the file differs instead of writing it")
    ] = False,
) -> None:
    """Write docs/schemas.md from the models (``--check``: fail when it has drifted)."""
    text = render_markdown(REGISTRY)
    if check_only:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            _fail(f"{output} is out of date: run 'hub docs schemas'")
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")

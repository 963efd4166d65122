"""The ``hub`` command (also ``python -m hub``): the contract's CLI."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

import hub
from connectors.kit.config import raw_streams
from hub.commands import bench as bench_commands
from hub.commands import connector, ops
from hub.commands import dlq as dlq_commands
from hub.commands import schemas as schemas_commands
from hub.commands import token as token_commands
from hub.commands.environment import fail, load_hub_config, load_settings
from hub.commands.kafka import on_cluster, quiet_client_logs
from hub.config import HubConfig
from hub.demo import start_demo
from hub.runtime.app import ServiceHost, build_app, make_runtime
from hub.runtime.cluster import EmbeddedBrokerError, KafkaCluster, provide_cluster
from hub.runtime.logging import configure_logging
from hub.runtime.settings import KafkaSettings
from hub.services import ONE_HOP, SERVICES, TWO_HOPS
from hub.topics import catalog, create_topics, list_topics

app = typer.Typer(
    help="Handoff: event-driven integration hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
topics_app = typer.Typer(help="The topic catalog on a cluster.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(ops.app, name="ops")
app.add_typer(connector.app, name="connector")
app.add_typer(schemas_commands.app, name="schemas")
app.add_typer(schemas_commands.docs_app, name="docs")
app.add_typer(dlq_commands.app, name="dlq")
app.add_typer(token_commands.app, name="token")
app.command("bench")(bench_commands.bench)


def services_for_up(config: HubConfig, *, one_hop: bool = False) -> list[str]:
    """What ``hub up`` runs: every service, the smoke path only while it is enabled, and
    either translator and router or the one-hop service that replaces them."""
    left_out = TWO_HOPS if one_hop else (ONE_HOP,)
    return [
        name
        for name in SERVICES
        if name not in left_out and (config.smoke.enabled or not name.startswith("smoke-"))
    ]


def _bind(host: str, port: int) -> socket.socket:
    """Bind before anything starts, so a taken port is a clear error, not a late crash."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    return sock


class _Stop(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by our signal handler once uvicorn has shut down gracefully."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def serve(host: ServiceHost, sock: socket.socket, grace: float) -> None:
    """Run the HTTP server and services until SIGINT/SIGTERM; return normally after."""
    config = uvicorn.Config(
        build_app(host),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(grace),
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal it handled once it has shut down; our handlers turn that
    # into a clean return instead of a KeyboardInterrupt traceback or a signal exit status.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()


def banner(cluster: KafkaCluster, services: Sequence[str], base_url: str) -> str:
    where = {
        "embedded": "embedded Tansu broker, in memory: data ends with this process",
        "external": "KAFKA_BOOTSTRAP_SERVERS",
        "container": "testcontainers Kafka",
    }[cluster.kind]
    rows = [
        ("Kafka", f"{cluster.bootstrap_servers} ({where})"),
        ("Services", ", ".join(services)),
        ("Health", f"{base_url}/healthz"),
        ("Readiness", f"{base_url}/readyz"),
        ("Metrics", f"{base_url}/metrics"),
        ("API docs", f"{base_url}/docs"),
    ]
    body = "\n".join(f"  {label:<10} {value}" for label, value in rows)
    return f"\nHandoff {hub.__version__} is up\n{body}\nPress Ctrl-C to stop.\n"


@contextlib.contextmanager
def _cluster(kafka: KafkaSettings, state_dir: Path) -> Iterator[KafkaCluster]:
    try:
        with provide_cluster(kafka, state_dir=state_dir) as cluster:
            yield cluster
    except EmbeddedBrokerError as exc:
        fail(str(exc))


@app.command()
def up(
    port: Annotated[
        int | None, typer.Option(help="HTTP port (default 8080)", min=0, max=65535)
    ] = None,
    host: Annotated[str | None, typer.Option(help="HTTP address (default 127.0.0.1)")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Also run a simulated company (Odoo, HubSpot, Zendesk)")
    ] = False,
) -> None:
    """Everything on one machine: broker (embedded unless configured), topics, all services."""
    settings, kafka = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    config = load_hub_config(settings)
    http_host = host or settings.http_host
    http_port = settings.http_port if port is None else port
    sock = _bind(http_host, http_port)
    company = start_demo(config, settings.state_dir, http_host, http_port) if demo else None
    if company is not None:
        settings, config = company.settings(settings), company.config
    names = services_for_up(config, one_hop=settings.one_hop)
    with _cluster(kafka, settings.state_dir) as cluster:
        specs = catalog(config, raw_streams(config.connectors))
        on_cluster(cluster, create_topics(cluster, specs, config.topics.replication_factor))
        service_host = ServiceHost(
            make_runtime(settings, config, cluster), [SERVICES[n] for n in names]
        )
        typer.echo(banner(cluster, names, f"http://{http_host}:{http_port}"))
        if company is not None:
            typer.echo(company.banner(f"http://{http_host}:{http_port}"))
        serve(service_host, sock, settings.shutdown_grace_seconds)
    if company is not None:
        company.stop()
    typer.echo("Handoff stopped.")


@app.command()
def run(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICES)}")],
) -> None:
    """One service, as a Kubernetes pod runs it (needs KAFKA_BOOTSTRAP_SERVERS)."""
    if service not in SERVICES:
        fail(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
    settings, kafka = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if not kafka.bootstrap_servers:
        fail(
            "hub run needs KAFKA_BOOTSTRAP_SERVERS; 'hub up' runs everything on an embedded broker"
        )
    config = load_hub_config(settings)
    sock = _bind(settings.http_host, settings.http_port)
    with _cluster(kafka, settings.state_dir) as cluster:
        service_host = ServiceHost(make_runtime(settings, config, cluster), [SERVICES[service]])
        serve(service_host, sock, settings.shutdown_grace_seconds)


def _external_cluster() -> tuple[HubConfig, KafkaCluster]:
    settings, kafka = load_settings()
    if not kafka.bootstrap_servers:
        fail("set KAFKA_BOOTSTRAP_SERVERS to the cluster to manage")
    config = load_hub_config(settings)
    with quiet_client_logs(), provide_cluster(kafka) as cluster:  # on_cluster reports failures
        return config, cluster


@topics_app.command("create")
def topics_create() -> None:
    """Create every catalog topic that is missing; existing ones are left alone."""
    config, cluster = _external_cluster()
    specs = catalog(config, raw_streams(config.connectors))
    report = on_cluster(cluster, create_topics(cluster, specs, config.topics.replication_factor))
    for name in report.created:
        typer.echo(f"created  {name}")
    for name in report.existing:
        typer.echo(f"exists   {name}")


@topics_app.command("list")
def topics_list() -> None:
    """The cluster's topics with partition counts, marking those of the catalog."""
    config, cluster = _external_cluster()
    known = {spec.name: spec for spec in catalog(config, raw_streams(config.connectors))}
    present = on_cluster(cluster, list_topics(cluster))
    for name, partitions in present.items():
        spec = known.get(name)
        note = f"catalog: {spec.cleanup_policy}, key = {spec.key}" if spec else "not in catalog"
        typer.echo(f"{name:<28} {partitions:>3}  {note}")
    for name in sorted(set(known) - set(present)):
        typer.echo(f"{name:<28}   -  missing (run 'hub topics create')")


def main() -> None:
    """The command, with the file system's refusals (a path that is a file where a folder
    is wanted, no permission, a name too long) as one ``error:`` line and exit 2, whichever
    command met them: they are the user's input, not the program's failure."""
    try:
        app(prog_name="hub")
    except OSError as exc:
        if exc.filename is None:
            raise
        where = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 else "")
        typer.secho(f"error: {where}: {exc.strerror or exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()

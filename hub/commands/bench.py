"""``hub bench``: the benchmark, with figures and ratios against baselines of the same run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from hub.bench.driver import BenchOptions, run_bench
from hub.bench.report import render
from hub.commands.environment import load_settings
from hub.runtime.cluster import EmbeddedBrokerError, provide_cluster


def bench(  # noqa: PLR0917 - typer options
    events: Annotated[int, typer.Option(help="raw events per throughput measurement")] = 20_000,
    out: Annotated[Path, typer.Option(help="where to write the results as JSON")] = Path(
        "bench-results.json"
    ),
    latency_seconds: Annotated[
        float, typer.Option(help="how long to produce at half rate for the latency figure")
    ] = 10.0,
    compare_quix: Annotated[
        bool, typer.Option("--compare-quix", help="also run the work written with Quix Streams")
    ] = False,
    quix_python: Annotated[
        str | None,
        typer.Option(help="interpreter of an environment with handoff[bench] installed"),
    ] = None,
    soak: Annotated[
        bool, typer.Option("--soak", help="also measure RSS growth over --soak-events")
    ] = False,
    soak_events: Annotated[int, typer.Option(help="events of the soak run")] = 300_000,
    work_dir: Annotated[Path, typer.Option(help="worker logs and timeline databases")] = Path(
        ".hub/bench"
    ),
) -> None:
    """Throughput, latency and memory of translate, identity, route and timeline ingestion.

    Uses KAFKA_BOOTSTRAP_SERVERS when set, else starts the embedded broker.
    """
    if events < 100:
        raise typer.BadParameter("at least 100 events", param_hint="--events")
    options = BenchOptions(
        events=events,
        latency_seconds=latency_seconds,
        compare_quix=compare_quix,
        quix_python=quix_python,
        soak=soak,
        soak_events=soak_events,
        work_dir=work_dir,
    )

    _, kafka = load_settings()

    def progress(message: str) -> None:
        typer.secho(f"-- {message}", err=True, fg=typer.colors.BRIGHT_BLACK)

    try:
        with provide_cluster(kafka, state_dir=work_dir) as cluster:
            result: dict[str, Any] = asyncio.run(run_bench(cluster, options, progress))
    except EmbeddedBrokerError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    typer.echo(render(result))
    typer.echo(f"\nresults: {out}")

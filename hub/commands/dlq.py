"""``hub dlq list|show|replay``: inspect dead letters and re-drive them to the failed stage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import orjson
import typer

from hub.commands.environment import load_settings
from hub.commands.kafka import on_cluster, quiet_client_logs
from hub.dlq.store import DeadLetter, DlqFilter, parse_since, read_dead_letters, replay
from hub.runtime.cluster import KafkaCluster, provide_cluster

app = typer.Typer(help="Dead letters on hub.dlq: list, show, replay.", no_args_is_help=True)

StageOption = Annotated[
    str | None, typer.Option("--stage", help="only this stage (translator, router, ...)")
]
ErrorOption = Annotated[
    str | None, typer.Option("--error", help="error class or message contains this text")
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="failed since: 2h, 30m, 1d or an ISO time")
]
TopicOption = Annotated[str | None, typer.Option("--topic", help="only this original topic")]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


@contextmanager
def _cluster() -> Iterator[KafkaCluster]:
    _, kafka = load_settings()
    if not kafka.bootstrap_servers:
        raise _fail("set KAFKA_BOOTSTRAP_SERVERS to the cluster whose hub.dlq to read")
    # an unreachable cluster is reported once, by on_cluster, not by each client's logs
    with quiet_client_logs(), provide_cluster(kafka) as cluster:
        yield cluster


def _filter(
    stage: str | None, error: str | None, since: str | None, topic: str | None
) -> DlqFilter:
    try:
        moment = parse_since(since) if since else None
    except (ValueError, OverflowError):  # OverflowError: further back than a date can be
        raise _fail(f"--since {since!r}: use 2h, 30m, 1d or an ISO 8601 time") from None
    return DlqFilter(stage=stage, error=error, since=moment, topic=topic)


def _line(letter: DeadLetter) -> str:
    message = letter.error_message.replace("\n", " ")
    if len(message) > 80:
        message = message[:77] + "..."
    return (
        f"{letter.ref:<10} {letter.failed_at:%Y-%m-%d %H:%M:%S} {letter.stage:<11} "
        f"{letter.error_class:<22} {letter.original_topic:<24} #{letter.attempt} {message}"
    )


@app.command("list")
def list_letters(
    stage: StageOption = None,
    error: ErrorOption = None,
    since: SinceOption = None,
    topic: TopicOption = None,
) -> None:
    """Dead letters, oldest first: REF (partition:offset), time, stage, error, origin."""
    where = _filter(stage, error, since, topic)
    with _cluster() as cluster:
        letters = on_cluster(cluster, read_dead_letters(cluster, where))
    typer.echo(f"{'REF':<10} {'FAILED AT':<19} {'STAGE':<11} {'ERROR':<22} {'FROM':<24} # MESSAGE")
    for letter in letters:
        typer.echo(_line(letter))
    typer.echo(f"{len(letters)} dead letter(s)")


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="PARTITION:OFFSET in hub.dlq, or a ce_id")],
) -> None:
    """One dead letter in full: reason headers, original headers and value."""
    with _cluster() as cluster:
        letters = on_cluster(cluster, read_dead_letters(cluster))
    found = [x for x in letters if ref in (x.ref, x.event_id)]
    if not found:
        raise _fail(f"no dead letter {ref!r} (see 'hub dlq list')")
    for letter in found:
        typer.echo(f"ref:            {letter.ref}")
        for name, value in letter.headers:
            typer.echo(f"{name + ':':<15} {value.decode(errors='replace')}")
        typer.echo(f"{'key:':<15} {(letter.key or b'').decode(errors='replace')}")
        try:
            pretty = orjson.dumps(orjson.loads(letter.value), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            pretty = letter.value.decode(errors="replace")
        typer.echo("value:")
        typer.echo(pretty)


def _named(letters: list[DeadLetter], refs: list[str], *, filtered: bool) -> list[DeadLetter]:
    """The letters that ``refs`` name; exit 2 naming each ref that matches none (and
    replay nothing: a replay is asked for all of them)."""
    unmatched = [
        r for r in dict.fromkeys(refs) if not any(r in (x.ref, x.event_id) for x in letters)
    ]
    if unmatched:
        shown = ", ".join(repr(r) for r in unmatched)
        among = " matching the other options" if filtered else ""
        raise _fail(f"no dead letter {shown}{among}; nothing replayed (see 'hub dlq list')")
    return [x for x in letters if x.ref in refs or x.event_id in refs]


@app.command("replay")
def replay_letters(
    *,
    stage: StageOption = None,
    error: ErrorOption = None,
    since: SinceOption = None,
    topic: TopicOption = None,
    ref: Annotated[
        list[str] | None, typer.Option("--ref", help="only these PARTITION:OFFSET or ce_id")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list, do not send")] = False,
) -> None:
    """Re-publish matching dead letters to their original topic for the failed stage.

    Each keeps its ce_id; of repeated failures of one record only the latest is sent."""
    where = _filter(stage, error, since, topic)
    with _cluster() as cluster:
        letters = on_cluster(cluster, read_dead_letters(cluster, where))
        if ref:
            letters = _named(letters, ref, filtered=where != DlqFilter())
        if dry_run:
            for letter in letters:
                typer.echo(_line(letter))
            typer.echo(f"would replay {len(letters)} dead letter(s)")
            return
        sent = on_cluster(cluster, replay(cluster, letters))
    for letter in sent:
        typer.echo(f"replayed {letter.ref} -> {letter.original_topic}")
    typer.echo(f"replayed {len(sent)} dead letter(s)")

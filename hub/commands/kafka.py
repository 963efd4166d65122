"""Running a command's Kafka work, with one clear line when the cluster cannot be reached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import typer
from aiokafka.errors import KafkaError

from hub.runtime.cluster import KafkaCluster

T = TypeVar("T")

#: What a client raises when the cluster is down, unreachable or too slow to answer.
UNREACHABLE = (KafkaError, OSError, TimeoutError)


#: Loggers whose connection errors the one ``cannot reach`` line replaces in a command.
CLIENT_LOGGERS = ("aiokafka", "hub.runtime.cluster")


@contextlib.contextmanager
def quiet_client_logs() -> Iterator[None]:
    """Mute the Kafka clients' own connection-error logs (a command reports them once)."""
    loggers = [logging.getLogger(name) for name in CLIENT_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def on_cluster(cluster: KafkaCluster, work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)``; exit 2 with ``error: cannot reach the Kafka cluster at ...``
    instead of a traceback when the cluster cannot be reached (the clients stop themselves)."""
    try:
        with quiet_client_logs():
            return asyncio.run(work)
    except UNREACHABLE as exc:
        reason = str(exc) or type(exc).__name__
        typer.secho(
            f"error: cannot reach the Kafka cluster at {cluster.bootstrap_servers}: {reason}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2) from None


__all__ = ["UNREACHABLE", "on_cluster", "quiet_client_logs"]

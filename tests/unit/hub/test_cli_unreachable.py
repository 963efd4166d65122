"""Commands that talk to Kafka, pointed at a closed port: one clear line, exit 2, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.mark.parametrize(
    "command",
    [
        ["dlq", "list"],
        ["dlq", "show", "0:1"],
        ["dlq", "replay"],
        ["topics", "list"],
        ["topics", "create"],
    ],
    ids=" ".join,
)
def test_an_unreachable_cluster_is_one_line_and_exit_2(
    command: list[str], closed_port: int
) -> None:
    bootstrap = f"127.0.0.1:{closed_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "HUB_"))}
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    done = subprocess.run(
        [sys.executable, "-m", "hub", *command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert "Unclosed" not in output, "every client is stopped"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"error: cannot reach the Kafka cluster at {bootstrap}: "), output

"""An invalid ``hub.yaml`` or environment stops ``hub run`` at once, with one clear line that
names the key and the problem: no traceback, no half-started service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.hub_process import free_port

REPO = Path(__file__).resolve().parents[2]

BAD_CONFIGS = [
    ("connectors:\n  shop: {type: no-such-type}\n", "connectors.shop", "translator"),
    ("connectors:\n  shop: {type: jsonl}\n", "connectors.shop", "connectors"),
    ("departments:\n  sales: {token_sha256: 42}\n", "departments.sales.token_sha256", "timeline"),
    ("processes: [not, a, mapping]\n", "processes", "router"),
    ("departments: {sales: [unclosed\n", "hub.yaml", "router"),
]


def run(service: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "run", service],
        env={
            "PATH": "/usr/bin:/bin",
            "HUB_HTTP_PORT": str(free_port()),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
            "PYTHONPATH": str(REPO),
            **env,
        },
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_only_the_problem(done: subprocess.CompletedProcess[str], key: str) -> None:
    """Exit status 2 and nothing but the report: an ``error:`` line, then (for a file) one
    indented ``key: problem`` line per problem. No traceback, and no line a starting
    service would log (nothing was started)."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stdout == ""
    head, *problems = done.stderr.splitlines()
    assert head.startswith("error: "), done.stderr[-2000:]
    assert all(line.startswith("  ") and ": " in line for line in problems), done.stderr
    assert key in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize(("text", "key", "service"), BAD_CONFIGS)
def test_invalid_config_stops_start_up_naming_the_key(
    tmp_path: Path, text: str, key: str, service: str
) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(text, encoding="utf-8")
    done = run(service, {"HUB_CONFIG": str(config)}, tmp_path)
    assert_only_the_problem(done, key)


def test_every_problem_of_a_file_gets_its_own_line(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(BAD_CONFIGS[0][0] + BAD_CONFIGS[2][0], encoding="utf-8")
    done = run("translator", {"HUB_CONFIG": str(config)}, tmp_path)
    assert_only_the_problem(done, "connectors.shop")
    problems = done.stderr.splitlines()[1:]
    assert sorted(line.split(":")[0].strip() for line in problems) == [
        "connectors.shop.type",
        "departments.sales.token_sha256",
    ]


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SECURITY_PROTOCOL": "CARRIER_PIGEON"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"HUB_HTTP_PORT": "not-a-port"}, "HUB_HTTP_PORT"),
        ({"HUB_CONFIG": "/nonexistent/hub.yaml"}, "/nonexistent/hub.yaml"),
    ],
)
def test_invalid_environment_stops_start_up_naming_it(
    tmp_path: Path, env: dict[str, str], names: str
) -> None:
    done = run("router", env, tmp_path)
    assert_only_the_problem(done, names)

"""Bad files, paths and environment values given to ``hub``: one ``error:`` line naming the
problem, exit 2, never a traceback. Each case runs the real command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.hub.one_error import assert_one_error_line

REPO = Path(__file__).resolve().parents[3]


def hub(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "HUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_error_line(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    return assert_one_error_line(done.returncode, done.stdout, done.stderr, *expected)


@pytest.fixture
def binary_file(tmp_path: Path) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    return path


def test_a_config_that_is_a_directory_or_not_text_is_one_line(
    tmp_path: Path, binary_file: Path
) -> None:
    """As every invalid configuration is reported: the file, then its problem."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    for config, problem in ((tmp_path, "is a directory"), (binary_file, "not UTF-8 text")):
        done = hub("run", "translator", env=env | {"HUB_CONFIG": str(config)}, cwd=tmp_path)
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert "Traceback" not in output, output
        assert done.stderr.splitlines() == [
            f"error: invalid configuration in {config}:",
            f"  (file): {problem}" + done.stderr.split(problem, 1)[1].splitlines()[0],
        ], output


@pytest.mark.parametrize("port", ["99999", "-1", "0x50"])
def test_an_http_port_out_of_range_names_the_variable(tmp_path: Path, port: str) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "HUB_HTTP_PORT": port}
    one_error_line(hub("run", "translator", env=env, cwd=tmp_path), "HUB_HTTP_PORT")


def test_hub_up_port_option_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    done = hub("up", "--port", "99999", env={}, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "65535" in done.stderr


@pytest.mark.parametrize(
    ("bootstrap", "problem"),
    [
        ("garbage:notaport", "garbage:notaport"),
        ("127.0.0.1:99999", "127.0.0.1:99999"),
        ("host:", "host:"),
        (",,,", "KAFKA_BOOTSTRAP_SERVERS"),
    ],
)
def test_a_malformed_bootstrap_address_names_the_variable(
    tmp_path: Path, bootstrap: str, problem: str
) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    for command in (["run", "translator"], ["topics", "list"]):
        one_error_line(hub(*command, env=env, cwd=tmp_path), "KAFKA_BOOTSTRAP_SERVERS", problem)


def test_blank_bootstrap_servers_count_as_unset(tmp_path: Path) -> None:
    done = hub("run", "translator", env={"KAFKA_BOOTSTRAP_SERVERS": "  "}, cwd=tmp_path)
    one_error_line(done, "needs KAFKA_BOOTSTRAP_SERVERS")


def test_a_missing_ca_file_names_the_variable(tmp_path: Path) -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CAFILE": str(tmp_path / "nope.pem"),
    }
    one_error_line(hub("topics", "list", env=env, cwd=tmp_path), "KAFKA_SSL_CAFILE")
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    env["KAFKA_SSL_CAFILE"] = str(tmp_path / "bad.pem")
    one_error_line(hub("topics", "list", env=env, cwd=tmp_path), "KAFKA_SSL_CAFILE", "bad.pem")


def test_a_state_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("a file, not a directory\n")
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "HUB_STATE_DIR": str(state)}
    one_error_line(hub("run", "timeline", env=env, cwd=tmp_path), str(state))


@pytest.mark.parametrize(
    "command",
    [
        ["schemas", "export", "{file}"],
        ["docs", "schemas", "-o", "{dir}"],
        ["docs", "asyncapi", "-o", "{dir}"],
        ["ops", "metrics-doc", "--output", "{dir}"],
    ],
    ids=" ".join,
)
def test_an_output_path_that_cannot_be_written_is_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory is wanted\n")
    args = [
        a.replace("{file}", str(blocker / "out")).replace("{dir}", str(tmp_path)) for a in command
    ]
    one_error_line(hub(*args, env={}, cwd=tmp_path))


def test_hub_up_on_an_unreachable_cluster_is_one_line(tmp_path: Path) -> None:
    """``hub up`` creates the catalog's topics before it serves: a cluster that does not
    answer is reported as the other cluster commands report it."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "HUB_HTTP_PORT": "0"}
    done = hub("up", env=env, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    # the service's own log lines of the attempts come first; the verdict is the last line
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot reach the Kafka cluster at 127.0.0.1:1: "), output


def test_a_mistyped_snapshot_folder_is_named_not_every_type_new(tmp_path: Path) -> None:
    done = hub("schemas", "check", "--snapshots", str(tmp_path / "typo"), env={}, cwd=REPO)
    one_error_line(done, str(tmp_path / "typo"), "not a folder")

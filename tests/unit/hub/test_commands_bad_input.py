"""Bad input to ``hub connector``, ``hub token`` and ``hub dlq``: one ``error:`` line naming
the problem, exit 2, never a traceback; a command that did nothing it was asked never exits 0.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, Field
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.commands import connector as connector_commands
from hub.commands import dlq as dlq_commands
from hub.config import HubConfig
from hub.dlq.store import DeadLetter, DlqFilter
from hub.runtime.cluster import KafkaCluster
from hub.runtime.deadletter import dead_letter
from hub.topics import DLQ, catalog, create_topics
from schemas import Envelope
from tests.integration.kafka_helpers import make_topics, produce
from tests.unit.hub.one_error import assert_one_error_line

runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No cluster, no ``HUB_CONFIG`` and no ``hub.yaml`` unless a test sets them."""
    for name in list(os.environ):
        if name.startswith("KAFKA_") or name == "HUB_CONFIG":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def hub(*args: str) -> Result:
    return runner.invoke(app, list(args))


def one_error_line(result: Result, *expected: str) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    return assert_one_error_line(result.exit_code, result.stdout, result.stderr, *expected)


# 1. hub connector list --url URL: a URL that answers, but not as a hub


class _Answer(BaseHTTPRequestHandler):
    body = b""
    content_type = "application/json"
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def answering(
    body: bytes, content_type: str = "application/json", status: int = 200
) -> Iterator[str]:
    attributes = {"body": body, "content_type": content_type, "status": status}
    handler = type("Handler", (_Answer,), attributes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<!doctype html><html><body>a web site</body></html>", "text/html"),
        (b'{"status": "ok"}', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"connectors": "none"}', "application/json"),
        (b'{"connectors": [{"instance": "shop"}]}', "application/json"),
    ],
    ids=["html", "no-connectors-key", "a-list", "not-a-list", "rows-without-state"],
)
def test_connector_list_url_that_is_not_a_hub_is_one_line(body: bytes, content_type: str) -> None:
    with answering(body, content_type) as url:
        result = hub("connector", "list", "--url", url)
    one_error_line(result, url, "did not answer a hub's connector list")


def test_connector_list_url_answering_404_is_one_line() -> None:
    with answering(b"not found", "text/plain", status=404) as url:
        result = hub("connector", "list", "--url", url)
    one_error_line(result, url, "404")


def test_connector_list_url_of_a_hub_still_lists() -> None:
    body = b'{"connectors": [{"instance": "shop", "type": "jsonl", "state": "running"}]}'
    with answering(body) as url:
        result = hub("connector", "list", "--url", url)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "shop" in result.stdout
    assert "running" in result.stdout


# 2. a missing HUB_CONFIG, named explicitly


def test_connector_list_reports_a_missing_hub_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent.yaml"
    monkeypatch.setenv("HUB_CONFIG", str(missing))
    result = hub("connector", "list")
    one_error_line(result, "HUB_CONFIG", str(missing), "does not exist")
    assert "Configured instances" not in result.stdout


def test_connector_list_without_hub_config_shows_the_defaults() -> None:
    result = hub("connector", "list")  # no HUB_CONFIG and no ./hub.yaml: the defaults
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Configured instances" in result.stdout


# 3. hub connector new NAME: names that would shadow a module or a connector type, or are too long


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("json", "standard library"),
        ("asyncio", "standard library"),
        ("hubspot", "connector type"),
        ("kit", "connectors"),
        ("x" * 300, "64"),
    ],
    ids=["json", "asyncio", "hubspot", "kit", "300-chars"],
)
def test_connector_new_rejects_names_that_clash_or_are_too_long(
    tmp_path: Path, name: str, problem: str
) -> None:
    result = hub("connector", "new", name, "--dir", str(tmp_path))
    one_error_line(result, problem)
    assert list(tmp_path.iterdir()) == [], "nothing is written"


# 4. hub connector new NAME --dir PATH: a path that cannot be written


def test_connector_new_into_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory is wanted\n")
    one_error_line(hub("connector", "new", "acme", "--dir", str(blocker)), str(blocker))
    one_error_line(hub("connector", "new", "acme", "--dir", str(blocker / "sub")), str(blocker))


def test_connector_new_where_writing_is_refused_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file system's refusal itself (a read-only directory does not refuse root)."""

    def refuse(self: Path, *args: Any, **kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    line = one_error_line(hub("connector", "new", "acme", "--dir", str(tmp_path)), str(tmp_path))
    assert "Permission denied" in line


# 5. hub token new DEPARTMENT: a name hub.yaml would reject


@pytest.mark.parametrize("department", ["Bad-Name", "", "a b", "1st", "sales!"])
def test_token_new_rejects_what_hub_yaml_rejects(department: str) -> None:
    result = hub("token", "new", department)
    one_error_line(result, repr(department), "lower-case")
    assert "token_sha256" not in result.stdout, "no token is handed out"


def test_token_new_for_a_good_name_prints_token_and_hash() -> None:
    result = hub("token", "new", "field_sales")
    assert result.exit_code == 0, result.stderr
    assert "field_sales:\n      token_sha256: " in result.stdout


# 6. hub dlq list|replay --since: beyond what a date can hold


@pytest.mark.parametrize("since", ["99999999999d", "800000d", "9999999999999999999999s"])
@pytest.mark.parametrize("command", ["list", "replay"])
def test_dlq_since_out_of_range_is_the_since_error(command: str, since: str) -> None:
    one_error_line(hub("dlq", command, "--since", since), f"--since {since!r}", "2h")


# 7. hub dlq replay --ref REF that matches nothing


def _letter(offset: int, event_id: str, topic: str = "raw.shop.order") -> DeadLetter:
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic, 0, offset, 0, 0, None, b"{}", None, 2, 0, [("ce_id", event_id.encode())]
    )
    _, failed = dead_letter(record, "translator", ValueError("bad"))
    return DeadLetter(0, offset, 0, failed.key, failed.value, tuple(failed.headers))


@pytest.fixture
def fake_dlq(monkeypatch: pytest.MonkeyPatch) -> list[list[DeadLetter]]:
    """``hub.dlq`` holding two dead letters (refs 0:5 and 0:6); returns what was replayed."""
    letters = [_letter(5, "evt-5"), _letter(6, "evt-6")]
    replayed: list[list[DeadLetter]] = []

    @contextmanager
    def cluster() -> Iterator[object]:
        yield object()

    async def read(cluster: object, where: DlqFilter | None = None) -> list[DeadLetter]:
        return [x for x in letters if where is None or where.matches(x)]

    async def replay(cluster: object, chosen: list[DeadLetter]) -> list[DeadLetter]:
        replayed.append(chosen)
        return chosen

    monkeypatch.setattr(dlq_commands, "_cluster", cluster)
    monkeypatch.setattr(dlq_commands, "read_dead_letters", read)
    monkeypatch.setattr(dlq_commands, "replay", replay)
    return replayed


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--ref", "nosuch"], "'nosuch'"),
        (["--ref", "0:99", "--dry-run"], "'0:99'"),
        (["--ref", "0:5", "--ref", "nosuch"], "'nosuch'"),
        (["--ref", "0:5", "--stage", "router"], "'0:5'"),
    ],
    ids=["unknown", "dry-run", "one-of-two-unknown", "filtered-out"],
)
def test_dlq_replay_of_a_ref_that_matches_nothing_fails(
    fake_dlq: list[list[DeadLetter]], args: list[str], named: str
) -> None:
    line = one_error_line(hub("dlq", "replay", *args), "no dead letter", named)
    if named == "'nosuch'":
        assert "0:5" not in line, "names only the refs that match nothing"
    assert fake_dlq == [], "nothing is replayed"


def test_dlq_replay_of_matching_refs_still_replays(fake_dlq: list[list[DeadLetter]]) -> None:
    result = hub("dlq", "replay", "--ref", "0:5", "--ref", "evt-6")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [[x.ref for x in sent] for sent in fake_dlq] == [["0:5", "0:6"]]
    assert "replayed 2 dead letter(s)" in result.stdout


async def _a_dead_letter_on(cluster: KafkaCluster) -> str:
    """Publish one dead letter to ``hub.dlq``; returns its ce_id."""
    unique = uuid.uuid4().hex[:10]
    source = f"raw.badinput{unique}.order"
    await create_topics(cluster, catalog(HubConfig()))
    await make_topics(cluster, source, partitions=1)
    event = Envelope(id=f"bad-input-{unique}", source="/t", type="raw.erp.order", data={})
    kafka = event.to_kafka()
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        source, 0, 0, 0, 0, kafka.key, kafka.value, None, len(kafka.value), 0, kafka.headers
    )
    await produce(cluster, DLQ, [dead_letter(record, "translator", ValueError("bad"))[1]])
    return event.id


@pytest.mark.integration
def test_dlq_replay_of_an_unknown_ref_on_a_real_broker(
    kafka_cluster: KafkaCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = asyncio.run(_a_dead_letter_on(kafka_cluster))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_cluster.bootstrap_servers)
    one_error_line(hub("dlq", "replay", "--ref", f"nosuch-{event_id}"), "no dead letter")
    result = hub("dlq", "replay", "--ref", event_id)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "replayed 1 dead letter(s)" in result.stdout


# 8. hub connector describe: defaults made by a default_factory


def test_connector_describe_shows_factory_defaults() -> None:
    result = hub("connector", "describe", "hubspot")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "PydanticUndefined" not in result.stdout
    won = next(line for line in result.stdout.splitlines() if "won_stages" in line)
    assert "['closedwon']" in won
    extra = next(line for line in result.stdout.splitlines() if "extra_properties" in line)
    assert "default []" in extra


def test_a_default_factory_that_needs_other_settings_shows_as_computed() -> None:
    class Settings(BaseModel):
        base: str = "x"
        derived: str = Field(default_factory=lambda data: data["base"] + "/y")
        broken: int = Field(default_factory=lambda: 1 // 0)
        plain: list[str] = Field(default_factory=lambda: ["a"])

    fields = Settings.model_fields
    assert connector_commands._default(fields["base"]) == "'x'"
    assert connector_commands._default(fields["derived"]) == "(computed)"
    assert connector_commands._default(fields["broken"]) == "(computed)"
    assert connector_commands._default(fields["plain"]) == "['a']"

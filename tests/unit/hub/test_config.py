"""hub.yaml: defaults, ${ENV} substitution, and every problem reported with its key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hub.api.auth import department_for
from hub.config import DEFAULT_DEPARTMENTS, ConfigError, HubConfig, load_config, parse_config

REPO = Path(__file__).resolve().parents[3]


def test_empty_file_gives_the_default_departments() -> None:
    config = parse_config("", env={})
    assert tuple(config.departments) == DEFAULT_DEPARTMENTS
    assert config.topics.replication_factor == 1


def test_shipped_example_is_valid() -> None:
    config = load_config(REPO / "hub.yaml")
    assert set(config.departments) >= {"sales", "finance", "management"}


def test_environment_references_are_substituted() -> None:
    text = "departments:\n  sales:\n    description: ${TEAM}\n"
    assert parse_config(text, env={"TEAM": "Vertrieb"}).departments["sales"].description == (
        "Vertrieb"
    )


def test_all_problems_are_reported_at_once_with_their_keys() -> None:
    text = """
departments:
  Sales: {}
  finance:
    description: ${MISSING_VAR}
topics:
  replication_factor: 0
  partitions: {hub.orders: 0}
unknown_section: 1
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="my.yaml", env={})
    keys = [key for key, _ in caught.value.problems]
    assert "departments.finance.description" in keys
    assert "departments" in keys  # bad name
    assert "topics.replication_factor" in keys
    assert "topics.partitions" in keys
    assert "unknown_section" in keys
    message = str(caught.value)
    assert message.startswith("invalid configuration in my.yaml")
    assert "MISSING_VAR is not set" in message


@pytest.mark.parametrize("text", ["[1, 2]", "a: [unclosed"])
def test_malformed_files_are_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match=r"\(file\)"):
        parse_config(text, env={})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "departments: {sales: [unclosed\n",
            "line 2, column 1: expected ',' or ']', but got '<stream end>'"
            " (while parsing a flow sequence at line 1, column 22)",
        ),
        ("a: b: c\n", "line 1, column 5: mapping values are not allowed here"),
        ("a:\n\t- x\n", "line 2, column 1: found character '\\t' that cannot start any token"),
    ],
)
def test_a_yaml_syntax_error_is_one_line_with_where_it_is(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    ((key, message),) = caught.value.problems
    assert key == "(file)"
    assert message.startswith(f"not valid YAML: {problem}"), message
    assert "\n" not in message
    assert "<unicode string>" not in message


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.yaml") == HubConfig()


def test_a_department_token_may_be_given_itself_from_the_environment() -> None:
    """``token: ${ENV}`` as secrets are usually handed to a pod, or ``token_sha256`` to keep
    even the file free of it; either opens the API to that department alone."""
    sales = hashlib.sha256(b"sales-secret").hexdigest()
    text = (
        "departments:\n"
        '  finance: {token: "${FINANCE_TOKEN}"}\n'
        f"  sales: {{token_sha256: {sales}}}\n"
        "  support: {}\n"
    )
    config = parse_config(text, env={"FINANCE_TOKEN": "  finance-secret "})
    assert department_for(config, "Bearer finance-secret") == "finance"
    assert department_for(config, "Bearer sales-secret") == "sales"
    assert department_for(config, "Bearer " + hashlib.sha256(b"finance-secret").hexdigest()) is None
    assert department_for(config, "Bearer ") is None
    assert "finance-secret" not in repr(config)
    assert "finance-secret" not in config.model_dump_json()


@pytest.mark.parametrize(
    ("department", "problem"),
    [
        ('{token: "a", token_sha256: "' + "0" * 64 + '"}', "token or token_sha256, not both"),
        ('{token: "  "}', "token is empty"),
    ],
)
def test_a_department_token_given_twice_or_empty_is_a_problem(
    department: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"departments:\n  finance: {department}\n", env={})
    assert [(k, problem in m) for k, m in caught.value.problems] == [("departments.finance", True)]


def test_a_name_with_a_trailing_newline_is_no_name() -> None:
    """``re.match`` with ``$`` would let ``"sales\\n"`` pass as a department or an instance."""
    with pytest.raises(ConfigError) as caught:
        parse_config('departments:\n  "sales\\n": {}\n', env={})
    assert [key for key, _ in caught.value.problems] == ["departments"]
    with pytest.raises(ConfigError) as caught:
        parse_config('connectors:\n  "shop\\n": {type: jsonl, directory: /tmp}\n', env={})
    assert next(key for key, _ in caught.value.problems).startswith("connectors")

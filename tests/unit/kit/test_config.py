"""The connectors: section of hub.yaml: every problem at once, with its key; secrets masked."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.kit.registry import connector_types, get_type, translator_for
from connectors.kit.settings import MASK, ConnectorSettings, fields_that_should_be_secret, masked
from hub.config import ConfigError, parse_config
from tests.unit.kit.sources import ScriptSettings

YAML = """
connectors:
  shop:
    type: jsonl
    poll_interval_seconds: -1
    colour: blue
  Bad-Name:
    type: jsonl
    directory: /tmp
  crm:
    type: no_such_type
"""


def test_every_connector_problem_is_reported_at_once_with_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(YAML, env={})
    keys = {key for key, _ in caught.value.problems}
    assert {
        "connectors.shop.directory",
        "connectors.shop.poll_interval_seconds",
        "connectors.shop.colour",
        "connectors.Bad-Name",
        "connectors.crm.type",
    } <= keys
    text = str(caught.value)
    assert "unknown setting for connector type 'jsonl'" in text
    assert "unknown connector type 'no_such_type'; installed:" in text


def test_env_references_fill_settings_and_an_unset_one_is_named() -> None:
    text = "connectors:\n  shop:\n    type: jsonl\n    directory: ${EXPORT_DIR}\n"
    config = parse_config(text, env={"EXPORT_DIR": "/srv/exports"})
    assert config.connectors["shop"].settings == {"directory": "/srv/exports"}
    assert config.connectors["shop"].enabled
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    assert ("connectors.shop.directory", "environment variable EXPORT_DIR is not set") in (
        caught.value.problems
    )


def test_an_empty_file_has_no_connectors() -> None:
    assert parse_config("", env={}).connectors == {}


def test_secrets_never_show() -> None:
    settings = ScriptSettings(api_token=SecretStr("hunter2-very-secret"))
    for shown in (repr(settings), str(settings), settings.model_dump_json(), str(masked(settings))):
        assert "hunter2-very-secret" not in shown
    assert masked(settings)["api_token"] == MASK


def test_settings_come_only_from_hub_yaml_not_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUNT", "99")
    assert ScriptSettings().count == 10


def test_secret_looking_fields_must_be_secretstr() -> None:
    class Leaky(ConnectorSettings):
        api_token: str = ""
        password: SecretStr = SecretStr("")

    assert fields_that_should_be_secret(Leaky) == ["api_token"]


def test_the_registry_loads_repo_connectors_from_entry_points() -> None:
    assert "jsonl" in connector_types()
    jsonl = get_type("jsonl")
    assert jsonl.entities == ("customer", "order")
    assert jsonl.kind == "polling"
    assert translator_for("jsonl") is jsonl.translate
    with pytest.raises(LookupError, match="installed: "):
        get_type("nope")


def test_hub_connector_describe_shows_settings_from_the_model() -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from hub.commands.connector import app  # noqa: PLC0415

    result = CliRunner().invoke(app, ["describe", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "entities: customer, order" in result.output
    assert "directory" in result.output
    assert "required" in result.output
    unknown = CliRunner().invoke(app, ["describe", "nope"])
    assert unknown.exit_code == 2

"""What a command reads first: the ``HUB_*`` and ``KAFKA_*`` environment and ``hub.yaml``.
Anything wrong in them is one ``error:`` line naming the variable or the file, and exit 2,
for every command that reads them (``up``, ``run``, ``topics``, ``connector list``)."""

from __future__ import annotations

import os
from typing import NoReturn

import typer
from pydantic import ValidationError

from hub.config import ConfigError, HubConfig, load_config
from hub.runtime.settings import HubSettings, KafkaSettings


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_settings() -> tuple[HubSettings, KafkaSettings]:
    problems: list[str] = []
    settings: list[HubSettings | KafkaSettings] = []
    for model, prefix in ((HubSettings, "HUB_"), (KafkaSettings, "KAFKA_")):
        try:
            settings.append(model())
        except ValidationError as exc:
            problems += [
                f"{prefix}{str(e['loc'][0]).upper()}: {e['msg']}" if e["loc"] else e["msg"]
                for e in exc.errors()
            ]
    if problems:
        fail(f"invalid environment: {'; '.join(problems)}")
    hub_settings, kafka = settings
    assert isinstance(hub_settings, HubSettings)  # noqa: S101 - built in this order
    assert isinstance(kafka, KafkaSettings)  # noqa: S101
    return hub_settings, kafka


def load_hub_config(settings: HubSettings) -> HubConfig:
    explicit = "HUB_CONFIG" in os.environ
    if explicit and not settings.config.exists():
        fail(f"HUB_CONFIG names {settings.config}, which does not exist")
    try:
        return load_config(settings.config)
    except ConfigError as exc:
        fail(str(exc))


__all__ = ["fail", "load_hub_config", "load_settings"]

"""``hub.yaml``: what a company configures without code.

Departments, topics, connectors, routing rules and processes live in one YAML file named by
``HUB_CONFIG``. Secrets are written as ``${ENV_VAR}`` references and substituted on load.
Every problem in the file is reported at once, each naming its key, so a user fixes them
all in one pass.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.kit.config import ConnectorsSection
from hub.identity.config import IdentityConfig
from hub.routing.config import RoutingConfig, routing_departments_validator
from hub.timeline.config import ProcessesConfig, process_departments_validator

DEFAULT_DEPARTMENTS = ("sales", "finance", "logistics", "support", "marketing", "management")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = r"[a-z][a-z0-9_]*"  # whole name: re.fullmatch


class ConfigError(ValueError):
    """An invalid ``hub.yaml``; ``problems`` lists ``(key, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {key}: {message}" for key, message in problems)
        super().__init__(f"invalid configuration in {source}:\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DepartmentConfig(_Strict):
    """A department. Its API token is given either as ``token`` (usually a ``${ENV_VAR}``
    reference, as secrets are handed to a pod) or as ``token_sha256`` (its SHA-256 in hex,
    which keeps even the file free of it); neither: no access to the timeline API."""

    description: str = ""
    token: SecretStr | None = None
    token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _one_token(self) -> DepartmentConfig:
        if self.token is not None:
            if self.token_sha256 is not None:
                raise ValueError("give its token or token_sha256, not both")
            if not self.token.get_secret_value().strip():
                raise ValueError("token is empty")
        return self

    @property
    def token_digest(self) -> str | None:
        """The SHA-256 (hex) the API compares a presented token's with."""
        if self.token is not None:
            token = self.token.get_secret_value().strip()
            return hashlib.sha256(token.encode()).hexdigest()
        return self.token_sha256


class TopicsConfig(_Strict):
    """Cluster-specific sizing of the topic catalog (see :mod:`hub.topics`)."""

    replication_factor: int = Field(default=1, ge=1)
    #: Partition count per topic name, overriding the catalog's default.
    partitions: dict[str, int] = Field(default_factory=dict)

    @field_validator("partitions")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = [name for name, count in value.items() if count < 1]
        if bad:
            raise ValueError(f"partition counts must be at least 1: {', '.join(bad)}")
        return value


class SmokeConfig(_Strict):
    """The plumbing smoke path (generator and pass-through): a check of a new cluster's
    plumbing, off unless asked for, since its events belong to no department."""

    enabled: bool = False
    events_per_second: float = Field(default=5.0, gt=0, le=10_000)


class HubConfig(_Strict):
    departments: dict[str, DepartmentConfig] = Field(
        default_factory=lambda: {name: DepartmentConfig() for name in DEFAULT_DEPARTMENTS},
        min_length=1,
    )
    topics: TopicsConfig = Field(default_factory=TopicsConfig)
    smoke: SmokeConfig = Field(default_factory=SmokeConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    connectors: ConnectorsSection = Field(default_factory=dict)
    processes: ProcessesConfig = Field(default_factory=ProcessesConfig)
    _routing_departments = routing_departments_validator
    _process_departments = process_departments_validator

    @field_validator("departments")
    @classmethod
    def _department_names(cls, value: dict[str, DepartmentConfig]) -> dict[str, DepartmentConfig]:
        bad = [name for name in value if not re.fullmatch(_NAME, name)]
        if bad:
            raise ValueError(
                f"department names must be lower-case identifiers (they name topics): {bad}"
            )
        return value


def _substitute(node: Any, path: str, env: dict[str, str], problems: list[tuple[str, str]]) -> Any:
    if isinstance(node, dict):
        return {
            k: _substitute(v, f"{path}.{k}" if path else str(k), env, problems)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_substitute(v, f"{path}[{i}]", env, problems) for i, v in enumerate(node)]
    if isinstance(node, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                problems.append((path, f"environment variable {name} is not set"))
                return ""
            return env[name]

        return _ENV_REF.sub(replace, node)
    return node


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line with the line and column where it struck (its own text
    spans several lines, quotes the source and names an anonymous ``<unicode string>``)."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return " ".join(str(exc).split())
    where = exc.problem_mark
    text = exc.problem or "unreadable"
    if where is not None:
        text = f"line {where.line + 1}, column {where.column + 1}: {text}"
    context, started = exc.context, exc.context_mark
    if context:
        at = f" at line {started.line + 1}, column {started.column + 1}" if started else ""
        text += f" ({context}{at})"
    return text


def parse_config(
    text: str, source: str = "hub.yaml", env: dict[str, str] | None = None
) -> HubConfig:
    """Parse and validate config text; raise :class:`ConfigError` naming every bad key."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [("(file)", f"not valid YAML: {yaml_problem(exc)}")]) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, [("(file)", "the top level must be a mapping")])
    problems: list[tuple[str, str]] = []
    data = _substitute(raw, "", dict(os.environ) if env is None else env, problems)
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(
            (".".join(str(part) for part in err["loc"]) or "(file)", err["msg"])
            for err in exc.errors()
        )
        config = None
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def load_config(path: Path) -> HubConfig:
    """Load ``hub.yaml``; a missing file means the shipped defaults."""
    if not path.exists():
        return HubConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError as exc:
        raise ConfigError(str(path), [("(file)", "is a directory, not a YAML file")]) from exc
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})"
        raise ConfigError(str(path), [("(file)", problem)]) from exc
    except OSError as exc:
        raise ConfigError(str(path), [("(file)", f"cannot be read: {exc.strerror}")]) from exc
    return parse_config(text, source=str(path))

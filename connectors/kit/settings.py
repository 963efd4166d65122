"""Settings of one connector instance: a frozen pydantic-settings model per connector type.

Values come only from the instance's entry under ``connectors:`` in ``hub.yaml`` (after
``${ENV}`` substitution), never implicitly from the process environment: two instances of
one type must not silently share an environment variable. Secrets are ``SecretStr``: their
repr, ``str`` and :func:`masked` show ``**********``, and the kit never logs settings
otherwise.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

MASK = "**********"
#: Field names that must be ``SecretStr`` (the contract suite checks this).
SECRET_NAME_HINTS = ("secret", "password", "token", "api_key", "apikey", "private_key")


class ConnectorSettings(BaseSettings):
    """Base of every connector's settings; subclass it and add your fields.

    The common fields below tune the kit's behaviour for every instance.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    poll_interval_seconds: float = Field(
        default=30.0, gt=0, description="Pause between two polls once a source is caught up"
    )
    page_size: int = Field(
        default=100, ge=1, le=10_000, description="Records published before a cursor is stored"
    )
    backoff_initial_seconds: float = Field(
        default=1.0, gt=0, description="First retry delay after a transient error"
    )
    backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Upper bound of the retry delay"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # hub.yaml (with ${ENV} references) is the only source of an instance's settings.
        return (init_settings,)


def masked(settings: ConnectorSettings) -> dict[str, Any]:
    """The settings as JSON-able values with every secret replaced by ``**********``."""
    out: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        out[name] = MASK if isinstance(value, SecretStr) else _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): MASK if isinstance(v, SecretStr) else _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [MASK if isinstance(v, SecretStr) else _plain(v) for v in value]
    return str(value)


def secret_fields(model: type[ConnectorSettings]) -> list[str]:
    """Names of the fields declared as ``SecretStr`` (optional or not)."""
    out = []
    for name, field in model.model_fields.items():
        annotation = str(field.annotation)
        if field.annotation is SecretStr or "SecretStr" in annotation:
            out.append(name)
    return out


def fields_that_should_be_secret(model: type[ConnectorSettings]) -> list[str]:
    """Fields whose name suggests a secret but whose type is not ``SecretStr``."""
    secrets = set(secret_fields(model))
    return [
        name
        for name in model.model_fields
        if name not in secrets and any(hint in name.lower() for hint in SECRET_NAME_HINTS)
    ]


__all__ = [
    "MASK",
    "ConnectorSettings",
    "fields_that_should_be_secret",
    "masked",
    "secret_fields",
]

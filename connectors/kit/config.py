"""The ``connectors:`` section of ``hub.yaml``: instance name to type and settings.

    connectors:
      shop_orders:                # the instance name: raw topics are raw.shop_orders.<entity>
        type: jsonl               # an installed connector type (hub connector list)
        directory: /data/exports  # the type's settings (see its settings model)
        enabled: true             # optional; false keeps the instance configured but stopped

Every problem of every instance is reported at once with its key, e.g.
``connectors.shop_orders.directory: Field required``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

_INSTANCE_NAME = re.compile(r"[a-z][a-z0-9_]*")  # whole name: fullmatch


class ConnectorInstance(BaseModel):
    """One configured instance; ``settings`` holds every key other than type and enabled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(min_length=1)
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_settings(cls, data: Any) -> Any:
        if isinstance(data, dict) and "settings" not in data:
            own = {k: v for k, v in data.items() if k in ("type", "enabled")}
            own["settings"] = {k: v for k, v in data.items() if k not in ("type", "enabled")}
            return own
        return data


def _error(loc: tuple[str | int, ...], message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("connector_config", "{message}", {"message": message}),
        loc=loc,
        input=value,
    )


def validate_connectors(value: dict[str, ConnectorInstance]) -> dict[str, ConnectorInstance]:
    """Check names, types and every instance's settings; raise one error listing all."""
    from connectors.kit.registry import UnknownConnectorType, get_type  # noqa: PLC0415

    errors: list[InitErrorDetails] = []
    for name, instance in value.items():
        if not _INSTANCE_NAME.fullmatch(name):
            errors.append(
                _error(
                    (name,),
                    "instance names must be lower-case identifiers (they name topics)",
                    name,
                )
            )
        try:
            connector_type = get_type(instance.type)
        except UnknownConnectorType as exc:
            errors.append(_error((name, "type"), str(exc), instance.type))
            continue
        try:
            connector_type.parse_settings(instance.settings)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                message = err["msg"]
                if err["type"] == "extra_forbidden":
                    message = f"unknown setting for connector type {instance.type!r}"
                loc = (name, *err["loc"]) if err["loc"] else (name,)
                errors.append(_error(loc, message, err.get("input")))
    if errors:
        raise ValidationError.from_exception_data("connectors", errors)
    return value


#: The type of ``HubConfig.connectors``: validated as a whole, every problem reported.
ConnectorsSection = Annotated[dict[str, ConnectorInstance], AfterValidator(validate_connectors)]


def instance_entities(instance: ConnectorInstance) -> tuple[str, ...]:
    """The entities of one configured instance (its type's, or its ``entities_for``)."""
    from connectors.kit.registry import get_type  # noqa: PLC0415 - entry points load lazily

    connector_type = get_type(instance.type)
    if connector_type.entities_for is None:
        return connector_type.entities
    return connector_type.entities_of(connector_type.parse_settings(instance.settings))


def raw_streams(connectors: Mapping[str, ConnectorInstance]) -> list[tuple[str, str]]:
    """``(instance, entity)`` of every configured instance: their raw topics join the catalog."""
    return [
        (name, entity)
        for name, instance in connectors.items()
        for entity in instance_entities(instance)
    ]


__all__ = [
    "ConnectorInstance",
    "ConnectorsSection",
    "instance_entities",
    "raw_streams",
    "validate_connectors",
]

"""Settings of a ``jsonl`` instance (the ``connectors.<instance>`` entry in ``hub.yaml``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from connectors.kit.settings import ConnectorSettings


class JsonlSettings(ConnectorSettings):
    """Where the exported files are and how their records are shaped."""

    directory: Path = Field(
        description="Export directory: one sub-directory per entity (customer/, order/) "
        "holding *.jsonl files, read in name order"
    )
    pattern: str = Field(default="*.jsonl", description="File name pattern inside each entity")
    id_field: str = Field(default="id", min_length=1, description="The record's id field")
    time_field: str = Field(
        default="updated_at", min_length=1, description="ISO 8601 modification time field"
    )

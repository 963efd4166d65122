"""Polls a directory of JSON-lines files, like Kafka Connect's FileStreamSource.

Each entity has a directory ``<directory>/<entity>/``; an exporting system drops or appends
``*.jsonl`` files there (one JSON object per line). The cursor is ``<file name>:<byte
offset>`` just past the last complete line published, so a restart resumes exactly there;
files are read in name order and only complete (newline-terminated) lines are read, so a
file that is still being written is picked up where it stopped on the next poll.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import orjson

from connectors.jsonl.settings import JsonlSettings
from connectors.kit.errors import FatalError
from connectors.kit.polling import PollingSource
from connectors.kit.source import BadRecord, Record


def parse_cursor(cursor: str | None) -> tuple[str, int]:
    """``("", 0)`` for no cursor, else the file name and byte offset."""
    if not cursor:
        return "", 0
    name, _, offset = cursor.rpartition(":")
    return name, int(offset)


class JsonlSource(PollingSource[JsonlSettings]):
    entities = ("customer", "order")

    async def open(self) -> None:
        if not self.settings.directory.is_dir():
            raise FatalError(f"directory {self.settings.directory} does not exist")

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        done_name, done_offset = parse_cursor(cursor)
        folder = self.settings.directory / stream
        files = sorted(p for p in folder.glob(self.settings.pattern) if p.is_file())
        for path in files:
            if path.name < done_name:
                continue
            start = done_offset if path.name == done_name else 0
            for offset, line in _complete_lines(path, start):
                yield self._record(stream, path.name, offset, line)

    def _record(self, stream: str, name: str, end: int, line: bytes) -> Record | BadRecord:
        cursor = f"{name}:{end}"
        settings = self.settings
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return BadRecord(raw=line, reason=f"{name}: not JSON: {exc}", cursor=cursor)
        if not isinstance(data, dict):
            return BadRecord(raw=line, reason=f"{name}: not a JSON object", cursor=cursor)
        record_id, stamp = data.get(settings.id_field), data.get(settings.time_field)
        if record_id in (None, "") or not isinstance(stamp, str):
            return BadRecord(
                raw=line,
                reason=f"{name}: needs {settings.id_field!r} and {settings.time_field!r}",
                cursor=cursor,
                id=None if record_id is None else str(record_id),
            )
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            return BadRecord(
                raw=line,
                reason=f"{name}: {settings.time_field} {stamp!r} is not an ISO 8601 time "
                "with an offset",
                cursor=cursor,
                id=str(record_id),
            )
        return Record(id=str(record_id), revision=stamp, time=moment, data=data, cursor=cursor)


def _complete_lines(path: Path, start: int) -> list[tuple[int, bytes]]:
    """``(offset after the line, line)`` for every complete non-blank line from ``start``."""
    with path.open("rb") as handle:
        handle.seek(start)
        content = handle.read()
    out = []
    position = start
    for line in content.split(b"\n")[:-1]:  # the last piece is partial (or empty)
        position += len(line) + 1
        if line.strip():
            out.append((position, line))
    return out

"""Small sources for the kit's unit tests (scripted behaviour, no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import orjson
from pydantic import SecretStr

from connectors.kit import (
    BadRecord,
    BadRecordError,
    ConnectorSettings,
    ConnectorType,
    HmacSha256,
    PollingSource,
    Record,
    UntranslatableRecord,
    WebhookSource,
)
from schemas import Envelope

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class ScriptSettings(ConnectorSettings):
    count: int = 10
    api_token: SecretStr = SecretStr("s3cr3t-token")


class ScriptedSource(PollingSource[ScriptSettings]):
    """Yields records 1..count after the cursor; ``failures`` scripts errors per read call."""

    entities = ("item",)
    failures: ClassVar[list[BaseException | None]] = []
    bad: ClassVar[set[int]] = set()
    reads: ClassVar[list[str | None]] = []

    async def read(self, stream: str, cursor: str | None) -> AsyncIterator[Record | BadRecord]:
        type(self).reads.append(cursor)
        failure = type(self).failures.pop(0) if type(self).failures else None
        start = int(cursor) if cursor else 0
        for n in range(start + 1, self.settings.count + 1):
            if failure is not None and n == start + 2:
                raise failure
            if n in type(self).bad:
                yield BadRecord(raw=b"{not json", reason=f"line {n} broken", cursor=str(n))
                continue
            yield Record(
                id=f"I{n}",
                revision="1",
                time=T0 + timedelta(minutes=n),
                data={"n": n},
                cursor=str(n),
            )


def translate_item(raw: Envelope) -> Sequence[Envelope]:
    raise UntranslatableRecord("items have no canonical form")


SCRIPTED = ConnectorType(
    name="scripted",
    settings_model=ScriptSettings,
    source=ScriptedSource,
    translate=translate_item,
)


class HookSettings(ConnectorSettings):
    webhook_secret: SecretStr


class HookSource(WebhookSource[HookSettings]):
    entities = ("ticket",)
    signature = HmacSha256(
        header="X-Signature",
        template="{timestamp}.{body}",
        prefix="sha256=",
        timestamp_header="X-Timestamp",
        tolerance_seconds=300,
    )
    max_body_bytes = 2048

    def delivery_id(self, headers: Mapping[str, str], body: bytes) -> str:
        value = headers.get("x-delivery-id")
        if not value:
            raise BadRecordError("no X-Delivery-Id header")
        return value

    def parse(self, body: bytes, headers: Mapping[str, str], delivery_id: str) -> list[Record]:
        events: Any = orjson.loads(body)
        if not isinstance(events, list):
            raise BadRecordError("body must be a JSON list of ticket events")
        return [
            Record(
                id=str(e["ticket_id"]),
                revision="",
                time=datetime.fromisoformat(e["at"]),
                data=e,
                entity="ticket",
            )
            for e in events
        ]


HOOK = ConnectorType(
    name="hook", settings_model=HookSettings, source=HookSource, translate=translate_item
)

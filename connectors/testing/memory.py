"""In-memory stand-ins for the broker, so the contract suite runs without Kafka."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from schemas.envelope import Envelope, KafkaRecord


@dataclass
class MemoryPublisher:
    """Records what would have been published; every send is acknowledged at once.

    ``fail_after`` makes the n-th and later sends fail (a broker that went away).
    """

    sent: list[tuple[str, KafkaRecord]] = field(default_factory=list)
    fail_after: int | None = None

    async def send(self, topic: str, record: KafkaRecord) -> asyncio.Future[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            future.set_exception(ConnectionError("broker unavailable (simulated)"))
            return future
        self.sent.append((topic, record))
        future.set_result(None)
        return future

    def raw(self) -> list[tuple[str, Envelope]]:
        """Published raw events, decoded, in publish order."""
        return [
            (topic, Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers))
            for topic, r in self.sent
            if topic.startswith("raw.")
        ]

    def dead_letters(self) -> list[KafkaRecord]:
        return [record for topic, record in self.sent if topic == "hub.dlq"]

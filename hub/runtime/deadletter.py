"""Dead letters: a record a stage cannot handle is parked with its reason, never dropped.

The dead letter keeps the original key, value and headers byte for byte and adds ``dlq_``
headers naming the stage, the error class and message, where the record came from and the
attempt, so ``hub dlq replay`` can re-drive it to the stage that failed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord

from hub.topics import DLQ
from schemas import KafkaRecord

DLQ_HEADER_PREFIX = "dlq_"
_MAX_MESSAGE = 2000


def attempt_of(headers: list[tuple[str, bytes]]) -> int:
    """How many times this record has already been dead-lettered (0 for a fresh one)."""
    for name, value in headers:
        if name == DLQ_HEADER_PREFIX + "attempt":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def dead_letter(
    record: ConsumerRecord[bytes, bytes], stage: str, error: BaseException
) -> tuple[str, KafkaRecord]:
    """The ``(topic, record)`` to publish for ``record`` that failed in ``stage``."""
    original = [
        (name, value)
        for name, value in (record.headers or ())
        if not name.startswith(DLQ_HEADER_PREFIX)
    ]
    attempt = attempt_of(list(record.headers or ())) + 1
    message = str(error)[:_MAX_MESSAGE]
    reason = {
        "stage": stage,
        "error_class": type(error).__name__,
        "error_message": message,
        "original_topic": record.topic,
        "original_partition": str(record.partition),
        "original_offset": str(record.offset),
        "attempt": str(attempt),
        "failed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    headers = original + [(DLQ_HEADER_PREFIX + k, v.encode()) for k, v in reason.items()]
    return DLQ, KafkaRecord(key=record.key, value=record.value or b"", headers=headers)

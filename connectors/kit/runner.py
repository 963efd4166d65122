"""Running connector instances: paging, checkpoints, backoff, dead letters, state and metrics.

One :class:`InstanceRunner` per configured instance. The runner owns everything the author
does not write: it builds raw events from records, publishes a page, awaits every
acknowledgement, stores the page's last cursor, dead-letters bad records with stage
``connector:<instance>``, retries transient errors with exponential backoff and jitter
(honouring ``Retry-After``), and stops an instance with a fatal error while the others run on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from aiokafka.structs import ConsumerRecord

from connectors.kit.checkpoints import CheckpointStore, Publisher
from connectors.kit.errors import BadRecordError, FatalError, RetriableError
from connectors.kit.polling import PollingSource
from connectors.kit.registry import ConnectorType
from connectors.kit.settings import ConnectorSettings
from connectors.kit.source import BadRecord, Record, build_raw_event, raw_topic_name
from connectors.kit.webhook import DeliveryLog, WebhookSource, trace_context
from hub.runtime.deadletter import dead_letter
from hub.runtime.metrics import CONNECTOR_STATES, HubMetrics
from schemas.envelope import KafkaRecord

log = logging.getLogger(__name__)

#: ``disabled``: configured with ``enabled: false``, kept but never started.
ConnectorState = Literal["starting", "running", "backing_off", "failed", "stopped", "disabled"]
#: Every state, as the metrics catalog lists them (``hub_connector_state`` keeps one series
#: per state; dashboards and alerts rely on this fixed set).
STATES: tuple[str, ...] = CONNECTOR_STATES
Sleep = Callable[[float], Awaitable[None]]


def dead_letter_stage(instance: str) -> str:
    return f"connector:{instance}"


def connector_dead_letter(
    instance: str,
    topic: str,
    key: str | None,
    value: bytes,
    error: BaseException,
) -> tuple[str, KafkaRecord]:
    """A dead letter for a record that never reached its raw topic.

    Same shape as every stage's dead letters (:func:`hub.runtime.deadletter.dead_letter`):
    ``dlq_original_topic`` is the raw topic it was meant for; partition and offset are -1
    because the record was never on a topic.
    """
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic=topic,
        partition=-1,
        offset=-1,
        timestamp=int(time.time() * 1000),
        timestamp_type=0,
        key=key.encode() if key is not None else None,
        value=value,
        checksum=None,
        serialized_key_size=len(key or ""),
        serialized_value_size=len(value),
        headers=[],
    )
    return dead_letter(record, dead_letter_stage(instance), error)


@dataclass(frozen=True)
class _Pending:
    topic: str
    record: KafkaRecord
    entity: str
    ack: Awaitable[Any]


async def _abandon(page: list[_Pending]) -> None:
    """Collect the outcome of sends whose page failed (their cursor is not stored)."""
    if page:
        await asyncio.gather(*(p.ack for p in page), return_exceptions=True)


@dataclass
class Backoff:
    """Exponential backoff with full jitter, never shorter than the server's ``retry_after``."""

    initial: float
    maximum: float
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)  # jitter only

    def next_delay(self, retry_after: float | None = None) -> float:
        ceiling = min(self.maximum, self.initial * (2**self.attempt))
        self.attempt += 1
        delay = self.rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.maximum))
        return delay

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class InstanceStatus:
    """What ``GET /v1/connectors`` and ``hub connector list`` show about an instance."""

    instance: str
    type: str
    kind: str
    state: ConnectorState = "starting"
    reason: str | None = None
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    cursors: dict[str, str | None] = field(default_factory=dict)
    published: int = 0
    dead_letters: int = 0
    retry_in_seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "type": self.type,
            "kind": self.kind,
            "state": self.state,
            "reason": self.reason,
            "since": self.since.isoformat(),
            "cursors": dict(self.cursors),
            "published": self.published,
            "dead_letters": self.dead_letters,
            "retry_in_seconds": self.retry_in_seconds,
        }


class InstanceRunner:
    """Runs one connector instance (polling loop, or webhook acceptance)."""

    def __init__(
        self,
        instance: str,
        connector_type: ConnectorType,
        settings: ConnectorSettings,
        *,
        publisher: Publisher,
        checkpoints: CheckpointStore,
        metrics: HubMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.instance = instance
        self.type = connector_type
        self.settings = settings
        #: this instance's entities (the type's, or what its ``entities_for`` says)
        self.entities = connector_type.entities_of(settings)
        self.source = connector_type.build_source(settings, instance)
        self.publisher = publisher
        self.checkpoints = checkpoints
        self.metrics = metrics
        self._sleep = sleep
        self.backoff = Backoff(
            settings.backoff_initial_seconds,
            settings.backoff_max_seconds,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
        )
        self.status = InstanceStatus(instance, connector_type.name, connector_type.kind)
        self.deliveries = DeliveryLog()
        #: Set by the host once the instance may take webhooks (a polling+webhook source
        #: accepts them while its polling backs off, not once it failed or stopped).
        self.accepting_webhooks = False
        self._ages: dict[str, float] = {}
        self.set_state("starting")

    # -- state -------------------------------------------------------------------------------

    def set_state(self, state: ConnectorState, reason: str | None = None) -> None:
        if state != self.status.state or reason != self.status.reason:
            self.status.since = datetime.now(UTC)
        self.status.state, self.status.reason = state, reason
        if state != "backing_off":
            self.status.retry_in_seconds = None
        if self.metrics is not None:
            for name in STATES:
                self.metrics.connector_state.labels(connector=self.instance, state=name).set(
                    1 if name == state else 0
                )

    def _stored(self, stream: str, cursor: str | None) -> None:
        self.status.cursors[stream] = cursor
        self._ages[stream] = time.monotonic()
        if self.metrics is not None:
            ages = self._ages

            def age() -> float:
                return time.monotonic() - ages[stream]

            self.metrics.checkpoint_age.labels(connector=self.instance, stream=stream).set_function(
                age
            )

    # -- publishing --------------------------------------------------------------------------

    def _to_output(self, item: Record | BadRecord, stream: str) -> tuple[str, KafkaRecord, str]:
        """The ``(topic, record, entity)`` to publish for a yielded item (or its dead letter)."""
        if not isinstance(item, (Record, BadRecord)):
            raise FatalError(
                f"read() of stream {stream!r} yielded {type(item).__name__}; "
                "yield Record or BadRecord"
            )
        entity = item.entity or stream
        if entity not in self.entities:
            raise FatalError(
                f"stream {stream!r} yielded a record of entity {entity!r}; "
                f"instance {self.instance} has {', '.join(self.entities) or 'no entities'}"
            )
        if isinstance(item, BadRecord):
            topic, letter = connector_dead_letter(
                self.instance,
                raw_topic_name(self.instance, entity),
                item.id,
                item.raw,
                BadRecordError(item.reason),
            )
            return topic, letter, entity
        try:
            event = build_raw_event(self.instance, self.type.name, entity, item)
        except BadRecordError as exc:
            try:
                value = orjson.dumps(item.data, default=str)
            except TypeError:
                value = repr(item.data).encode()
            topic, letter = connector_dead_letter(
                self.instance, raw_topic_name(self.instance, entity), str(item.id), value, exc
            )
            return topic, letter, entity
        return event.topic, event.to_kafka(), entity

    async def publish(self, outputs: list[tuple[str, KafkaRecord, str]]) -> None:
        """Send every output, then await all acknowledgements (acks=all) together."""
        pending = [await self.send(topic, record, entity) for topic, record, entity in outputs]
        await self.settle(pending)

    async def send(self, topic: str, record: KafkaRecord, entity: str) -> _Pending:
        """Queue one output; its acknowledgement is awaited by :meth:`settle`."""
        return _Pending(topic, record, entity, await self.publisher.send(topic, record))

    async def settle(self, pending: list[_Pending]) -> None:
        """Await the acknowledgements of ``pending``; count what landed."""
        if pending:
            await asyncio.gather(*(p.ack for p in pending))
        for item in pending:
            if item.topic.startswith("raw."):
                self.status.published += 1
                if self.metrics is not None:
                    self.metrics.connector_events.labels(
                        connector=self.instance, entity=item.entity
                    ).inc()
            else:
                self.status.dead_letters += 1
                if self.metrics is not None:
                    error_class = dict(item.record.headers).get("dlq_error_class", b"").decode()
                    self.metrics.dlq_events.labels(
                        stage=dead_letter_stage(self.instance), error_class=error_class
                    ).inc()

    # -- polling -----------------------------------------------------------------------------

    async def poll_stream(self, stream: str, max_pages: int | None = None) -> int:
        """Read ``stream`` from its stored cursor until caught up; returns pages stored.

        ``max_pages`` stops after that many stored pages (tests use it to simulate a stop
        between two pages).
        """
        source = self.source
        if not isinstance(source, PollingSource):
            raise TypeError(f"{self.instance} is not a polling source")
        checkpoint = self.checkpoints.get(self.instance, stream)
        cursor = checkpoint.cursor if checkpoint else None
        self.status.cursors.setdefault(stream, cursor)
        page: list[_Pending] = []
        page_cursor = cursor
        pages = 0

        async def flush() -> None:
            nonlocal page, cursor, pages
            await self.settle(page)
            page = []
            if page_cursor != cursor:
                await self.checkpoints.save(self.instance, stream, page_cursor)
                cursor = page_cursor
                self._stored(stream, cursor)
            pages += 1

        reader = source.read(stream, cursor)
        try:
            async for item in reader:
                # sent at once (pipelined); the page's cursor waits for every acknowledgement
                page.append(await self.send(*self._to_output(item, stream)))
                if item.cursor is not None:
                    page_cursor = item.cursor
                if len(page) >= self.settings.page_size:
                    await flush()
                    if max_pages is not None and pages >= max_pages:
                        return pages
        except BadRecordError as exc:
            await _abandon(page)
            raise FatalError(
                f"read() of stream {stream!r} raised {type(exc).__name__} ({exc}); "
                "yield BadRecord for a record it cannot read"
            ) from exc
        except Exception:
            await _abandon(page)  # sent records may land: at least once, never skipped
            raise
        finally:
            with contextlib.suppress(Exception):
                await reader.aclose()  # type: ignore[attr-defined]
        if page or page_cursor != cursor:
            await flush()
        return pages

    async def poll_once(self) -> None:
        """One pass: every stream read until caught up. Errors propagate to :meth:`run`."""
        source = self.source
        assert isinstance(source, PollingSource)  # noqa: S101 - run() checked the kind
        for stream in source.streams():
            await self.poll_stream(stream)

    @property
    def takes_webhooks(self) -> bool:
        """Running (or backing off while polling), or opened for webhooks by the host."""
        state = self.status.state
        if state in ("running", "backing_off"):
            return True
        return self.accepting_webhooks and state == "starting"

    async def run(self) -> None:
        """Poll forever; never raises except on cancellation (failures become the state).

        ``open()`` follows the error model of reads: a retriable failure (the server is
        down at start-up) backs off and opens again, a fatal one fails the instance with
        the reason; ``close()`` is called after every failed ``open()``, so a source may
        release what it acquired before the failure.
        """
        if not isinstance(self.source, PollingSource):
            self.set_state("running")
            return
        opened = False
        try:
            while True:
                try:
                    if not opened:
                        await self._open()
                        opened = True
                    if self.status.state != "backing_off":
                        self.set_state("running")
                    await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except FatalError as exc:
                    self._fail(exc)
                    return
                except Exception as exc:  # noqa: BLE001 - retried, logged in _back_off
                    await self._back_off(exc)
                    continue
                self.backoff.reset()
                self.set_state("running")
                await self._sleep(self.settings.poll_interval_seconds)
        finally:
            if self.status.state != "failed":
                self.set_state("stopped")
            if opened:
                await self._close()

    async def _open(self) -> None:
        """``source.open()``; on failure ``source.close()`` and re-raise for :meth:`run`."""
        try:
            await self.source.open()
        except BaseException:
            await self._close()
            raise

    async def _close(self) -> None:
        try:
            await self.source.close()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning(
                "connector %s: close() failed",
                self.instance,
                exc_info=True,
                extra={"connector": self.instance},
            )

    async def _back_off(self, exc: Exception) -> None:
        retry_after = exc.retry_after if isinstance(exc, RetriableError) else None
        delay = self.backoff.next_delay(retry_after)
        reason = f"{type(exc).__name__}: {exc}"
        self.set_state("backing_off", reason)
        self.status.retry_in_seconds = round(delay, 3)
        log.warning(
            "connector %s backing off %.1fs: %s",
            self.instance,
            delay,
            reason,
            exc_info=not isinstance(exc, RetriableError),
            extra={"connector": self.instance},
        )
        await self._sleep(delay)

    def _fail(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        self.set_state("failed", reason)
        log.error(
            "connector %s stopped: %s", self.instance, reason, extra={"connector": self.instance}
        )

    # -- webhooks ----------------------------------------------------------------------------

    async def accept_webhook(
        self, body: bytes, headers: Mapping[str, str], delivery_id: str
    ) -> int:
        """Parse and publish one verified delivery; returns the number of raw events.

        Raises ``BadRecordError`` for a body the vendor would not send (nothing published).
        """
        source = self.source
        if not isinstance(source, WebhookSource):
            raise TypeError(f"{self.instance} is not a webhook source")
        try:
            records = list(source.parse(body, headers, delivery_id))
        except BadRecordError:
            raise
        except (ValueError, KeyError, TypeError) as exc:  # JSON errors are ValueErrors
            raise BadRecordError(f"{type(exc).__name__}: {exc}") from exc
        outputs = []
        traceparent = trace_context(headers)
        for record in records:
            if not record.entity:
                raise BadRecordError(f"record {record.id!r} has no entity")
            if record.entity not in self.entities:
                raise BadRecordError(f"record {record.id!r}: unknown entity {record.entity!r}")
            if not record.revision:
                record = Record(  # noqa: PLW2901 - the delivery id is the revision
                    id=record.id,
                    revision=delivery_id,
                    time=record.time,
                    data=record.data,
                    entity=record.entity,
                )
            event = build_raw_event(
                self.instance, self.type.name, record.entity, record, traceparent=traceparent
            )
            outputs.append((event.topic, event.to_kafka(), record.entity))
        await self.publish(outputs)
        self.deliveries.add(delivery_id)
        return len(outputs)


__all__ = [
    "STATES",
    "Backoff",
    "ConnectorState",
    "InstanceRunner",
    "InstanceStatus",
    "connector_dead_letter",
    "dead_letter_stage",
]

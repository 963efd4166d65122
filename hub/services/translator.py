"""``hub run translator``: raw.* in; canonical events out to hub.orders/customers/support.

Batches are consumed from every raw topic (a pattern subscription, so a new connector's
topic is picked up without a restart), translated by the connector type's translator from
the kit registry, validated, given golden customer ids and published together; offsets are
committed only after every output, dead letters included, is acknowledged
(:func:`hub.runtime.batch.run_batch`). The identity map is rebuilt from ``hub.identity``
before the first batch is handled, and ``GET /v1/customers/lookup`` answers from it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaMessage, KafkaRouter

from connectors.kit.registry import InstanceTranslators, connector_types
from hub.identity.resolver import IdentityResolver, Merge
from hub.identity.store import IdentityStore
from hub.routing.reload import RulesHolder
from hub.runtime.batch import batch_subscriber, rewind, run_batch
from hub.runtime.errors import shown
from hub.runtime.metrics import Tally
from hub.runtime.producer import Output
from hub.runtime.service import Runtime, Service
from hub.services.router import RouterStage
from hub.topics import CUSTOMERS, DLQ, IDENTITY, ORDERS, SUPPORT, department_topic
from hub.translate.stage import STAGE, TranslationStage, TranslatorLookup, merged_event
from schemas import Envelope

log = logging.getLogger(__name__)

GROUP = "hub-translator"
COMBINED_GROUP = "hub-translate-and-route"
#: Every raw topic, ``raw.<connector instance>.<entity>``.
RAW_PATTERN = r"raw\..+"
_MERGE_CAUSE = Envelope(id="identity-follower", source="/hub/identity", type="identity.sync")


def _connector_of(record: ConsumerRecord[bytes, bytes]) -> str:
    parts = record.topic.split(".")
    return str(parts[1] if len(parts) > 2 else record.topic)


def lookup_routes(store: IdentityStore) -> APIRouter:
    router = APIRouter(tags=["identity"])

    @router.get("/v1/customers/lookup")
    async def customer_lookup(system: str | None = None, id: str | None = None) -> JSONResponse:
        """The golden customer id of a source identity (``system`` = connector instance)."""
        if not system or not id:
            missing = [name for name, value in (("system", system), ("id", id)) if not value]
            return JSONResponse(
                {
                    "error": "bad_request",
                    "detail": f"missing query parameter(s): {', '.join(missing)}",
                },
                status_code=400,
            )
        if not store.ready.is_set():
            return JSONResponse(
                {"error": "not_ready", "detail": "identity map is still loading"}, status_code=503
            )
        golden = store.resolver.resolve(system, id)
        if golden is None:
            return JSONResponse(
                {
                    "error": "not_found",
                    "detail": f"unknown identity: system {shown(system)}, id {shown(id)}",
                },
                status_code=404,
            )
        return JSONResponse({"customer_id": golden, "system": system, "id": id})

    return router


def translator_service(
    runtime: Runtime,
    lookup: TranslatorLookup | None = None,
    *,
    group_id: str = GROUP,
    raw_topics: Sequence[str] | None = None,
    name: str = "translator",
    rules: RulesHolder | None = None,
) -> Service:
    """The translator; tests pass their own ``lookup`` and explicit ``raw_topics``.

    By default each connector instance of ``hub.yaml`` gets its type's translator, built
    from the instance's settings when the type needs them (:class:`InstanceTranslators`).

    With ``rules``, the same batch is also routed (:func:`translate_and_route`)."""
    metrics = runtime.metrics
    # one hop: each canonical event goes to the router as the stage encoded it
    routing = RouterStage(rules, metrics) if rules is not None else None
    route = routing.handle if routing is not None else None
    # identity rules follow hub.yaml as routing rules do (one watcher for both in one hop)
    holder = rules or RulesHolder(runtime.config, runtime.settings.config)
    resolver = IdentityResolver()
    # import the installed connector types now, while the service is not yet ready, not
    # when the first raw record asks for one (a fraction of a second of imports in the
    # middle of the first batch)
    connector_types()
    if lookup is None:
        lookup = InstanceTranslators(runtime.config.connectors)
    stage = TranslationStage(runtime.config, lookup, resolver, metrics, rules=holder)

    def publish_merges(merges: list[Merge]) -> None:
        # joins found while following other instances' updates: announce them too (the
        # event id depends only on the two ids, so duplicates from several instances dedupe)
        metrics.identity_merges.inc(len(merges))
        follower_pending.extend(
            (CUSTOMERS, merged_event(m, _MERGE_CAUSE, None).to_kafka()) for m in merges
        )

    follower_pending: list[Output] = []

    store = IdentityStore(runtime.cluster, resolver, on_merges=publish_merges)

    events_in = Tally(metrics.events_in)

    def handle(record: ConsumerRecord[bytes, bytes]) -> list[Output]:
        events_in.add(name, record.topic)
        try:
            outputs = stage.handle(record, route)
        except Exception as exc:
            reason = type(exc).__name__
            metrics.translation_failures.labels(
                connector=_connector_of(record), reason=reason
            ).inc()
            metrics.dlq_events.labels(stage=STAGE, error_class=reason).inc()
            raise
        return outputs

    flush = (events_in.flush, *((routing.flush_metrics,) if routing is not None else ()))
    router = KafkaRouter()
    subscriber = batch_subscriber(
        router, *(raw_topics or ()), group_id=group_id, pattern=RAW_PATTERN
    )

    @subscriber
    async def translate_batch(msg: KafkaMessage) -> None:
        records: Sequence[ConsumerRecord[bytes, bytes]] = msg.raw_message
        if not await store.wait_ready():
            # shutting down before the identity map was loaded: leave the batch uncommitted
            rewind(msg.consumer, records)
            return
        # what an earlier, failed batch left unsent (see TranslationStage.unacked)
        pending, taken = [*stage.unacked, *follower_pending], len(follower_pending)
        if pending:
            try:
                await runtime.producer.send_all(pending)
            except Exception:
                rewind(msg.consumer, records)
                raise
            stage.unacked.clear()
            del follower_pending[:taken]
        await run_batch(
            producer=runtime.producer,
            consumer=msg.consumer,
            records=records,
            stage=STAGE,
            handle=handle,
            flush=flush,
        )
        stage.unacked.clear()

    departments = tuple(department_topic(d) for d in runtime.config.departments) if rules else ()
    return Service(
        name=name,
        kafka=router,
        http=lookup_routes(store),
        tasks=[store.run, holder.watch],
        # lookups and translation both need the identity map rebuilt from hub.identity
        not_ready=lambda: None if store.ready.is_set() else "identity map is still loading",
        topics=(*(raw_topics or ()), IDENTITY, ORDERS, CUSTOMERS, SUPPORT, DLQ, *departments),
    )


def translate_and_route(
    runtime: Runtime, lookup: TranslatorLookup | None = None, **options: Any
) -> Service:
    """Translator and router on the same batch: one consume-produce hop instead of two.

    It publishes the canonical topics *and* the department topics, so it replaces both
    ``translator`` and ``router`` in a deployment (never run it beside the router: the
    router would deliver the same events again).
    """
    rules = RulesHolder(runtime.config, runtime.settings.config)
    options.setdefault("group_id", COMBINED_GROUP)
    options.setdefault("name", "translate-and-route")
    return translator_service(runtime, lookup, rules=rules, **options)


def translator(runtime: Runtime) -> Service:
    """``hub run translator``: translators from the installed connector types."""
    return translator_service(runtime)

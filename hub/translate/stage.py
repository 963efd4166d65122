"""The translation stage: one raw record in, canonical events (and identity updates) out.

For each raw record: decode the CloudEvent; pick the translator by the connector type in its
``type`` (``raw.<TYPE>.<entity>``); translate; validate every canonical event against its
schema (upcasting older versions); resolve the customer to its golden id; choose topic and
key. Anything that fails raises, and the batch runner dead-letters the raw record with the
reason, so a record is either fully translated or parked whole.

Identity updates (``hub.identity`` records) and ``customer.merged`` events are outputs of the
same batch. They are also kept as *unacknowledged* until a batch that carried them commits:
if publishing fails, the batch is re-delivered, the resolver already knows the identities
and would not repeat them, so the service re-sends the unacknowledged ones first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka.structs import ConsumerRecord

from hub.config import HubConfig
from hub.identity.config import IdentityConfig
from hub.identity.evidence import customer_evidence
from hub.identity.resolver import IdentityRecord, IdentityResolver, Merge, Resolution
from hub.routing.reload import RulesHolder
from hub.routing.route import EventView
from hub.runtime.metrics import HubMetrics
from hub.runtime.producer import Output
from hub.topics import CANONICAL_TOPICS, CUSTOMERS, IDENTITY
from hub.translate.topics import topic_and_key
from schemas import CustomerMerged, Envelope, KafkaRecord, canonical_event
from schemas.envelope import CONTENT_TYPE, CONTENT_TYPE_HEADER, dataschema_uri
from schemas.events import issued_model
from schemas.registry import current_version, model_for, parse_dataschema, validate_event

log = logging.getLogger(__name__)

Translator = Callable[[Envelope], Sequence[Envelope]]
TranslatorLookup = Callable[[str], Translator]
#: the department deliveries of one encoded canonical event (``RouterStage.handle``)
Route = Callable[[KafkaRecord, EventView | None], Sequence[Output]]

STAGE = "translator"
IDENTITY_SOURCE = "/hub/identity"
_PROFILE_TYPES = frozenset(("customer.created", "customer.updated"))
#: Raw types that are not the translator's: the plumbing smoke path has its own consumer.
SKIPPED_TYPES = frozenset(("smoke",))


class NotARawEvent(ValueError):  # noqa: N818 - names the situation
    """A record on a raw topic whose type is not ``raw.<connector type>.<entity>``."""


def connector_type_of(raw_type: str) -> str:
    parts = raw_type.split(".")
    if len(parts) < 3 or parts[0] != "raw" or not parts[1]:
        raise NotARawEvent(f"type {raw_type!r} is not raw.<connector type>.<entity>")
    return parts[1]


def identity_output(record: IdentityRecord) -> Output:
    key, value = record.encode()
    return IDENTITY, KafkaRecord(key, value, [(CONTENT_TYPE_HEADER, CONTENT_TYPE.encode())])


def merged_event(merge: Merge, cause: Envelope, time: datetime | None) -> Envelope:
    """The ``customer.merged`` event of a merge; its id depends only on the two ids."""
    moment = time or datetime.now(UTC)
    data = CustomerMerged(
        customer_id=merge.survivor,
        survivor_id=merge.survivor,
        merged_id=merge.merged,
        reason=merge.reason,
        merged_at=moment,
    )
    return canonical_event(
        data,
        source=IDENTITY_SOURCE,
        id_parts=(merge.merged, merge.survivor),
        time=moment,
        partitionkey=merge.survivor,
        subject=merge.merged,
        correlationid=cause.correlationid or cause.id,
        causationid=cause.id,
    )


class TranslationStage:
    """Raw record -> outputs; holds the identity resolver of this translator instance."""

    def __init__(
        self,
        config: HubConfig,
        lookup: TranslatorLookup,
        resolver: IdentityResolver | None = None,
        metrics: HubMetrics | None = None,
        *,
        rules: RulesHolder | None = None,
    ) -> None:
        self.config = config
        #: ``hub.yaml`` as last (re)loaded: identity rules follow it as routing rules do
        self.rules = rules
        self.lookup = lookup
        self.resolver = resolver if resolver is not None else IdentityResolver()
        self.metrics = metrics
        #: identity records and merge events not yet known to be on the broker
        self.unacked: list[Output] = []

    @property
    def identity_config(self) -> IdentityConfig:
        """The identity rules in force: the reloaded ``hub.yaml``'s when the stage follows
        one. A change applies to customer events read from then on; golden ids already
        joined stay joined, as after a restart (the map is rebuilt from ``hub.identity``,
        whatever the rules)."""
        rules = self.rules
        return rules.current.config.identity if rules is not None else self.config.identity

    # -- one record ------------------------------------------------------------------
    def handle(
        self, record: ConsumerRecord[bytes, bytes], route: Route | None = None
    ) -> list[Output]:
        raw = Envelope.from_kafka(key=record.key, value=record.value, headers=record.headers or ())
        return self.translate(raw, route)

    def translate(self, raw: Envelope, route: Route | None = None) -> list[Output]:
        """The outputs of one raw event; with ``route``, its department deliveries after
        them (the one-hop service), each event handed over with its decoded parts."""
        type_name = connector_type_of(raw.type)
        if type_name in SKIPPED_TYPES:
            return []
        translator = self.lookup(type_name)
        events = [(event, self._validated(event)) for event in translator(raw)]
        outputs: list[Output] = []
        deliveries: list[Output] = []
        for event, (valid, native, dataschema) in events:
            extra, data = self._identify(event, valid)
            topic, key = topic_and_key(event.type, data)
            time = event.time or raw.time
            out = event.encoded(
                data=data,
                dataschema=dataschema,
                partitionkey=key,
                causationid=event.causationid or raw.id,
                correlationid=event.correlationid or raw.correlationid or raw.id,
                traceparent=event.traceparent or raw.traceparent,
                time=time,
            )
            outputs.extend(extra)
            outputs.append((topic, out))
            if route is not None:
                for extra_topic, record in extra:
                    if extra_topic in CANONICAL_TOPICS:
                        deliveries += route(record, None)
                view = EventView(event.type, dataschema, time, data) if native else None
                deliveries += route(out, view)
        return outputs + deliveries if deliveries else outputs

    # -- steps -----------------------------------------------------------------------
    @staticmethod
    def _validated(event: Envelope) -> tuple[dict[str, Any], bool, str]:
        """The event's data, valid for the current version of its type, whether it is a
        fresh model dump (so JSON-native: routing may read it instead of its encoding), and
        the ``dataschema`` it goes out with: the current version's, since data of an older
        version (or of none named) is upgraded here and routed by the current policy.

        An event :func:`canonical_event` built from an instance of its type's current model
        is neither parsed nor dumped again: that instance was validated when the translator
        constructed it, and the envelope's ``data`` is its dump, taken as issued (identity
        then fills in ``customer_id`` in that dict; nothing reads the event's data after
        this stage). A translator must not change that data in place afterwards; the
        connector contract suite (``check_issued_data``) checks every connector for it.
        Everything else is validated from its data."""
        built = issued_model(event)
        if (
            built is not None
            and type(built) is model_for(event.type)
            and event.dataschema == dataschema_uri(event.type, built.version)
        ):
            issued: dict[str, Any] = event.data
            return issued, True, event.dataschema
        model = validate_event(event)
        current = current_version(event.type)
        dataschema = dataschema_uri(event.type, current)
        written = parse_dataschema(event.dataschema)[1] if event.dataschema else current
        if written == current and isinstance(event.data, dict):
            # valid as written: no second serialisation
            return dict(event.data), False, dataschema
        return model.model_dump(mode="json"), True, dataschema

    def _identify(
        self, event: Envelope, data: dict[str, Any]
    ) -> tuple[list[Output], dict[str, Any]]:
        ref = data.get("customer_ref")
        if not isinstance(ref, dict) or not ref.get("system") or not ref.get("id"):
            if data.get("customer_id"):
                data["customer_id"] = self.resolver.canonical(data["customer_id"])
            return [], data
        system, source_id = str(ref["system"]), str(ref["id"])
        resolution: Resolution
        if event.type in _PROFILE_TYPES:
            evidence = customer_evidence(data, self.identity_config)
            resolution = self.resolver.observe(system, source_id, evidence.keys, evidence.links)
        else:
            golden = self.resolver.surviving(system, source_id)
            if golden is not None:  # the usual case for orders and tickets: nothing changes
                data["customer_id"] = golden
                return [], data
            resolution = self.resolver.ensure(system, source_id)
        extra = [identity_output(r) for r in resolution.records]
        if self.metrics is not None and resolution.merges:
            self.metrics.identity_merges.inc(len(resolution.merges))
        for merge in resolution.merges:
            log.info(
                "customers merged",
                extra={"survivor": merge.survivor, "merged": merge.merged, "reason": merge.reason},
            )
            extra.append((CUSTOMERS, merged_event(merge, event, event.time).to_kafka()))
        self.unacked.extend(extra)
        data["customer_id"] = resolution.customer_id
        return extra, data

"""The topic catalog: the one declaration of every topic Handoff uses.

Services, ``hub topics create``, the tests and the Kubernetes topic resources all read it.
Services never create topics as a side effect (FastStream's auto-creation is off and Tansu
auto-creates on metadata requests), so a typo in a topic name fails loudly at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from hub.config import HubConfig
from hub.runtime.cluster import KafkaCluster

DAY_MS = 24 * 60 * 60 * 1000
CleanupPolicy = Literal["delete", "compact"]

ORDERS = "hub.orders"
CUSTOMERS = "hub.customers"
SUPPORT = "hub.support"
#: the topics of canonical events, which the router delivers to departments
CANONICAL_TOPICS = (ORDERS, CUSTOMERS, SUPPORT)
IDENTITY = "hub.identity"
CHECKPOINTS = "hub.checkpoints"
DLQ = "hub.dlq"


def raw_topic(connector: str, entity: str) -> str:
    """``raw.<connector>.<entity>``: source-shaped events as a connector read them."""
    return f"raw.{connector}.{entity}"


def department_topic(department: str) -> str:
    """``dept.<department>``: what one department may see, its field policy applied."""
    return f"dept.{department}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    content: str
    partitions: int
    cleanup_policy: CleanupPolicy = "delete"
    retention_ms: int | None = 7 * DAY_MS

    def configs(self) -> dict[str, str]:
        """Topic-level configs as Kafka (and Strimzi ``KafkaTopic.spec.config``) name them."""
        out: dict[str, str] = {"cleanup.policy": self.cleanup_policy}
        if self.retention_ms is not None and self.cleanup_policy == "delete":
            out["retention.ms"] = str(self.retention_ms)
        return out


#: ``(connector, entity)`` pairs whose raw topics exist regardless of configured connectors.
BUILTIN_RAW_STREAMS: tuple[tuple[str, str], ...] = (("smoke", "order"),)


def catalog(config: HubConfig, raw_streams: Iterable[tuple[str, str]] = ()) -> list[TopicSpec]:
    """Every topic for this configuration, partitions overridden from ``hub.yaml``."""
    specs = [
        TopicSpec(ORDERS, "order id", "canonical order-to-delivery events", 6),
        TopicSpec(CUSTOMERS, "golden customer id", "canonical customer, lead, opportunity", 6),
        TopicSpec(SUPPORT, "golden customer id", "canonical ticket and complaint events", 6),
        TopicSpec(
            IDENTITY,
            "<system>:<source id>",
            "source identity to golden customer id",
            3,
            cleanup_policy="compact",
            retention_ms=None,
        ),
        TopicSpec(
            CHECKPOINTS,
            "<connector>:<stream>",
            "connector cursors",
            1,
            cleanup_policy="compact",
            retention_ms=None,
        ),
        TopicSpec(
            DLQ,
            "original key",
            "dead letters with the reason in headers",
            3,
            retention_ms=30 * DAY_MS,
        ),
    ]
    specs += [
        TopicSpec(department_topic(name), "aggregate id", f"events the {name} department sees", 6)
        for name in config.departments
    ]
    seen: set[str] = set()
    for connector, entity in (*BUILTIN_RAW_STREAMS, *raw_streams):
        name = raw_topic(connector, entity)
        if name not in seen:
            seen.add(name)
            specs.append(TopicSpec(name, "source record id", f"{connector} {entity} records", 3))
    overrides = config.topics.partitions
    return [
        TopicSpec(
            s.name,
            s.key,
            s.content,
            overrides.get(s.name, s.partitions),
            s.cleanup_policy,
            s.retention_ms,
        )
        for s in specs
    ]


@dataclass(frozen=True)
class CreateReport:
    created: list[str]
    existing: list[str]


class TopicCreationError(RuntimeError):
    """The cluster refused to create a catalog topic."""


async def create_topics(
    cluster: KafkaCluster, specs: Iterable[TopicSpec], replication_factor: int = 1
) -> CreateReport:
    """Create what is missing; existing topics are left as they are."""
    specs = list(specs)
    admin = AIOKafkaAdminClient(**cluster.client_options())
    try:
        await admin.start()
        present = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in present]
        existing = [s.name for s in specs if s.name in present]
        created: list[str] = []
        if wanted:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=spec.name,
                        num_partitions=spec.partitions,
                        replication_factor=replication_factor,
                        topic_configs=spec.configs(),
                    )
                    for spec in wanted
                ]
            )
            failures = []
            for topic, code, *detail in response.topic_errors:
                if code == 0:
                    created.append(topic)
                elif code == TopicAlreadyExistsError.errno:
                    existing.append(topic)
                else:
                    failures.append(f"{topic}: error {code} {detail[0] if detail else ''}".strip())
            if failures:
                raise TopicCreationError("could not create topics: " + "; ".join(failures))
        return CreateReport(created=sorted(created), existing=sorted(existing))
    finally:
        await admin.close()


async def list_topics(cluster: KafkaCluster) -> dict[str, int]:
    """Topic name to partition count, as the cluster reports it."""
    admin = AIOKafkaAdminClient(**cluster.client_options())
    try:
        await admin.start()
        names = sorted(await admin.list_topics())
        described = await admin.describe_topics(names) if names else []
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()


async def missing_topics(cluster: KafkaCluster, names: Iterable[str]) -> list[str]:
    admin = AIOKafkaAdminClient(**cluster.client_options())
    try:
        await admin.start()
        present = set(await admin.list_topics())
    finally:
        await admin.close()
    return [n for n in names if n not in present]

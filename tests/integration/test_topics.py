"""The catalog creates exactly its topics, once, with their partition counts."""

from __future__ import annotations

from hub.config import parse_config
from hub.runtime.cluster import KafkaCluster
from hub.topics import catalog, create_topics, list_topics, missing_topics


async def test_catalog_is_created_once_and_listed(kafka_cluster: KafkaCluster, unique: str) -> None:
    config = parse_config(f"departments: {{dept_{unique}: {{}}}}", env={})
    specs = catalog(config, raw_streams=[(f"c{unique}", "orders")])
    names = {spec.name for spec in specs}

    first = await create_topics(kafka_cluster, specs)
    assert f"dept.dept_{unique}" in first.created
    assert f"raw.c{unique}.orders" in first.created

    second = await create_topics(kafka_cluster, specs)
    assert second.created == []
    assert set(second.existing) == names

    present = await list_topics(kafka_cluster)
    for spec in specs:
        if spec.name in first.created:  # other tests share the cluster's fixed topics
            assert present[spec.name] == spec.partitions
    assert await missing_topics(kafka_cluster, [*names, f"never.{unique}"]) == [f"never.{unique}"]

"""Shared fixtures: one real Kafka-protocol cluster per test session.

The cluster is chosen as the contract says: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a
testcontainers Kafka when a Docker engine answers, else the embedded Tansu broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from hub.runtime.cluster import KafkaCluster, provide_cluster

# The first group assignment takes about half the session timeout on the embedded broker.
TEST_CONSUMER_ENV = {
    "HUB_CONSUMER_SESSION_TIMEOUT_MS": "3000",
    "HUB_CONSUMER_HEARTBEAT_INTERVAL_MS": "300",
}
os.environ.update({k: os.environ.get(k, v) for k, v in TEST_CONSUMER_ENV.items()})


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[KafkaCluster]:
    with provide_cluster(allow_container=True) as cluster:
        yield cluster


@pytest.fixture
def unique() -> str:
    """A suffix for topic and group names, so tests never see each other's records."""
    return uuid.uuid4().hex[:10]

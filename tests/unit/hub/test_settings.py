"""The contract's KAFKA_* variables reach the Kafka clients unchanged."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faststream.security import SASLScram512
from pydantic import ValidationError

from hub.config import HubConfig
from hub.runtime.app import make_runtime
from hub.runtime.cluster import (
    APACHE_KAFKA_CAPABILITIES,
    EMBEDDED_CAPABILITIES,
    Capabilities,
    KafkaCluster,
)
from hub.runtime.settings import ConsumerSettings, HubSettings, KafkaSettings
from hub.services import timeline


def test_plaintext_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = KafkaSettings()
    assert settings.bootstrap_servers is None
    assert settings.client_options() == {"security_protocol": "PLAINTEXT"}
    assert settings.faststream_security() is None


def test_sasl_ssl_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9093")
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "hub")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    settings = KafkaSettings()
    options = settings.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "hub"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    security = settings.faststream_security()
    assert isinstance(security, SASLScram512)
    assert security.use_ssl is True
    assert "s3cret" not in repr(settings), "secrets never appear in logs or reprs"


def test_sasl_without_credentials_names_the_missing_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    with pytest.raises(ValidationError, match="KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME"):
        KafkaSettings()


def test_unknown_protocol_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "CARRIER_PIGEON")
    with pytest.raises(ValidationError, match="security_protocol"):
        KafkaSettings()


def test_hub_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://db/hub")
    monkeypatch.setenv("HUB_HTTP_PORT", "9000")
    settings = HubSettings()
    assert settings.database_url == "postgresql://db/hub"
    assert settings.http_port == 9000


def test_consumer_fetch_limits_reach_the_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_CONSUMER_MAX_PARTITION_FETCH_BYTES", "65536")
    monkeypatch.setenv("HUB_CONSUMER_FETCH_MAX_BYTES", "1048576")
    options = ConsumerSettings().subscriber_options()
    assert options["max_partition_fetch_bytes"] == 65536
    assert options["fetch_max_bytes"] == 1048576
    assert options["max_records"] == ConsumerSettings.model_fields["max_records"].default


def test_the_timeline_takes_larger_batches_than_the_other_stages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cluster = KafkaCluster("127.0.0.1:9", "embedded", EMBEDDED_CAPABILITIES)
    runtime = make_runtime(
        HubSettings(database_url=f"sqlite:///{tmp_path / 'timeline.db'}"), HubConfig(), cluster
    )
    defaults = ConsumerSettings()
    assert defaults.timeline_max_records > defaults.max_records
    (subscriber,) = timeline.build(runtime).kafka.subscribers
    assert subscriber.max_records == defaults.timeline_max_records

    monkeypatch.setenv("HUB_CONSUMER_TIMELINE_MAX_RECORDS", "700")
    (subscriber,) = timeline.build(runtime).kafka.subscribers
    assert subscriber.max_records == 700
    assert ConsumerSettings().subscriber_options()["max_records"] == defaults.max_records


@pytest.mark.parametrize(("variable", "codec"), [(None, "lz4"), ("zstd", "zstd"), ("none", None)])
def test_producers_compress_with_lz4_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, variable: str | None, codec: str | None
) -> None:
    if variable is None:
        monkeypatch.delenv("KAFKA_COMPRESSION_TYPE", raising=False)
    else:
        monkeypatch.setenv("KAFKA_COMPRESSION_TYPE", variable)
    cluster = KafkaCluster("127.0.0.1:9", "embedded", EMBEDDED_CAPABILITIES, KafkaSettings())
    assert cluster.producer_options()["compression_type"] == codec
    broker = make_runtime(HubSettings(), HubConfig(), cluster).broker
    # FastStream keeps the producer's keyword arguments there until it connects
    assert broker._connection_kwargs["compression_type"] == codec


def test_an_unknown_compression_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_COMPRESSION_TYPE", "brotli")
    with pytest.raises(ValidationError, match="compression_type"):
        KafkaSettings()


@pytest.mark.parametrize(
    ("capabilities", "idempotent"),
    [(EMBEDDED_CAPABILITIES, False), (APACHE_KAFKA_CAPABILITIES, True)],
)
def test_producers_are_idempotent_only_where_the_cluster_supports_it(
    capabilities: Capabilities, idempotent: bool
) -> None:
    cluster = KafkaCluster("127.0.0.1:9", "external", capabilities, KafkaSettings())
    options = cluster.producer_options()
    assert options["enable_idempotence"] is idempotent
    assert options["acks"] == "all", "durable acknowledgements on every cluster"
    broker = make_runtime(HubSettings(), HubConfig(), cluster).broker
    assert broker._connection_kwargs["enable_idempotence"] is idempotent

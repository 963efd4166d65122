"""Process settings from the environment, as twelve-factor services on Kubernetes expect.

Only what differs between deployments lives here; what a company configures about its
departments, connectors and rules lives in ``hub.yaml`` (see :mod:`hub.config`).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from aiokafka.helpers import create_ssl_context
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
CompressionType = Literal["none", "gzip", "snappy", "lz4", "zstd"]


class KafkaSettings(BaseSettings):
    """The ``KAFKA_*`` variables of the contract, passed through to the Kafka client."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str | None = None
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    #: Producer compression of every record batch the hub publishes. lz4 by default: the
    #: broker stores and serves a fifth to a third of the bytes, and on the embedded broker
    #: the one-hop service's Kafka work alone ran 15-35 % faster (docs/benchmark.md, twelfth
    #: round).
    compression_type: CompressionType = "lz4"

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str | None) -> str | None:
        """``host:port[,host:port...]``, checked here: the Kafka client takes a malformed
        one apart deep inside its first connection attempt. Blank means unset."""
        if value is None or not value.strip():
            return None
        addresses = [a.strip() for a in value.split(",")]
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port (port 1 to 65535)")
        return ",".join(addresses)

    @model_validator(mode="after")
    def _ca_file_loads(self) -> KafkaSettings:
        """A CA file that is missing or holds no certificate fails here, naming it,
        instead of inside the first TLS handshake."""
        if self.ssl_cafile is not None and self.uses_tls:
            try:
                ssl.create_default_context(cafile=str(self.ssl_cafile))
            except (OSError, ssl.SSLError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise ValueError(
                    f"KAFKA_SSL_CAFILE {self.ssl_cafile}: not a readable PEM CA file ({reason})"
                ) from exc
        return self

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL"):
            missing = [
                f"KAFKA_{name.upper()}"
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs {', '.join(missing)}"
                )
        return self

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        return context

    def client_options(self) -> dict[str, Any]:
        """Security keyword arguments for aiokafka clients (admin, producer, consumer)."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.security_protocol.startswith("SASL"):
            username, password = self._credentials()
            options.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=username,
                sasl_plain_password=password,
            )
        return options

    def _credentials(self) -> tuple[str, str]:
        if self.sasl_username is None or self.sasl_password is None:
            raise ValueError("SASL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return self.sasl_username, self.sasl_password.get_secret_value()

    def faststream_security(self) -> BaseSecurity | None:
        """The same settings in the form FastStream's broker takes them."""
        context = self.ssl_context()
        if not self.security_protocol.startswith("SASL"):
            return BaseSecurity(ssl_context=context, use_ssl=True) if context else None
        username, password = self._credentials()
        kind = {
            "PLAIN": SASLPlaintext,
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
        }[self.sasl_mechanism or "PLAIN"]
        return kind(
            username=username,
            password=password,
            ssl_context=context,
            use_ssl=self.uses_tls,
        )


class HubSettings(BaseSettings):
    """The ``HUB_*`` variables: where config, state and HTTP live for this process."""

    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="ignore")

    config: Path = Path("hub.yaml")
    #: The timeline store; unset means a SQLite file in ``state_dir`` (``timeline.db``).
    database_url: str = ""
    state_dir: Path = Path(".hub")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    #: How long a service may take to finish in-flight work after SIGTERM.
    shutdown_grace_seconds: float = 20.0
    #: ``hub up`` runs ``translate-and-route`` instead of ``translator`` and ``router``:
    #: one consume-produce hop, lower latency (see docs/benchmark.md).
    one_hop: bool = False

    @field_validator("state_dir")
    @classmethod
    def _a_directory(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a directory")
        return value

    @model_validator(mode="before")
    @classmethod
    def _database_in_state_dir(cls, data: Any) -> Any:
        """Default the store to the state directory, so two hubs with their own
        ``HUB_STATE_DIR`` never share a timeline database by accident."""
        if isinstance(data, dict) and not data.get("database_url"):
            state_dir = Path(data.get("state_dir") or ".hub")
            data = {**data, "database_url": f"sqlite:///{state_dir / 'timeline.db'}"}
        return data


class ConsumerSettings(BaseSettings):
    """Consumer-group timing; tests shorten it because the first assignment takes about
    half the session timeout on the embedded broker."""

    model_config = SettingsConfigDict(env_prefix="HUB_CONSUMER_", frozen=True, extra="ignore")

    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    max_records: int = 500
    #: The timeline's batches: each is one store transaction and one offset commit, and
    #: both cost about as much for a larger batch (random event ids dirty index pages all
    #: over the table), so a backlog drains faster in larger ones: 500 gave 4.2k to 6.3k
    #: events/s, 1,000 6.4k to 6.8k, 2,000 5.8k to 7.8k (docs/benchmark.md, tenth round).
    #: In the 1M-event soak the process's RSS grew by 82 MB with 2,000, against 47 MB with
    #: 1,000 and 53 MB with 500. Re-measured once the store had its own thread and
    #: folded new customers from the batch: 2,000 gave 5.96k, 6.58k and 7.28k events/s
    #: against 5.88k, 5.66k and 6.12k (alternating runs), and the soak grew by 32.4 MB
    #: against 22.2 MB (RSS at 1M events 236.4 against 219.7 MB): kept at 1,000, as the
    #: memory margin matters more than a rate already above the target. A quiet stream is
    #: not held back: a batch holds what one poll returns, up to this.
    timeline_max_records: int = 1000
    batch_timeout_ms: int = 100
    #: How long the broker may hold a fetch for an idle partition. Kafka answers as soon as
    #: data arrives; the embedded Tansu broker waits much longer before answering (about
    #: 110 ms per idle fetch at the client default of 500), which adds up at every hop.
    #: On the embedded broker's S3 engine the wait also bounds how much of a backlog one
    #: fetch returns (it answers with what it read from storage in that time), so a
    #: persistent embedded broker wants 500 (docs/operations.md).
    fetch_max_wait_ms: int = 50
    #: Upper bounds of what one fetch may buffer, per partition and in all. A batch is at
    #: most ``max_records`` (about 300 KB of canonical events), so the client defaults
    #: (1 MiB per partition, 50 MiB a fetch) only held more data in memory per consumer.
    max_partition_fetch_bytes: int = 256 * 1024
    fetch_max_bytes: int = 8 * 1024 * 1024

    def subscriber_options(self, max_records: int | None = None) -> dict[str, Any]:
        """The batch subscriber keywords these settings stand for; ``max_records`` in place
        of the common batch size (the timeline's own)."""
        return {
            "max_records": self.max_records if max_records is None else max_records,
            "batch_timeout_ms": self.batch_timeout_ms,
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "max_partition_fetch_bytes": self.max_partition_fetch_bytes,
            "fetch_max_bytes": self.fetch_max_bytes,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
        }

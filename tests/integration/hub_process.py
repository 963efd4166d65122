"""Run the real ``hub`` command in a subprocess and watch it as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """``python -m hub ARGS`` with captured output and an HTTP client on its port."""

    def __init__(self, *args: str, port: int, env: Mapping[str, str], cwd: Path) -> None:
        self.port = port
        full_env = {**os.environ, "HUB_HTTP_PORT": str(port), **env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            text=True,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(
                target=self._pump, args=(self.process.stdout, self.stdout), daemon=True
            ),
            threading.Thread(
                target=self._pump, args=(self.process.stderr, self.stderr), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        """Poll ``condition``; return the seconds it took, or fail with the process output."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if condition():
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"{what} not reached in {timeout}s (exit={self.process.poll()})\n"
            f"stdout:\n{''.join(self.stdout)}\nstderr (tail):\n{''.join(self.stderr[-40:])}"
        )

    def status(self, path: str) -> int:
        return self.get(path).status_code

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

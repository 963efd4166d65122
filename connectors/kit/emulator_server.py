"""A small uvicorn server in the background, for local vendor emulators.

Tests and the demo company serve an emulator's ASGI app on a loopback port for the length of
an ``async with`` (a free port unless one is given), in the current event loop:

    async with EmulatorServer(crm) as base_url:   # http://127.0.0.1:PORT
        ...

The socket is bound before uvicorn starts, so port 0 yields a port known at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Protocol

import uvicorn
from starlette.types import ASGIApp


class ServesApp(Protocol):
    """An emulator: anything with an ASGI ``app``."""

    @property
    def app(self) -> ASGIApp: ...


class EmulatorServer:
    """Serve an emulator on a loopback port (a free one unless ``port`` is given) for the
    length of an ``async with``, or between :meth:`start` and :meth:`stop`."""

    def __init__(self, emulator: ServesApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.emulator.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self.base_url = f"http://{self.host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()

    async def __aenter__(self) -> str:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


__all__ = ["EmulatorServer", "ServesApp"]

"""The kit's background server for local vendor emulators."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from connectors.kit.emulator_server import EmulatorServer


class Hello:
    def __init__(self) -> None:
        async def hello(request: Request) -> PlainTextResponse:
            return PlainTextResponse("hello")

        self.app = Starlette(routes=[Route("/", hello)])


async def test_serves_on_a_free_loopback_port_for_the_length_of_the_block() -> None:
    async with EmulatorServer(Hello()) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert not base_url.endswith(":0")
        async with httpx.AsyncClient() as http:
            assert (await http.get(base_url)).text == "hello"
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(base_url)


async def test_a_port_in_use_is_an_error_at_start() -> None:
    async with EmulatorServer(Hello()) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"):
            await EmulatorServer(Hello(), port=port).start()

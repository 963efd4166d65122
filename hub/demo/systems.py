"""The demo's three source systems, served on free loopback ports, and the company using them.

:class:`DemoSystems` runs the Odoo, HubSpot and Zendesk emulators and the simulated company
on an event loop of their own, in a background thread, so the hub in the foreground talks
to them exactly as it would to the real services: the connectors poll their HTTP APIs, and
the CRM and helpdesk push signed webhooks to the hub's ``/v1/webhooks/{instance}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.hubspot.emulator import EmulatorServer as HubSpotServer
from connectors.hubspot.emulator import HubSpotEmulator
from connectors.odoo.emulator import OdooEmulator
from connectors.zendesk.emulator import EmulatorServer as ZendeskServer
from connectors.zendesk.emulator import ZendeskEmulator
from hub.demo.company import DAY_SECONDS, Company

log = logging.getLogger(__name__)

#: Credentials of the emulated accounts (the emulators accept nothing else).
ODOO_DATABASE = "bergmann"
ODOO_LOGIN = "handoff@bergmann-bueromoebel.de"
ODOO_API_KEY = "demo-odoo-api-key"  # an emulator's demo credential
HUBSPOT_TOKEN = "pat-demo-hubspot-token"  # noqa: S105
HUBSPOT_CLIENT_SECRET = "demo-hubspot-client-secret"  # noqa: S105
ZENDESK_EMAIL = "handoff@bergmann-bueromoebel.de"
ZENDESK_TOKEN = "demo-zendesk-api-token"  # noqa: S105
ZENDESK_SIGNING_SECRET = "demo-zendesk-signing-secret"  # noqa: S105
#: Seconds the emulated Zendesk keeps fresh changes out of its export (Zendesk: 60).
ZENDESK_EXPORT_LAG = 2.0


class DemoOptions(BaseSettings):
    """``HUB_DEMO_SEED``, ``HUB_DEMO_CUSTOMERS``, ``HUB_DEMO_DAY_SECONDS``."""

    model_config = SettingsConfigDict(env_prefix="HUB_DEMO_", frozen=True, extra="ignore")

    seed: int = 7
    customers: int = Field(default=30, ge=1, le=150)
    #: Real seconds per simulated day; SLA durations are compressed by the same factor.
    day_seconds: float = Field(default=DAY_SECONDS, ge=1, le=86_400)


@dataclass(frozen=True)
class Endpoints:
    odoo: str
    hubspot: str
    zendesk: str


class DemoSystems:
    """Emulators and company on a background event loop; :meth:`start` returns their URLs."""

    def __init__(self, hub_url: str, options: DemoOptions | None = None) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.options = options or DemoOptions()
        self.erp = OdooEmulator(db=ODOO_DATABASE, login=ODOO_LOGIN, password="not-the-api-key")  # noqa: S106
        self.erp.add_api_key(ODOO_LOGIN, ODOO_API_KEY)
        self.crm = HubSpotEmulator(tokens={HUBSPOT_TOKEN: None})
        self.helpdesk = ZendeskEmulator(
            api_tokens={ZENDESK_EMAIL: ZENDESK_TOKEN},
            export_lag_seconds=ZENDESK_EXPORT_LAG,
            subdomain="bergmann",
        )
        self.crm.set_webhook_target(
            self.webhook_url("hubspot"), client_secret=HUBSPOT_CLIENT_SECRET
        )
        self.helpdesk.set_webhook_target(
            self.webhook_url("zendesk"), signing_secret=ZENDESK_SIGNING_SECRET
        )
        self.company = Company(
            self.erp,
            self.crm,
            self.helpdesk,
            seed=self.options.seed,
            customers=self.options.customers,
            day_seconds=self.options.day_seconds,
        )
        self.endpoints: Endpoints | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def webhook_url(self, instance: str) -> str:
        return f"{self.hub_url}/v1/webhooks/{instance}"

    def start(self, timeout: float = 30.0) -> Endpoints:
        """Start the emulators and the company; return once the emulators answer."""
        self._thread = threading.Thread(target=self._run, name="demo-company", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the demo systems did not start")
        if self._error is not None:
            raise RuntimeError(f"the demo systems did not start: {self._error}") from self._error
        assert self.endpoints is not None  # noqa: S101 - set before _ready
        return self.endpoints

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the hub goes on without the demo
            self._error = exc
            log.exception("the demo systems stopped")
        finally:
            self._ready.set()

    async def _trim_logs(self, keep: int = 1000, every: float = 30.0) -> None:
        """The emulators keep their requests and deliveries for tests; a demo runs for hours."""
        while True:
            await asyncio.sleep(every)
            del self.crm.requests[:-keep]
            del self.crm.deliveries[:-keep]

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        hubspot, zendesk = HubSpotServer(self.crm), ZendeskServer(self.helpdesk)
        async with self.erp.running() as odoo_url, hubspot as hubspot_url, zendesk as zendesk_url:
            self.endpoints = Endpoints(odoo_url, hubspot_url, zendesk_url)
            self.company.setup()
            self._ready.set()
            tasks = [
                asyncio.create_task(self.company.run(self._stop), name="demo-company"),
                asyncio.create_task(self._trim_logs(), name="demo-trim"),
                asyncio.create_task(self.crm.deliver_forever(0.5), name="demo-hubspot-webhooks"),
                asyncio.create_task(
                    self.helpdesk.deliver_forever(0.5), name="demo-zendesk-webhooks"
                ),
            ]
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


__all__ = ["DemoOptions", "DemoSystems", "Endpoints"]

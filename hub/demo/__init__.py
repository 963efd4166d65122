"""``hub up --demo``: a simulated company producing ERP, CRM and helpdesk traffic.

:func:`start_demo` starts local emulators of Odoo, HubSpot and Zendesk on free loopback
ports, fed by :class:`hub.demo.company.Company`, and returns the configuration under which
the real connectors read from them (written to ``.hub/demo.yaml``) and the banner lines.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hub.config import HubConfig
from hub.runtime.settings import HubSettings

if TYPE_CHECKING:  # the emulators load only when the demo runs
    from hub.demo.systems import DemoOptions, DemoSystems, Endpoints


@dataclass
class Demo:
    systems: DemoSystems
    config: HubConfig
    config_file: Path
    #: The demo's connector instances the hub runs as the demo made them (not replaced).
    emulated: set[str]

    @property
    def endpoints(self) -> Endpoints:
        assert self.systems.endpoints is not None  # noqa: S101 - set by start()
        return self.systems.endpoints

    def banner(self, base_url: str) -> str:
        from hub.demo.config import demo_token  # noqa: PLC0415

        e = self.endpoints
        c = self.systems.company

        def read(instance: str, url: str, what: str) -> str:
            if instance in self.emulated:
                return f"{url}  ({what})"
            if instance in self.config.connectors:
                return f"{url}  (not read: hub.yaml configures the {instance} instance)"
            return f"{url}  (not read: connector type {instance} is not installed)"

        rows = [
            ("Odoo", read("odoo", e.odoo, "ERP emulator, JSON-RPC")),
            ("HubSpot", read("hubspot", e.hubspot, "CRM emulator; webhooks to the hub")),
            ("Zendesk", read("zendesk", e.zendesk, "helpdesk emulator; webhooks to the hub")),
            ("Company", f"{len(c.customers)} customers, seed {self.systems.options.seed}, "
             f"one day = {self.systems.options.day_seconds:g} s"),
            ("Config", f"{self.config_file}  (copy it to connect a real system)"),
            ("Page", f"{base_url}/  (paste a department token)"),
        ]  # fmt: skip
        tokens = [(name, demo_token(name)) for name in self.config.departments]
        body = "\n".join(f"  {label:<10} {value}" for label, value in rows)
        token_lines = "\n".join(f"    {name:<12} {token}" for name, token in tokens)
        return (
            f"\nDemo company running (simulated Odoo, HubSpot and Zendesk)\n{body}\n"
            f"  Tokens     (demo only; Authorization: Bearer <token>)\n{token_lines}\n"
        )

    def settings(self, settings: HubSettings) -> HubSettings:
        """A fresh timeline database for each demo run (unless ``HUB_DATABASE_URL`` is set):
        the company numbers its orders from S00001 again, so an old database would mix the
        runs and hold their breaches already."""
        if "HUB_DATABASE_URL" in os.environ:
            return settings
        path = settings.state_dir / "demo-timeline.db"
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        return settings.model_copy(update={"database_url": f"sqlite:///{path}"})

    def stop(self) -> None:
        self.systems.stop()


def hub_url(host: str, port: int) -> str:
    """Where the emulators reach the hub (its webhooks): loopback when it listens on all."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - mapping the wildcard to loopback
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def start_demo(
    base: HubConfig, state_dir: Path, host: str, port: int, options: DemoOptions | None = None
) -> Demo:
    """Start the emulators and the company; the hub then runs with ``Demo.config``."""
    from hub.demo.config import (  # noqa: PLC0415
        demo_config,
        emulated_instances,
        write_demo_yaml,
    )
    from hub.demo.systems import DemoSystems  # noqa: PLC0415

    # one INFO line per emulator request would bury the hub's own log
    logging.getLogger("httpx").setLevel(logging.WARNING)
    systems = DemoSystems(hub_url(host, port), options)
    systems.start()
    config = demo_config(base, systems)
    emulated = emulated_instances(config, systems)
    # an emulator hub.yaml replaced is not read: its webhooks would only be refused
    if "hubspot" not in emulated:
        systems.crm.webhook_target = None
    if "zendesk" not in emulated:
        systems.helpdesk.webhook_target = None
    path = write_demo_yaml(config, state_dir / "demo.yaml", systems.options.day_seconds, emulated)
    return Demo(systems, config, path, emulated)


__all__ = ["Demo", "hub_url", "start_demo"]

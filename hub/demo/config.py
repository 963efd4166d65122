"""The demo's effective configuration: ``hub.yaml`` plus the demo's connectors, identity
rules, compressed process SLAs and department tokens.

It is written to ``.hub/demo.yaml`` (a complete ``hub.yaml``): copy it, point a connector's
URL and credentials at the real system, and start ``HUB_CONFIG=that-file hub up``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from connectors.kit.settings import SECRET_NAME_HINTS
from hub.api.auth import token_sha256
from hub.config import HubConfig
from hub.demo.systems import (
    HUBSPOT_CLIENT_SECRET,
    HUBSPOT_TOKEN,
    ODOO_API_KEY,
    ODOO_DATABASE,
    ODOO_LOGIN,
    ZENDESK_EMAIL,
    ZENDESK_EXPORT_LAG,
    ZENDESK_SIGNING_SECRET,
    ZENDESK_TOKEN,
    DemoSystems,
)
from hub.timeline.config import format_duration, parse_duration

#: Identity "system" of ERP customer numbers: the ERP's ``ref``, the CRM's and helpdesk's
#: ``erp_customer_number`` all link to ``customer_number:<number>``, so the three records of
#: one customer meet there whatever order they arrive in (and a lookup by number works).
CUSTOMER_NUMBER = "customer_number"


def demo_token(department: str) -> str:
    """The demo's API token of a department (printed in the banner; never use in production)."""
    return f"demo-{department}"


def connectors_section(systems: DemoSystems) -> dict[str, dict[str, Any]]:
    """The three connector instances, as ``connectors:`` in ``hub.yaml`` would give them."""
    endpoints = systems.endpoints
    if endpoints is None:
        raise RuntimeError("start the demo systems first")
    from connectors.kit.registry import connector_types  # noqa: PLC0415 - entry points

    section: dict[str, dict[str, Any]] = {
        "odoo": {
            "type": "odoo",
            "url": endpoints.odoo,
            "database": ODOO_DATABASE,
            "login": ODOO_LOGIN,
            "api_key": ODOO_API_KEY,
            "read_delivered_date": True,
            "read_return_reason": True,
            "poll_interval_seconds": 1.0,
            "settle_seconds": 1.0,
        },
        "hubspot": {
            "type": "hubspot",
            "base_url": endpoints.hubspot,
            "access_token": HUBSPOT_TOKEN,
            "client_secret": HUBSPOT_CLIENT_SECRET,
            "webhook_url": systems.webhook_url("hubspot"),
            "poll_interval_seconds": 1.0,
            "search_interval_seconds": 10.0,
            "settle_seconds": 1.0,
        },
        "zendesk": {
            "type": "zendesk",
            "base_url": endpoints.zendesk,
            "email": ZENDESK_EMAIL,
            "api_token": ZENDESK_TOKEN,
            "webhook_signing_secret": ZENDESK_SIGNING_SECRET,
            "poll_interval_seconds": 1.0,
            "export_interval_seconds": 6.0,
            "export_lag_seconds": ZENDESK_EXPORT_LAG,
        },
    }
    installed = connector_types()
    return {name: spec for name, spec in section.items() if spec["type"] in installed}


def identity_section(base: dict[str, Any]) -> dict[str, Any]:
    """Cross references by ERP customer number, plus e-mail, domain and name, and VAT id."""
    return {
        **base,
        "rules": [
            {"kind": "cross_reference", "field": "ref", "system": CUSTOMER_NUMBER},
            {"kind": "cross_reference", "field": "erp_customer_number", "system": CUSTOMER_NUMBER},
            {"kind": "email"},
            {"kind": "domain_and_name"},
            {"kind": "vat_id"},
        ],
    }


def _compress(value: str, factor: float) -> str:
    seconds = max(1, round(parse_duration(value).total_seconds() / factor))
    return format_duration(timedelta(seconds=seconds))


def compress_processes(processes: dict[str, Any], factor: float) -> dict[str, Any]:
    """Every SLA and lifecycle duration divided by ``factor`` (whole seconds, at least 1)."""
    out: dict[str, Any] = {}
    for name, given in processes.items():
        process = dict(given)
        if "slas" in process:
            process["slas"] = [
                {**rule, "within": _compress(rule["within"], factor)} for rule in process["slas"]
            ]
        if "churn_after" in process:
            process["churn_after"] = _compress(process["churn_after"], factor)
        if isinstance(process.get("at_risk"), dict) and "within" in process["at_risk"]:
            process["at_risk"] = {
                **process["at_risk"],
                "within": _compress(process["at_risk"]["within"], factor),
            }
        out[name] = process
    return out


def demo_config(base: HubConfig, systems: DemoSystems) -> HubConfig:
    """``base`` with the demo's connectors, identity rules, compressed SLAs and tokens.

    Connector instances configured in ``base`` are kept, and one named ``odoo``,
    ``hubspot`` or ``zendesk`` replaces the demo's: that system is then read from where
    ``hub.yaml`` says while the company goes on working in the other two emulators.
    """
    data = base.model_dump(mode="json", by_alias=True)
    factor = timedelta(days=1).total_seconds() / systems.options.day_seconds
    data["smoke"] = {**data["smoke"], "enabled": False}
    # an instance hub.yaml already configures (e.g. odoo pointing at the real ERP) wins
    data["connectors"] = {**connectors_section(systems), **data["connectors"]}
    data["identity"] = identity_section(data["identity"])
    data["processes"] = compress_processes(data["processes"], factor)
    data["departments"] = {
        name: {**department, "token_sha256": token_sha256(demo_token(name))}
        for name, department in data["departments"].items()
    }
    return HubConfig.model_validate(data)


HEADER = """\
# The effective configuration of `hub up --demo` (a complete hub.yaml).
# The connectors point at local emulators with demo credentials. To read a real system
# instead, copy this file, change that connector's URL and credentials (better as
# ${ENV_VAR} references), and run: HUB_CONFIG=<the copy> hub up
# SLA durations are compressed: one simulated day lasts %(day)s seconds.
# Secrets of instances configured in hub.yaml are written as ${INSTANCE_FIELD} references.
# Department tokens (only their SHA-256 is stored below): %(tokens)s
"""


def _secret_references(instance: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Secrets of an instance hub.yaml configures, as ``${INSTANCE_FIELD}`` references:
    the file must not hold the values its ``${ENV}`` references resolved to."""
    return {
        key: f"${{{instance.upper()}_{key.upper()}}}"
        if any(hint in key.lower() for hint in SECRET_NAME_HINTS)
        else value
        for key, value in settings.items()
    }


def emulated_instances(config: HubConfig, systems: DemoSystems) -> set[str]:
    """The demo's instances that ``config`` runs as the demo made them (not replaced)."""
    out = set()
    for name, spec in connectors_section(systems).items():
        instance = config.connectors.get(name)
        settings = {"type": spec["type"], **(instance.settings if instance else {})}
        if instance is not None and instance.type == spec["type"] and settings == spec:
            out.add(name)
    return out


def write_demo_yaml(config: HubConfig, path: Path, day_seconds: float, emulated: set[str]) -> Path:
    """The effective configuration as a ``hub.yaml``; ``emulated`` instances keep their demo
    credentials, every other instance's secrets become references."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = config.model_dump(mode="json", by_alias=True)
    for name, instance in data["connectors"].items():
        if name not in emulated:
            instance["settings"] = _secret_references(name, instance["settings"])
    tokens = ", ".join(f"{name}={demo_token(name)}" for name in config.departments)
    text = HEADER % {"day": f"{day_seconds:g}", "tokens": tokens}
    path.write_text(text + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


__all__ = [
    "CUSTOMER_NUMBER",
    "compress_processes",
    "connectors_section",
    "demo_config",
    "demo_token",
    "emulated_instances",
    "identity_section",
    "write_demo_yaml",
]

"""The demo company without a hub: seeded, coherent across its three systems, and the
configuration ``hub up --demo`` derives from it (no broker, no waiting: the calendar is
advanced by hand)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import yaml

from hub.api.auth import token_sha256
from hub.config import HubConfig, parse_config
from hub.demo import hub_url
from hub.demo.config import demo_config, demo_token, emulated_instances, write_demo_yaml
from hub.demo.systems import DemoOptions, DemoSystems, Endpoints
from hub.identity.evidence import customer_evidence


def _company(seed: int = 7) -> DemoSystems:
    systems = DemoSystems("http://127.0.0.1:8080", DemoOptions(seed=seed))
    systems.company.setup()
    systems.company.run_for(12)
    return systems


def test_same_seed_same_company_other_seed_other_company() -> None:
    first, again, other = _company(), _company(), _company(seed=8)
    assert first.company.log == again.company.log
    assert first.company.log != other.company.log
    assert first.company.scheduler.failed == 0


def test_every_customer_is_in_all_three_systems_under_other_ids() -> None:
    systems = _company()
    erp, crm, desk = systems.erp, systems.crm, systems.helpdesk
    assert 30 <= len(systems.company.customers) <= 40
    for c in systems.company.customers:
        assert c.erp_id is not None
        assert c.crm_company is not None
        assert c.helpdesk_org is not None
        partner = erp.record("res.partner", c.erp_id)
        company = crm.get("companies", c.crm_company).properties
        org = desk.organizations[c.helpdesk_org]
        assert partner["ref"] == company["erp_customer_number"] == c.number
        assert org["organization_fields"]["erp_customer_number"] == c.number
        assert company["domain"] == org["domain_names"][0] == c.domain
        assert partner["website"].endswith(c.domain)
        assert partner["vat"] == c.vat
        user = desk.users[c.helpdesk_user or 0]
        assert user["email"].endswith("@" + c.domain)
        assert len({str(c.erp_id), c.crm_company, str(c.helpdesk_org)}) == 3


def test_orders_travel_the_whole_process_and_some_go_wrong() -> None:
    systems = _company()
    orders = systems.company.orders
    states = Counter(systems.erp.record("sale.order", o.erp_id)["state"] for o in orders)
    assert states["sale"] >= 10
    assert states["cancel"] >= 1
    delivered = [
        o
        for o in orders
        if o.picking and systems.erp.record("stock.picking", o.picking)["x_delivered_date"]
    ]
    assert len(delivered) >= 10
    returns = [o for o in orders if o.returned is not None]
    assert returns, "some delivered orders are returned through the ERP"
    for o in returns:
        assert o.scenario == "return"
        picking = systems.erp.record("stock.picking", o.returned or 0)
        assert picking["picking_type_code"] == "incoming"
        assert (
            picking["origin"]
            == f"Return of {systems.erp.record('stock.picking', o.picking or 0)['name']}"
        )
        assert picking["sale_id"] == [o.erp_id, o.number]
        assert picking["x_return_reason"] == "wrong_item"
    assert any(
        systems.erp.record("stock.picking", o.returned or 0)["state"] == "done" for o in returns
    )
    late = next(o for o in orders if o.scenario == "late")
    assert late.number == "S00001"
    subjects = [t["subject"] for t in systems.helpdesk.tickets.values()]
    assert any(s.startswith("Where is my order S0") for s in subjects)
    assert any(s.startswith("Damaged goods in order S0") for s in subjects)
    assert any(s.startswith("Return request for order S0") for s in subjects)
    tickets = systems.helpdesk.tickets.values()
    assert any(t["priority"] == "urgent" and "complaint" in t["tags"] for t in tickets)
    assert any(t["status"] == "solved" for t in tickets)
    # a complaint the customer answered after its solve: reopened, then solved again
    metrics = systems.helpdesk.metric_sets
    again = [t for t in tickets if "complaint" in t["tags"] and metrics[t["id"]]["reopens"] >= 1]
    assert again, "some complaints are reopened"
    assert any(t["status"] == "solved" for t in again), "and solved again"
    won = [
        d for d in systems.crm.objects["deals"].values() if d.properties["dealstage"] == "closedwon"
    ]
    assert len(won) >= 10
    stages = Counter(
        c.properties.get("lifecyclestage") for c in systems.crm.objects["contacts"].values()
    )
    assert stages["lead"] + stages["opportunity"] >= 1
    assert systems.company.prospects, "new leads arrive"
    converted = [p for p in systems.company.prospects if p.erp_id is not None]
    assert converted, "some leads become ERP customers"


def test_demo_config_scales_slas_and_joins_customer_numbers(tmp_path: Path) -> None:
    systems = DemoSystems(hub_url("0.0.0.0", 8080), DemoOptions(day_seconds=10))  # noqa: S104
    assert systems.webhook_url("hubspot") == "http://127.0.0.1:8080/v1/webhooks/hubspot"
    systems.endpoints = Endpoints("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")
    config = demo_config(HubConfig(), systems)
    assert set(config.connectors) == {"odoo", "hubspot", "zendesk"}
    erp_settings = config.connectors["odoo"].settings
    assert erp_settings["read_delivered_date"]
    assert erp_settings["read_return_reason"]
    assert not config.smoke.enabled
    slas = {r.name: r.within for r in config.processes.order_to_delivery.slas}
    assert slas["dispatch"] == timedelta(seconds=20)  # 48 h at one day per 10 s
    assert slas["confirm"] == timedelta(seconds=10)
    for name, department in config.departments.items():
        assert department.token_sha256 == token_sha256(demo_token(name))
    # the ERP's ref and the CRM's and helpdesk's erp_customer_number meet in one identity
    erp = customer_evidence({"external_ids": {"ref": "10001"}}, config.identity)
    crm = customer_evidence({"external_ids": {"erp_customer_number": "10001"}}, config.identity)
    assert erp.links == crm.links == ("customer_number:10001",)
    written = write_demo_yaml(config, tmp_path / "demo.yaml", 10, {"odoo", "hubspot", "zendesk"})
    assert parse_config(written.read_text(), env={}) == config
    assert "demo-finance" in written.read_text()


def test_an_instance_configured_in_hub_yaml_replaces_the_emulated_one(tmp_path: Path) -> None:
    systems = DemoSystems("http://127.0.0.1:8080")
    systems.endpoints = Endpoints("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")
    real_erp = {
        "type": "odoo",
        "url": "https://erp.example.com",
        "database": "production",
        "login": "handoff@example.com",
        "api_key": "from-the-environment",
    }
    base = parse_config(yaml.safe_dump({"connectors": {"odoo": real_erp}}), env={})
    config = demo_config(base, systems)
    assert config.connectors["odoo"].settings["url"] == "https://erp.example.com"
    assert config.connectors["hubspot"].settings["base_url"] == "http://127.0.0.1:2"
    assert emulated_instances(config, systems) == {"hubspot", "zendesk"}
    written = write_demo_yaml(config, tmp_path / "demo.yaml", 10, {"hubspot", "zendesk"})
    text = written.read_text()
    assert "from-the-environment" not in text, "a resolved secret is never written"
    assert "${ODOO_API_KEY}" in text
    assert "pat-demo-hubspot-token" in text

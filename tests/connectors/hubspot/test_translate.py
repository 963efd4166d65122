"""The translator from recorded raw records (tests/connectors/hubspot/fixtures/raw)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.hubspot import CONNECTOR
from connectors.kit.errors import UntranslatableRecord
from connectors.testing.contract import load_raw_fixtures, raw_fixture_event, translate_checked
from schemas import Envelope

FIXTURES = Path(__file__).parent / "fixtures"
RAW = dict(load_raw_fixtures(FIXTURES))


def events(name: str, **data_changes: Any) -> list[Envelope]:
    fixture = dict(RAW[name])
    if data_changes:
        fixture["data"] = {**fixture["data"], **data_changes}
    raw = raw_fixture_event(CONNECTOR, "crm", name, fixture)
    return translate_checked(CONNECTOR, raw, name)


def by_type(name: str) -> dict[str, dict[str, Any]]:
    return {e.type: e.data for e in events(name)}


@pytest.mark.parametrize("name", sorted(RAW))
def test_fixture_translates_to_what_it_expects(name: str) -> None:
    expect = RAW[name]["expect"]
    if isinstance(expect, dict):
        with pytest.raises(UntranslatableRecord):
            events(name)
    else:
        assert [e.type for e in events(name)] == expect


def test_company_carries_identity_evidence() -> None:
    data = by_type("company_created.json")["customer.created"]
    assert data["customer_ref"] == {"system": "crm", "id": "company/9001"}
    assert data["customer_id"] is None
    assert data["kind"] == "company"
    assert data["name"] == "Muster GmbH"
    assert data["domain"] == "muster.de"
    assert data["external_ids"] == {"erp_customer_number": "10042"}
    assert data["addresses"][0]["country"] == "DE"
    assert data["created_at"] == "2026-11-20T08:30:00.120000Z"


def test_free_text_country_gives_no_address() -> None:
    data = by_type("company_updated.json")["customer.updated"]
    assert data["addresses"] == []
    assert data["updated_at"].startswith("2026-11-22T14:02:51")


def test_external_id_property_is_configurable() -> None:
    fixture = RAW["company_created.json"]
    changed = {
        "properties": {**fixture["data"]["properties"], "sap_kunnr": "0000471100"},
        "_handoff": {"external_id_properties": {"erp_customer_number": "sap_kunnr"}},
    }
    data = {e.type: e.data for e in events("company_created.json", **changed)}
    assert data["customer.created"]["external_ids"] == {"erp_customer_number": "0000471100"}


def test_contact_emails_are_lower_cased_and_filtered() -> None:
    data = by_type("contact_lead.json")
    person = data["customer.updated"]
    assert person["kind"] == "person"
    assert person["name"] == "Jana Weber"
    assert person["emails"] == ["j.weber@muster.de", "jana.weber@gmail.com"]
    lead = data["lead.created"]
    assert lead["lead_id"] == "crm:contact/501"
    assert lead["customer_ref"] == {"system": "crm", "id": "contact/501"}
    assert lead["email"] == "j.weber@muster.de"
    assert lead["company"] == "Muster GmbH"
    assert lead["created_at"].startswith("2026-11-21T09:15:40.1")


def test_conversion_points_at_the_company_and_the_deal() -> None:
    converted = by_type("contact_converted.json")["lead.converted"]
    assert converted["customer_ref"] == {"system": "crm", "id": "company/9001"}
    assert converted["opportunity_id"] == "crm:deal/3301"
    assert converted["converted_at"].startswith("2026-11-23T11:30:00")


def test_state_events_keep_their_id_across_revisions() -> None:
    lead_then = {e.type: e for e in events("contact_lead.json")}
    lead_later = {e.type: e for e in events("contact_converted.json")}
    assert lead_then["lead.created"].id == lead_later["lead.created"].id
    assert lead_then["customer.updated"].id != lead_later["customer.updated"].id


def test_won_deal_becomes_opportunity_won() -> None:
    (event,) = events("deal_closedwon.json")
    won = event.data
    assert won["opportunity_id"] == "crm:deal/3301"
    assert Decimal(won["amount"]["amount"]) == Decimal("12000.50")
    assert won["amount"]["currency"] == "EUR"
    assert won["customer_ref"] == {"system": "crm", "id": "company/9001"}
    assert won["won_at"].startswith("2026-11-24T16:41:12")
    assert event.partitionkey == "crm:company/9001"
    assert event.causationid is not None


def test_deal_without_currency_uses_the_instance_default() -> None:
    fixture = RAW["deal_closedwon.json"]
    props = {k: v for k, v in fixture["data"]["properties"].items() if k != "deal_currency_code"}
    (event,) = events("deal_closedwon.json", properties=props, _handoff={"default_currency": "CHF"})
    assert event.data["amount"]["currency"] == "CHF"


def test_custom_won_stage() -> None:
    fixture = RAW["deal_open.json"]
    props = {**fixture["data"]["properties"], "dealstage": "1234567"}
    assert events("deal_open.json", properties=props) == []
    (event,) = events(
        "deal_open.json",
        properties=props,
        _handoff={"won_stages": ["1234567"], "default_currency": "EUR"},
    )
    assert event.type == "opportunity.won"


def test_untranslatable_records_say_why() -> None:
    with pytest.raises(UntranslatableRecord, match="amount"):
        events("deal_won_without_amount.json")
    with pytest.raises(UntranslatableRecord, match="no first name, last name or e-mail"):
        events("contact_without_identity.json")
    with pytest.raises(UntranslatableRecord, match="properties"):
        events("deal_open.json", properties=None)

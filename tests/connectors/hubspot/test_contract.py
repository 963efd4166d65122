"""The kit's contract suite applied to the HubSpot connector (recorded exchanges)."""

from __future__ import annotations

from pathlib import Path

from connectors.testing import connector_contract_tests

TestHubspotContract = connector_contract_tests(
    "hubspot",
    fixtures=Path(__file__).parent / "fixtures",
    settings={
        "access_token": "pat-contract",
        "client_secret": "contract-client-secret",
        "webhook_url": "https://hooks.example.com/v1/webhooks/contract",
        "settle_seconds": 0,
    },
)

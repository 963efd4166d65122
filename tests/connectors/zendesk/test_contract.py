"""The kit's contract suite applied to the Zendesk connector (recorded export pages)."""

from __future__ import annotations

from pathlib import Path

from connectors.testing import connector_contract_tests

TestZendeskContract = connector_contract_tests(
    "zendesk",
    fixtures=Path(__file__).parent / "fixtures",
    settings={
        "base_url": "https://acme.zendesk.com",
        "email": "integration@acme.example",
        "api_token": "contract-api-token",
        "webhook_signing_secret": "contract-signing-secret",
        "per_page": 3,
        "export_lag_seconds": 0,
        "order_field_id": 360001,
    },
)

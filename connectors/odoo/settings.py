"""Settings of one Odoo connector instance (``connectors.<instance>`` in ``hub.yaml``)."""

from __future__ import annotations

from typing import Any

from pydantic import AnyHttpUrl, Field, SecretStr

from connectors.kit.settings import ConnectorSettings


class OdooSettings(ConnectorSettings):
    """Where the Odoo server is and how to log in; how to poll it.

    Example::

        connectors:
          odoo:
            type: odoo
            url: https://erp.example.com
            database: production
            login: handoff@example.com
            api_key: ${ODOO_API_KEY}
    """

    url: AnyHttpUrl = Field(description="Base URL of the Odoo server (JSON-RPC at <url>/jsonrpc)")
    database: str = Field(min_length=1, description="Database name (the instance name on odoo.com)")
    login: str = Field(min_length=1, description="Login of the integration user")
    api_key: SecretStr = Field(
        description="API key of that user (Preferences > Account Security); a password works too"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout of one JSON-RPC call")
    settle_seconds: float = Field(
        default=2.0,
        ge=0,
        description=(
            "Records changed in the last N seconds are read on the next poll: Odoo stamps "
            "write_date at transaction start, so a second is read only once it is over"
        ),
    )
    read_delivered_date: bool = Field(
        default=False,
        description=(
            "Also read the custom stock.picking field x_delivered_date (create it in Odoo, "
            "e.g. with Studio) to emit shipment.delivered"
        ),
    )
    read_return_reason: bool = Field(
        default=False,
        description=(
            "Also read the custom stock.picking field x_return_reason (a char or selection "
            "field, e.g. created with Studio) as the reason of return.requested"
        ),
    )
    partner_domain: list[Any] = Field(
        default_factory=list,
        description=(
            "Extra Odoo domain and-ed to the res.partner poll, e.g. [['customer_rank', '>', 0]]"
        ),
    )


__all__ = ["OdooSettings"]

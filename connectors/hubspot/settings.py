"""Settings of a ``hubspot`` instance (the ``connectors.<instance>`` entry in ``hub.yaml``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator

from connectors.kit.settings import ConnectorSettings
from schemas.codes import CURRENCY_CODES


class HubSpotSettings(ConnectorSettings):
    """Where HubSpot is, how to authenticate, and how its records map to the canonical model."""

    base_url: str = Field(
        default="https://api.hubapi.com",
        pattern=r"^https?://",
        description="HubSpot API base URL (an emulator's URL in tests and the demo)",
    )
    access_token: SecretStr = Field(
        description="Private-app access token, sent as 'Authorization: Bearer'; needs the "
        "crm.objects.contacts/companies/deals.read scopes"
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="The app's client secret: the key of X-HubSpot-Signature-v3. Without it "
        "every webhook is refused with 401 and only polling runs",
    )
    webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/]+",
        description="The target URL registered in HubSpot (e.g. "
        "https://hooks.example.com/v1/webhooks/hubspot); its scheme and host are part of "
        "the signed URI, whatever a proxy in front of the hub forwards",
    )
    poll_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the source checks whether a search is due (cheap: no API "
        "call unless a webhook arrived or search_interval_seconds passed)",
    )
    search_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest time between two searches of one object type when no webhook "
        "says something changed",
    )
    settle_seconds: float = Field(
        default=5.0,
        ge=0,
        description="HubSpot's search index lags writes by a few seconds: records modified "
        "more recently than this are left for the next search",
    )
    search_page_limit: int = Field(
        default=100, ge=1, le=200, description="Results per search page (HubSpot allows 200)"
    )
    backfill_since: AwareDatetime | None = Field(
        default=None,
        description="On first start, read records modified since this time (default: all)",
    )
    external_id_properties: dict[str, str] = Field(
        default_factory=lambda: {"erp_customer_number": "erp_customer_number"},
        description="Cross references for identity resolution: canonical key -> HubSpot "
        "property holding it (e.g. the ERP customer number on companies and contacts)",
    )
    extra_properties: list[str] = Field(
        default_factory=list, description="More properties to read on every object type"
    )
    won_stages: list[str] = Field(
        default_factory=lambda: ["closedwon"],
        min_length=1,
        description="Deal stage ids that mean won (custom pipelines have their own ids)",
    )
    default_currency: str = Field(
        default="EUR",
        description="Currency of deal amounts when the deal has no deal_currency_code",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="HTTP timeout per request")

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in CURRENCY_CODES:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value

    @model_validator(mode="after")
    def _webhooks_need_their_url(self) -> HubSpotSettings:
        if self.client_secret is not None and not self.webhook_url:
            raise ValueError(
                "webhook_url is required with client_secret: HubSpot signs the full URL it "
                "calls, so the hub must know the public one"
            )
        return self

    def backfill_since_ms(self) -> int | None:
        since: datetime | None = self.backfill_since
        return int(since.timestamp() * 1000) if since is not None else None


__all__ = ["HubSpotSettings"]

"""Settings of a ``zendesk`` instance (the ``connectors.<instance>`` entry in ``hub.yaml``)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator

from connectors.kit.settings import ConnectorSettings
from connectors.zendesk.signature import DEFAULT_TOLERANCE_SECONDS


class ZendeskSettings(ConnectorSettings):
    """Where Zendesk is, how to authenticate, and how tickets map to the canonical model."""

    base_url: str = Field(
        pattern=r"^https?://",
        description="The account's URL, e.g. https://acme.zendesk.com (an emulator's URL in "
        "tests and the demo)",
    )
    email: str | None = Field(
        default=None,
        description="Agent email for API-token authentication (sent as '<email>/token')",
    )
    api_token: SecretStr | None = Field(
        default=None, description="API token (Admin Center > Apps and integrations > Zendesk API)"
    )
    oauth_token: SecretStr | None = Field(
        default=None, description="OAuth access token, sent as 'Authorization: Bearer' instead"
    )
    webhook_signing_secret: SecretStr | None = Field(
        default=None,
        description="The webhook's signing secret (key of X-Zendesk-Webhook-Signature). "
        "Without it every webhook is refused with 401 and only the export runs",
    )
    webhook_tolerance_seconds: float = Field(
        default=DEFAULT_TOLERANCE_SECONDS,
        gt=0,
        description="How far X-Zendesk-Webhook-Signature-Timestamp may be from now",
    )
    poll_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the source checks whether an export is due (no API call "
        "unless a webhook arrived or export_interval_seconds passed)",
    )
    export_interval_seconds: float = Field(
        default=60.0,
        ge=6,
        description="Longest time between two incremental exports when no webhook says a "
        "ticket changed (Zendesk allows 10 export requests per minute)",
    )
    export_lag_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Zendesk leaves changes of the last minute out of the export: a webhook "
        "wakes the export only once its change is this old",
    )
    start_time: AwareDatetime | None = Field(
        default=None,
        description="On first start, export tickets changed since this time (default: all)",
    )
    per_page: int = Field(
        default=1000, ge=1, le=1000, description="Tickets per export page (Zendesk: at most 1000)"
    )
    order_field_id: int | None = Field(
        default=None, description="Id of the ticket custom field holding the order number"
    )
    order_number_pattern: str | None = Field(
        default=r"\bS\d{5}\b",
        description="Regular expression finding an order number in the subject when the "
        "custom field is empty (the whole match is the order id); null turns it off",
    )
    escalation_priorities: list[str] = Field(
        default_factory=lambda: ["urgent"],
        description="Ticket priorities that mean the ticket is escalated",
    )
    escalation_tags: list[str] = Field(
        default_factory=lambda: ["escalated"],
        description="Tags that mean the ticket is escalated",
    )
    complaint_tags: list[str] = Field(
        default_factory=lambda: ["complaint"], description="Tags that make a ticket a complaint"
    )
    complaint_field_id: int | None = Field(
        default=None,
        description="Id of a checkbox/dropdown custom field that marks complaints (any "
        "non-empty, non-false value); its dropdown value names the complaint category",
    )
    organization_external_ids: dict[str, str] = Field(
        default_factory=lambda: {"erp_customer_number": "erp_customer_number"},
        description="Cross references for identity resolution: canonical key -> "
        "organization_fields key holding it",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="HTTP timeout per request")

    @field_validator("order_number_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value

    @field_validator("escalation_priorities")
    @classmethod
    def _priorities(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in {"low", "normal", "high", "urgent"}]
        if unknown:
            raise ValueError(f"{unknown} are not Zendesk priorities (low/normal/high/urgent)")
        return value

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> ZendeskSettings:
        token = self.api_token is not None
        if self.oauth_token is not None and (token or self.email):
            raise ValueError("give either email and api_token or oauth_token, not both")
        if self.oauth_token is None and not (token and self.email):
            raise ValueError("email and api_token (or oauth_token) are required")
        return self

    def start_unix(self) -> int:
        since: datetime | None = self.start_time
        return int(since.timestamp()) if since is not None else 0

    def mapping(self) -> dict[str, object]:
        """What the translator needs from the settings (it rides along in each record)."""
        return {
            "order_field_id": self.order_field_id,
            "order_number_pattern": self.order_number_pattern,
            "escalation_priorities": list(self.escalation_priorities),
            "escalation_tags": list(self.escalation_tags),
            "complaint_tags": list(self.complaint_tags),
            "complaint_field_id": self.complaint_field_id,
            "organization_external_ids": dict(self.organization_external_ids),
        }


__all__ = ["ZendeskSettings"]

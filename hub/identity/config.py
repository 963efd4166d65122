"""The ``identity:`` section of ``hub.yaml``: which evidence makes two source records one customer.

Rules (each may be listed once, in any order):

- ``cross_reference``: a customer record's ``external_ids[<field>]`` is the source id of the
  same customer in connector instance ``system`` (an ERP customer number kept in a CRM field);
- ``email``: a normalised e-mail address (lower case, trimmed; ``+tags`` dropped if
  ``strip_plus_tags``) shared by two records;
- ``domain_and_name``: the same company domain and normalised company name; free-mail
  domains (``free_mail_domains``) never count;
- ``vat_id``: the same normalised VAT id.

With no ``identity:`` section, email, domain-and-name and VAT id are on and there are no
cross references (they name connector instances, which only the company knows).
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RuleKind = Literal["cross_reference", "email", "domain_and_name", "vat_id"]

DEFAULT_FREE_MAIL = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "aol.com",
    "proton.me",
    "protonmail.com",
)


class IdentityRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RuleKind
    #: cross_reference only: the key in ``external_ids`` ...
    field: str | None = None
    #: ... and the connector instance whose source id it holds.
    system: str | None = None

    @model_validator(mode="after")
    def _cross_reference_complete(self) -> IdentityRule:
        if self.kind == "cross_reference" and not (self.field and self.system):
            raise ValueError("a cross_reference rule needs both field and system")
        if self.kind != "cross_reference" and (self.field or self.system):
            raise ValueError(f"field and system belong to cross_reference rules, not {self.kind}")
        return self


DEFAULT_IDENTITY_RULES = (
    IdentityRule(kind="email"),
    IdentityRule(kind="domain_and_name"),
    IdentityRule(kind="vat_id"),
)


class IdentityConfig(BaseModel):
    """``identity:`` in ``hub.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[IdentityRule] = Field(default_factory=lambda: list(DEFAULT_IDENTITY_RULES))
    free_mail_domains: list[str] = Field(default_factory=lambda: list(DEFAULT_FREE_MAIL))
    strip_plus_tags: bool = True

    @model_validator(mode="after")
    def _unique(self) -> IdentityConfig:
        seen: set[tuple[str, str | None]] = set()
        for rule in self.rules:
            key = (rule.kind, rule.field)
            if key in seen:
                raise ValueError(f"identity rule {rule.kind} {rule.field or ''} listed twice")
            seen.add(key)
        return self

    # worked out once per configuration: identity asks them of every customer event, and
    # walking the rules (pydantic attribute reads) cost more than the evidence itself
    @cached_property
    def enabled_kinds(self) -> frozenset[str]:
        """The kinds of the configured rules."""
        return frozenset(rule.kind for rule in self.rules)

    @cached_property
    def cross_reference_pairs(self) -> tuple[tuple[str, str], ...]:
        """``cross_references()`` as ``(key, instance)`` pairs, in rule order."""
        return tuple(
            (rule.field, rule.system)
            for rule in self.rules
            if rule.kind == "cross_reference" and rule.field and rule.system
        )

    @cached_property
    def free_mail(self) -> frozenset[str]:
        """``free_mail_domains``, for membership tests."""
        return frozenset(self.free_mail_domains)

    def enabled(self, kind: RuleKind) -> bool:
        return kind in self.enabled_kinds

    def cross_references(self) -> dict[str, str]:
        """``external_ids`` key -> connector instance it refers to."""
        return dict(self.cross_reference_pairs)

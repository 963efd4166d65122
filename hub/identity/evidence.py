"""Identity evidence: normalised keys a customer record shares with others of the same company.

Two records that yield the same evidence key belong to the same golden customer. Keys carry
their rule (``email:``, ``vat:``, ``dn:``) so that different rules never collide. Links are
source identities (``<system>:<id>``) a record names as the same customer: cross references
from ``external_ids`` (as configured) and the model's ``identities`` list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.identity.config import IdentityConfig

_LEGAL_FORMS = frozenset(
    (
        *("gmbh", "mbh", "ag", "kg", "ohg", "ug", "ev", "se", "co", "kgaa"),
        *("ltd", "limited", "inc", "incorporated", "llc", "llp", "plc", "corp", "corporation"),
        *("company", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "aps"),
    )
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SCHEME = re.compile(r"^[a-z]+://")
_VAT_NOISE = re.compile(r"[\s.\-/]+")


def normalise_email(value: str, *, strip_plus_tags: bool = True) -> str | None:
    text = value.strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    if strip_plus_tags:
        local = local.split("+", 1)[0]
    return f"{local}@{domain}" if local else None


def normalise_domain(value: str) -> str | None:
    text = value.strip().lower()
    text = _SCHEME.sub("", text).split("/", 1)[0].split(":", 1)[0]
    text = text.removeprefix("www.").strip(".")
    return text if "." in text else None


def normalise_name(value: str) -> str | None:
    """Company name without case, accents, punctuation and legal form: 'Muster GmbH & Co. KG'
    and 'MUSTER gmbh' are both 'muster'."""
    if value.isascii():  # nothing to decompose or drop: most names
        text = value.lower()
    else:
        text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    words = [w for w in _NON_WORD.split(text.replace("&", " ")) if w and w not in _LEGAL_FORMS]
    return " ".join(words) or None


def normalise_vat(value: str) -> str | None:
    text = _VAT_NOISE.sub("", value).upper()
    return text if len(text) >= 4 else None


@dataclass(frozen=True)
class Evidence:
    keys: tuple[str, ...]
    links: tuple[str, ...]


def _strings(values: Iterable[Any]) -> list[str]:
    return [v for v in values if isinstance(v, str)]


def customer_evidence(data: Mapping[str, Any], config: IdentityConfig) -> Evidence:
    """Evidence keys and linked source identities of a customer.created/updated payload."""
    keys: list[str] = []
    if config.enabled("email"):
        emails = _strings(data.get("emails") or ())
        emails += _strings(
            c.get("email") for c in data.get("contacts") or () if isinstance(c, dict)
        )
        for email in emails:
            norm = normalise_email(email, strip_plus_tags=config.strip_plus_tags)
            if norm:
                keys.append(f"email:{norm}")
    if config.enabled("domain_and_name"):
        domain = normalise_domain(data.get("domain") or "")
        name = normalise_name(data.get("name") or "")
        if domain and name and domain not in config.free_mail:
            keys.append(f"dn:{domain}|{name}")
    if config.enabled("vat_id") and isinstance(data.get("vat_id"), str):
        vat = normalise_vat(data["vat_id"])
        if vat:
            keys.append(f"vat:{vat}")
    links: list[str] = []
    external = data.get("external_ids") or {}
    for field, system in config.cross_reference_pairs:
        value = external.get(field) if isinstance(external, dict) else None
        if isinstance(value, str) and value.strip():
            links.append(f"{system}:{value.strip()}")
    for ref in data.get("identities") or ():
        if isinstance(ref, dict) and ref.get("system") and ref.get("id"):
            links.append(f"{ref['system']}:{ref['id']}")
    return Evidence(tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(links)))

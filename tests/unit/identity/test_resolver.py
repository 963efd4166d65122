"""Identity resolution cases: evidence, golden ids, merges and rebuilds from hub.identity."""

from __future__ import annotations

import copy
import random
import unicodedata
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.identity import evidence as evidence_module
from hub.identity.config import IdentityConfig, IdentityRule
from hub.identity.evidence import (
    customer_evidence,
    normalise_domain,
    normalise_email,
    normalise_name,
    normalise_vat,
)
from hub.identity.resolver import (
    GOLDEN_NAMESPACE,
    MERGE_PREFIX,
    IdentityRecord,
    IdentityResolver,
    golden_id,
)

CONFIG = IdentityConfig(
    rules=[
        IdentityRule(kind="cross_reference", field="erp_customer_number", system="odoo"),
        IdentityRule(kind="email"),
        IdentityRule(kind="domain_and_name"),
        IdentityRule(kind="vat_id"),
    ]
)


def see(
    resolver: IdentityResolver, system: str, source_id: str, data: dict[str, Any]
) -> tuple[str, list[IdentityRecord]]:
    evidence = customer_evidence(data, CONFIG)
    result = resolver.observe(system, source_id, evidence.keys, evidence.links)
    return result.customer_id, result.records


@pytest.mark.parametrize(
    ("func", "raw", "expected"),
    [
        (normalise_email, " Info+Support@Muster.DE ", "info@muster.de"),
        (normalise_email, "not-an-email", None),
        (normalise_domain, "https://www.Muster.de/contact", "muster.de"),
        (normalise_domain, "localhost", None),
        (normalise_name, "Muster GmbH & Co. KG", "muster"),
        (normalise_name, "MÜSTER gmbh", "muster"),
        (normalise_name, "Beispiel Handels AG", "beispiel handels"),
        (normalise_vat, "DE 123.456-789", "DE123456789"),
        (normalise_vat, "x", None),
    ],
)
def test_normalisers(func: Any, raw: str, expected: str | None) -> None:
    assert func(raw) == expected


def test_three_systems_records_of_one_company_resolve_to_one_golden_id() -> None:
    resolver = IdentityResolver()
    erp, _ = see(
        resolver,
        "odoo",
        "10042",
        {"name": "Muster GmbH", "domain": "muster.de", "emails": ["info@muster.de"]},
    )
    crm, _ = see(
        resolver,
        "hubspot",
        "company/77",
        {
            "name": "MUSTER gmbh",
            "domain": "www.muster.de",
            "external_ids": {"erp_customer_number": "10042"},
        },
    )
    helpdesk, _ = see(
        resolver, "zendesk", "org/5", {"name": "x", "emails": ["Info+tickets@Muster.de"]}
    )
    assert erp == crm == helpdesk == golden_id("odoo:10042")
    assert resolver.resolve("zendesk", "org/5") == erp


def test_a_cross_reference_seen_first_pre_assigns_the_referenced_identity() -> None:
    resolver = IdentityResolver()
    crm, records = see(
        resolver, "hubspot", "c1", {"name": "A", "external_ids": {"erp_customer_number": "7"}}
    )
    assert {r.key for r in records} == {"hubspot:c1", "odoo:7"}
    erp, _ = see(resolver, "odoo", "7", {"name": "A"})
    assert erp == crm
    assert resolver.ensure("odoo", "7").customer_id == crm


def test_later_cross_reference_merges_two_golden_ids() -> None:
    resolver = IdentityResolver()
    crm, _ = see(
        resolver, "hubspot", "company/88", {"name": "Beispiel AG", "domain": "beispiel.de"}
    )
    erp, _ = see(resolver, "odoo", "20001", {"name": "Beispiel Handels GmbH", "domain": "bsp.de"})
    assert crm != erp
    later = customer_evidence(
        {
            "name": "Beispiel AG",
            "domain": "beispiel.de",
            "external_ids": {"erp_customer_number": "20001"},
        },
        CONFIG,
    )
    result = resolver.observe("hubspot", "company/88", later.keys, later.links)
    survivor, merged = min(crm, erp), max(crm, erp)
    assert [(m.survivor, m.merged, m.reason) for m in result.merges] == [
        (survivor, merged, "same source identity" if merged == crm else "cross reference")
    ]
    assert resolver.resolve("hubspot", "company/88") == survivor
    assert resolver.resolve("odoo", "20001") == survivor
    assert resolver.canonical(merged) == survivor
    assert any(r.key == MERGE_PREFIX + merged for r in result.records)


def test_shared_vat_id_and_evidence_joins_three_goldens_into_the_smallest() -> None:
    resolver = IdentityResolver()
    ids = [see(resolver, "s", str(i), {"name": f"N{i}", "vat_id": f"DE00{i}"})[0] for i in range(3)]
    joined = resolver.observe("s", "9", ("vat:DE000", "vat:DE001", "vat:DE002"), ())
    assert joined.customer_id == min(ids)
    assert len(joined.merges) == 2
    assert {resolver.resolve("s", str(i)) for i in range(3)} == {min(ids)}


def test_free_mail_domains_never_join_companies() -> None:
    resolver = IdentityResolver()
    a, _ = see(resolver, "crm", "1", {"name": "Smith", "domain": "gmail.com"})
    b, _ = see(resolver, "crm", "2", {"name": "Smith", "domain": "gmail.com"})
    assert a != b


def test_disabled_rules_give_no_evidence() -> None:
    only_vat = IdentityConfig(rules=[IdentityRule(kind="vat_id")])
    evidence = customer_evidence(
        {"emails": ["a@b.de"], "name": "A", "domain": "b.de", "vat_id": "DE999"}, only_vat
    )
    assert evidence.keys == ("vat:DE999",)


def test_unchanged_evidence_writes_nothing_new() -> None:
    resolver = IdentityResolver()
    see(resolver, "odoo", "1", {"name": "A", "vat_id": "DE111"})
    _, records = see(resolver, "odoo", "1", {"name": "A", "vat_id": "DE111"})
    assert records == []


def test_rebuild_from_the_records_in_any_order_gives_the_same_answers() -> None:
    live = IdentityResolver()
    log: list[IdentityRecord] = []
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    for i in range(300):
        company = rng.randrange(40)
        data: dict[str, Any] = {"name": f"Company {company}"}
        if rng.random() < 0.5:
            data["vat_id"] = f"DE{company:06d}"
        if rng.random() < 0.3:
            data["emails"] = [f"info@c{company}.de"]
        if rng.random() < 0.2:
            data["external_ids"] = {"erp_customer_number": str(rng.randrange(60))}
        system = rng.choice(["odoo", "hubspot", "zendesk"])
        _, records = see(live, system, f"r{i % 120}", data)
        log.extend(records)
    # compaction keeps the last value per key; partitions interleave arbitrarily
    last = {r.key: r for r in log}
    for seed in range(3):
        records = list(last.values())
        random.Random(seed).shuffle(records)  # noqa: S311 - test order
        rebuilt = IdentityResolver()
        for record in records:
            rebuilt.apply(IdentityRecord.decode(*record.encode()))
        for identity in live.owner:
            system, source_id = identity.split(":", 1)
            assert rebuilt.resolve(system, source_id) == live.resolve(system, source_id)


def test_two_instances_that_assigned_independently_converge() -> None:
    a, b = IdentityResolver(), IdentityResolver()
    _, from_a = see(a, "odoo", "1", {"name": "X", "vat_id": "DE42"})
    _, from_b = see(b, "hubspot", "9", {"name": "X", "vat_id": "DE42"})
    assert a.resolve("odoo", "1") != b.resolve("hubspot", "9")
    merges_b = [m for r in from_a for m in b.apply(r)]
    merges_a = [m for r in from_b for m in a.apply(r)]
    assert merges_a
    assert merges_b
    assert a.resolve("odoo", "1") == a.resolve("hubspot", "9") == b.resolve("odoo", "1")
    assert b.resolve("hubspot", "9") == a.resolve("hubspot", "9")


@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(("odoo", "crm", "desk")),
            st.sampled_from(("1", "2", "3", "4")),
            st.lists(st.sampled_from(("vat:A", "vat:B", "email:x@y.de")), max_size=2),
        ),
        max_size=12,
    ),
    system=st.sampled_from(("odoo", "crm", "desk")),
    source_id=st.sampled_from(("1", "2", "3", "4", "5")),
)
def test_ensure_answers_and_changes_exactly_what_observe_without_evidence_does(
    steps: list[tuple[str, str, list[str]]], system: str, source_id: str
) -> None:
    """``ensure`` has a shortcut for a known identity under a surviving golden id; it must
    give the same customer, records and merges, and leave the same state, as the general
    path (including identities whose golden id was merged away since)."""
    resolver = IdentityResolver()
    for step_system, step_id, keys in steps:
        resolver.observe(step_system, step_id, tuple(keys), ())
    shortcut, general = copy.deepcopy(resolver), copy.deepcopy(resolver)
    surviving = shortcut.surviving(system, source_id)
    expected = general.observe(system, source_id, (), ())
    if surviving is not None:  # the stage then answers with it and writes nothing
        assert (surviving, expected.records, expected.merges) == (expected.customer_id, [], [])
    assert shortcut.ensure(system, source_id) == expected
    assert (shortcut.owner, shortcut.evidence) == (general.owner, general.evidence)
    assert {k: shortcut.find(k) for k in shortcut.parent} == {
        k: general.find(k) for k in general.parent
    }


def test_ensure_of_an_identity_whose_golden_id_was_merged_rewrites_its_owner() -> None:
    resolver = IdentityResolver()
    first = resolver.observe("odoo", "1", ("vat:A",), ()).customer_id
    second = resolver.observe("crm", "9", ("vat:B",), ()).customer_id
    resolver.observe("desk", "5", ("vat:A", "vat:B"), ())  # joins the two
    merged_away = max(first, second)
    owner_of_merged = "odoo:1" if merged_away == first else "crm:9"
    system, source_id = owner_of_merged.split(":")
    result = resolver.ensure(system, source_id)
    assert result.customer_id == min(first, second)
    assert [r.key for r in result.records] == [owner_of_merged]
    assert resolver.ensure(system, source_id).records == []


@given(st.text())
def test_golden_id_is_the_uuid5_of_the_first_source_identity(identity: str) -> None:
    expected = "cust-" + uuid.uuid5(GOLDEN_NAMESPACE, identity).hex[:24]
    assert golden_id(identity) == expected


def _name_as_before(value: str) -> str | None:
    """normalise_name as it was: every name through NFKD and the ASCII filter."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    words = [
        w
        for w in evidence_module._NON_WORD.split(text.replace("&", " "))
        if w and w not in evidence_module._LEGAL_FORMS
    ]
    return " ".join(words) or None


@given(st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_normalised_names_as_through_nfkd_for_every_text(value: str) -> None:
    assert normalise_name(value) == _name_as_before(value)


def test_the_identity_config_answers_from_its_rules() -> None:
    assert CONFIG.enabled("email")
    assert CONFIG.enabled("cross_reference")
    assert not IdentityConfig(rules=[IdentityRule(kind="email")]).enabled("vat_id")
    assert CONFIG.cross_references() == {"erp_customer_number": "odoo"}
    assert CONFIG.cross_reference_pairs == (("erp_customer_number", "odoo"),)
    assert "gmail.com" in CONFIG.free_mail
    assert IdentityConfig.model_validate(CONFIG.model_dump()) == CONFIG


def test_a_colon_in_the_system_does_not_reach_another_identity() -> None:
    resolver = IdentityResolver()
    golden = resolver.observe("crm", "org:7", (), ()).customer_id
    assert resolver.resolve("crm", "org:7") == golden
    assert resolver.resolve("crm:org", "7") is None, "the same key, another identity"

"""Identity rules follow a reloaded ``hub.yaml``, as routing rules do, without a restart."""

from __future__ import annotations

import os
from pathlib import Path

from hub.config import load_config
from hub.routing.reload import RulesHolder
from hub.topics import CUSTOMERS
from hub.translate.stage import TranslationStage
from schemas import Envelope
from tests.unit.translate.table import TestTranslators, raw_event

WITH_CROSS_REFERENCE = """
identity:
  rules:
    - {kind: cross_reference, field: erp_customer_number, system: erp}
    - {kind: email}
"""
WITHOUT = """
identity:
  rules:
    - {kind: email}
"""


def _customer_ids(stage: TranslationStage, n: int) -> tuple[str, str]:
    """The golden ids of ERP customer ``C<n>`` and the CRM company naming it as ``n``."""
    ids = []
    for system, entity, source_id in (
        ("erp", "customer", f"C{n}"),
        ("crm", "company", f"company/{n}"),
    ):
        raw = raw_event(system, entity, source_id, 1, {"n": n, "customer": source_id}, system)
        [event] = [
            Envelope.from_kafka(key=r.key, value=r.value, headers=r.headers)
            for t, r in stage.translate(raw)
            if t == CUSTOMERS
        ]
        ids.append(event.data["customer_id"])
    return ids[0], ids[1]


def _rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a new mtime, however fast


def test_a_changed_identity_rule_applies_to_customers_read_after_the_reload(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(WITH_CROSS_REFERENCE, encoding="utf-8")
    config = load_config(path)
    holder = RulesHolder(config, path)
    stage = TranslationStage(config, TestTranslators(), rules=holder)

    erp, crm = _customer_ids(stage, 7)
    assert erp == crm  # joined by the ERP customer number the CRM company names

    _rewrite(path, WITHOUT)
    assert holder.check() is True
    erp, crm = _customer_ids(stage, 8)
    assert erp != crm  # the rule is gone: same kind of records, no longer joined
    # what was joined before stays joined, as after a restart
    assert stage.resolver.resolve("erp", "C7") == stage.resolver.resolve("crm", "company/7")

    _rewrite(path, "identity: [not, a, mapping]\n")
    assert holder.check() is False  # rejected: the rules in force stay
    erp, crm = _customer_ids(stage, 9)
    assert erp != crm


def test_without_a_holder_the_stage_keeps_the_rules_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(WITH_CROSS_REFERENCE, encoding="utf-8")
    stage = TranslationStage(load_config(path), TestTranslators())
    _rewrite(path, WITHOUT)
    erp, crm = _customer_ids(stage, 7)
    assert erp == crm

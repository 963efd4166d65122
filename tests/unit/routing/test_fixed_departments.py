"""Event types whose rules ignore the data get their departments from a per-type answer;
the others are still checked event by event, and both agree with ``departments_for``."""

from __future__ import annotations

from hub.config import HubConfig
from hub.routing.reload import CompiledRules
from hub.routing.route import departments_for
from schemas.registry import REGISTRY


def test_every_type_as_departments_for_on_first_and_later_events() -> None:
    config = HubConfig()
    rules = CompiledRules(config)
    for model in REGISTRY.models():
        data = model.example().model_dump(mode="json")
        expected = departments_for(
            config.routing.effective_rules(), config.departments, model.event_type, data
        )
        for _ in range(3):
            assert rules.departments(model.event_type, data) == expected, model.event_type


def test_a_fixed_answer_is_a_fresh_list_each_time() -> None:
    rules = CompiledRules(HubConfig())
    first = rules.departments("payment.received", {})
    first.append("intruder")
    assert rules.departments("payment.received", {}) == ["sales", "finance"]


def test_a_type_with_a_condition_is_still_decided_by_its_data() -> None:
    rules = CompiledRules(HubConfig())
    small = {"total": {"amount": "10.00", "currency": "EUR"}}
    large = {"total": {"amount": "20000.00", "currency": "EUR"}}
    assert rules.departments("order.placed", small) == ["sales"]
    assert rules.departments("order.placed", large) == ["sales", "finance"]
    assert rules.departments("order.placed", small) == ["sales"]
    owner = {"owner": "logistics"}
    assert rules.departments("sla.breached", owner) == ["management", "logistics"]
    assert rules.departments("sla.breached", {}) == ["management"]

"""A field plan hands back an object whose every key it allows as that object itself, and
checks every object for keys it has not met: a new key never rides along unchecked."""

from __future__ import annotations

from typing import Any

from hub.config import HubConfig
from hub.routing.policy import PolicyTable


def _order() -> dict[str, Any]:
    return {
        "order_id": "o-1",
        "customer_ref": {"system": "erp", "id": "7"},
        "total": {"amount": "20.00", "currency": "EUR"},
        "billing_address": {"name": "ACME", "city": "Berlin"},
    }


def test_an_object_whose_keys_are_all_allowed_is_passed_through() -> None:
    plan = PolicyTable(HubConfig()).plan("order.placed", 1, "sales")
    first, again = _order(), _order()
    plan.apply(first)  # meets the keys
    view = plan.apply(again)
    assert view["total"] is again["total"]
    assert view["customer_ref"] is again["customer_ref"]
    assert view is not again  # not every top-level key is allowed for every department
    assert view == plan.apply(_order())


def test_a_key_not_met_before_is_checked_and_dropped() -> None:
    plan = PolicyTable(HubConfig()).plan("order.placed", 1, "sales")
    plan.apply(_order())
    order = _order()
    order["total"]["secret"] = "x"
    order["customer_ref"]["password"] = "y"
    view = plan.apply(order)
    assert view["total"] == {"amount": "20.00", "currency": "EUR"}
    assert view["customer_ref"] == {"system": "erp", "id": "7"}
    assert plan.apply(_order())["total"] == {"amount": "20.00", "currency": "EUR"}


def test_a_department_that_may_not_see_a_field_never_gets_it_through_the_shortcut() -> None:
    plan = PolicyTable(HubConfig()).plan("order.placed", 1, "marketing")
    for _ in range(2):
        view = plan.apply(_order())
        assert "total" not in view
        assert "billing_address" not in view

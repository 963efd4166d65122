"""What ``hub up`` runs: translator and router, or the one-hop service, never both."""

from __future__ import annotations

import pytest

from hub.cli import services_for_up
from hub.config import HubConfig
from hub.runtime.settings import HubSettings


def test_two_hops_by_default() -> None:
    names = services_for_up(HubConfig())
    assert {"translator", "router", "timeline", "connectors"} <= set(names)
    assert "translate-and-route" not in names
    assert not [n for n in names if n.startswith("smoke-")]


def test_one_hop_replaces_translator_and_router() -> None:
    names = services_for_up(HubConfig(), one_hop=True)
    assert "translate-and-route" in names
    assert "translator" not in names
    assert "router" not in names
    assert {"timeline", "connectors"} <= set(names)


def test_one_hop_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ONE_HOP", "true")
    assert HubSettings().one_hop is True
    monkeypatch.setenv("HUB_ONE_HOP", "false")
    assert HubSettings().one_hop is False

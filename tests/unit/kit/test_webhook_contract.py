"""The contract suite's webhook checks: signed deliveries publish, redeliveries keep ce_ids."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from pathlib import Path

import orjson
import pytest

from connectors.kit import Record
from connectors.testing import connector_contract_tests
from tests.unit.kit.sources import HOOK, HookSource

SETTINGS = {"webhook_secret": "whsec-contract"}


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    (tmp_path / "webhooks").mkdir()
    (tmp_path / "raw").mkdir()
    event = {"ticket_id": 7, "at": "2026-11-20T08:00:00+00:00"}
    (tmp_path / "webhooks" / "good.json").write_bytes(
        orjson.dumps({"headers": {"X-Delivery-Id": "d-1"}, "body": [event]})
    )
    (tmp_path / "webhooks" / "bad.json").write_bytes(
        orjson.dumps(
            {"headers": {"X-Delivery-Id": "d-2"}, "body": {"no": "list"}, "malformed": True}
        )
    )
    (tmp_path / "raw" / "ticket.json").write_bytes(
        orjson.dumps(
            {
                "entity": "ticket",
                "id": "7",
                "time": "2026-11-20T08:00:00+00:00",
                "data": event,
                "expect": {"error": "UntranslatableRecord"},
            }
        )
    )
    return tmp_path


def test_a_webhook_connector_passes_the_webhook_checks(fixtures: Path) -> None:
    suite = connector_contract_tests(HOOK, fixtures=fixtures, settings=SETTINGS)()
    suite.test_webhook_deliveries_publish_and_deduplicate()
    suite.test_every_fixture_translates_or_names_its_error()
    assert not hasattr(suite, "test_resume_after_restart_neither_skips_nor_repeats")


def test_random_revisions_fail_the_redelivery_check(fixtures: Path) -> None:
    class RandomRevision(HookSource):
        def parse(self, body: bytes, headers: Mapping[str, str], delivery_id: str) -> list[Record]:
            return [
                dataclasses.replace(r, revision=uuid.uuid4().hex)
                for r in super().parse(body, headers, delivery_id)
            ]

    broken = dataclasses.replace(HOOK, source=RandomRevision)
    suite = connector_contract_tests(broken, fixtures=fixtures, settings=SETTINGS)()
    with pytest.raises(AssertionError, match=r"webhooks/good\.json: a redelivery got new ce_ids"):
        suite.test_webhook_deliveries_publish_and_deduplicate()

"""The contract suite itself fails, with the fixture's name, when a connector is wrong."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from connectors.jsonl import CONNECTOR
from connectors.kit.errors import UntranslatableRecord
from connectors.testing import connector_contract_tests
from schemas import Envelope

FIXTURES = Path(__file__).parents[2] / "connectors" / "jsonl" / "fixtures"
SETTINGS = {"directory": "{fixtures}/source"}


def _suite(**changes: object) -> object:
    broken = dataclasses.replace(CONNECTOR, **changes)  # type: ignore[arg-type]
    return connector_contract_tests(broken, fixtures=FIXTURES, settings=SETTINGS)()


def test_a_translator_that_crashes_fails_naming_the_fixture() -> None:
    def crashes(raw: Envelope) -> Sequence[Envelope]:
        if raw.subject == "SO-3":
            raise IndexError("list index out of range")
        return CONNECTOR.translate(raw)

    suite = _suite(translate=crashes)
    with pytest.raises(
        AssertionError, match=r"fixture raw/order_cancelled\.json: translator raised"
    ):
        suite.test_every_fixture_translates_or_names_its_error()  # type: ignore[attr-defined]


def test_a_translator_that_is_not_deterministic_fails() -> None:
    counter = iter(range(1000))

    def random_ids(raw: Envelope) -> Sequence[Envelope]:
        return [
            e.model_copy(update={"id": f"id-{next(counter)}"}) for e in CONNECTOR.translate(raw)
        ]

    suite = _suite(translate=random_ids)
    with pytest.raises(AssertionError, match="translating twice gave different events"):
        suite.test_translation_is_deterministic()  # type: ignore[attr-defined]


def test_a_translator_that_changes_issued_data_fails_naming_the_fixture() -> None:
    def tampers(raw: Envelope) -> Sequence[Envelope]:
        events = list(CONNECTOR.translate(raw))
        for event in events:
            event.data["tampered"] = True
        return events

    suite = _suite(translate=tampers)
    with pytest.raises(
        AssertionError,
        match=r"fixture raw/\w+\.json: the translator changed the data of its [\w.]+ event "
        r"after canonical_event",
    ):
        suite.test_translator_leaves_issued_data_alone()  # type: ignore[attr-defined]


def test_a_translator_that_refuses_a_good_record_fails_naming_it() -> None:
    def refuses(raw: Envelope) -> Sequence[Envelope]:
        raise UntranslatableRecord("not today")

    suite = _suite(translate=refuses)
    with pytest.raises(AssertionError, match=r"fixture raw/customer_created\.json: untranslatable"):
        suite.test_every_fixture_translates_or_names_its_error()  # type: ignore[attr-defined]


def test_a_cursor_that_does_not_advance_fails_the_resume_check() -> None:
    from connectors.jsonl.source import JsonlSource  # noqa: PLC0415

    class Forgetful(JsonlSource):
        async def read(self, stream, cursor):  # type: ignore[no-untyped-def]
            async for item in super().read(stream, None):  # ignores the stored cursor
                yield item

    suite = _suite(source=Forgetful)
    with pytest.raises(AssertionError, match="resuming from the cursor repeated"):
        suite.test_resume_after_restart_neither_skips_nor_repeats()  # type: ignore[attr-defined]

"""Events built by ``canonical_event`` are validated once, by their model: the stage neither
parses their data again nor dumps the model a second time, it sends the data as issued. That
a translator leaves the issued data alone is the connector contract suite's check."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson
import pytest

from connectors.testing import check_issued_data
from hub.topics import ORDERS
from hub.translate import stage as stage_module
from hub.translate.stage import TranslationStage
from schemas import Envelope, SchemaError, canonical_event
from schemas.events import issued_model
from schemas.registry import model_for
from tests.unit.translate.table import T0, example, raw_event
from tests.unit.translate.test_stage import CONFIG

Translator = Callable[[Envelope], Sequence[Envelope]]


def _built(raw: Envelope) -> Envelope:
    model = model_for("order.placed").model_validate_json(orjson.dumps(example("order.placed")))
    return canonical_event(model, source=raw.source, id_parts=[raw.id], time=T0, partitionkey="o")


def _stage(translate: Translator) -> TranslationStage:
    return TranslationStage(CONFIG, lambda _type: translate)


def _raw() -> Envelope:
    return raw_event("erp", "order", "SO1", 1, {"order": "SO1"}, "erp")


def _orders(outputs: list[tuple[str, object]]) -> list[dict[str, object]]:
    return [orjson.loads(r.value) for t, r in outputs if t == ORDERS]  # type: ignore[attr-defined]


def test_an_event_from_canonical_event_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(_event: Envelope) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(stage_module, "validate_event", refuse)
    raw = _raw()
    event = _built(raw)
    [data] = _orders(_stage(lambda _raw: [event]).translate(raw))
    expected = issued_model(event)
    assert expected is not None
    assert data == expected.model_dump(mode="json") | {"customer_id": data["customer_id"]}


def _tamper(raw: Envelope) -> list[Envelope]:
    event = _built(raw)
    event.data["total"] = {"amount": "1.00", "currency": "EURO"}
    return [event]


def test_the_stage_trusts_the_issued_data() -> None:
    # The rule: data changed in place after canonical_event is a translator bug the contract
    # suite catches (below); the stage does not guard against it for every record.
    [data] = _orders(_stage(_tamper).translate(_raw()))
    assert data["total"] == {"amount": "1.00", "currency": "EURO"}


def test_the_contract_check_fails_a_translator_that_changes_issued_data() -> None:
    with pytest.raises(
        AssertionError,
        match=r"fixture raw/so1\.json: the translator changed the data of its order\.placed "
        r"event after canonical_event \(changed in place: \['total'\]\)",
    ):
        check_issued_data(_tamper(_raw()), "fixture raw/so1.json")


def test_the_contract_check_fails_a_change_that_only_the_encoding_shows() -> None:
    def reordered(raw: Envelope) -> list[Envelope]:
        event = _built(raw)
        event.data["total"] = event.data.pop("total")  # equal dict, other bytes
        return [event]

    with pytest.raises(AssertionError, match="types or key order"):
        check_issued_data(reordered(_raw()), "fixture raw/so1.json")


def test_the_contract_check_passes_untouched_and_copied_events() -> None:
    event = _built(_raw())
    copy = event.model_copy(update={"data": {**event.data, "total": None}})
    check_issued_data([event, copy], "fixture raw/so1.json")


def test_a_copy_with_other_data_is_validated() -> None:
    def copied(raw: Envelope) -> list[Envelope]:
        event = _built(raw)
        data = dict(event.data) | {"total": {"amount": "1.00", "currency": "EURO"}}
        return [event.model_copy(update={"data": data})]

    with pytest.raises(SchemaError, match="currency"):
        _stage(copied).translate(_raw())


def test_only_the_issued_envelope_answers() -> None:
    event = _built(_raw())
    assert issued_model(event) is not None
    assert issued_model(event.model_copy()) is None
    assert issued_model(Envelope.model_validate(event.model_dump())) is None

"""Generated artefacts: JSON Schemas, the AsyncAPI document and docs/schemas.md.

``make check-schemas`` also validates them with check-jsonschema and @asyncapi/parser; these
tests cover what can be checked in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.commands.schemas import SCHEMAS_DOC, build_asyncapi
from schemas import event_types
from schemas.asyncapi import normalize_keys
from schemas.docs import render_markdown
from schemas.jsonschema import event_schema, export_schemas
from schemas.registry import REGISTRY

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    return build_asyncapi()


def test_export_writes_a_valid_schema_and_example_per_type_and_version(tmp_path: Path) -> None:
    written = export_schemas(tmp_path)
    assert len(written) == len(list(REGISTRY.models()))
    assert len(written) > len(event_types())  # customer.created has two versions
    for path in written:
        schema = orjson.loads(path.read_bytes())
        Draft202012Validator.check_schema(schema)
        example = orjson.loads(
            path.with_name(path.name.replace(".schema", ".example")).read_bytes()
        )
        errors = list(Draft202012Validator(schema).iter_errors(example))
        assert errors == [], f"{path}: {errors[0].message if errors else ''}"
    assert (tmp_path / "customer.created" / "v1.schema.json").exists()
    assert (tmp_path / "customer.created" / "v2.schema.json").exists()


def test_json_schema_rejects_what_the_model_rejects() -> None:
    schema = event_schema(REGISTRY.model_for("order.placed"))
    example = schema["examples"][0]
    validator = Draft202012Validator(schema)
    bad = {**example, "total": {"amount": "1", "currency": "XYZ"}}
    assert [list(e.absolute_path) for e in validator.iter_errors(bad)] == [["total", "currency"]]
    bad = {**example, "lines": [{**example["lines"][0], "quantity": -1}]}
    assert [list(e.absolute_path) for e in validator.iter_errors(bad)] == [["lines", 0, "quantity"]]
    assert schema["$id"] == "urn:handoff:schema:order.placed:v1"
    assert schema["properties"]["total"]["x-classification"] == "confidential"


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_asyncapi_document_has_every_channel_and_message(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    channels = asyncapi["channels"]
    for topic in ("hub.orders", "hub.customers", "hub.support"):
        assert channels[topic]["address"] == topic
    for department in ("sales", "finance", "logistics", "support", "marketing", "management"):
        assert f"dept.{department}" in channels
    # FastStream documents the services' own subscribers (the smoke path reads raw.smoke.order)
    addresses = {c["address"] for c in channels.values()}
    assert "raw.smoke.order" in addresses
    messages = asyncapi["components"]["messages"]
    assert set(event_types()) <= set(messages)
    orders = {m["$ref"].rsplit("/", 1)[1] for m in channels["hub.orders"]["messages"].values()}
    assert "order.placed" in orders
    assert "sla.breached" in orders
    assert "ticket.opened" not in orders
    finance = {m["$ref"] for m in channels["dept.finance"]["messages"].values()}
    assert "#/components/messages/department_view.payment.received" in finance
    view = messages["department_view.payment.received"]
    assert "field policy applied" in view["payload"]["description"]
    for ref in _refs(asyncapi):
        _resolve(asyncapi, ref)


def test_asyncapi_messages_carry_payload_headers_and_example(asyncapi: dict[str, Any]) -> None:
    message = asyncapi["components"]["messages"]["payment.received"]
    payload = _resolve(asyncapi, message["payload"]["$ref"])
    assert payload["properties"]["payer_iban"]["x-classification"] == "restricted"
    example = message["examples"][0]
    assert example["headers"]["ce_type"] == "payment.received"
    assert example["headers"]["ce_dataschema"] == "urn:handoff:schema:payment.received:v1"
    parsed = REGISTRY.parse_data("payment.received", 1, example["payload"])
    assert parsed.model_dump(mode="json") == example["payload"]


def test_docs_schemas_md_is_generated_from_the_models() -> None:
    committed = (REPO / SCHEMAS_DOC).read_text(encoding="utf-8")
    assert committed == render_markdown(), "docs/schemas.md is stale: run 'hub docs schemas'"
    for event_type in event_types():
        assert f"### `{event_type}` v" in committed
    assert "| `payer_iban` | string | no | restricted | yes |" in committed


def test_docs_schemas_check_fails_on_drift(tmp_path: Path) -> None:
    target = tmp_path / "schemas.md"
    target.write_text("old\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["docs", "schemas", "--check", "--output", str(target)])
    assert result.exit_code == 1
    assert "out of date" in result.output
    assert runner.invoke(cli, ["docs", "schemas", "--output", str(target)]).exit_code == 0
    assert runner.invoke(cli, ["docs", "schemas", "--check", "-o", str(target)]).exit_code == 0


def test_cli_export_and_asyncapi(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["schemas", "export", str(tmp_path / "json")])
    assert result.exit_code == 0, result.output
    assert f"wrote {len(list(REGISTRY.models()))} JSON Schemas" in result.output
    result = runner.invoke(cli, ["docs", "asyncapi", "-o", str(tmp_path / "asyncapi.json")])
    assert result.exit_code == 0, result.output
    assert orjson.loads((tmp_path / "asyncapi.json").read_bytes())["asyncapi"] == "3.0.0"
    result = runner.invoke(cli, ["schemas", "labels", "payment.received"])
    assert result.exit_code == 0
    assert "payer_iban" in result.output
    assert "restricted" in result.output


def test_faststream_keys_from_pattern_subscriptions_are_normalised() -> None:
    document: dict[str, Any] = {
        "channels": {
            "raw\\..+:Batch": {
                "address": "raw\\..+",
                "messages": {
                    "SubscribeMessage": {"$ref": "#/components/messages/raw%5C..%2B:Batch:M"}
                },
            }
        },
        "operations": {
            "raw\\..+:BatchSubscribe": {
                "action": "receive",
                "channel": {"$ref": "#/channels/raw%5C..%2B:Batch"},
            }
        },
        "components": {
            "messages": {"raw\\..+:Batch:M": {"payload": {"$ref": "#/components/schemas/P"}}},
            "schemas": {"P": {}},
        },
    }
    out = normalize_keys(document)
    assert list(out["channels"]) == ["raw_..__Batch"]
    assert list(out["components"]["messages"]) == ["raw_..__Batch_M"]
    assert (
        out["operations"]["raw_..__BatchSubscribe"]["channel"]["$ref"] == "#/channels/raw_..__Batch"
    )
    for ref in _refs(out):
        _resolve(out, ref)

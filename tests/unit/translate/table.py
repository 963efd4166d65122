"""A test-only translator table: three made-up systems (erp, crm, desk) and their records.

The translator service takes its translators from the connector kit's registry; tests hand
it this table instead, so that stage and pipeline tests do not depend on a real connector.
A record with ``"poison": true`` cannot be translated until the table is ``fixed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connectors.kit.errors import UntranslatableRecord
from connectors.kit.registry import UnknownConnectorType
from schemas import Envelope, current_version, dataschema_uri, model_for, stable_event_id

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

_EXAMPLES: dict[str, dict[str, Any]] = {}


def example(event_type: str) -> dict[str, Any]:
    if event_type not in _EXAMPLES:
        _EXAMPLES[event_type] = model_for(event_type).example().model_dump(mode="json")
    return dict(_EXAMPLES[event_type])


def raw_event(  # noqa: PLR0917 - reads like the raw-event convention it builds
    instance: str, entity: str, source_id: str, revision: int, data: dict[str, Any], type_name: str
) -> Envelope:
    return Envelope(
        id=stable_event_id(instance, entity, source_id, str(revision)),
        source=f"/connectors/{instance}",
        type=f"raw.{type_name}.{entity}",
        time=T0,
        subject=source_id,
        partitionkey=source_id,
        data=data,
    )


def _canonical(raw: Envelope, event_type: str, **fields: Any) -> Envelope:
    instance = raw.source.rsplit("/", 1)[-1]
    return Envelope(
        id=stable_event_id(raw.source, event_type, raw.id),
        source=raw.source,
        type=event_type,
        time=raw.time,
        dataschema=dataschema_uri(event_type, current_version(event_type)),
        causationid=raw.id,
        data=example(event_type) | {"customer_id": None} | fields | _ref(instance, raw),
    )


def _ref(instance: str, raw: Envelope) -> dict[str, Any]:
    customer = raw.data.get("customer")
    return {"customer_ref": {"system": instance, "id": customer}} if customer else {}


def _money(amount: str) -> dict[str, str]:
    return {"amount": str(Decimal(amount)), "currency": "EUR"}


@dataclass
class TestTranslators:
    """``lookup`` for :class:`hub.translate.stage.TranslationStage`."""

    fixed: bool = False

    __test__ = False  # not a pytest class

    def __call__(self, type_name: str) -> Callable[[Envelope], Sequence[Envelope]]:
        table = {"erp": self.erp, "crm": self.crm, "desk": self.desk}
        if type_name not in table:
            raise UnknownConnectorType(f"unknown connector type {type_name!r}")
        return table[type_name]

    def _check(self, raw: Envelope) -> dict[str, Any]:
        data = raw.data
        if not isinstance(data, dict):
            raise UntranslatableRecord("raw data is not an object")
        if data.get("poison") and not self.fixed:
            raise UntranslatableRecord(f"record {raw.subject} is poisoned: {data['poison']}")
        return data

    def erp(self, raw: Envelope) -> list[Envelope]:
        data = self._check(raw)
        entity = raw.type.split(".", 2)[2]
        order_id = f"erp:{data.get('order')}"
        if entity == "customer":
            n = data["n"]
            return [
                _canonical(
                    raw,
                    "customer.created",
                    name=f"Company {n} GmbH",
                    emails=[f"info@c{n}.test"],
                    domain=f"c{n}.test",
                    vat_id=f"DE{n:09d}",
                    external_ids={},
                    contacts=[],
                )
            ]
        if entity == "order":
            state = data["state"]
            if state == "placed":
                return [
                    _canonical(
                        raw,
                        "order.placed",
                        order_id=order_id,
                        order_number=data["order"],
                        total=_money(data["amount"]),
                    )
                ]
            return [
                _canonical(raw, "order.confirmed", order_id=order_id, total=_money(data["amount"]))
            ]
        if entity == "shipment":
            return [
                _canonical(
                    raw,
                    "shipment.dispatched",
                    order_id=order_id,
                    shipment_id=f"erp:S{data['order']}",
                )
            ]
        if entity == "payment":
            return [
                _canonical(
                    raw,
                    "payment.received",
                    order_id=order_id,
                    payment_id=f"erp:P{data['order']}",
                    amount=_money(data["amount"]),
                )
            ]
        if entity == "return":
            return [
                _canonical(
                    raw, "return.requested", order_id=order_id, return_id=f"erp:R{data['order']}"
                )
            ]
        raise UntranslatableRecord(f"erp entity {entity!r} is not translated")

    def crm(self, raw: Envelope) -> list[Envelope]:
        data = self._check(raw)
        n = data["n"]
        return [
            _canonical(
                raw,
                "customer.created",
                name=f"COMPANY {n} gmbh",
                emails=[],
                domain=f"www.c{n}.test",
                vat_id=None,
                external_ids={"erp_customer_number": f"C{n}"},
                contacts=[],
            )
        ]

    def desk(self, raw: Envelope) -> list[Envelope]:
        data = self._check(raw)
        kind = "complaint.opened" if data.get("complaint") else "ticket.opened"
        fields: dict[str, Any] = {
            "ticket_id": f"desk:{data['ticket']}",
            "priority": data["priority"],
            "order_id": None,
        }
        if kind == "complaint.opened":
            fields["complaint_id"] = f"desk:c{data['ticket']}"
        return [_canonical(raw, kind, **fields)]

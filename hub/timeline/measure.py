"""Measure timeline ingestion: ``python -m hub.timeline.measure --events 20000``.

Builds canonical events of orders (placed, confirmed, paid, dispatched, delivered,
invoiced, some cancelled, some with a complaint), their customers and a few customer
merges, encodes them as the Kafka records the service consumes, then decodes and stores
them in batches (as the service does) into a fresh SQLite file, once with each order's
events arriving together ("grouped") and once fully shuffled. Prints events/s for both;
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.timeline.config import ProcessesConfig
from hub.timeline.ordering import TimelineEvent
from hub.timeline.store import TimelineStore
from hub.topics import CUSTOMERS, ORDERS, SUPPORT
from schemas import Envelope, stable_event_id
from schemas.registry import model_for

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
_STEPS = (
    ("order.placed", 0.0),
    ("order.confirmed", 2.0),
    ("payment.received", 6.0),
    ("shipment.dispatched", 30.0),
    ("shipment.delivered", 80.0),
    ("invoice.issued", 90.0),
)
_COMPLAINT = (("complaint.opened", 100.0), ("ticket.updated", 102.0), ("ticket.resolved", 130.0))


@dataclass(frozen=True, slots=True)
class Record:
    """The parts of an aiokafka ConsumerRecord the service reads."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 0


def _examples() -> dict[str, dict[str, Any]]:
    types = {t for t, _ in _STEPS} | {t for t, _ in _COMPLAINT}
    types |= {"order.cancelled", "customer.created", "customer.merged"}
    return {t: model_for(t).example().model_dump(mode="json") for t in sorted(types)}


def _envelope(
    topic: str, event_type: str, moment: datetime, key: str, data: dict[str, Any]
) -> tuple[str, Envelope]:
    return topic, Envelope(
        id=stable_event_id("/measure", event_type, key, moment.isoformat()),
        source="/connectors/erp",
        type=event_type,
        time=moment,
        subject=key,
        partitionkey=key,
        data=data,
    )


def workload(events: int, *, customers: int = 400, seed: int = 7) -> list[list[Record]]:
    """Records grouped per order (and per customer), about ``events`` in all."""
    rnd = random.Random(seed)  # noqa: S311 - a fixed workload, not security
    examples = _examples()
    groups: list[list[tuple[str, Envelope]]] = []
    for n in range(customers):
        cid = f"G-{n:05d}"
        data = examples["customer.created"] | {"customer_id": cid}
        groups.append([_envelope(CUSTOMERS, "customer.created", T0, cid, data)])
    for n in range(max(1, customers // 100)):  # a few merges of one customer into another
        merged, survivor = f"G-{2 * n + 1:05d}", f"G-{2 * n:05d}"
        data = examples["customer.merged"] | {
            "customer_id": survivor,
            "survivor_id": survivor,
            "merged_id": merged,
        }
        moment = T0 + timedelta(days=3, minutes=n)
        groups.append([_envelope(CUSTOMERS, "customer.merged", moment, survivor, data)])
    total = sum(len(g) for g in groups)
    order = 0
    while total < events:
        order += 1
        oid, cid = f"erp:SO{order:06d}", f"G-{rnd.randrange(customers):05d}"
        placed = T0 + timedelta(minutes=order * 7)
        steps = list(_STEPS[: rnd.choice((3, 4, 5, 6, 6, 6, 6))])
        if rnd.random() < 0.05:
            steps = [*steps[:2], ("order.cancelled", 8.0)]
        group = []
        for event_type, hours in steps:
            data = examples[event_type] | {"order_id": oid, "customer_id": cid}
            moment = placed + timedelta(hours=hours)
            group.append(_envelope(ORDERS, event_type, moment, oid, data))
        if rnd.random() < 0.06:
            tid = f"desk:{order}"
            for event_type, hours in _COMPLAINT:
                data = examples[event_type] | {
                    "order_id": oid,
                    "customer_id": cid,
                    "ticket_id": tid,
                }
                moment = placed + timedelta(hours=hours)
                group.append(_envelope(SUPPORT, event_type, moment, cid, data))
        groups.append(group)
        total += len(group)
    out = []
    for group in groups:
        records = []
        for topic, envelope in group:
            wire = envelope.to_kafka()
            records.append(Record(topic, wire.key, wire.value, wire.headers))
        out.append(records)
    return out


def _decoder() -> Any:
    from hub.services.timeline import decode  # noqa: PLC0415 - what the service runs

    return decode


def run(records: Sequence[Record], *, batch: int, database: Path, decode: Any) -> dict[str, float]:
    store = TimelineStore(f"sqlite:///{database}", ProcessesConfig())
    store.migrate()
    decoding = storing = 0.0
    cpu = time.process_time()
    try:
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            began = time.perf_counter()
            events: list[TimelineEvent] = [decode(r) for r in chunk]
            decoded = time.perf_counter()
            store.ingest(events)
            decoding += decoded - began
            storing += time.perf_counter() - decoded
    finally:
        cpu = time.process_time() - cpu
        store.dispose()
    total = decoding + storing
    return {
        "events": len(records),
        "seconds": total,
        "events_per_s": len(records) / total,
        "store_events_per_s": len(records) / storing,
        "decode_share": decoding / total,
        "cpu_seconds": cpu,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hub.timeline.measure", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500, help="events per consumed batch")
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--arrival",
        choices=("both", "grouped", "shuffled"),
        default="both",
        help="grouped: each order's events together; shuffled: any order",
    )
    parser.add_argument("--duplicates", type=float, default=0.0, help="share re-delivered")
    args = parser.parse_args(argv)
    groups = workload(args.events, customers=args.customers, seed=args.seed)
    grouped = [r for g in groups for r in g]
    rnd = random.Random(args.seed)  # noqa: S311
    if args.duplicates:
        grouped += rnd.sample(grouped, int(len(grouped) * args.duplicates))
    shuffled = list(grouped)
    rnd.shuffle(shuffled)
    arrivals = {"grouped": grouped, "shuffled": shuffled}
    if args.arrival != "both":
        arrivals = {args.arrival: arrivals[args.arrival]}
    orders = sum(1 for g in groups if g[0].topic == ORDERS)
    print(  # noqa: T201
        f"{len(grouped)} events ({orders} orders, {args.customers} customers),"
        f" batches of {args.batch}, SQLite"
    )
    decode = _decoder()
    with tempfile.TemporaryDirectory(prefix="timeline-measure-") as tmp:
        for name, records in arrivals.items():
            figures = run(
                records, batch=args.batch, database=Path(tmp, f"{name}.db"), decode=decode
            )
            print(  # noqa: T201
                f"{name:9s} {figures['events_per_s']:8.0f} events/s"
                f"  (store alone {figures['store_events_per_s']:.0f}/s,"
                f" decoding {figures['decode_share']:.0%} of the time,"
                f" {figures['seconds']:.1f} s, {figures['cpu_seconds']:.1f} s CPU)"
            )


if __name__ == "__main__":
    main()

"""The benchmark's results as a short text report."""

from __future__ import annotations

from typing import Any


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value:,}{unit}"


def _ratio(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _latency_line(label: str, figures: dict[str, Any]) -> str:
    """One latency phase: the rate it was paced at, deliveries, p50, p99 and max."""
    return (
        f"{label} at {_num(figures.get('rate_per_s'), ' ev/s')}"
        f" ({_num(figures.get('deliveries'))} deliveries):"
        f" p50 {_num(figures.get('p50_ms'), ' ms')},"
        f" p99 {_num(figures.get('p99_ms'), ' ms')}, max {_num(figures.get('max_ms'), ' ms')}"
    )


def _runs(baseline: dict[str, Any]) -> str:
    rates = [_num(run.get("events_per_s")) for run in baseline.get("runs", [])]
    return " and ".join(rates) + " ev/s, before and after the hub's phases" if rates else "n/a"


def _per_record(rate: Any) -> float | None:
    return 1e6 / rate if rate else None


def _floor(
    result: dict[str, Any], floor_name: str = "floor", whole_name: str = "combined"
) -> list[str]:
    """A measurement's Kafka work alone (the one-hop service's by default), and what is left
    of a record's time for its stage code."""
    floor = result.get(floor_name)
    if not floor:
        return []
    kafka = _per_record(floor.get("events_per_s"))
    whole = _per_record(result.get(whole_name, {}).get("events_per_s"))
    split = (
        f"; per record {whole:.0f} us in all, {kafka:.0f} us of it Kafka work"
        if kafka is not None and whole is not None
        else ""
    )
    return [
        f"  its Kafka work alone (no stage code)  {_num(floor.get('events_per_s'), ' ev/s')}"
        f"  = {_ratio(floor.get('ratio_to_baseline'))}x baseline"
        f"  (deliveries {_num(floor.get('deliveries'))}{split})"
    ]


def render(result: dict[str, Any]) -> str:
    records = result.get("records", {})
    base = result.get("baseline", {})
    tr = result.get("translate_route", {})
    tl = result.get("timeline", {})
    quix = result.get("quix")
    lines = [
        f"Handoff {result.get('handoff')} benchmark, {result['cluster']['kind']} cluster "
        f"({result['machine']['cpus']} CPUs, Python {result['machine']['python']})",
        f"records: {_num(records.get('count'))} raw events, mean {records.get('mean_bytes')} B "
        f"({', '.join(f'{k} {v}' for k, v in records.get('by_entity', {}).items())})",
        "",
        f"baseline aiokafka consume->produce      {_num(base.get('events_per_s'), ' ev/s')}"
        f"  (mean of {_runs(base)}; peak RSS {_num(base.get('peak_rss_mb'), ' MB')})",
        f"translate+identity+route (2 services)   {_num(tr.get('events_per_s'), ' ev/s')}"
        f"  = {_ratio(tr.get('ratio_to_baseline'))}x baseline"
        f"  (peak RSS {_num(tr.get('peak_rss_mb'), ' MB')})",
        f"  deliveries {_num(tr.get('deliveries'))} of {_num(tr.get('deliveries_expected'))}"
        f" expected, duplicates {_num(tr.get('duplicates'))},"
        f" customer.merged {_num(tr.get('merge_events'))}",
        *_floor(result, "pipeline_floor", "translate_route"),
        f"translate_and_route (1 service, 1 hop)  "
        f"{_num(result.get('combined', {}).get('events_per_s'), ' ev/s')}"
        f"  = {_ratio(result.get('combined', {}).get('ratio_to_baseline'))}x baseline"
        f"  (deliveries {_num(result.get('combined', {}).get('deliveries'))} of"
        f" {_num(result.get('combined', {}).get('deliveries_expected'))})",
        f"  same stage code in-process, no Kafka   "
        f"{_num(result.get('in_process', {}).get('events_per_s'), ' ev/s')}",
        *_floor(result),
    ]
    if quix is not None:
        if quix.get("available"):
            lines.append(
                f"Quix Streams, same work (1 hop)         {_num(quix.get('events_per_s'), ' ev/s')}"
                f"  hub/quix = {_ratio(quix.get('ratio_hub_to_quix'))}x"
                f" (1 hop: {_ratio(quix.get('ratio_combined_to_quix'))}x)"
                f"  (peak RSS {_num(quix.get('peak_rss_mb'), ' MB')})"
            )
            qfloor = quix.get("floor")
            if qfloor:
                lines.append(
                    f"  its Kafka work alone (no stage code)  "
                    f"{_num(qfloor.get('events_per_s'), ' ev/s')}"
                    f"  hub/quix, Kafka work alone ="
                    f" {_ratio(result.get('floor', {}).get('ratio_to_quix_floor'))}x"
                    f"  (deliveries {_num(qfloor.get('deliveries'))})"
                )
        else:
            lines.append(f"Quix Streams: {quix.get('hint')}")
    lines += [
        _latency_line("end-to-end latency", result.get("latency", {})),
        _latency_line("  1 hop", result.get("combined", {}).get("latency", {})),
        _latency_line("  baseline loop", result.get("baseline_latency", {})),
        f"timeline ingestion into SQLite          {_num(tl.get('events_per_s'), ' ev/s')}"
        f"  ({_num(tl.get('stored'))} stored of {_num(tl.get('canonical_records'))} records,"
        f" peak RSS {_num(tl.get('peak_rss_mb'), ' MB')})",
    ]
    soak = result.get("soak")
    if soak:
        lines.append(
            f"soak: RSS {_num(soak.get('rss_growth_mb'), ' MB')} growth from"
            f" {_num(soak.get('from_events'))} to {_num(soak.get('to_events'))} events"
        )
        for sample in soak.get("samples", []):
            lines.append(
                f"  after {_num(sample.get('events'))} events: RSS "
                f"{_num(sample.get('rss_mb'), ' MB')}"
                f" (peak {_num(sample.get('peak_rss_mb'), ' MB')})"
            )
    lines += ["", "targets:"]
    for row in result.get("targets", []):
        mark = {True: "met", False: "NOT met", None: "not measured"}[row["met"]]
        value = _ratio(row["measured"]) if "x" in row["goal"] else _num(row["measured"])
        lines.append(f"  {row['target']:<40} {row['goal']:<9} {value:>10}  {mark}")
    return "\n".join(lines)

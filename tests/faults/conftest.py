"""The fault suite: short by default (part of ``make test``), full with ``make faults``."""

from __future__ import annotations

import os

import pytest

#: ``make faults`` sets HANDOFF_FAULTS=full: more records, more rounds of faults.
FULL = os.environ.get("HANDOFF_FAULTS", "short") == "full"
#: One line per fault run (lost, duplicated timeline entries, DLQ ...), shown after the run.
REPORTS: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORTS:
        terminalreporter.section("fault runs")
        for line in REPORTS:
            terminalreporter.write_line(line)


def variant_params() -> list[object]:
    """The short run always; the full one only under ``make faults`` (not collected
    otherwise, so ``make test`` reports no skipped test for it)."""
    params: list[object] = [pytest.param("short", id="short")]
    if FULL:
        params.append(pytest.param("full", id="full", marks=pytest.mark.slow))
    return params

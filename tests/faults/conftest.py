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
    return [
        pytest.param("short", id="short"),
        pytest.param(
            "full",
            id="full",
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(not FULL, reason="full fault run: make faults"),
            ],
        ),
    ]

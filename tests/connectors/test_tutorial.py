"""docs/connectors.md builds a connector end to end: its snippets must pass the contract suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.kit.scaffold import generate

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
BLOCK = re.compile(r"^```(\w+) file=(\S+)\n(.*?)^```", re.M | re.S)


def snippets() -> dict[str, str]:
    return {path: body for _, path, body in BLOCK.findall(DOC.read_text(encoding="utf-8"))}


def test_the_tutorial_has_every_part_of_a_connector() -> None:
    files = snippets()
    for needed in (
        "tinydesk/settings.py",
        "tinydesk/source.py",
        "tinydesk/translate.py",
        "tinydesk/__init__.py",
        "tests/test_contract.py",
    ):
        assert needed in files, f"docs/connectors.md lost its {needed} snippet"


@pytest.mark.slow
def test_the_tutorial_connector_passes_the_contract_suite(tmp_path: Path) -> None:
    package = generate("tinydesk", tmp_path)  # step 1: hub connector new tinydesk
    for folder in ("http", "raw"):  # step 1: rm tests/fixtures/{http,raw}/*.json
        for fixture in (package / "tests" / "fixtures" / folder).glob("*.json"):
            fixture.unlink()
    for path, body in snippets().items():
        target = package / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=package,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "10 passed" in result.stdout

"""Every connector this repository registers runs the contract suite in ``make test``."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def repo_connectors() -> dict[str, str]:
    """Entry points of group ``handoff.connectors`` declared in this repository's pyproject."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return dict(project.get("entry-points", {}).get("handoff.connectors", {}))


def test_every_repo_connector_has_contract_tests() -> None:
    connectors = repo_connectors()
    assert "jsonl" in connectors, "the reference connector is registered"
    missing = []
    for name in connectors:
        contract = REPO / "tests" / "connectors" / name / "test_contract.py"
        if not contract.exists() or "connector_contract_tests(" not in contract.read_text():
            missing.append(f"{name}: {contract.relative_to(REPO)} calling connector_contract_tests")
    assert not missing, "connectors without the contract suite:\n" + "\n".join(missing)

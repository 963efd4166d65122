"""The contract suite on the reference connector ``jsonl``."""

from __future__ import annotations

from pathlib import Path

from connectors.jsonl import CONNECTOR
from connectors.testing import connector_contract_tests

FIXTURES = Path(__file__).parent / "fixtures"

TestJsonlContract = connector_contract_tests(
    CONNECTOR, fixtures=FIXTURES, settings={"directory": "{fixtures}/source"}
)

"""The contract suite every connector inherits, and in-memory test doubles.

from connectors.testing import connector_contract_tests
TestAcmeCrm = connector_contract_tests(CONNECTOR, fixtures=HERE / "fixtures",
                                       settings={...})
"""

from connectors.testing.contract import (
    check_issued_data,
    connector_contract_tests,
    load_raw_fixtures,
    raw_fixture_event,
    translate_checked,
)
from connectors.testing.memory import MemoryPublisher

__all__ = [
    "MemoryPublisher",
    "check_issued_data",
    "connector_contract_tests",
    "load_raw_fixtures",
    "raw_fixture_event",
    "translate_checked",
]

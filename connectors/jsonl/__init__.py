"""``jsonl``: customers and orders from a directory of exported JSON-lines files.

Many ERPs and shops can export changed records as files on a schedule; this connector
picks them up with a durable byte-offset cursor (see :mod:`connectors.jsonl.source`) and
is the reference connector the contract suite runs against.
"""

from connectors.jsonl.settings import JsonlSettings
from connectors.jsonl.source import JsonlSource
from connectors.jsonl.translate import translate
from connectors.kit.registry import ConnectorType

CONNECTOR = ConnectorType(
    name="jsonl",
    settings_model=JsonlSettings,
    source=JsonlSource,
    translate=translate,
    description="Customers and orders from exported JSON-lines files in a directory",
)

__all__ = ["CONNECTOR", "JsonlSettings", "JsonlSource", "translate"]

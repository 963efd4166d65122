"""The commented identity and routing examples in the shipped hub.yaml are valid config."""

from __future__ import annotations

from pathlib import Path

from hub.config import parse_config
from hub.routing.route import route
from schemas import Envelope

REPO = Path(__file__).resolve().parents[3]


def test_commented_identity_and_routing_examples_parse() -> None:
    text = (REPO / "hub.yaml").read_text()
    start = text.index("# identity:")
    end = text.index("\n\n", text.index("# routing:"))
    lines = [
        line[2:]
        for line in text[start:end].splitlines()
        if line.startswith(("# identity:", "# routing:", "#   "))
    ]
    config = parse_config("\n".join(lines), env={"HUB_HASH_KEY": "k"})
    assert config.identity.cross_references() == {"erp_customer_number": "erp"}
    assert config.routing.rules is not None
    breach = Envelope(id="1", source="/t", type="sla.breached", data={"owner": "logistics"})
    assert route(breach, config) == ["management", "logistics"]

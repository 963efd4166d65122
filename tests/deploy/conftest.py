"""tests/deploy drive the same check functions `make check-deploy` runs (deploy/tools/checks.py)."""

from __future__ import annotations

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "deploy" / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

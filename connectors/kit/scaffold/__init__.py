"""``hub connector new NAME``: a connector package whose contract tests pass as generated.

The templates under ``template/`` end in ``.tmpl`` (so no tool mistakes them for code) and
use ``__NAME__`` (package and type name), ``__CLASS__`` (CamelCase), ``__TITLE__``,
``__DASHED__`` and ``__UPPER__``; ``template/package/`` becomes ``<NAME>/``.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

TEMPLATE = Path(__file__).parent / "template"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ScaffoldError(ValueError):
    """The name is unusable or the target exists; the message says which."""


def placeholders(name: str) -> dict[str, str]:
    words = name.split("_")
    return {
        "__NAME__": name,
        "__CLASS__": "".join(w.capitalize() for w in words),
        "__TITLE__": " ".join(w.capitalize() for w in words),
        "__DASHED__": name.replace("_", "-"),
        "__UPPER__": name.upper(),
    }


def generate(name: str, directory: Path) -> Path:
    """Write the package ``<directory>/<name>/``; returns its path."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not usable: a connector name is a lower-case Python identifier "
            "(letters, digits, underscores), e.g. acme_crm"
        )
    target = directory / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    values = placeholders(name)
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        parts = [name if part == "package" else part for part in relative.parts]
        destination = target.joinpath(*parts)
        text = source.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    return target


__all__ = ["TEMPLATE", "ScaffoldError", "generate", "placeholders"]

"""``hub connector new NAME``: a connector package whose contract tests pass as generated.

The templates under ``template/`` end in ``.tmpl`` (so no tool mistakes them for code) and
use ``__NAME__`` (package and type name), ``__CLASS__`` (CamelCase), ``__TITLE__``,
``__DASHED__`` and ``__UPPER__``; ``template/package/`` becomes ``<NAME>/``.
"""

from __future__ import annotations

import keyword
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import connectors
from connectors.kit.registry import connector_types

TEMPLATE = Path(__file__).parent / "template"
_NAME = re.compile(r"[a-z][a-z0-9_]*")  # whole name: fullmatch
#: Longer names make unwieldy topic names (``raw.<instance>.<entity>``) and file names.
MAX_NAME_LENGTH = 64
#: Handoff's own top-level packages (an editable install does not list them as a
#: distribution's).
_OWN_PACKAGES = frozenset({"hub", "connectors", "schemas"})


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


def check_name(name: str) -> None:
    """Raise :class:`ScaffoldError` unless ``name`` can be a new connector package and type:
    a short lower-case identifier that no installed module or connector type already has
    (the package is imported as ``<name>`` and registered as connector type ``<name>``)."""
    if len(name) > MAX_NAME_LENGTH:
        raise ScaffoldError(
            f"a connector name is at most {MAX_NAME_LENGTH} characters; "
            f"{name[:20]!r}... has {len(name)}"
        )
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not usable: a connector name is a lower-case Python identifier "
            "(letters, digits, underscores), e.g. acme_crm"
        )
    taken = ""
    if name in sys.stdlib_module_names:
        taken = "a module of the Python standard library"
    elif name in connector_types():
        taken = "an installed connector type (hub connector list)"
    elif (Path(connectors.__file__).parent / name).exists():
        taken = "a package in Handoff's connectors/"
    elif name in _OWN_PACKAGES or name in packages_distributions():
        taken = "an installed Python package"
    if taken:
        raise ScaffoldError(
            f"{name!r} is not usable: it is the name of {taken}, which the new package "
            "would clash with; choose another, e.g. acme_crm"
        )


def generate(name: str, directory: Path) -> Path:
    """Write the package ``<directory>/<name>/``; returns its path."""
    check_name(name)
    target = directory / name
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} is not a directory")
    if target.exists():
        raise ScaffoldError(f"{target} already exists")
    values = placeholders(name)
    try:
        for source in sorted(TEMPLATE.rglob("*.tmpl")):
            relative = source.relative_to(TEMPLATE).with_suffix("")
            parts = [name if part == "package" else part for part in relative.parts]
            destination = target.joinpath(*parts)
            text = source.read_text(encoding="utf-8")
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text, encoding="utf-8")
    except OSError as exc:
        where = exc.filename or target
        raise ScaffoldError(f"cannot write {where}: {exc.strerror or exc}") from exc
    return target


__all__ = ["MAX_NAME_LENGTH", "TEMPLATE", "ScaffoldError", "check_name", "generate", "placeholders"]

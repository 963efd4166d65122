"""hub connector new: the generated package passes its contract suite, and a broken translator
fails it with a message naming the fixture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connectors.kit.scaffold import ScaffoldError, generate

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"]


def _pytest(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(PYTEST, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_a_fresh_scaffold_passes_and_a_broken_translator_names_the_fixture(
    tmp_path: Path,
) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "hub", "connector", "new", "acme_crm", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    package = tmp_path / "acme_crm"
    assert (package / "pyproject.toml").read_text().count('acme_crm = "acme_crm:CONNECTOR"') == 1

    fresh = _pytest(package)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "10 passed" in fresh.stdout

    translate = package / "acme_crm" / "translate.py"
    translate.write_text(
        translate.read_text().replace('"name": name,', '"name": data["nickname"],')
    )
    broken = _pytest(package)
    assert broken.returncode == 1
    assert "fixture raw/contact_created.json: translator raised KeyError" in broken.stdout


def test_names_must_be_identifiers_and_targets_new(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="lower-case Python identifier"):
        generate("Acme-CRM", tmp_path)
    generate("acme", tmp_path)
    with pytest.raises(ScaffoldError, match="already exists"):
        generate("acme", tmp_path)

"""The rule every bad-input test of the ``hub`` command checks: exit 2, no traceback, and
one ``error:`` line on stderr naming the problem."""

from __future__ import annotations


def assert_one_error_line(code: int, stdout: str, stderr: str, *expected: str) -> str:
    """The error line, after checking the rule and that it names each of ``expected``."""
    output = stdout + stderr
    assert code == 2, output
    assert "Traceback" not in output, output
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    for part in expected:
        assert part in lines[0], output
    return lines[0]

"""The PowerShell parse gate catches broken files, passes valid ones, and the repository is clean."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
GATE_PATH = REPO_ROOT / "tests" / "tools" / "ps_parse_gate.py"
FIXTURES = REPO_ROOT / "tests" / "tools" / "fixtures"


def _load_gate():
    spec = importlib.util.spec_from_file_location("ps_parse_gate", GATE_PATH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


gate = _load_gate()


# (fixture, expected kind, expected line of the first problem, text that must appear in it)
BROKEN_CASES = [
    ("missing_paren_in_if.ps1", "ERROR", 3, "if ($name -eq 'x' {"),
    ("missing_brace_at_eof.ps1", "MISSING", None, "}"),
    ("unterminated_string.ps1", None, 2, ""),
    ("unclosed_param.ps1", None, 3, ""),
]


@pytest.mark.parametrize(("name", "kind", "line", "text"), BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES])
def test_gate_reports_broken_file(name: str, kind: str | None, line: int | None, text: str) -> None:
    path = FIXTURES / "broken" / name
    count, problems = gate.check_files([path])
    assert count == 1
    assert problems, f"{name}: the gate found no problem in a deliberately broken file"
    first = problems[0]
    assert first.path == f"tests/tools/fixtures/broken/{name}"
    if kind is not None:
        assert any(p.kind == kind for p in problems), [str(p) for p in problems]
    if line is not None:
        assert first.line == line, [str(p) for p in problems]
    if text:
        assert any(text in p.text for p in problems), [str(p) for p in problems]
    # The report line format other tools (and people) rely on.
    assert str(first).startswith(f"{first.path}:{first.line}:{first.column}: {first.kind} ")


def test_gate_cli_fails_on_every_broken_fixture() -> None:
    files = sorted((FIXTURES / "broken").glob("*.ps1"))
    assert len(files) >= 4
    proc = subprocess.run(
        [sys.executable, str(GATE_PATH), *map(str, files)], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    reported = {line.split(":", 1)[0] for line in proc.stdout.splitlines() if line}
    assert reported == {f.relative_to(REPO_ROOT).as_posix() for f in files}
    for line in proc.stdout.splitlines():
        assert " ERROR " in line or " MISSING " in line, line


def test_gate_passes_valid_file() -> None:
    path = FIXTURES / "valid" / "valid_module.ps1"
    count, problems = gate.check_files([path])
    assert count == 1
    assert problems == [], [str(p) for p in problems]
    proc = subprocess.run(
        [sys.executable, str(GATE_PATH), str(path)], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_discovery_skips_broken_fixtures_and_venvs() -> None:
    found = {p.relative_to(REPO_ROOT).as_posix() for p in gate.discover(REPO_ROOT)}
    assert "tests/tools/fixtures/valid/valid_module.ps1" in found
    assert not any(p.startswith("tests/tools/fixtures/broken/") for p in found)
    assert not any(p.startswith((".venv", "collections/", "tests/output/")) for p in found)


def test_repository_powershell_parses_cleanly() -> None:
    """Every .ps1/.psm1 of the repository (plugins, roles, tests) parses without error."""
    count, problems = gate.check_files(gate.discover(REPO_ROOT))
    assert count >= 1
    assert problems == [], "\n".join(str(p) for p in problems)

"""Every end-to-end test file checks the invariants (issue 6) with the one reusable helper.

A ``tests/e2e/test_*.py`` file must import ``Invariants`` from ``tests.e2e.invariants``, create
one (``Invariants(...)``) and call its ``check(...)``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1] / "e2e"
FILES = sorted(E2E.glob("test_*.py"))


def uses_invariants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "tests.e2e.invariants"
        and any(alias.name == "Invariants" for alias in node.names)
        for node in ast.walk(tree)
    )
    created = any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Invariants"
        for node in ast.walk(tree)
    )
    checked = any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check"
        for node in ast.walk(tree)
    )
    return [
        what for what, ok in (("import", imported), ("Invariants(...)", created), (".check(...)", checked)) if not ok
    ]


def test_there_are_end_to_end_tests():
    assert FILES, "no tests/e2e/test_*.py found"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_e2e_file_checks_the_invariants(path):
    missing = uses_invariants(path)
    assert not missing, "%s never uses tests.e2e.invariants.Invariants (missing: %s)" % (path.name, ", ".join(missing))

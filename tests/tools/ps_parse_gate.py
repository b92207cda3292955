#!/usr/bin/env python
"""PowerShell parse gate: parse every .ps1/.psm1 with tree-sitter + tree-sitter-pwsh.

There is no pwsh on the build machines, and no ansible-test sanity test parses PowerShell
without it, so a syntax error in a module would only show up on a real Windows host. This
gate reports every ERROR and MISSING node of the tree-sitter-pwsh parse tree as

    path:line:col: ERROR <text>
    path:line:col: MISSING <node type>

and exits 1 if there is any.  Error recovery can swallow later errors of the same file, so
fix the first one reported and run the gate again.

Usage (from the repository root):
    python tests/tools/ps_parse_gate.py            # every .ps1/.psm1 of the repository
    python tests/tools/ps_parse_gate.py FILE...    # only these files

Known tree-sitter-pwsh gaps (valid PowerShell reported as an error; avoid these
constructs in the collection, see ecosystem-notes section 11): bracketed generic type
arguments like [Dictionary[[String], [Object]]] (write [Dictionary[String, Object]]),
labelled break/continue, -cnotin/-cin/-inotin, and a method call followed by an index used
as a bare command argument (wrap it in parentheses).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = (".ps1", ".psm1")

# Directory names never searched, wherever they are.
EXCLUDED_DIR_NAMES = frozenset(
    {
        ".git",
        ".venv",
        ".venv-compat",
        "venv",
        ".tox",
        "collections",
        "ansible_collections",
        "__pycache__",
        "node_modules",
        ".cache",
        ".ansible",
        "context",
        "dist",
        "build",
    }
)
# Paths (relative to the repository root) never searched.
EXCLUDED_REL_DIRS = frozenset(
    {
        "tests/output",
        # Deliberately broken files that prove the gate works (tests/unit/tools/test_ps_parse_gate.py).
        "tests/tools/fixtures/broken",
    }
)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    kind: str  # "ERROR" or "MISSING"
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.kind} {self.text}"


def _parser():
    try:
        import tree_sitter
        import tree_sitter_pwsh
    except ImportError as exc:  # pragma: no cover - depends on the venv
        raise SystemExit(
            f"ps_parse_gate: {exc}. Install tree-sitter and tree-sitter-pwsh (requirements/test-common.txt), "
            "e.g. run it through `make ps-parse`."
        ) from exc
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def discover(root: Path = REPO_ROOT) -> list[Path]:
    """Every .ps1/.psm1 under root, minus venvs, symlink farms, outputs and the broken fixtures."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in EXCLUDED_DIR_NAMES
            and not d.startswith(".venv")
            and (d if rel_dir == "." else f"{rel_dir}/{d}") not in EXCLUDED_REL_DIRS
        )
        found.extend(Path(dirpath) / f for f in sorted(filenames) if f.lower().endswith(EXTENSIONS))
    return found


def _short(data: bytes, limit: int = 60) -> str:
    text = data.decode("utf-8", errors="replace")
    first_line = text.splitlines()[0] if text else ""
    if len(first_line) > limit:
        first_line = first_line[:limit] + "..."
    return repr(first_line)


def _walk_errors(node: Any) -> Iterator[Any]:
    """Yield ERROR/MISSING nodes, descending only into subtrees that contain an error."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            yield current
            if current.is_missing:
                continue
        if current.has_error:
            stack.extend(reversed(current.children))


def check_source(source: bytes, display_path: str, parser: Any = None) -> list[Problem]:
    parser = parser or _parser()
    tree = parser.parse(source)
    problems = []
    for node in _walk_errors(tree.root_node):
        line, col = node.start_point
        if node.is_missing:
            problems.append(Problem(display_path, line + 1, col + 1, "MISSING", node.type))
        else:
            problems.append(Problem(display_path, line + 1, col + 1, "ERROR", _short(node.text or b"")))
    # A parent ERROR is reported first, its children after; keep source order.
    return sorted(problems, key=lambda p: (p.line, p.column, p.kind))


def check_files(paths: Iterable[Path], root: Path = REPO_ROOT) -> tuple[int, list[Problem]]:
    parser = _parser()
    count = 0
    problems: list[Problem] = []
    for path in paths:
        count += 1
        try:
            display = path.resolve().relative_to(root).as_posix()
        except ValueError:
            display = str(path)
        problems.extend(check_source(path.read_bytes(), display, parser))
    return count, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("files", nargs="*", type=Path, help="files to check (default: every .ps1/.psm1 of the repository)")
    args = ap.parse_args(argv)
    paths = args.files or discover()
    count, problems = check_files(paths)
    for problem in problems:
        print(problem)
    bad_files = len({p.path for p in problems})
    if problems:
        print(f"ps-parse: {len(problems)} parse error(s) in {bad_files} of {count} PowerShell file(s)", file=sys.stderr)
        return 1
    print(f"ps-parse: {count} PowerShell file(s) parsed, no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Files in plugins/ stay small enough to read: one over ~500 lines says at its top why it is one file."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 520
#: how far down the "why" may stand
HEAD = 40

FILES = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "plugins").rglob("*") if p.suffix in (".py", ".ps1", ".psm1", ".cs")
)


@pytest.mark.parametrize("path", FILES)
def test_a_long_file_says_why(path):
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    if len(lines) <= LIMIT:
        return
    head = "\n".join(lines[:HEAD]).lower()
    assert "why" in head, "%s has %d lines: split it by concern, or say at its top why it is one file" % (
        path,
        len(lines),
    )

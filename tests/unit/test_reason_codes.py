"""docs/reason-codes.md documents exactly the codes of plugins/module_utils/_reasons.py."""

from __future__ import annotations

import os
import re

from ansible_collections.mdeops.defender.plugins.module_utils._reasons import FAMILIES, REASONS, problem

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_code_documented_and_no_stale_entries():
    with open(os.path.join(ROOT, "docs", "reason-codes.md"), encoding="utf-8") as fh:
        text = fh.read()
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| ([a-z_]+) \|", text, re.M))
    assert set(documented) == set(REASONS), "update docs/reason-codes.md"
    for code, (family, remediation) in REASONS.items():
        assert documented[code] == family, code
        assert family in FAMILIES and remediation.strip(), code


def test_problem_rejects_unknown_codes():
    import pytest

    with pytest.raises(KeyError):
        problem("no_such_code", "x")
    p = problem("wrong_org", "msg")
    assert p["family"] == "onboarding" and p["severity"] == "error" and p["remediation"]

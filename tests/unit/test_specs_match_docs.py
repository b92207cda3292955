"""Each action plugin's argument spec (module_utils/_specs.py) matches its stub's DOCUMENTATION.

One source of truth for validation, one for documentation, and this test keeps them equal:
option names, type, default, choices, required, elements, aliases, no_log, suboptions. The
documented options beginning with ``_`` are set by the action plugins for the PowerShell side:
a task cannot set them (the spec here rejects them).
"""

from __future__ import annotations

import ast
import os

import pytest
import yaml

from ansible_collections.mdeops.defender.plugins.module_utils._specs import SPECS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = os.path.join(ROOT, "plugins", "modules")


def documentation(name: str) -> dict:
    with open(os.path.join(MODULES, name + ".py"), encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s.py has no DOCUMENTATION" % name)


def _norm(spec: dict) -> dict:
    out = {}
    for opt, s in spec.items():
        entry = {
            "type": s.get("type", "str"),
            "default": s.get("default"),
            "choices": list(s["choices"]) if s.get("choices") is not None else None,
            "required": bool(s.get("required", False)),
            "elements": s.get("elements"),
            "aliases": sorted(s.get("aliases") or []),
            "no_log": bool(s.get("no_log", False)),
        }
        sub = s.get("options") or s.get("suboptions")
        entry["suboptions"] = _norm(sub) if sub else None
        out[opt] = entry
    return out


STUBBED = sorted(n for n in SPECS if os.path.exists(os.path.join(MODULES, n + ".py")))


def test_every_action_plugin_module_has_a_spec():
    for fname in os.listdir(os.path.join(ROOT, "plugins", "action")):
        if fname.endswith(".py") and not fname.startswith("_"):
            assert fname[:-3] in SPECS, "plugins/action/%s has no spec in _specs.py" % fname


@pytest.mark.parametrize("name", STUBBED)
def test_spec_matches_documentation(name):
    doc = documentation(name)
    # Options beginning with _ are the PowerShell side's internal ones (tests/unit/test_ps_specs_match_docs.py).
    documented = _norm({k: v for k, v in (doc.get("options") or {}).items() if not k.startswith("_")})
    validated = _norm(SPECS[name]["argument_spec"])
    assert sorted(documented) == sorted(validated), "option names differ"
    for opt in validated:
        assert documented[opt] == validated[opt], "option %r differs between spec and docs" % opt

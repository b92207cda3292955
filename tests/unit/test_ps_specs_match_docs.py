"""Each PowerShell module's argument spec matches its documentation, as validate-modules checks it.

ansible-test's validate-modules runs a ``.ps1`` up to ``AnsibleModule.Create`` in pwsh
(``ps_argspec.ps1``) and compares the spec with ``DOCUMENTATION``. There is no pwsh here, so the
spec is evaluated by the simulator's interpreter instead, and the comparison follows
validate-modules' rules (``validate_modules/main.py: _validate_argument_spec``): every option
and alias of the spec is documented and every documented option is in the spec (an option whose
name starts with ``_`` is no exception); type, default (converted with the option's type),
choices, required and elements agree; sub-options are compared the same way; the check-mode
attribute agrees with ``supports_check_mode``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible.module_utils.common.parameters import DEFAULT_TYPE_VALIDATORS

from tests.unit.conftest import module_sources
from tests.unit.plugin_docs import documentation
from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost
from tests.winsim.ps.wrapper import capture_spec

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.ps1"))


def ps_spec(name: str) -> dict:
    script_name, text, utils, csharp = module_sources("mdeops.defender." + name)
    return capture_spec(SimHost("h", new_state("h", {}), None), script_name, text, utils, csharp)


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _typed(value, type_name: str):
    """A default converted with the option's type, as validate-modules compares them."""
    if value is None:
        return None
    checker = DEFAULT_TYPE_VALIDATORS.get(type_name)
    return checker(value) if checker else value


def compare(spec: dict, docs: dict, context: str = "") -> list[str]:
    problems: list[str] = []
    where = " found in %s" % context if context else ""
    documented = {}
    for name, data in (docs or {}).items():
        documented[name] = data
        for alias in data.get("aliases") or []:
            documented[alias] = data
    spec_names = set()
    for name, data in spec.items():
        spec_names.add(name)
        spec_names.update(_as_list(data.get("aliases")))
    for name in sorted(spec_names - set(documented)):
        problems.append("Argument '%s'%s is listed in the argument_spec, but not documented" % (name, where))
    for name in sorted(set(documented) - spec_names):
        problems.append("Argument '%s'%s is listed in DOCUMENTATION.options, but not accepted" % (name, where))
    for name, data in spec.items():
        doc = documented.get(name)
        if doc is None:
            continue
        type_name = data.get("type") or "str"
        if (doc.get("type") or "str") != type_name:
            problems.append("%s%s: type %r in the spec, %r in the docs" % (name, where, type_name, doc.get("type")))
        if _typed(data.get("default"), type_name) != _typed(doc.get("default"), type_name):
            problems.append(
                "%s%s: default %r in the spec, %r in the docs" % (name, where, data.get("default"), doc.get("default"))
            )
        if sorted(map(str, _as_list(data.get("choices")))) != sorted(map(str, _as_list(doc.get("choices")))):
            problems.append(
                "%s%s: choices %r in the spec, %r in the docs" % (name, where, data.get("choices"), doc.get("choices"))
            )
        if bool(data.get("required")) != bool(doc.get("required")):
            problems.append(
                "%s%s: required %r in the spec, %r in the docs"
                % (name, where, data.get("required"), doc.get("required"))
            )
        if data.get("elements") != doc.get("elements"):
            problems.append(
                "%s%s: elements %r in the spec, %r in the docs"
                % (name, where, data.get("elements"), doc.get("elements"))
            )
        sub_spec, sub_docs = data.get("options"), doc.get("suboptions")
        if sub_spec:
            if not sub_docs:
                problems.append("%s%s has sub-options but the documentation does not define them" % (name, where))
            else:
                problems += compare(sub_spec, sub_docs, (context + " -> " if context else "") + name)
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_ps1_argument_spec_matches_the_documentation(name):
    spec = ps_spec(name)
    docs = documentation(name)
    problems = compare(spec.get("options") or {}, docs.get("options") or {})
    support = ((docs.get("attributes") or {}).get("check_mode") or {}).get("support")
    if support in ("full", "partial") and not spec.get("supports_check_mode"):
        problems.append("the docs say check mode is supported, the spec does not")
    assert not problems, "%s.ps1 against %s.py:\n  %s" % (name, name, "\n  ".join(problems))


def test_the_comparison_catches_what_validate_modules_catches():
    spec = {"a": {"type": "int", "default": 1}, "_hidden": {"type": "str"}, "b": {"type": "list", "elements": "str"}}
    docs = {"a": {"type": "int", "default": 2}, "b": {"type": "list", "elements": "int"}, "c": {"type": "str"}}
    problems = compare(spec, docs)
    assert any("'_hidden'" in p and "not documented" in p for p in problems)
    assert any("'c'" in p and "not accepted" in p for p in problems)
    assert any(p.startswith("a: default") for p in problems)
    assert any(p.startswith("b: elements") for p in problems)

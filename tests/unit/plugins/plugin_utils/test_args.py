"""plugin_utils/_args.py: the argument check every action plugin shares, and the org id option."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.plugin_utils._args import check_args, check_org_id

ROOT = Path(__file__).resolve().parents[4]
ORG = "0a1b2c3d-1111-2222-3333-444455556666"


@pytest.mark.parametrize(
    "given",
    [
        ORG,
        ORG.upper(),
        "{%s}" % ORG,
        "{%s}" % ORG.upper(),
        "  {%s}  " % ORG.upper(),
    ],
)
def test_org_id_is_normalised_once(given):
    assert check_org_id(given) == ORG


@pytest.mark.parametrize("absent", [None, ""])
def test_no_org_id(absent):
    assert check_org_id(absent) is None


@pytest.mark.parametrize(
    "bad",
    ["nope", "{%s" % ORG, "%s}" % ORG, ORG[:-1], ORG + "0", ORG.replace("-", ""), 42, ["x"]],
)
def test_bad_org_id_names_the_option(bad):
    with pytest.raises(MdeError) as err:
        check_org_id(bad, "mde_rollout_expected_org_id")
    assert err.value.reason == "invalid_argument"
    assert "mde_rollout_expected_org_id" in err.value.msg and "GUID" in err.value.msg


def test_check_args_names_every_problem():
    with pytest.raises(MdeError) as err:
        check_args("win_mde_info", {"support_policy": "nonsense", "no_such_option": 1})
    assert err.value.reason == "invalid_argument"
    assert "support_policy" in err.value.msg and "no_such_option" in err.value.msg


def test_check_args_fills_defaults():
    args = check_args("win_mde_info", {})
    assert args["support_policy"] == "microsoft" and args["expected_org_id"] is None


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update("%s.%s" % (node.module, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("plugin", sorted(p.name for p in (ROOT / "plugins" / "action").glob("*.py")))
def test_no_action_plugin_imports_another_action_plugin(plugin):
    imported = _imported_modules(ROOT / "plugins" / "action" / plugin)
    own = [m for m in imported if m.startswith("ansible_collections.mdeops.defender.plugins.action")]
    assert own == [], "%s imports %s: shared controller code belongs in plugins/plugin_utils/" % (plugin, own)


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "plugins" / "module_utils").glob("*.py"))
)
def test_module_utils_never_import_controller_only_code(path):
    imported = _imported_modules(ROOT / path)
    bad = [m for m in imported if ".plugin_utils" in m or ".plugins.action" in m or m.startswith("tests")]
    assert bad == [], "%s imports %s: module_utils must work without the controller-only code" % (path, bad)

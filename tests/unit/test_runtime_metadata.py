"""meta/runtime.yml stays in step with the modules in plugins/modules/.

The rules:

(a) the `defender` group is exactly the modules in plugins/modules/ (a .py stub or a .ps1);
(b) every module is classified below (Windows, API, controller) - a new module is added here and
    in meta/runtime.yml together;
(c) the `api` group is exactly the controller-side API modules, all also in `defender`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "plugins" / "modules"

PLANNED_WINDOWS_MODULES = [
    "win_mde_info",
    "win_antivirus_info",
    "win_mde_onboarding",
    "win_mde_onboard_reboot",
    "win_mde_passive_mode",
    "win_mde_gpo",
    "win_mde_policy_refresh",
    "win_mde_detection_test",
]
PLANNED_API_MODULES = [
    "intune_configuration_policy",
    "mde_machine_info",
    "mde_hunting_query",
    "mde_alert_info",
]
# Controller-side modules that call no API (the fleet report and the roles' progress records).
PLANNED_CONTROLLER_MODULES = [
    "fleet_report",
    "fleet_progress",
    "preflight",
]
PLANNED_MODULES = PLANNED_WINDOWS_MODULES + PLANNED_API_MODULES + PLANNED_CONTROLLER_MODULES


@pytest.fixture(scope="module")
def runtime() -> dict:
    return yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))


def existing_modules() -> set[str]:
    if not MODULES_DIR.is_dir():
        return set()
    return {p.stem for p in MODULES_DIR.iterdir() if p.suffix in (".py", ".ps1") and p.stem != "__init__"}


def _group(runtime: dict, name: str) -> list[str]:
    groups = runtime.get("action_groups") or {}
    assert name in groups, f"meta/runtime.yml has no action group {name!r}"
    entries = groups[name]
    assert isinstance(entries, list), f"action group {name!r} must be a list"
    # Entries may carry `metadata: {extend_group: ...}` dicts; the module names are strings.
    return [e for e in entries if isinstance(e, str)]


def test_requires_ansible(runtime: dict) -> None:
    assert runtime["requires_ansible"] == ">=2.19.0"


def test_every_existing_module_is_in_the_defender_group(runtime: dict) -> None:
    group = set(_group(runtime, "defender"))
    missing = sorted(existing_modules() - group)
    assert not missing, f"modules in plugins/modules/ missing from action group 'defender': {missing}"


def test_every_existing_module_is_planned() -> None:
    unplanned = sorted(existing_modules() - set(PLANNED_MODULES))
    assert not unplanned, (
        f"modules not in the planned list: {unplanned} - add them to PLANNED_MODULES here and to meta/runtime.yml"
    )


@pytest.mark.parametrize("group_name", ["defender", "api"])
def test_groups_name_only_planned_modules_without_duplicates(runtime: dict, group_name: str) -> None:
    entries = _group(runtime, group_name)
    assert len(entries) == len(set(entries)), f"duplicates in action group {group_name!r}"
    unknown = sorted(set(entries) - set(PLANNED_MODULES))
    assert not unknown, f"action group {group_name!r} names modules outside the plan: {unknown}"
    for entry in entries:
        assert "." not in entry, f"{entry!r}: action group entries are short names of this collection's modules"


def test_defender_group_lists_every_planned_module(runtime: dict) -> None:
    assert sorted(_group(runtime, "defender")) == sorted(PLANNED_MODULES)
    assert sorted(PLANNED_MODULES) == sorted(existing_modules()), "every planned module exists, and only those"


def test_api_group_is_the_controller_side_api_modules(runtime: dict) -> None:
    api = _group(runtime, "api")
    assert sorted(api) == sorted(PLANNED_API_MODULES)
    assert set(api) <= set(_group(runtime, "defender"))


def test_api_modules_have_no_powershell_side() -> None:
    """The api group's modules run on the controller: no .ps1 may exist for them."""
    if not MODULES_DIR.is_dir():
        pytest.skip("plugins/modules/ does not exist yet")
    stray = sorted(name for name in PLANNED_API_MODULES if (MODULES_DIR / f"{name}.ps1").exists())
    assert not stray, f"controller-side API modules with a PowerShell file: {stray}"

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The raw result keys each PowerShell module returns to its action plugin. PRIVATE.

Declared once here. A unit test checks that every ``.ps1`` sets exactly these keys on
``$module.Result`` and that the simulator's twin of the module returns exactly these keys,
so the action plugin, the PowerShell and the simulator cannot drift apart.
``changed`` (and the keys Ansible adds itself) are implied.
"""

from __future__ import annotations

PS_RESULT_KEYS: dict[str, tuple[str, ...]] = {
    "win_mde_info": (
        "os",
        "computer",
        "mp_status",
        "mp_status_error",
        "services",
        "registry",
        "security_center",
        "av_services",
        "installed_products",
        "reboot_pending",
        "unified_agent",
    ),
    "win_antivirus_info": (
        "os",
        "services",
        "security_center",
        "av_services",
        "installed_products",
        "mp_status",
        "mp_status_error",
    ),
    # --- BEGIN win_mde_onboarding (edit only this block)
    "win_mde_onboarding": (
        "package",
        "installer",
        "script_run",
        "events",
        "observed",
        "reboot_required",
        "state",
    ),
    # --- END win_mde_onboarding
    # --- BEGIN win_mde_passive_mode (edit only this block)
    "win_mde_passive_mode": (
        "before",
        "after",
    ),
    # --- END win_mde_passive_mode
    # --- BEGIN win_mde_gpo / win_mde_policy_refresh / win_mde_detection_test (edit only this block)
    "win_mde_detection_test": (
        "ran",
        "ran_at_utc",
        "process_id",
        "command_line",
        "directory_created",
        "process_stopped",
        "directory_removed",
        "onboarding_state",
        "sense_status",
    ),
    "win_mde_gpo": (
        "group_policy_module",
        "domain",
        "gpo",
        "preferences",
        "policies",
        "links",
        "targets",
        "conflicts",
        "applied",
    ),
    "win_mde_policy_refresh": (
        "refreshed",
        "gpupdate",
        "registry_before",
        "registry",
        "computer",
        "gpresult_xml",
        "gpresult_error",
    ),
    # --- END win_mde_gpo / win_mde_policy_refresh / win_mde_detection_test
}

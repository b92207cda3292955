# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_policy_refresh: prove the Group Policy value arrived.

One round trip: ``win_mde_policy_refresh.ps1`` runs ``gpupdate /target:computer /force`` (not in
check mode), reads the policy registry values and returns the RSOP report of
``gpresult /scope computer /x``, which is parsed here (``module_utils/_gpo_rsop.py``, ``_gpo_refresh.py``) to tell which
GPO set ForceDefenderPassiveMode. Never reboots: it reports ``reboot_required``.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._gpo_refresh import refresh_verdict
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase


class ActionModule(MdeActionBase):
    MODULE = "win_mde_policy_refresh"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        if args["timeout"] < 1:
            raise MdeError(
                "invalid_argument", "%s: timeout must be at least 1 second, got %d" % (self.fqcn, args["timeout"])
            )
        host = str(task_vars.get("inventory_hostname") or "the host")
        raw = self._run_ps({"timeout": args["timeout"]}, task_vars)
        result, failure, warnings = refresh_verdict(
            raw, args["expected_value"], args["expected_gpo"], bool(self._task.check_mode), host=host
        )
        if warnings:
            result["warnings"] = warnings
        if failure:
            raise MdeError("policy_not_applied", failure, **result)
        return result

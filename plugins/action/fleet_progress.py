# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.fleet_progress: record a step for the fleet report, and gate it.

One task per step does both jobs the roles need after a step: it records the step's outcome in the
host's progress fact (``mde_report_host``, read by the fleet report) and, when ``gate`` is false,
stops the host with a stable ``reason``, its family and remediation. Runs on the controller only.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._reasons import REASONS, family_of, remediation_of
from ansible_collections.mdeops.defender.plugins.module_utils._report import update_progress
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import ControllerActionBase

FACT = "mde_report_host"


class ActionModule(ControllerActionBase):
    MODULE = "fleet_progress"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        result: dict = {"changed": False}
        current = task_vars.get(FACT)
        try:
            record = update_progress(
                current if isinstance(current, dict) else {},
                args["step"],
                args["outcome"],
                reboots=args["reboots"],
                **(args["set"] or {}),
            )
        except ValueError as exc:
            raise MdeError("invalid_argument", "mdeops.defender.fleet_progress: %s" % exc) from exc
        result["changed"] = False
        gate = args["gate"]
        if gate is not None and not gate:
            reason = args["reason"] or "host_error"
            family = family_of(reason) if reason in REASONS else "unknown"
            remediation = remediation_of(reason) if reason in REASONS else "See the message."
            msg = (args["msg"] or "").strip()
            record = update_progress(record, args["step"], "failed")
            record["failure"] = {
                "reason": reason,
                "family": family,
                "remediation": remediation,
                "msg": msg,
                "step": args["step"],
            }
            result.update(
                failed=True,
                reason=reason,
                family=family,
                remediation=remediation,
                mde_step=args["step"],
                msg="[%s] (%s) step %s: %s Remediation: %s" % (reason, family, args["step"], msg, remediation),
            )
        result["ansible_facts"] = {FACT: record}
        result["progress"] = record
        return result

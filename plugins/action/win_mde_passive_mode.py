# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_passive_mode (step 4 of the guide, done Microsoft's way).

Round trips: one read (``win_mde_info.ps1`` through :func:`gather`) - none when the caller passes
the host's assessment (``assessment``, a registered win_mde_info result) - then one change call
(``win_mde_passive_mode.ps1``, which re-checks what must hold at the moment of the change, writes
and reads the values back) only when a value differs and not in check mode.

The verdict (``step`` registry, ``reason``, ``detail``) says whether the value is now what was asked;
a value that could not be set fails the task with its reason.
The decisions (guard, change, reboot, tamper protection, diff) are in ``module_utils/_passive.py``.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _av, _passive
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase
from ansible_collections.mdeops.defender.plugins.plugin_utils._host_read import assessed_state, gather


def _unknown_result() -> dict:
    unknown = dict.fromkeys(_passive.VALUES)
    return {
        "before": dict(unknown),
        "after": dict(unknown),
        "reboot_required": False,
        "tamper_protection_blocks_passive": False,
        "defender_mode": None,
        "onboarded": None,
        "os_kind": None,
        "third_party_av": None,
    }


def with_verdict(result: dict, state: str, check_mode: bool = False) -> dict:
    """``step``, ``reason`` and ``detail``: the value is what was asked, or why not (the task then fails).

    In check mode nothing was written: ``after`` is the prediction, not a read-back.
    """
    wanted = 1 if state == "present" else 0
    value = (result.get("after") or {}).get("force_defender_passive_mode")
    result["step"] = "registry"
    if result.get("tamper_protection_blocks_passive"):
        result["reason"] = "tamper_protection_blocks_passive"
        result["detail"] = (
            "ForceDefenderPassiveMode is %s, but tamper protection keeps this onboarded server active." % value
        )
    elif value != wanted and not check_mode:
        result["reason"] = "policy_not_applied"
        result["detail"] = "ForceDefenderPassiveMode reads back as %s after it was set to %s." % (value, wanted)
    else:
        result["reason"] = None
        result["detail"] = "ForceDefenderPassiveMode is %s%s." % (
            wanted,
            " (a reboot makes Defender read it)" if result.get("reboot_required") else "",
        )
    if result["reason"]:
        result["failed"] = True
        result["msg"] = result["detail"]
    return result


class ActionModule(MdeActionBase):
    MODULE = "win_mde_passive_mode"
    STEP = "registry"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        result = self._run(args, task_vars)
        return with_verdict(result, args["state"], bool(self._task.check_mode))

    def _run(self, args: dict, task_vars: dict) -> dict:
        state = args["state"]
        try:
            host_state = assessed_state(args.get("assessment"))
            if host_state is None:
                host_state = gather(self, task_vars, args["av_name_patterns"], "microsoft", None)
        except MdeError as exc:
            # The host could not be read: nothing was changed; the documented keys are still there.
            exc.extra.update(_unknown_result())
            raise
        before = _passive.values_from_state(host_state)
        desired = _passive.desired_values(state, args["guide_value"], before)
        view = _passive.third_party_view(host_state)
        result: dict = {
            "changed": False,
            "before": before,
            "after": dict(before),
            "reboot_required": False,
            "tamper_protection_blocks_passive": False,
            "remediation": None,
            "defender_mode": host_state["defender"]["mode"],
            "onboarded": bool(host_state["onboarding"]["onboarded"]),
            "os_kind": host_state["os"]["kind"],
            "third_party_av": view,
        }
        warnings: list[str] = []
        if state == "present":
            host = host_state.get("hostname") or task_vars.get("inventory_hostname") or "the host"
            try:
                warnings.extend(_passive.check_guard(host_state, args["require_third_party_av"], host=str(host)))
            except MdeError as exc:
                # Refused before any change: the result keeps its documented shape.
                exc.extra.update({k: v for k, v in result.items() if k not in ("changed", "remediation")})
                raise
        advice, blocked, remediation = _passive.advisories(state, host_state)
        warnings.extend(advice)
        result["tamper_protection_blocks_passive"] = blocked
        result["remediation"] = remediation

        after = desired
        if _passive.needs_change(before, desired):
            if self._task.check_mode:
                result["changed"] = True
            else:
                raw = self._run_ps(
                    {
                        "_value": desired["force_defender_passive_mode"],
                        "_guide_state": _passive.guide_state(state, args["guide_value"]),
                        # The guard is checked again on the host, in the run that writes.
                        "_recheck_protection": state == "present" and args["require_third_party_av"],
                        "_service_patterns": _av.patterns_for(args["av_name_patterns"])["services"],
                    },
                    task_vars,
                )
                if raw.get("refused"):
                    refusal = MdeError(
                        str(raw["refused"]),
                        "Refusing to set %s = 1 on %s: the third-party antivirus's real-time protection, on at the "
                        "assessment, is off now (checked again just before the write). Nothing was changed; Defender "
                        "stays active. Turn the third-party antivirus's real-time protection back on, then rerun."
                        % (_passive.FORCE_PASSIVE, host_state.get("hostname") or "the host"),
                    )
                    refusal.extra.update({k: v for k, v in result.items() if k not in ("changed", "remediation")})
                    refusal.extra["protection"] = raw.get("protection")
                    raise refusal
                result["before"] = before = _passive.values_from_raw(raw.get("before"))
                after = _passive.values_from_raw(raw.get("after"))
                result["changed"] = bool(raw.get("changed"))
                warnings.extend(raw.get("warnings") or [])
        result["after"] = after
        result["reboot_required"] = _passive.reboot_required(state, before, after, host_state)
        if self._task.diff:
            result["diff"] = _passive.build_diff(before, after, args["guide_value"])
        if warnings:
            result["warnings"] = warnings
        return result

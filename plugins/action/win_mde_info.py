# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_info: one round trip, then diagnosis on the controller.

The read itself is shared with the other action plugins: ``plugin_utils/_host_read.py``. Three uses:

* a read (the audit): the state, the diagnosis and the verdict (``reason`` None when the host is
  compliant or protected active by design);
* ``rollout``: the read plus the host's rollout plan (``module_utils/_plan.py``); ``reason`` is set
  when the plan refuses the host;
* ``wait_for``: the read repeated (one round trip per poll, a pause on the controller between polls)
  until the host reaches the goal or ``wait_timeout`` passes, then the verdict (``protected``: the check
  after a repair, see :func:`protected_verdict`). ``host_read`` (the
  read a change module took at the end of its change) stands for the first poll: a host already
  there costs no round trip. Windows switches
  Defender's mode and starts the sensor some time after onboarding and after a boot: the verdict
  is only given once it had that time.
"""

from __future__ import annotations

import time

from ansible_collections.mdeops.defender.plugins.module_utils import _onboarding as onb
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._plan import (
    NO_AV_REASONS,
    PlanOptions,
    plan_host,
    plan_offboard,
)
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase
from ansible_collections.mdeops.defender.plugins.plugin_utils._args import check_org_id
from ansible_collections.mdeops.defender.plugins.plugin_utils._host_read import assessed_state, gather

#: wait_for -> the diagnosis verdicts that end the wait
_REACHED = {
    "passive": ("compliant",),
    "active_by_design": ("active_by_design", "compliant"),
    "onboarded": ("compliant", "active_by_design"),
}
#: wait_for -> verdicts no wait can change, which end it too: a host whose third-party antivirus is no
#: longer usable keeps Defender active (Microsoft's rule, docs/sources.md §1.1) - protected, by design -
#: unless ForceDefenderPassiveMode = 1 is set, which switches it to passive later (see final()).
#: An unprotected host ends a rollout's wait at once: it is repaired, not waited for.
_FINAL = {
    "passive": ("active_by_design", "unprotected"),
    "active_by_design": ("unprotected",),
    "onboarded": ("unprotected",),
}


def final(state: dict, wait_for: str) -> bool:
    """Is the read a state no further wait changes (see _FINAL)?"""
    verdict = state["diagnosis"].get("verdict")
    if verdict not in _FINAL.get(wait_for, ()):
        return False
    # ForceDefenderPassiveMode = 1 still switches an active Defender to passive: not final (it may
    # become unprotected, which the wait must see).
    return verdict != "active_by_design" or state["policy"].get("force_defender_passive_mode") != 1


def verdict_reason(diagnosis: dict) -> str | None:
    """None when the host is in a goal state, else the first error's reason (or the generic one)."""
    if diagnosis.get("verdict") in ("compliant", "active_by_design"):
        return None
    if diagnosis.get("verdict") == "unprotected":
        return "unprotected"
    for item in diagnosis.get("problems") or []:
        if item.get("severity") == "error":
            return str(item["reason"])
    return "passive_mode_not_reached"


def reached(state: dict, wait_for: str) -> bool:
    diagnosis = state["diagnosis"]
    onboarding = state["onboarding"]
    if wait_for == "protected":
        return bool(diagnosis.get("protected"))
    if wait_for == "onboarded":
        return bool(onboarding.get("onboarded") and onboarding.get("sense_running"))
    if wait_for == "offboarded":
        return (
            not onboarding.get("onboarded") and not onboarding.get("sense_running") and bool(diagnosis.get("protected"))
        )
    return diagnosis.get("verdict") in _REACHED[wait_for]


def onboarded_reason(state: dict) -> str | None:
    """The verdict of ``wait_for: onboarded``: onboarded to the expected org with Sense running, or why not.

    Only onboarding counts here (Defender's mode is the ``passive`` goal's business).
    """
    onboarding = state["onboarding"]
    if onboarding.get("org_matches") is False:
        return "wrong_org"
    if not onboarding.get("onboarded"):
        return "not_onboarded"
    if not onboarding.get("sense_running"):
        return "sensor_not_running"
    return None


def protected_verdict(state: dict) -> tuple[str | None, str]:
    """The verdict of ``wait_for: protected``, the check after a repair (ForceDefenderPassiveMode back to 0).

    Unprotected: ``unprotected``. Protected by Defender alone: the reason no third-party antivirus protects
    the host (it needs its antivirus back before a rollout can make Defender passive). Otherwise None.
    """
    diagnosis = state["diagnosis"]
    mode = (state.get("defender") or {}).get("mode")
    if not diagnosis.get("protected"):
        return "unprotected", diagnosis["summary"]
    for item in diagnosis.get("problems") or []:
        if item.get("reason") in NO_AV_REASONS:
            detail = (
                "Defender alone protects this host (Defender is %s, ForceDefenderPassiveMode %s), as a repair "
                "leaves it. %s Turn the third-party antivirus's real-time protection back on, then run the rollout "
                "again." % (mode, (state.get("policy") or {}).get("force_defender_passive_mode"), item.get("msg") or "")
            )
            return str(item["reason"]), detail
    return None, diagnosis["summary"]


def offboarded_reason(state: dict) -> str | None:
    """The verdict after offboarding: offboarded and protected, or why not."""
    if not state["diagnosis"].get("protected"):
        return "unprotected"
    if state["onboarding"].get("onboarded") or state["onboarding"].get("sense_running"):
        return "offboarding_failed"
    return None


class ActionModule(MdeActionBase):
    MODULE = "win_mde_info"
    #: the clock and the pause between polls (replaced in unit tests)
    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def run_module(self, args: dict, task_vars: dict) -> dict:
        expected = check_org_id(args.get("expected_org_id"))

        def read() -> dict:
            return gather(self, task_vars, args["av_name_patterns"], args["support_policy"], expected)

        wait_for = args["wait_for"]
        if args["wait_timeout"] < 0 or args["wait_interval"] < 1:
            raise MdeError("invalid_argument", "wait_timeout must be 0 or more and wait_interval at least 1 (seconds)")
        waiting = wait_for != "none" and not self._task.check_mode
        started = self.clock()
        # A read taken at the end of the change (win_mde_onboarding's host_read) stands for the first poll.
        state = assessed_state(args["host_read"], "host_read") if waiting else None
        polls = 0
        if state is None:
            state = read()
            polls = 1
        if waiting:
            deadline = started + args["wait_timeout"]
            while (
                not reached(state, wait_for)
                and not final(state, wait_for)
                and self.clock() + args["wait_interval"] <= deadline
            ):
                self.sleep(args["wait_interval"])
                state = read()
                polls += 1
        result = dict(state)
        result.update(changed=False, step="verify_mode", polls=polls, waited_s=round(self.clock() - started, 1))
        if args["rollout"] is not None or args["offboard"] is not None:
            if args["rollout"] is not None:
                plan = plan_host(state, state["diagnosis"], PlanOptions(**args["rollout"]))
            else:
                plan = plan_offboard(state, state["diagnosis"], bool(args["offboard"]["allow_reboot"]))
            refused = plan["action"] == "refuse"
            result.update(step="assess", plan=plan, reason=plan["reason"] if refused else None, detail=plan["detail"])
            return result
        if wait_for != "none" and self._task.check_mode:
            # Nothing the wait is for has happened in check mode: the host is read, not judged.
            result.update(reason=None, detail="check mode: read once, not judged (%s)" % state["diagnosis"]["summary"])
            return result
        pending = onb.judge_pending((args["host_read"] or {}).get("pending_onboarding"), state["onboarding"])
        if wait_for != "none" and pending is not None and state["diagnosis"].get("protected", True):
            # The onboarding (offboarding) script stopped waiting with a sensor exit code and the host never
            # got there within the settle wait: the script's own verdict, with what the wait saw.
            result.update(
                step="onboard",
                reason=pending[0],
                detail="%s; after the settle wait (%d read(s) in %s s): %s"
                % (pending[1], polls, result["waited_s"], state["diagnosis"]["summary"]),
            )
            return result
        if wait_for == "offboarded":
            result.update(reason=offboarded_reason(state), detail=state["diagnosis"]["summary"])
            return result
        if wait_for == "protected":
            reason, detail = protected_verdict(state)
            result.update(reason=reason, detail=detail)
            return result
        if wait_for == "onboarded":
            result.update(reason=onboarded_reason(state), detail=state["diagnosis"]["summary"])
            return result
        reason = verdict_reason(state["diagnosis"])
        if (
            wait_for in ("passive", "active_by_design")
            and reason is None
            and not reached(state, wait_for)
            and not final(state, wait_for)
        ):
            reason = "passive_mode_not_reached"
        result["reason"] = reason
        result["detail"] = state["diagnosis"]["summary"]
        if wait_for != "none" and reason is not None:
            result["detail"] += " (after %d read(s) in %s s)" % (polls, result["waited_s"])
        if polls == 0:
            result["detail"] += " (judged from the read at the end of the change)"
        return result

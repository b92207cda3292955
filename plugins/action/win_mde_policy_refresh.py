# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_policy_refresh: prove the Group Policy value arrived.

``win_mde_policy_refresh.ps1`` runs ``gpupdate /target:computer /force`` (not in check mode), reads
the policy registry values and returns the RSOP report of ``gpresult /scope computer /x``, which is
parsed here (``module_utils/_gpo_rsop.py``, ``_gpo_refresh.py``) to tell which GPO set
ForceDefenderPassiveMode. Never reboots: it reports ``reboot_required``.

Given ``gpo`` (the result of ``win_mde_gpo``), the refresh waits until the GPO, in the version that
task left, has reached the domain controller this member uses (a GPO made on one controller reaches
the others by replication, minutes later), and, for a GPO filtered on a computer group, until that
controller has this computer's membership as the task left it (added by a rollout, removed by an
offboarding): each poll is one round trip that reads the controller's copy and, once it is there,
refreshes and reads the result. ``policy_not_applied`` is only given after
``wait_timeout`` seconds without it. A GPO filtered on a computer group also purges the computer's
Kerberos tickets before the refresh, so that its new group membership counts without a restart.
"""

from __future__ import annotations

import time

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._gpo_refresh import refresh_verdict
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase


def gpo_target(gpo: dict | None) -> tuple[str | None, int | None, dict | None]:
    """``(gpo id, version, security)`` from a win_mde_gpo result; no id = nothing to wait for;
    ``security``: the group the GPO is filtered on and its members as the task left them."""
    if not gpo or gpo.get("failed") or gpo.get("reason") or gpo.get("skipped"):
        return None, None, None
    after = gpo.get("after") or {}
    ident = (gpo.get("gpo") or {}).get("id") or after.get("id")
    version = (gpo.get("gpo") or {}).get("version")
    security = after.get("security") or gpo.get("security") or None
    security = security if security and security.get("group") else None
    if not ident or version is None or not (gpo.get("gpo") or {}).get("exists", True):
        return None, None, security
    return str(ident), int(version), security


class ActionModule(MdeActionBase):
    MODULE = "win_mde_policy_refresh"
    STEP = "group_policy"
    #: the clock and the pause between polls (replaced in unit tests)
    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def run_module(self, args: dict, task_vars: dict) -> dict:
        if args["timeout"] < 1:
            raise MdeError(
                "invalid_argument", "%s: timeout must be at least 1 second, got %d" % (self.fqcn, args["timeout"])
            )
        if args["wait_timeout"] < 0 or args["wait_interval"] < 1:
            raise MdeError(
                "invalid_argument",
                "%s: wait_timeout must be 0 or more and wait_interval at least 1 (seconds)" % self.fqcn,
            )
        host = str(task_vars.get("inventory_hostname") or "the host")
        gpo = args.get("gpo")
        if gpo is not None and (gpo.get("failed") or gpo.get("reason")):
            # Registered with failed_when: false, a failed GPO task still carries its reason.
            raise MdeError(
                str(gpo.get("reason") or "host_error"),
                "%s: the GPO task failed, so there is nothing to refresh: %s" % (self.fqcn, gpo.get("msg") or ""),
            )
        gpo_id, version, security = gpo_target(gpo)
        ps_args: dict = {"timeout": args["timeout"], "_purge_tickets": security is not None}
        if gpo_id and not self._task.check_mode:
            ps_args.update(_gpo_id=gpo_id, _gpo_version=version)
            if security is not None:
                ps_args.update(_group=security["group"], _group_members=list(security.get("members") or []))
        started = self.clock()
        deadline = started + args["wait_timeout"]
        polls = 1
        raw = self._run_ps(ps_args, task_vars)
        while not self._arrived(raw, ps_args) and self.clock() + args["wait_interval"] <= deadline:
            self.sleep(args["wait_interval"])
            raw = self._run_ps(ps_args, task_vars)
            polls += 1
        waited = round(self.clock() - started, 1)
        if not self._arrived(raw, ps_args):
            directory = raw.get("directory") or {}
            have = ("version %s" % directory.get("version")) if directory.get("found") else "no copy of it"
            if "_group" in ps_args and directory.get("member") != directory.get("member_expected"):
                have += ", and this computer %s in group %r there" % (
                    "still" if directory.get("member") else "not yet",
                    ps_args["_group"],
                )
            raise MdeError(
                "policy_not_applied",
                "%s: GPO %s version %s has not reached the domain controller %s uses (it has %s) after %d read(s) "
                "in %s s (wait_timeout=%d); Active Directory and SYSVOL replication have not brought it there yet. "
                "Check replication (repadmin /showrepl, the DFS Replication event log) or raise wait_timeout, then "
                "rerun." % (self.fqcn, gpo_id, version, host, have, polls, waited, args["wait_timeout"]),
                directory=directory,
                polls=polls,
                waited_s=waited,
            )
        result, failure, warnings = refresh_verdict(
            raw, args["expected_value"], args["expected_gpo"], bool(self._task.check_mode), host=host
        )
        result.update(polls=polls, waited_s=waited, directory=raw.get("directory"))
        if warnings:
            result["warnings"] = warnings
        if failure:
            raise MdeError("policy_not_applied", failure, **result)
        result.update(step=self.STEP, reason=None, detail=result.get("msg") or self._detail(result))
        return result

    @staticmethod
    def _arrived(raw: dict, ps_args: dict) -> bool:
        """The member's domain controller has the GPO version (always true without a GPO to wait for)."""
        if "_gpo_id" not in ps_args:
            return True
        directory = raw.get("directory") or {}
        if "_group" in ps_args and directory.get("member") != directory.get("member_expected"):
            return False
        return bool(directory.get("found")) and int(directory.get("version") or 0) >= int(ps_args["_gpo_version"])

    @staticmethod
    def _detail(result: dict) -> str:
        source = result.get("source_gpo")
        return "ForceDefenderPassiveMode = %s%s" % (result.get("value"), " from GPO %r" % source if source else "")

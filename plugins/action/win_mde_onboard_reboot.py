# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.win_mde_onboard_reboot: a host's onboarding and its reboot in one task.

It decides nothing about the host itself: it runs ``mdeops.defender.win_mde_onboarding`` and
``ansible.windows.win_reboot`` as they are (their own action plugins, in this order, on this
host's connection), so that in a wave the hosts that install md4ws.msi and the hosts that only need
a reboot wait on Windows at the same time instead of one task after the other. Why this is one task
and not two: docs/modules/win_mde_onboard_reboot.md.

WinRM commands: those of ``win_mde_onboarding`` (when ``onboard``), then those of ``win_reboot``
(when a reboot is due); none of its own.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import MdeActionBase

ONBOARDING = "mdeops.defender.win_mde_onboarding"
REBOOT = "ansible.windows.win_reboot"
SKIPPED: dict = {"skipped": True, "changed": False}


def reboot_due(reboot: bool, onboarding: dict) -> bool:
    """Whether the host needs a reboot after its onboarding (or without one): ``reboot`` (the
    caller's decision), or the installer asked for one. Never after a step that did not reach its
    state (the gate stops that host; a reboot would not help it)."""
    if onboarding.get("failed") or onboarding.get("reason"):
        return False
    return reboot or bool(onboarding.get("reboot_required"))


def pending_reboot(onboarding: dict) -> dict:
    """The ``reboot`` result of a reboot that is due but not allowed: the host waits for one."""
    why = "the installer asked for a restart" if onboarding.get("reboot_required") else "a reboot is needed"
    return {
        "changed": False,
        "step": "reboot",
        "reason": None,
        "pending_reboot": True,
        "detail": "%s and rebooting is not allowed (allow_reboot=false): the host waits for one" % why,
    }


class ActionModule(MdeActionBase):
    MODULE = "win_mde_onboard_reboot"
    STEP = "onboard"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        # Bad reboot options change nothing: they are refused before the onboarding runs.
        self._check_reboot_options(args["reboot_options"])
        result: dict[str, Any] = {
            "changed": False,
            "onboarding": dict(SKIPPED),
            "reboot": dict(SKIPPED),
            "rebooted": False,
            "reboot_required": False,
            "step": None,
            "reason": None,
            "detail": None,
        }
        if args["onboard"]:
            onboarding = self._run_action(ONBOARDING, args["onboarding"], task_vars)
            result["onboarding"] = onboarding
            result["changed"] = bool(onboarding.get("changed"))
            if onboarding.get("failed") or onboarding.get("reason"):
                # The onboarding's own verdict is the task's; no reboot after it.
                result.update(
                    failed=bool(onboarding.get("failed")),
                    step=onboarding.get("step") or "onboard",
                    reason=onboarding.get("reason"),
                    detail=onboarding.get("detail"),
                    msg=onboarding.get("msg"),
                )
                return result
        if not reboot_due(args["reboot"], result["onboarding"]):
            return result
        if not args["allow_reboot"]:
            result.update(reboot=pending_reboot(result["onboarding"]), reboot_required=True)
            return result
        reboot = self._run_action(REBOOT, args["reboot_options"], task_vars)
        result["reboot"] = reboot
        result["changed"] = True
        result["rebooted"] = bool(reboot.get("rebooted")) and not reboot.get("failed")
        if reboot.get("failed") or not reboot.get("rebooted"):
            msg = str(reboot.get("msg") or "the host did not come back from the reboot")
            result.update(failed=True, step="reboot", reason="reboot_failed", detail=msg, msg=msg)
        return result

    def _invocation_args(self, args: dict) -> dict:
        # the onboarding's own invocation (secrets and host reads left out) is in onboarding.invocation
        shown = dict(args)
        shown["onboarding"] = (
            "(the options of %s: see onboarding.invocation)" % ONBOARDING if args["onboarding"] else {}
        )
        return shown

    def _check_reboot_options(self, options: dict) -> None:
        handler = self._shared_loader_obj.action_loader.get(REBOOT, class_only=True)
        if handler is None:
            raise MdeError("module_failure", "%s is not installed: install the ansible.windows collection" % REBOOT)
        valid: frozenset[str] = getattr(handler, "_VALID_ARGS", frozenset())
        unknown = sorted(set(options) - set(valid)) if valid else []
        if unknown:
            raise MdeError(
                "invalid_argument",
                "reboot_options: %s %s not an option of %s; its options are: %s"
                % (", ".join(unknown), "is" if len(unknown) == 1 else "are", REBOOT, ", ".join(sorted(valid))),
            )

    def _run_action(self, name: str, module_args: dict, task_vars: dict) -> dict:
        """Run another action (a module's action plugin) on this host, as this task, with ``module_args``."""
        task = self._task.copy()
        task.args = dict(module_args)
        handler = self._shared_loader_obj.action_loader.get(
            name,
            task=task,
            connection=self._connection,
            play_context=self._play_context,
            loader=self._loader,
            templar=self._templar,
            shared_loader_obj=self._shared_loader_obj,
        )
        if handler is None:
            raise MdeError("module_failure", "%s is not installed" % name)
        result: dict = handler.run(task_vars=task_vars)
        return result

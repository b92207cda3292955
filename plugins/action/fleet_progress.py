# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.fleet_progress: record the modules' verdicts, and gate on them.

The roles hand it the registered results of their steps. Each result carries its verdict
(``step``, ``reason``, ``detail``); this records every step in the host's progress fact
(``mde_report_host``, read by the fleet report) and, at the first result whose ``reason`` is set
(or that failed), stops the host with that reason, its family and remediation. Runs on the
controller only. The decisions are in ``module_utils/_progress.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.mdeops.defender.plugins.module_utils import _progress
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import ControllerActionBase

FACT = "mde_report_host"


class ActionModule(ControllerActionBase):
    MODULE = "fleet_progress"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        if args["wave"] is not None:
            return self._judge_wave(args["wave"], args["max_fail_percentage"], task_vars)
        facts = task_vars.get("ansible_facts") or {}
        current = facts.get(FACT) if isinstance(facts, dict) else None
        record = dict(current) if isinstance(current, dict) else {}
        host = str(task_vars.get("inventory_hostname", ""))
        results = ([args["result"]] if args["result"] is not None else []) + list(args["results"] or [])
        try:
            record, verdict = _progress.apply(
                record,
                host,
                results=results,
                wave_results=args["wave_results"],
                step=args["step"],
                fleet=args["fleet"] if isinstance(args["fleet"], dict) else None,
                failed_action=args["failed_action"],
            )
            if args["outcome"] is not None or args["set"] or args["reboots"]:
                record = _progress.update_progress(
                    record,
                    _progress.report_step(args["step"], "verify_mode"),
                    args["outcome"] or "ok",
                    args["reboots"],
                    **(args["set"] or {}),
                )
        except ValueError as exc:
            raise MdeError("invalid_argument", "mdeops.defender.fleet_progress: %s" % exc) from exc
        result: dict = {"changed": False}
        if verdict is None and args["stop"]:
            # The host's failure was recorded earlier (a rescue, with gate=false): fail the host with it now.
            verdict = _progress.recorded_failure(record)
        if verdict is not None and not args["gate"]:
            # recorded for the report, but the caller asked not to stop the host (an audit)
            record["failure"] = dict(verdict)
            result.update(step=verdict["step"], reason=verdict["reason"], detail=verdict["detail"])
            verdict = None
        if verdict is not None:
            record["failure"] = dict(verdict)
            result.update(
                failed=True,
                step=verdict["step"],
                reason=verdict["reason"],
                family=verdict["family"],
                remediation=verdict["remediation"],
                detail=verdict["detail"],
                msg="[%s] step %s: %s" % (verdict["reason"], verdict["step"], verdict["msg"]),
            )
        result["ansible_facts"] = {FACT: record}
        if result.get("failed"):
            # Ansible does not keep the facts of a failed task: the fleet report reads the record here.
            result["progress"] = record
        return result

    @staticmethod
    def _judge_wave(wave: list[str], max_fail_percentage: int, task_vars: dict) -> dict:
        hostvars = task_vars.get("hostvars") or {}
        records = {}
        for host in wave:
            try:
                facts = hostvars[host].get("ansible_facts") or {}
            except (KeyError, AttributeError, TypeError):
                facts = {}
            record = facts.get(FACT) if hasattr(facts, "get") else None
            records[host] = dict(record) if isinstance(record, Mapping) else {}
        failed, stop, msg = _progress.judge_wave(records, max_fail_percentage)
        return {"changed": False, "stop": stop, "failed_hosts": failed, "msg": msg}

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mdeops.defender.fleet_report: the report from host variables, on the controller."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _report
from ansible_collections.mdeops.defender.plugins.plugin_utils import _report_files
from ansible_collections.mdeops.defender.plugins.plugin_utils._action import ControllerActionBase

CALLBACK = "mdeops.defender.fleet_report"


def _callback_enabled() -> bool:
    from ansible import constants as C

    enabled = getattr(C, "CALLBACKS_ENABLED", None) or []
    return CALLBACK in enabled or "fleet_report" in enabled


#: The roles' first read of a host (registered even when the host was unreachable).
FIRST_READS = ("__mde_rollout_assess", "__mde_verify_info", "__mde_offboard_info")


def _registered(hostvars: object, hv: object, host: str, name: str) -> object:
    """A registered result of ``host``; a task cut by its ``timeout`` reads as what it is.

    Such a result holds ansible-core's deprecated ``timedout.frame``: it is read untemplated
    (``raw_get``) so that nothing touches that key.
    """
    raw_get = getattr(hostvars, "raw_get", None)
    raw = raw_get(host) if callable(raw_get) else None
    value = raw.get(name) if isinstance(raw, dict) else None
    if isinstance(value, dict) and value.get("timedout"):
        return {"failed": True, "reason": "timeout", "msg": str(value.get("msg") or "the task timed out")}
    return hv.get(name) if hasattr(hv, "get") else None


class ActionModule(ControllerActionBase):
    MODULE = "fleet_report"

    def run_module(self, args: dict, task_vars: dict) -> dict:
        result: dict = {"changed": False}
        hostvars = task_vars.get("hostvars", {})
        names = (
            args["hosts"]
            if args["hosts"] is not None
            else [h for h in task_vars.get("groups", {}).get("all", []) if h not in ("localhost", "127.0.0.1")]
        )
        records = []
        for name in names:
            hv = hostvars.get(name, {}) if hasattr(hostvars, "get") else {}
            facts = hv.get("ansible_facts") or {}
            progress = dict(facts.get("mde_report_host") or {}) if hasattr(facts, "get") else {}
            # A gate that stopped the host failed, so its record is not a fact: it is in the registered result.
            gate = hv.get("__mde_report_gate")
            if isinstance(gate, dict) and gate.get("failed") and isinstance(gate.get("progress"), dict):
                progress = dict(gate["progress"])
            failure = progress.get("failure")
            first_read = next(
                (r for r in (_registered(hostvars, hv, name, v) for v in FIRST_READS) if isinstance(r, dict)), None
            )
            unreachable = (first_read or {}).get("msg") if (first_read or {}).get("unreachable") else None
            records.append(
                _report.host_record(
                    name,
                    unreachable=unreachable,
                    mde=progress.get("state"),
                    progress=progress,
                    failure=failure,
                    check_mode=bool(self._task.check_mode or task_vars.get("ansible_check_mode")),
                    goal=args["goal"],
                )
            )
        run = {
            "playbook": args["playbook"],
            "check_mode": bool(task_vars.get("ansible_check_mode")),
            "aborted": False,
            "abort_reason": None,
        }
        report = _report.build_report(records, run)
        write = args["write"] == "always" or (args["write"] == "auto" and not _callback_enabled())
        result["changed"] = False
        result["totals"] = report["totals"]
        result["stats"] = _report.set_stats_totals(report)
        result["written_by"] = "action" if write else "callback"
        if write:
            result["paths"] = _report_files.write_report(report, args["report_dir"], args["basename"])
        else:
            result["paths"] = {
                "json": "%s/%s.json" % (args["report_dir"], args["basename"]),
                "csv": "%s/%s.csv" % (args["report_dir"], args["basename"]),
                "html": "%s/%s.html" % (args["report_dir"], args["basename"]),
            }
            result["msg"] = "the fleet_report callback writes the report when the run ends"
        result["summary"] = _report.summary_lines(report, result["paths"])
        result["attention"] = [r["name"] for r in report["hosts"] if r["outcome"] in _report.NEEDS_ATTENTION]
        return result

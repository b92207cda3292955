# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the collection's roles use to record progress and explain failures."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mdeops.defender.plugins.module_utils._reasons import REASONS, family_of, remediation_of
from ansible_collections.mdeops.defender.plugins.module_utils._report import STEP_OUTCOMES, STEPS


def step_outcome(result: object) -> str:
    """The report outcome of a registered task result: ok, changed, skipped, failed or unreachable."""
    if not isinstance(result, dict):
        return "ok"
    if result.get("unreachable"):
        return "unreachable"
    if result.get("failed"):
        return "failed"
    if result.get("skipped"):
        return "skipped"
    if result.get("changed"):
        return "changed"
    return "ok"


def reason_info(reason: str) -> dict:
    """``{"reason", "family", "remediation"}`` of a reason code (unknown codes say so)."""
    if reason not in REASONS:
        return {"reason": reason, "family": "unknown", "remediation": "See the message."}
    return {"reason": reason, "family": family_of(reason), "remediation": remediation_of(reason)}


def report_step(progress: object, step: str, outcome: object = "ok", **extra: object) -> dict:
    """Return a copy of the per-host progress record with ``step`` set to ``outcome``.

    ``outcome`` may be a registered result (its outcome is derived) or an outcome name.
    Extra keyword arguments are merged into the record (e.g. ``current_step``, ``reboots``).
    """
    if step not in STEPS:
        raise AnsibleFilterError("report_step: unknown step %r; expected one of %s" % (step, ", ".join(STEPS)))
    record = dict(progress) if isinstance(progress, dict) else {}
    steps = dict(record.get("steps") or {})
    value = step_outcome(outcome) if isinstance(outcome, dict) else str(outcome)
    if value not in STEP_OUTCOMES:
        raise AnsibleFilterError(
            "report_step: unknown outcome %r; expected one of %s" % (value, ", ".join(STEP_OUTCOMES))
        )
    # A step that changed something stays "changed" when it is checked again later.
    if not (steps.get(step) == "changed" and value == "ok"):
        steps[step] = value
    record["steps"] = steps
    record.setdefault("reboots", 0)
    record.update(extra)
    return record


def first_problem(diagnosis: object, severities: tuple = ("error",)) -> dict:
    """The first problem of a diagnosis with one of ``severities`` (or an empty dict)."""
    if not isinstance(diagnosis, dict):
        return {}
    for problem in diagnosis.get("problems") or []:
        if problem.get("severity", "error") in severities:
            return problem
    return {}


class FilterModule:
    def filters(self):
        return {
            "step_outcome": step_outcome,
            "reason_info": reason_info,
            "report_step": report_step,
            "first_problem": first_problem,
        }

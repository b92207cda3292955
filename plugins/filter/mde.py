# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the collection's roles use to record progress and explain failures."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.mdeops.defender.plugins.module_utils._reasons import REASONS, family_of, remediation_of
from ansible_collections.mdeops.defender.plugins.module_utils._report import outcome_of, update_progress


def step_outcome(result: object) -> str:
    """The report outcome of a registered task result: ok, changed, skipped, failed or unreachable."""
    return outcome_of(result)


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
    try:
        record = update_progress(progress if isinstance(progress, dict) else {}, step, outcome)
    except ValueError as exc:
        raise AnsibleFilterError("report_step: %s" % exc) from exc
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters the collection's roles use to record progress and explain failures."""

from __future__ import annotations

import os
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.mdeops.defender.plugins.module_utils._package import (
    PackageError,
    canonical_guid,
    check_expiry,
    read_package,
    verify_checksum,
)
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


_PACKAGE_CACHE: dict = {}


def package_info(
    path: object, checksum: object = None, expected_org_id: object = None, kind: str = "onboarding"
) -> dict:
    """Check an onboarding/offboarding package on the controller, without running anything.

    Returns ``{"ok", "reason", "msg", "org_id", "kind", "script_name"}``; ``reason`` is a stable code
    when the package cannot be used (missing, corrupt, no script, interactive, another org, expired,
    wrong kind, checksum mismatch).
    """
    out: dict[str, Any] = {"ok": False, "reason": None, "msg": None, "org_id": None, "kind": None, "script_name": None}
    if not path:
        out.update(reason="package_not_found", msg="no package given")
        return out
    try:
        if not os.path.exists(str(path)):
            raise PackageError("package_not_found", "package '%s' was not found on the controller" % path)
        stat = os.stat(str(path))
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        info = _PACKAGE_CACHE.get(key)
        if info is None:
            info = read_package(str(path))
            _PACKAGE_CACHE.clear()
            _PACKAGE_CACHE[key] = info
        out.update(org_id=info["org_id"], kind=info["kind"], script_name=info["script_name"])
        if info["kind"] != kind:
            raise PackageError(
                "wrong_package_type",
                "'%s' is an %s package, not an %s package" % (info["script_name"], info["kind"], kind),
            )
        if info["interactive"]:
            raise PackageError(
                "interactive_package",
                "'%s' is the interactive local script, which waits for keyboard input: use the Group Policy package "
                "(WindowsDefenderATPOnboardingScript.cmd)" % info["script_name"],
            )
        if checksum:
            verify_checksum(info, str(checksum))
        check_expiry(info)
        expected = canonical_guid(str(expected_org_id)) if expected_org_id else None
        if expected_org_id and expected is None:
            raise PackageError(
                "invalid_argument",
                "the expected org id %r is not an organisation id (a GUID such as "
                "0a1b2c3d-1111-2222-3333-444455556666, with or without braces)" % (expected_org_id,),
            )
        if expected and info["org_id"] != expected:
            raise PackageError(
                "wrong_org",
                "the package '%s' is for org %s, not for the expected org %s: download the package of the right "
                "organisation from the Defender portal, or correct the expected org id"
                % (info["script_name"], info["org_id"], expected),
            )
    except OSError as exc:
        out.update(reason="package_not_found", msg="package '%s' cannot be read: %s" % (path, exc))
        return out
    except PackageError as exc:
        out.update(reason=exc.reason, msg=exc.msg)
        return out
    out["ok"] = True
    return out


class FilterModule:
    def filters(self):
        return {
            "step_outcome": step_outcome,
            "reason_info": reason_info,
            "report_step": report_step,
            "first_problem": first_problem,
            "package_info": package_info,
        }

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: host records, totals, JSON/CSV rendering. PRIVATE to this collection.

The JSON layout is a documented, stable interface (docs/report.md, docs/report.schema.json,
``schema_version``). It is built from what a run left behind for each host:

* ``mde``: the latest state and diagnosis read by ``win_mde_info`` (fact ``mde``);
* ``progress``: the rollout role's per-host progress (fact ``mde_report_host``: step
  outcomes, reboots, wave);
* ``failure``: the last failed task's result (``reason``, ``msg``, the step);
* ``unreachable``: the message of an unreachable result.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import tempfile

from ._reasons import REASONS, family_of, remediation_of

SCHEMA_VERSION = 1

# The guide's seven steps, in the guide's order, plus the assessment read.
STEPS = ("assess", "onboard", "third_party_av", "verify_mode", "registry", "group_policy", "intune", "confirm_edr")
STEP_OUTCOMES = ("ok", "changed", "skipped", "failed", "unreachable", "not_run")

# Per-host outcome of a run.
OUTCOMES = (
    "compliant",  # already in the goal state; nothing changed
    "converged",  # changed during this run and now compliant
    "would_change",  # check mode: a real run would change this host
    "pending_reboot",  # changed, needs a reboot that was not allowed
    "refused",  # a precondition failed; the host was not touched
    "failed",  # a step failed
    "unreachable",  # WinRM did not answer
    "not_run",  # the run stopped (failure threshold, canary) before this host's wave
    "audited",  # a read-only run that is not compliant (verify)
)

# What a run aims at: passive mode (rollout), offboarded and still protected (offboard), or
# nothing but reading (verify).
GOALS = ("passive", "offboarded", "audit")

_REFUSAL_REASONS = {
    "wrong_org",
    "unsupported_os",
    "unified_agent_required",
    "defender_not_installed",
    "no_third_party_av",
    "third_party_av_inactive",
    "security_center_disabled",
    "interactive_package",
    "package_invalid",
    "package_not_found",
    "checksum_mismatch",
    "package_expired",
    "wrong_package_type",
    "invalid_argument",
}


def update_progress(progress: dict, step: str, outcome: object = "ok", reboots: int = 0, **extra: object) -> dict:
    """A copy of a host's progress record with ``step`` set to ``outcome`` (a result or a name).

    A step already ``changed`` stays ``changed`` when it is checked again as ``ok``; ``reboots`` is
    added; ``extra`` keys (``pending_reboot``, ``held``, ``done``, ...) are merged.
    """
    if step not in STEPS:
        raise ValueError("unknown step %r; expected one of %s" % (step, ", ".join(STEPS)))
    value = outcome_of(outcome) if isinstance(outcome, dict) else str(outcome)
    if value not in STEP_OUTCOMES:
        raise ValueError("unknown outcome %r; expected one of %s" % (value, ", ".join(STEP_OUTCOMES)))
    record = dict(progress or {})
    steps = dict(record.get("steps") or {})
    if not (steps.get(step) == "changed" and value == "ok"):
        steps[step] = value
    record["steps"] = steps
    record["current_step"] = step
    record["reboots"] = int(record.get("reboots") or 0) + int(reboots or 0)
    record.update(extra)
    return record


def outcome_of(result: object) -> str:
    """The step outcome of a registered task result: ok, changed, skipped, failed or unreachable."""
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


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _goal_met(goal: str, mde: dict | None) -> bool:
    diag = (mde or {}).get("diagnosis") or {}
    if goal == "offboarded":
        onboarding = (mde or {}).get("onboarding") or {}
        return mde is not None and not onboarding.get("onboarded") and diag.get("protected") is True
    return bool(diag.get("compliant"))


def host_record(
    name: str,
    mde: dict | None = None,
    progress: dict | None = None,
    failure: dict | None = None,
    unreachable: str | None = None,
    check_mode: bool = False,
    read_only: bool = False,
    goal: str = "passive",
) -> dict:
    """One host's line of the report.

    ``goal`` is what the run aims at (:data:`GOALS`); ``read_only`` is the same as ``goal="audit"``.
    """
    if read_only:
        goal = "audit"
    progress = progress or {}
    steps = dict.fromkeys(STEPS, "not_run")
    steps.update({k: v for k, v in (progress.get("steps") or {}).items() if k in steps})
    if goal == "audit" and mde is not None and "assess" not in (progress.get("steps") or {}):
        steps["assess"] = "ok"  # the audit's one read
    diag = (mde or {}).get("diagnosis") or {}
    onboarding = (mde or {}).get("onboarding") or {}
    av = (mde or {}).get("antivirus") or {}
    os_info = (mde or {}).get("os") or {}
    problems = list(diag.get("problems") or [])
    reason = None
    msg = None
    failed_step = None
    if failure:
        reason = failure.get("reason")
        msg = failure.get("msg")
        failed_step = failure.get("step") or progress.get("current_step")
        if failed_step in steps:
            steps[failed_step] = "failed"
        if reason and not any(p.get("reason") == reason for p in problems):
            known = reason in REASONS
            problems.insert(
                0,
                {
                    "reason": reason,
                    "family": failure.get("family") or (family_of(reason) if known else None),
                    "severity": "error",
                    "msg": msg,
                    "remediation": failure.get("remediation") or (remediation_of(reason) if known else None),
                },
            )
    if unreachable is not None:
        current = progress.get("current_step") or "assess"
        if current in steps:
            steps[current] = "unreachable"
        msg = unreachable
        reason = "unreachable"
    changed = any(v == "changed" for v in steps.values())
    compliant = bool(diag.get("compliant"))
    if unreachable is not None:
        outcome = "unreachable"
    elif failure:
        outcome = "refused" if (failed_step == "assess" or (reason in _REFUSAL_REASONS and not changed)) else "failed"
    elif progress.get("pending_reboot"):
        outcome = "pending_reboot"
    elif check_mode and changed:
        outcome = "would_change"
    elif _goal_met(goal, mde):
        outcome = "converged" if changed and not check_mode else "compliant"
    elif mde is None:
        outcome = "not_run"
    elif goal == "audit":
        outcome = "audited"
    else:
        outcome = "failed" if changed else "refused"
    if outcome in ("compliant", "converged", "would_change"):
        # The host went through the run: a step it never recorded was not needed there.
        recorded = progress.get("steps") or {}
        steps = {k: (v if k in recorded else "skipped") for k, v in steps.items()}
    return {
        "name": name,
        "wave": progress.get("wave"),
        "outcome": outcome,
        "mode": diag.get("mode") or ((mde or {}).get("defender") or {}).get("mode"),
        "compliant": compliant,
        "protected": diag.get("protected"),
        "onboarded": onboarding.get("onboarded"),
        "org_id": onboarding.get("org_id"),
        "os": os_info.get("caption"),
        "os_kind": os_info.get("kind"),
        "third_party_av": list(av.get("third_party_names") or []),
        "third_party_active": av.get("third_party_active"),
        "steps": steps,
        "changed": changed,
        "reboots": int(progress.get("reboots") or 0),
        "failed_step": failed_step,
        "reason": reason,
        "msg": msg,
        "problems": [{k: p.get(k) for k in ("reason", "family", "severity", "msg", "remediation")} for p in problems],
    }


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        key = "unknown" if v is None else str(v)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def build_report(records: list[dict], run: dict | None = None) -> dict:
    """The whole report from host records (see :func:`host_record`)."""
    records = sorted(records, key=lambda r: ((r.get("wave") or 10**6), r["name"]))
    problems = [p for r in records for p in r["problems"] if p.get("severity") in (None, "error")]
    waves: dict = {}
    for r in records:
        if r.get("wave") is not None:
            waves.setdefault(r["wave"], []).append(r)
    run = dict(run or {})
    run.setdefault("finished", _now())
    totals = {
        "hosts": len(records),
        "by_outcome": {o: sum(1 for r in records if r["outcome"] == o) for o in OUTCOMES},
        "by_mode": _count(r["mode"] for r in records if r["outcome"] not in ("unreachable", "not_run")),
        "by_problem": _count(p["reason"] for p in problems),
        "by_family": _count(p.get("family") for p in problems),
        "compliant": sum(1 for r in records if r["compliant"]),
        "protected": sum(1 for r in records if r["protected"] is True),
        "unprotected": sum(1 for r in records if r["protected"] is False),
        "onboarded": sum(1 for r in records if r["onboarded"]),
        "changed": sum(1 for r in records if r["changed"]),
        "reboots": sum(r["reboots"] for r in records),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "mdeops.defender",
        "run": run,
        "totals": totals,
        "waves": [
            {
                "wave": w,
                "hosts": [r["name"] for r in rs],
                "by_outcome": {o: sum(1 for r in rs if r["outcome"] == o) for o in OUTCOMES},
            }
            for w, rs in sorted(waves.items())
        ],
        "hosts": records,
    }


CSV_COLUMNS = (
    "name",
    "wave",
    "outcome",
    "mode",
    "compliant",
    "protected",
    "onboarded",
    "org_id",
    "os",
    "os_kind",
    "third_party_av",
    "third_party_active",
    "changed",
    "reboots",
    "failed_step",
    "reason",
    "reasons",
    "msg",
    *("step_" + s for s in STEPS),
)


def to_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in report["hosts"]:
        row = dict(r)
        row["third_party_av"] = ";".join(r["third_party_av"])
        row["reasons"] = ";".join(p["reason"] for p in r["problems"])
        for s in STEPS:
            row["step_" + s] = r["steps"].get(s)
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in CSV_COLUMNS])
    return buf.getvalue()


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def set_stats_totals(report: dict) -> dict:
    """The flat totals that go out through ``set_stats`` (AWX artifacts)."""
    t = report["totals"]
    out = {
        "mde_hosts": t["hosts"],
        "mde_compliant": t["compliant"],
        "mde_protected": t["protected"],
        "mde_unprotected": t["unprotected"],
        "mde_onboarded": t["onboarded"],
        "mde_changed": t["changed"],
        "mde_reboots": t["reboots"],
    }
    out.update({"mde_outcome_" + k: v for k, v in t["by_outcome"].items()})
    out["mde_problems"] = t["by_problem"]
    out["mde_modes"] = t["by_mode"]
    return out


def _atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_report(report: dict, directory: str, basename: str = "fleet-report") -> dict:
    """Write ``<basename>.json``, ``.csv`` and ``.html`` into ``directory``; return the paths."""
    from ._report_html import to_html

    paths = {
        "json": os.path.join(directory, basename + ".json"),
        "csv": os.path.join(directory, basename + ".csv"),
        "html": os.path.join(directory, basename + ".html"),
    }
    _atomic_write(paths["json"], to_json(report))
    _atomic_write(paths["csv"], to_csv(report))
    _atomic_write(paths["html"], to_html(report))
    return paths

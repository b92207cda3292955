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

Hosts are listed by what needs attention first (:data:`ATTENTION`), then by name. A report
written while the run is still going (or left behind by an interrupted run) says so:
``run.status`` is ``incomplete`` and ``run.finished`` is null.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re

from ._reasons import REASONS, family_of, remediation_of

SCHEMA_VERSION = 1

# The guide's seven steps, in the guide's order, plus the assessment read.
STEPS = ("assess", "onboard", "third_party_av", "verify_mode", "registry", "group_policy", "intune", "confirm_edr")
STEP_OUTCOMES = ("ok", "changed", "skipped", "failed", "unreachable", "not_run")

# Per-host outcome of a run.
OUTCOMES = (
    "unprotected",  # found without real-time antivirus protection (e.g. passive with the other AV off)
    "compliant",  # already in the goal state; nothing changed
    "converged",  # changed during this run and now compliant
    "active_by_design",  # onboarded, sensor running, Defender kept active: no third-party antivirus to stand aside for
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

# The order hosts are listed in: what needs attention first, compliant hosts last.
ATTENTION = (
    "unprotected",
    "failed",
    "refused",
    "unreachable",
    "audited",
    "pending_reboot",
    "would_change",
    "not_run",
    "active_by_design",
    "converged",
    "compliant",
)

# Whether a run went to its end: ``incomplete`` reports are written while it runs and stay
# behind when it is interrupted.
STATUSES = ("complete", "incomplete")

# What the playbook name says about the goal, for callers that do not pass ``run.goal``.
_GOAL_OF_PLAYBOOK = {"verify": "audit", "offboard": "offboarded"}

_NO_AV_REASONS = ("no_third_party_av", "third_party_av_inactive", "security_center_disabled")
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


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _goal_met(goal: str, mde: dict | None) -> bool:
    diag = (mde or {}).get("diagnosis") or {}
    if goal == "offboarded":
        onboarding = (mde or {}).get("onboarding") or {}
        return mde is not None and not onboarding.get("onboarded") and diag.get("protected") is True
    return bool(diag.get("compliant"))


# A failure message as the roles' gates format it: "[reason] (family) step <step>: <msg> Remediation: <fix>".
_GATE_PREFIX = re.compile(r"^\[[a-z0-9_]+\] \([a-z0-9_]+\) step [a-z0-9_]+: ")


def plain_msg(msg: object, remediation: object = None) -> str | None:
    """A failure message without the reason/family/step prefix and the remediation suffix a gate adds.

    The report shows the reason, family and remediation in their own places; the message keeps only
    what is said about this host.
    """
    if msg is None:
        return None
    text = _GATE_PREFIX.sub("", str(msg).strip())
    if remediation:
        suffix = " Remediation: %s" % str(remediation).strip()
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.strip() or None


def _problem(reason: str, msg: object, family: object = None, remediation: object = None) -> dict:
    known = reason in REASONS
    remediation = remediation or (remediation_of(reason) if known else None)
    return {
        "reason": reason,
        "family": family or (family_of(reason) if known else None),
        "severity": "error",
        "msg": plain_msg(msg, remediation),
        "remediation": remediation,
    }


def _unique_problems(problems: list) -> list[dict]:
    """Each reason once (the first occurrence wins: the failure that stopped the host comes first)."""
    seen: set = set()
    out = []
    for p in problems:
        if not isinstance(p, dict) or not p.get("reason") or p["reason"] in seen:
            continue
        seen.add(p["reason"])
        entry = {k: p.get(k) for k in ("reason", "family", "severity", "msg", "remediation")}
        entry["msg"] = plain_msg(entry["msg"], entry["remediation"])
        out.append(entry)
    return out


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

    A host is ``unprotected`` when the last read found it without real-time antivirus protection
    (``diagnosis.protected`` false), or when the run recorded so in its progress (``unprotected: true``,
    or a failure with reason ``unprotected``); that outcome wins over every other.
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
        msg = plain_msg(failure.get("msg"), failure.get("remediation") or (reason and remediation_of(reason)))
        failed_step = failure.get("step") or progress.get("current_step")
        if failed_step in steps:
            steps[failed_step] = "failed"
        if reason:
            problems = [p for p in problems if p.get("reason") != reason]
            # The failure's own words about this host come first; a diagnosis entry of the same
            # reason only fills in what the failure did not say.
            same: dict = next((p for p in diag.get("problems") or [] if p.get("reason") == reason), {})
            problems.insert(
                0,
                _problem(
                    reason,
                    msg or same.get("msg"),
                    failure.get("family") or same.get("family"),
                    failure.get("remediation") or same.get("remediation"),
                ),
            )
    if unreachable is not None:
        current = progress.get("current_step") or "assess"
        if current in steps:
            steps[current] = "unreachable"
        msg = unreachable
        reason = "unreachable"
        problems.insert(0, _problem("unreachable", unreachable))
    changed = any(v == "changed" for v in steps.values())
    compliant = bool(diag.get("compliant"))
    protected = diag.get("protected")
    unprotected = protected is False or bool(progress.get("unprotected")) or reason == "unprotected"
    if unprotected:
        outcome = "unprotected"
        protected = False
        compliant = False
    elif unreachable is not None:
        outcome = "unreachable"
    elif failure and goal == "audit" and failed_step != "assess":
        outcome = "audited"  # an audit changes nothing: whatever its reason, the host is not compliant
    elif failure:
        outcome = "refused" if (failed_step == "assess" or (reason in _REFUSAL_REASONS and not changed)) else "failed"
    elif progress.get("pending_reboot"):
        outcome = "pending_reboot"
    elif check_mode and changed:
        outcome = "would_change"
    elif _goal_met(goal, mde):
        outcome = "converged" if changed and not check_mode else "compliant"
    elif goal in ("passive", "audit") and diag.get("verdict") == "active_by_design":
        outcome = "active_by_design"
    elif mde is None:
        outcome = "not_run"
    elif goal == "audit":
        outcome = "audited"
    else:
        outcome = "failed" if changed else "refused"
    if outcome == "active_by_design" and not reason:
        # why Defender stays active: the reason is part of the outcome
        reason = next((p.get("reason") for p in problems if p.get("reason") in _NO_AV_REASONS), None)
    if outcome in ("compliant", "converged", "would_change", "active_by_design"):
        # The host went through the run: a step it never recorded was not needed there.
        recorded = progress.get("steps") or {}
        steps = {k: (v if k in recorded else "skipped") for k, v in steps.items()}
    return {
        "name": name,
        "wave": progress.get("wave"),
        "outcome": outcome,
        "mode": diag.get("mode") or ((mde or {}).get("defender") or {}).get("mode"),
        "compliant": compliant,
        "protected": protected,
        "onboarded": onboarding.get("onboarded"),
        "org_id": onboarding.get("org_id"),
        "expected_org_id": progress.get("expected_org_id") or onboarding.get("expected_org_id"),
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
        "problems": _unique_problems(problems),
    }


def _count(values) -> dict:
    out: dict = {}
    for v in values:
        key = "unknown" if v is None else str(v)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def attention_key(record: dict) -> tuple:
    """Sort key: what needs attention first (:data:`ATTENTION`), then the host name."""
    outcome = record.get("outcome")
    rank = ATTENTION.index(outcome) if outcome in ATTENTION else len(ATTENTION)
    return (rank, str(record.get("name") or ""))


def collection_version() -> str | None:
    """This collection's version: MANIFEST.json of an installed collection, else galaxy.yml of a checkout."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as fh:
            return str(json.load(fh)["collection_info"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as fh:
            match = re.search(r"^version:\s*['\"]?([^'\"\s#]+)", fh.read(), re.MULTILINE)
        return match.group(1) if match else None
    except OSError:
        return None


def ansible_core_version() -> str | None:
    try:
        from ansible.module_utils.ansible_release import __version__
    except ImportError:  # pragma: no cover - always there on a controller
        return None
    return str(__version__)


def _goal_of(run: dict, records: list[dict]) -> str:
    if run.get("goal") in GOALS:
        return run["goal"]
    if any(r["outcome"] == "audited" for r in records):
        return "audit"
    stem = os.path.splitext(os.path.basename(str(run.get("playbook") or "")))[0]
    return _GOAL_OF_PLAYBOOK.get(stem, "passive")


def build_report(records: list[dict], run: dict | None = None) -> dict:
    """The whole report from host records (see :func:`host_record`).

    ``run`` may carry ``playbook``, ``started``, ``check_mode``, ``aborted``, ``abort_reason``,
    ``goal``, ``limit`` and ``status``; the rest is filled in here. ``status`` ``incomplete``
    leaves ``finished`` null.
    """
    records = sorted(records, key=attention_key)
    problems = [p for r in records for p in r["problems"] if p.get("severity") in (None, "error")]
    waves: dict = {}
    for r in sorted(records, key=lambda r: r["name"]):
        if r.get("wave") is not None:
            waves.setdefault(r["wave"], []).append(r)
    run = dict(run or {})
    run.setdefault("playbook", None)
    run.setdefault("started", None)
    run.setdefault("check_mode", False)
    run.setdefault("aborted", False)
    run.setdefault("abort_reason", None)
    run["status"] = run.get("status") if run.get("status") in STATUSES else "complete"
    run["goal"] = _goal_of(run, records)
    run.setdefault("limit", None)
    run["updated"] = _now()
    run["finished"] = (run.get("finished") or run["updated"]) if run["status"] == "complete" else None
    # The org ids the hosts were really checked against (empty: none was given).
    run["expected_org_ids"] = sorted({r["expected_org_id"] for r in records if r.get("expected_org_id")})
    run.setdefault("collection_version", collection_version())
    run.setdefault("ansible_core_version", ansible_core_version())
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
    "expected_org_id",
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

# Booleans read the same in the CSV as in the HTML page.
YES_NO = {True: "yes", False: "no", None: "unknown"}

# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): =, +, -, @, tab, CR.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell: yes/no/unknown for booleans, text that cannot start a formula, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES_NO[value]
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


_CSV_BOOLEANS = ("compliant", "protected", "onboarded", "third_party_active", "changed")


def to_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; a CR inside a cell gets it quoted
    writer.writerow(CSV_COLUMNS)
    for r in report["hosts"]:
        row = dict(r)
        row["third_party_av"] = ";".join(r["third_party_av"])
        row["reasons"] = ";".join(p["reason"] for p in r["problems"])
        for s in STEPS:
            row["step_" + s] = r["steps"].get(s)
        for c in _CSV_BOOLEANS:
            row[c] = YES_NO[row.get(c)]  # unknown is said, not left empty
        writer.writerow([csv_cell(row.get(c)) for c in CSV_COLUMNS])
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


#: Outcomes that are not a success: the hosts to fix first, in this order.
NEEDS_ATTENTION = ("unprotected", "failed", "refused", "unreachable", "audited", "pending_reboot", "not_run")


def summary_lines(report: dict, paths: dict | None = None, most: int = 10) -> list[str]:
    """A short summary for the end of a run: counts by outcome, the hosts to fix first, the report's paths."""
    totals = report["totals"]
    by = totals["by_outcome"]
    counts = ", ".join("%d %s" % (by[o], o.replace("_", " ")) for o in ATTENTION if by.get(o))
    lines = ["%d host(s): %s" % (totals["hosts"], counts or "none")]
    first = [r for r in report["hosts"] if r["outcome"] in NEEDS_ATTENTION]
    if first:
        lines.append("Fix first (%d):" % len(first))
        for record in first[:most]:
            lines.append(
                "  %s: %s%s"
                % (
                    record["name"],
                    record["outcome"].replace("_", " "),
                    (" - %s" % record["reason"]) if record.get("reason") else "",
                )
            )
        if len(first) > most:
            lines.append("  ... and %d more (see the report)" % (len(first) - most))
    else:
        lines.append("Nothing to fix.")
    if paths:
        lines.append("Report: %s (also %s, %s)" % (paths.get("html"), paths.get("json"), paths.get("csv")))
    return lines

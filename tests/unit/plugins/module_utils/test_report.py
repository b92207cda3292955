"""The fleet report: host outcomes, totals, and the JSON/CSV/HTML renderings against the schema."""

from __future__ import annotations

import csv
import io
import json
import os
import re

import jsonschema
import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _report
from ansible_collections.mdeops.defender.plugins.module_utils._report_html import to_html

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(ROOT, "docs", "report.schema.json"), encoding="utf-8") as _fh:
    SCHEMA = json.load(_fh)

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"


def mde(mode="passive", compliant=True, protected=True, onboarded=True, problems=()):
    return {
        "os": {"caption": "Microsoft Windows 11 Enterprise", "kind": "workstation"},
        "onboarding": {"onboarded": onboarded, "org_id": ORG if onboarded else None},
        "antivirus": {"third_party_names": ["CrowdStrike Falcon"], "third_party_active": True},
        "diagnosis": {"mode": mode, "compliant": compliant, "protected": protected, "problems": list(problems)},
    }


NO_AV = {
    "reason": "no_third_party_av",
    "family": "av_conflict",
    "severity": "error",
    "msg": "none",
    "remediation": "install",
}


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        (dict(mde=mde()), "compliant"),
        (dict(mde=mde(), progress={"steps": {"assess": "ok", "onboard": "changed"}, "wave": 2}), "converged"),
        (dict(mde=mde(compliant=False), progress={"steps": {"onboard": "changed"}}, check_mode=True), "would_change"),
        (
            dict(mde=mde(compliant=False), progress={"steps": {"registry": "changed"}, "pending_reboot": True}),
            "pending_reboot",
        ),
        (
            dict(
                mde=mde(mode="active", compliant=False, problems=[NO_AV]),
                failure={"reason": "no_third_party_av", "msg": "x", "step": "assess"},
            ),
            "refused",
        ),
        (
            dict(
                mde=mde(compliant=False),
                progress={"steps": {"onboard": "changed"}, "current_step": "verify_mode"},
                failure={"reason": "passive_mode_not_reached", "msg": "x"},
            ),
            "failed",
        ),
        (dict(unreachable="connection refused"), "unreachable"),
        (dict(), "not_run"),
        (dict(mde=mde(mode="active", compliant=False), goal="audit"), "audited"),
    ],
)
def test_host_outcomes(kwargs, outcome):
    record = _report.host_record("h1", **kwargs)
    assert record["outcome"] == outcome
    jsonschema.validate(_report.build_report([record]), SCHEMA)


def test_failure_marks_its_step_and_adds_the_problem_once():
    r = _report.host_record(
        "h",
        mde=mde(compliant=False),
        progress={"steps": {"assess": "ok"}, "current_step": "onboard"},
        failure={"reason": "onboarding_failed", "msg": "exit 15", "family": "onboarding"},
    )
    assert r["steps"]["onboard"] == "failed" and r["failed_step"] == "onboard"
    assert [p["reason"] for p in r["problems"]] == ["onboarding_failed"]


def test_unreachable_marks_current_step():
    r = _report.host_record("h", progress={"steps": {"assess": "ok"}, "current_step": "registry"}, unreachable="down")
    assert r["steps"]["registry"] == "unreachable" and r["reason"] == "unreachable"


def sample_report():
    records = [
        _report.host_record("a", mde=mde(), progress={"steps": {"assess": "ok", "onboard": "changed"}, "wave": 1}),
        _report.host_record(
            "b",
            mde=mde(mode="active", compliant=False, problems=[NO_AV]),
            failure={"reason": "no_third_party_av", "step": "assess", "msg": "none"},
        ),
        _report.host_record("c", unreachable="refused"),
        _report.host_record("d", mde=mde(), progress={"steps": {"assess": "ok"}, "wave": 2, "reboots": 1}),
        _report.host_record("e<script>", progress={"wave": 3}),
    ]
    return _report.build_report(
        records, {"playbook": "rollout.yml", "check_mode": False, "aborted": True, "abort_reason": "stopped"}
    )


def test_totals_and_waves_follow_the_records():
    report = sample_report()
    jsonschema.validate(report, SCHEMA)
    t = report["totals"]
    assert t["hosts"] == 5 and t["compliant"] == 2 and t["unprotected"] == 0 and t["reboots"] == 1
    assert t["by_outcome"]["converged"] == 1 and t["by_outcome"]["refused"] == 1 and t["by_outcome"]["unreachable"] == 1
    assert t["by_outcome"]["not_run"] == 1 and t["by_problem"] == {"no_third_party_av": 1}
    assert sum(t["by_outcome"].values()) == t["hosts"]
    assert [w["wave"] for w in report["waves"]] == [1, 2, 3]
    stats = _report.set_stats_totals(report)
    assert stats["mde_hosts"] == 5 and stats["mde_outcome_unreachable"] == 1


def test_csv_has_one_row_per_host_and_all_columns():
    rows = list(csv.DictReader(io.StringIO(_report.to_csv(sample_report()))))
    assert len(rows) == 5 and tuple(rows[0].keys()) == _report.CSV_COLUMNS
    assert {r["name"]: r["reasons"] for r in rows}["b"] == "no_third_party_av"


def test_html_is_self_contained_escaped_and_has_the_parts():
    page = to_html(sample_report())
    assert "<script>alert" not in page and "e&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "no external assets"
    assert "<svg" in page and 'id="hosts"' in page and 'id="q"' in page and "Progress by wave" in page
    assert "STOPPED" in page


def test_write_report(tmp_path):
    paths = _report.write_report(sample_report(), str(tmp_path / "out"))
    with open(paths["json"], encoding="utf-8") as fh:
        jsonschema.validate(json.load(fh), SCHEMA)
    assert os.path.getsize(paths["html"]) > 1000 and os.path.exists(paths["csv"])

"""The fleet report: host outcomes, totals, and the JSON/CSV/HTML renderings against the schema."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from html.parser import HTMLParser

import jsonschema
import pytest
from markupsafe import escape

from ansible_collections.mdeops.defender.plugins.module_utils import _report
from ansible_collections.mdeops.defender.plugins.plugin_utils import _report_files
from ansible_collections.mdeops.defender.plugins.plugin_utils._report_html import to_html
from tests import report_fixtures

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
    assert t["by_outcome"]["not_run"] == 1 and t["by_problem"] == {"no_third_party_av": 1, "unreachable": 1}
    assert t["by_family"] == {"av_conflict": 1, "connectivity": 1}
    assert sum(t["by_outcome"].values()) == t["hosts"]
    assert [w["wave"] for w in report["waves"]] == [1, 2, 3]
    stats = _report.set_stats_totals(report)
    assert stats["mde_hosts"] == 5 and stats["mde_outcome_unreachable"] == 1 and stats["mde_outcome_unprotected"] == 0


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
    paths = _report_files.write_report(sample_report(), str(tmp_path / "out"))
    with open(paths["json"], encoding="utf-8") as fh:
        jsonschema.validate(json.load(fh), SCHEMA)
    assert os.path.getsize(paths["html"]) > 1000 and os.path.exists(paths["csv"])


# --------------------------------------------------------------------------- unprotected hosts
@pytest.mark.parametrize(
    "kwargs",
    [
        # the last read found no real-time protection (third-party AV off, Defender passive)
        dict(mde=mde(compliant=False, protected=False), progress={"steps": {"assess": "ok"}, "wave": 1}),
        # ... whatever else happened to the host in the run
        dict(mde=mde(compliant=False, protected=False), failure={"reason": "onboarding_failed", "step": "onboard"}),
        dict(mde=mde(compliant=False, protected=False), unreachable="timed out"),
        # the run recorded it in the host's progress, or as the failure's reason
        dict(mde=mde(), progress={"unprotected": True}),
        dict(mde=mde(), failure={"reason": "unprotected", "msg": "no real-time protection", "step": "assess"}),
    ],
)
def test_unprotected_wins_over_every_other_outcome(kwargs):
    record = _report.host_record("h", **kwargs)
    assert record["outcome"] == "unprotected" and record["protected"] is False and record["compliant"] is False
    report = _report.build_report([record, _report.host_record("a", mde=mde())])
    jsonschema.validate(report, SCHEMA)
    assert report["totals"]["unprotected"] == report["totals"]["by_outcome"]["unprotected"] == 1
    assert report["hosts"][0]["name"] == "h", "unprotected hosts come first"


# --------------------------------------------------------------------------- order and problems
def test_hosts_sorted_by_what_needs_attention_first():
    report = report_fixtures.rollout_report()
    assert [h["name"] for h in report["hosts"]] == report_fixtures.ROLLOUT_ORDER
    audit = report_fixtures.audit_report()
    assert [h["name"] for h in audit["hosts"]] == report_fixtures.AUDIT_ORDER
    ranks = [_report.ATTENTION.index(h["outcome"]) for h in report["hosts"]]
    assert ranks == sorted(ranks)
    assert set(_report.ATTENTION) == set(_report.OUTCOMES), "every outcome has its place in the order"
    # waves still list their hosts by name
    assert all(w["hosts"] == sorted(w["hosts"]) for w in report["waves"])


def test_gate_message_is_reduced_to_what_it_says_about_the_host():
    remediation = _report.remediation_of("no_third_party_av")
    gated = report_fixtures.gate_msg("no_third_party_av", "assess", "No AV found.")
    assert gated.count(remediation) == 1
    assert _report.plain_msg(gated, remediation) == "No AV found."
    assert _report.plain_msg("plain words", remediation) == "plain words"
    assert _report.plain_msg(None) is None and _report.plain_msg("  ") is None


def test_each_problem_once_per_host():
    hosts = {h["name"]: h for h in report_fixtures.rollout_report()["hosts"]}
    failed = hosts["srv-failed-01"]
    assert [p["reason"] for p in failed["problems"]] == [
        "tamper_protection_blocks_passive",
        "server_passive_not_forced",
    ]
    tamper = failed["problems"][0]
    assert tamper["msg"] == report_fixtures.TAMPER_MSG and failed["msg"] == report_fixtures.TAMPER_MSG
    assert tamper["remediation"] == report_fixtures.TAMPER_REMEDIATION and tamper["family"] == "tamper_protection"
    everything = json.dumps(failed)
    assert everything.count(report_fixtures.TAMPER_REMEDIATION) == 1
    refused = hosts["ws-refused-noav"]
    assert [p["reason"] for p in refused["problems"]] == ["no_third_party_av", "not_onboarded"]
    assert json.dumps(refused).count(_report.remediation_of("no_third_party_av")) == 1
    down = hosts["srv-down-01"]
    assert [p["reason"] for p in down["problems"]] == ["unreachable"]
    assert down["problems"][0]["family"] == "connectivity" and down["problems"][0]["remediation"]


# --------------------------------------------------------------------------- the run block
def test_run_block_records_what_was_checked_and_the_versions():
    report = report_fixtures.rollout_report()
    run = report["run"]
    assert run["status"] == "complete" and run["finished"] == run["updated"]
    assert run["goal"] == "passive" and run["limit"] == "site_a:!mde_canary"
    assert run["expected_org_ids"] == [report_fixtures.ORG]
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as fh:
        version = re.search(r"^version:\s*(\S+)", fh.read(), re.M).group(1)
    from ansible.release import __version__ as core_version

    assert run["collection_version"] == version and run["ansible_core_version"] == core_version
    hosts = {h["name"]: h for h in report["hosts"]}
    assert hosts["ws-compliant-01"]["expected_org_id"] == report_fixtures.ORG
    assert hosts["srv-down-01"]["expected_org_id"] is None


def test_no_expected_org_id_is_recorded_as_none():
    report = report_fixtures.audit_report(expected=False)
    jsonschema.validate(report, SCHEMA)
    assert report["run"]["expected_org_ids"] == [] and report["run"]["goal"] == "audit"


def test_collection_version_from_an_installed_manifest(tmp_path, monkeypatch):
    root = tmp_path / "ansible_collections" / "mdeops" / "defender"
    (root / "plugins" / "module_utils").mkdir(parents=True)
    (root / "MANIFEST.json").write_text(json.dumps({"collection_info": {"version": "9.8.7"}}), encoding="utf-8")
    monkeypatch.setattr(_report, "__file__", str(root / "plugins" / "module_utils" / "_report.py"))
    assert _report.collection_version() == "9.8.7"
    (root / "MANIFEST.json").unlink()
    assert _report.collection_version() is None


@pytest.mark.parametrize(
    ("playbook", "goal"), [("verify.yml", "audit"), ("offboard.yml", "offboarded"), (None, "passive")]
)
def test_goal_from_the_playbook_when_the_caller_does_not_say(playbook, goal):
    report = _report.build_report([_report.host_record("a", mde=mde())], {"playbook": playbook})
    assert report["run"]["goal"] == goal


def test_incomplete_run_has_no_finish_time():
    report = report_fixtures.rollout_report(status="incomplete")
    jsonschema.validate(report, SCHEMA)
    assert report["run"]["status"] == "incomplete" and report["run"]["finished"] is None and report["run"]["updated"]
    assert _report.build_report([], {"status": "bogus"})["run"]["status"] == "complete"


# --------------------------------------------------------------------------- CSV
def test_csv_booleans_read_yes_no_like_the_html():
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(_report.to_csv(report_fixtures.rollout_report())))}
    assert rows["ws-compliant-01"]["compliant"] == "yes" and rows["ws-compliant-01"]["changed"] == "no"
    assert rows["ws-unprotected-01"]["protected"] == "no" and rows["ws-unprotected-01"]["third_party_active"] == "no"
    assert rows["srv-down-01"]["protected"] == "unknown" and rows["srv-down-01"]["onboarded"] == "unknown"
    assert rows["ws-converged-01"]["wave"] == "2" and rows["ws-notrun-01"]["wave"] == ""
    for row in rows.values():
        for column in ("compliant", "protected", "onboarded", "third_party_active", "changed"):
            assert row[column] in ("yes", "no", "unknown"), (column, row[column])


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_formulas(start):
    value = start + "cmd|' /C calc'!A0"
    assert _report.csv_cell(value) == "'" + value
    record = _report.host_record("h", mde=report_fixtures.mde(av=(value,)), unreachable=value)
    text = _report.to_csv(_report.build_report([record]))
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert row["third_party_av"] == "'" + value and row["msg"] == "'" + value
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)


def test_csv_cells_that_are_not_formulas_stay_as_they_are():
    assert _report.csv_cell("srv-01") == "srv-01" and _report.csv_cell("a=b") == "a=b"
    assert _report.csv_cell(3) == 3 and _report.csv_cell(None) == "" and _report.csv_cell(True) == "yes"
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(_report.to_csv(report_fixtures.rollout_report())))}
    assert rows[report_fixtures.LONG_NAME]["third_party_av"] == "'" + report_fixtures.FORMULA_AV


# --------------------------------------------------------------------------- HTML structure (rendered: tests/browser)
class Page(HTMLParser):
    """The elements of a rendered report that an operator relies on."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tiles: list[tuple[str, str, str]] = []  # (key, classes, count)
        self.hosts: list[str] = []
        self.columns: list[str] = []
        self.ids: set[str] = set()
        self._tile: list | None = None
        self._in_b = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("data-tile"):
            self._tile = [a["data-tile"], a.get("class", ""), ""]
        if tag == "b" and self._tile is not None:
            self._in_b = True
        if tag == "tr" and a.get("data-host") is not None:
            self.hosts.append(a["data-host"])
        if tag == "th" and a.get("data-col"):
            self.columns.append(a["data-col"])

    def handle_data(self, data):
        if self._in_b:
            self._tile[2] += data

    def handle_endtag(self, tag):
        if tag == "b" and self._in_b:
            self._in_b = False
            self.tiles.append(tuple(self._tile))
            self._tile = None


def test_html_lists_hosts_and_tiles_by_attention():
    report = report_fixtures.rollout_report()
    page = Page(to_html(report))
    assert page.hosts == report_fixtures.ROLLOUT_ORDER
    keys = [t[0] for t in page.tiles]
    assert keys[:4] == ["unprotected", "failed", "refused", "unreachable"], keys
    tiles = {t[0]: t for t in page.tiles}
    by = report["totals"]["by_outcome"]
    for key in (
        "unprotected",
        "failed",
        "refused",
        "unreachable",
        "pending_reboot",
        "not_run",
        "converged",
        "compliant",
    ):
        assert int(tiles[key][2]) == by[key], key
    assert "alarm" in tiles["unprotected"][1].split()
    assert int(tiles["changed"][2]) == report["totals"]["changed"] and "reboots" in tiles
    assert {"waves-panel"} <= page.ids and {"wave", "steps", "reboots"} <= set(page.columns)


def test_html_tiles_shown_at_zero_and_calm_when_nothing_is_wrong():
    page = Page(to_html(_report.build_report([_report.host_record("a", mde=mde())], {"goal": "passive"})))
    tiles = {t[0]: t for t in page.tiles}
    assert {"unprotected", "failed", "refused", "unreachable", "compliant"} <= set(tiles)
    assert tiles["unprotected"][2] == "0" and "alarm" not in tiles["unprotected"][1].split()
    assert "pending_reboot" not in tiles and "not_run" not in tiles


def test_html_audit_hides_rollout_only_panels():
    report = report_fixtures.audit_report()
    page = Page(to_html(report))
    assert page.hosts == report_fixtures.AUDIT_ORDER
    keys = [t[0] for t in page.tiles]
    assert keys[0] == "unprotected" and "audited" in keys
    assert "changed" not in keys and "reboots" not in keys
    assert "waves-panel" not in page.ids
    assert not {"wave", "steps", "reboots"} & set(page.columns), page.columns
    assert "Progress by wave" not in to_html(report)


def test_html_states_each_problem_once():
    page = to_html(report_fixtures.rollout_report())
    assert page.count(escape(report_fixtures.TAMPER_MSG)) == 1
    assert page.count(escape(report_fixtures.TAMPER_REMEDIATION)) == 1
    assert "Remediation:" not in page and "[tamper_protection_blocks_passive]" not in page
    assert page.count(escape(_report.remediation_of("no_third_party_av"))) == 1


def test_html_escapes_everything_from_the_hosts():
    hostile = '<img src=x onerror="alert(1)">'
    record = _report.host_record(
        "h<i>x</i>", mde=mde(), failure={"reason": "host_error", "msg": hostile, "step": "onboard"}
    )
    page = to_html(_report.build_report([record]))
    assert "<img" not in page and "<i>x</i>" not in page
    assert escape(hostile) in page and "h&lt;i&gt;x&lt;/i&gt;" in page


def test_html_banners():
    complete = to_html(report_fixtures.rollout_report())
    incomplete = to_html(report_fixtures.rollout_report(status="incomplete"))
    assert 'id="banner-incomplete"' not in complete and 'id="banner-incomplete"' in incomplete
    assert 'data-status="incomplete"' in incomplete
    assert 'id="banner-noorg"' not in complete
    assert 'id="banner-noorg"' in to_html(report_fixtures.audit_report(expected=False))
    assert "site_a:!mde_canary" in complete and report_fixtures.ORG in complete
    assert "ansible-core %s" % _report.ansible_core_version() in complete
    assert re.search(r"mdeops\.defender \d+\.\d+\.\d+", complete)


def test_html_template_is_jinja_with_autoescape():
    from ansible_collections.mdeops.defender.plugins.plugin_utils import _report_html

    assert _report_html._ENV.autoescape is True
    assert "{{" in _report_html.TEMPLATE and "%s" not in _report_html.TEMPLATE

"""What a new user trips over, end to end: fact injection on and off, package paths, typos,
dictionaries given as strings, and the summary and exit status of every job.

Each test runs the real playbooks, as a user would from their own project directory, against a
small simulated fleet, and checks that a mistake is caught before any host changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.e2e.invariants import ATP_POLICY, Invariants, _reg, onboarded_org
from tests.winsim import packages

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER = "c0ffee00-1234-4abc-8def-0123456789ab"

FLEET = {
    "defaults": {"reboot_seconds": 1},
    "hosts": {
        "c1": {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]},
        "s1": {"os": "server2022", "third_party_av": [{"name": "SentinelOne"}]},
    },
}


def project(base: Path, pkgs: dict) -> Path:
    """A user's own project: site playbooks importing the collection's, the package beside them."""
    proj = base / "project"
    (proj / "files").mkdir(parents=True)
    shutil.copy(pkgs["onboarding_zip"], proj / "files" / "onboarding.zip")
    for job in ("rollout", "verify"):
        (proj / ("%s.yml" % job)).write_text("- ansible.builtin.import_playbook: mdeops.defender.%s\n" % job)
    return proj


@pytest.fixture
def stand(winsim, tmp_path):
    sim = winsim(FLEET)
    pkgs = packages.write_set(str(tmp_path / "packages"), ORG, other_org=OTHER)
    proj = project(tmp_path, pkgs)
    reports = tmp_path / "reports"

    def run(job: str, extra: dict, cwd: Path | None = None, env: dict | None = None, **kw):
        ev = {"mde_report_dir": str(reports), "mde_targets": "all:!localhost"}
        ev.update(extra)
        cmd = ["ansible-playbook", "-i", str(sim.inventory), str(proj / ("%s.yml" % job)), "-e", json.dumps(ev)]
        guard = Invariants(sim, expected_org=ORG)
        rc, out, err = sim.run(cmd, cwd=cwd or tmp_path, env=env, **kw)
        # never unprotected, never another org, no secret in the output; verify changes nothing
        guard.check(out, err, check_mode=job == "verify")
        return rc, out, err

    return SimpleNamespace(sim=sim, proj=proj, reports=reports, run=run)


def test_rollout_with_fact_injection_off_and_on(stand):
    """No task reads an injected fact: the rollout converges either way, with no deprecation warning.

    ``WinSim.run`` fails on any ``[DEPRECATION WARNING]``; the e2e environment sets
    ``ANSIBLE_INJECT_FACT_VARS=False`` (the default from ansible-core 2.24), and the second run turns
    it on, as ansible-core 2.21's default is.
    """
    common = {"mde_rollout_expected_org_id": ORG, "mde_rollout_onboarding_package": "files/onboarding.zip"}
    rc, out, err = stand.run("rollout", common, env={"ANSIBLE_INJECT_FACT_VARS": "False"})
    assert rc == 0, out[-3000:] + err[-2000:]
    assert "'mde' is undefined" not in out
    report = json.loads((stand.reports / "fleet-report.json").read_text())
    assert {h["name"]: h["outcome"] for h in report["hosts"]} == {"c1": "converged", "s1": "converged"}
    # the same rerun with injection on: nothing to change, no deprecation
    rc, out, err = stand.run("rollout", common, env={"ANSIBLE_INJECT_FACT_VARS": "True"})
    assert rc == 0, out[-3000:] + err[-2000:]
    assert "changed=0" in out and "changed=1" not in out
    rc, out, err = stand.run("verify", {"mde_verify_expected_org_id": ORG}, env={"ANSIBLE_INJECT_FACT_VARS": "True"})
    assert rc == 0, out[-3000:] + err[-2000:]


def test_relative_package_path_is_found_beside_the_playbook(stand, tmp_path):
    """A relative package path resolves against the playbook's directory first, wherever the run starts."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rc, out, err = stand.run(
        "rollout",
        {"mde_rollout_expected_org_id": ORG, "mde_rollout_onboarding_package": "files/onboarding.zip"},
        cwd=elsewhere,
    )
    assert rc == 0, out[-3000:] + err[-2000:]
    assert onboarded_org(stand.sim.state("c1")) == ORG and onboarded_org(stand.sim.state("s1")) == ORG


def test_missing_relative_package_is_refused_before_any_host_changes(stand, tmp_path):
    before = {h: stand.sim.state(h) for h in ("c1", "s1")}
    rc, out, err = stand.run(
        "rollout", {"mde_rollout_expected_org_id": ORG, "mde_rollout_onboarding_package": "files/missing.zip"}
    )
    assert rc != 0
    text = out + err
    assert "mde_rollout_onboarding_package" in text and "files/missing.zip" in text
    # the places searched are named: the playbook's directory and the current directory
    assert str(stand.proj / "files" / "missing.zip") in text and str(tmp_path / "files" / "missing.zip") in text
    assert {h: stand.sim.state(h) for h in ("c1", "s1")} == before, "pre-flight failed: no host may change"
    assert _reg(stand.sim.state("s1"), ATP_POLICY, "ForceDefenderPassiveMode") is None


def test_a_typo_in_an_optional_variable_is_an_error_naming_the_fix(stand):
    rc, out, _err = stand.run("verify", {"mde_verify_expected_orgid": ORG})
    assert rc != 0
    assert "mde_verify_expected_orgid" in out and "Did you mean mde_verify_expected_org_id?" in out
    # no host was read, so none can be reported compliant against an org id nobody checked
    verify_report = stand.reports / "verify-report.json"
    if verify_report.exists():
        outcomes = {h["name"]: h["outcome"] for h in json.loads(verify_report.read_text())["hosts"]}
        assert "compliant" not in outcomes.values(), outcomes


def test_verify_without_an_org_id_warns_and_the_report_records_what_was_checked(stand):
    rollout = {"mde_rollout_expected_org_id": ORG, "mde_rollout_onboarding_package": "files/onboarding.zip"}
    rc, out, err = stand.run("rollout", rollout)
    assert rc == 0, out[-3000:]
    rc, out, err = stand.run("verify", {})
    assert "[WARNING]" in out + err and "mde_verify_expected_org_id" in out + err
    report = json.loads((stand.reports / "verify-report.json").read_text())
    assert report["run"]["expected_org_ids"] == []
    rc, out, err = stand.run("verify", {"mde_verify_expected_org_id": ORG.upper()})
    assert rc == 0, out[-3000:]
    report = json.loads((stand.reports / "verify-report.json").read_text())
    assert report["run"]["expected_org_ids"] == [ORG]
    assert {h["expected_org_id"] for h in report["hosts"]} == {ORG}


def test_a_dictionary_given_as_a_json_string_is_refused_before_any_host_changes(stand):
    before = {h: stand.sim.state(h) for h in ("c1", "s1")}
    rc, out, _err = stand.run(
        "rollout",
        {
            "mde_rollout_expected_org_id": ORG,
            "mde_rollout_onboarding_package": "files/onboarding.zip",
            "mde_rollout_api_options": '{"timeout": 30}',
        },
    )
    assert rc != 0
    assert "mde_rollout_api_options is a string" in out and "-e @vars.yml" in out
    assert {h: stand.sim.state(h) for h in ("c1", "s1")} == before


def test_verify_ends_with_a_summary_and_fails_when_hosts_need_attention(stand):
    """Without the collection's callback (the e2e environment enables none), every job still prints its
    summary; the exit status says whether a host needs attention (docs/rollout.md, "Exit status")."""
    rc, out, _err = stand.run("verify", {"mde_verify_expected_org_id": ORG})
    assert rc != 0, "no host is onboarded: verify must not exit 0"
    assert "2 host(s):" in out and "Fix first (2):" in out
    assert "c1: audited - not_onboarded" in out and "2 host(s) need attention: c1, s1" in out
    assert "verify-report.html" in out
    doc = (ROOT / "docs" / "rollout.md").read_text()
    assert "Exit status" in doc


def test_a_bad_org_id_names_the_role_variable_and_changes_nothing(stand):
    before = {h: stand.sim.state(h) for h in ("c1", "s1")}
    rc, out, _err = stand.run(
        "rollout",
        {"mde_rollout_expected_org_id": "3b2f6c1e-7d4a", "mde_rollout_onboarding_package": "files/onboarding.zip"},
    )
    assert rc != 0
    assert "mde_rollout_expected_org_id must be an organisation id" in out and "got '3b2f6c1e-7d4a'" in out
    assert {h: stand.sim.state(h) for h in ("c1", "s1")} == before

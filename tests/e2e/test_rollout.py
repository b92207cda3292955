"""The operators' jobs end to end: rollout in waves, rerun, --check, verify, rollback, the report.

One simulated fleet goes through the whole life cycle; every run is checked against the
invariants (never unprotected, never wrong tenant, check mode changes nothing, no secret in
the output) and the fleet report is checked against its JSON schema and the simulator's state.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.e2e.invariants import Invariants, onboarded_org
from tests.e2e.rollout_runs import recap
from tests.winsim import packages, rules

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER = "c0ffee00-1234-4abc-8def-0123456789ab"
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))

FLEET = {
    "defaults": {"reboot_seconds": 1, "domain_joined": True, "ou": "OU=Clients,DC=corp,DC=example,DC=com"},
    "hosts": {
        "c1": {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]},
        "c2": {"os": "windows10_22h2", "third_party_av": [{"name": "Sophos Endpoint"}]},
        "c3": {"os": "windows11_24h2", "third_party_av": [{"name": "SentinelOne"}], "tamper_protection": True},
        "c4": {"os": "windows10_22h2", "third_party_av": [{"name": "ESET Endpoint Antivirus"}]},
        "s1": {"os": "server2022", "third_party_av": [{"name": "SentinelOne"}], "tamper_protection": True},
        "s2": {"os": "server2019", "third_party_av": [{"name": "Trellix Endpoint Security"}]},
        "noav": {"os": "windows10_22h2"},
        "other": {"os": "windows10_22h2", "onboarded_org": OTHER, "third_party_av": [{"name": "Sophos Endpoint"}]},
        "legacy": {"os": "windows7_sp1", "third_party_av": [{"name": "Symantec Endpoint Protection"}]},
        "down": {"os": "server2019", "faults": {"down": True}},
    },
}
CONVERGE = ["c1", "c2", "c3", "c4", "s1", "s2"]
# no third-party antivirus: onboarded for EDR, Defender stays the active antivirus (never made passive)
BY_DESIGN = {"noav": "no_third_party_av"}
REFUSED = {"other": "wrong_org", "legacy": "unsupported_os"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from tests.e2e.conftest import WinSim

    base = tmp_path_factory.mktemp("rollout")
    sim = WinSim(base, FLEET).start()
    pkgs = packages.write_set(str(base / "packages"), ORG, other_org=OTHER)
    reports = base / "reports"

    def run(playbook: str, *args: str, **extra_vars):
        ev = {
            "mde_rollout_expected_org_id": ORG,
            "mde_report_dir": str(reports),
            "mde_targets": "all:!localhost",
            "mde_rollout_onboarding_package": pkgs["onboarding_zip"],
        }
        ev.update(extra_vars)
        return sim.run(
            [
                "ansible-playbook",
                "-i",
                str(sim.inventory),
                str(ROOT / "playbooks" / playbook),
                "-e",
                json.dumps(ev),
                *args,
            ],
            env={"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"},
        )

    yield sim, run, reports, pkgs
    sim.stop()


def load_report(reports: Path, name: str) -> dict:
    report = json.loads((reports / (name + ".json")).read_text(encoding="utf-8"))
    jsonschema.validate(report, SCHEMA)
    assert (reports / (name + ".csv")).read_text().count("\n") == len(report["hosts"]) + 1
    assert "<table" in (reports / (name + ".html")).read_text()
    return report


def test_1_check_mode_changes_nothing_and_reports_what_would(env):
    sim, run, reports, _pkgs = env
    guard = Invariants(sim, expected_org=ORG)
    _rc, out, err = run("rollout.yml", "--check", "--diff")
    guard.check(out, err, check_mode=True, report_dir=reports)
    report = load_report(reports, "fleet-report")
    outcomes = {h["name"]: h["outcome"] for h in report["hosts"]}
    assert report["run"]["check_mode"] is True
    assert all(outcomes[h] == "would_change" for h in [*CONVERGE, *BY_DESIGN]), outcomes
    assert {h: outcomes[h] for h in REFUSED} == dict.fromkeys(REFUSED, "refused")
    assert outcomes["down"] == "unreachable"


def test_2_rollout_in_waves(env):
    sim, run, reports, _pkgs = env
    before = {h: sim.counters(h).get("commands", 0) for h in FLEET["hosts"]}
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = run("rollout.yml", "-e", json.dumps({"mde_waves": [1, 2, "100%"]}))
    guard.check(out, err, report_dir=reports)
    assert rc in (2, 4), out[-3000:]  # refused (2) and unreachable (4) hosts make the run fail, as they should
    report = load_report(reports, "fleet-report")
    hosts = {h["name"]: h for h in report["hosts"]}
    for name in CONVERGE:
        assert hosts[name]["outcome"] == "converged", hosts[name]
        assert hosts[name]["mode"] == "passive"
    for name, reason in REFUSED.items():
        assert hosts[name]["outcome"] == "refused" and hosts[name]["reason"] == reason, hosts[name]
        assert hosts[name]["steps"]["onboard"] == "not_run"
    for name, reason in BY_DESIGN.items():
        assert hosts[name]["outcome"] == "active_by_design" and hosts[name]["reason"] == reason, hosts[name]
        assert hosts[name]["mode"] == "active" and hosts[name]["protected"] and hosts[name]["onboarded"]
        assert hosts[name]["steps"]["registry"] == "skipped"
    assert hosts["down"]["outcome"] == "unreachable"
    # waves: the canary alone, then 2, then the rest (the hosts that need work: converge + by design)
    waves = {w["wave"]: w["hosts"] for w in report["waves"]}
    assert [len(waves[w]) for w in sorted(waves)] == [1, 2, 4], waves
    # servers: the registry value was set before onboarding (departure from the guide's order)
    for server in ("s1", "s2"):
        assert hosts[server]["steps"]["registry"] == "changed" and hosts[server]["steps"]["onboard"] == "changed"
    # clients: passive without any registry change by us
    for client in ("c1", "c2", "c3", "c4"):
        assert hosts[client]["steps"]["registry"] == "skipped"
        state = sim.state(client)
        atp = [
            v
            for k, v in state["registry"].items()
            if k.lower().endswith("policies\\microsoft\\windows advanced threat protection")
        ]
        assert not any("ForceDefenderPassiveMode" in v for v in atp)
    # the report's numbers follow the simulator's state
    states = sim.all_states()
    assert report["totals"]["onboarded"] == sum(1 for s in states.values() if onboarded_org(s))
    for name, h in hosts.items():
        if name == "down":
            continue
        mode = rules.derive_running_mode(states[name])
        assert (
            h["mode"]
            == {"Passive Mode": "passive", "Normal": "active", "Not running": "disabled", None: "not_installed"}[mode]
        )
        assert h["protected"] == rules.host_has_real_time_protection(states[name])
        assert h["onboarded"] == (onboarded_org(states[name]) is not None)
    # round trips: clients 2 (assess, onboard), servers 3 (and the passive value written before
    # onboarding). The assessed state is passed in, so no module reads the host again before its
    # change, and the settle wait judges the read the onboarding took at the end of its own round
    # trip: a host already there costs no further read (this fleet switches at once).
    for client in ("c1", "c2", "c3", "c4"):
        assert sim.counters(client)["commands"] - before[client] == 2, client
    for server in ("s1", "s2"):
        assert sim.counters(server)["commands"] - before[server] == 3, server


def test_3_rerun_changes_nothing_in_one_round_trip_per_host(env):
    sim, run, reports, _pkgs = env
    before = {h: sim.counters(h).get("commands", 0) for h in FLEET["hosts"]}
    guard = Invariants(sim, expected_org=ORG)
    _rc, out, err = run("rollout.yml")
    guard.check(out, err, report_dir=reports)
    rows = recap(out)
    assert all(row["changed"] == 0 for row in rows.values()), rows
    for h in FLEET["hosts"]:
        if h != "down":
            assert sim.counters(h)["commands"] - before[h] == 1, h
    report = load_report(reports, "fleet-report")
    outcomes = {h["name"]: h["outcome"] for h in report["hosts"]}
    assert all(outcomes[h] == "compliant" for h in CONVERGE)


def test_4_verify_is_read_only_and_fast(env):
    sim, run, reports, _pkgs = env
    before = {h: sim.counters(h).get("commands", 0) for h in FLEET["hosts"]}
    guard = Invariants(sim, expected_org=ORG)
    _rc, out, err = run("verify.yml", "-e", json.dumps({"mde_verify_expected_org_id": ORG}))
    guard.check(out, err, check_mode=True, report_dir=reports)  # read-only: nothing may change
    report = load_report(reports, "verify-report")
    assert report["totals"]["compliant"] == len(CONVERGE)
    for h in FLEET["hosts"]:
        if h != "down":
            assert sim.counters(h)["commands"] - before[h] == 1, h


def test_5_rollback(env):
    sim, run, reports, pkgs = env
    guard = Invariants(sim, expected_org=ORG)
    _rc, out, err = run(
        "offboard.yml",
        "-e",
        json.dumps(
            {
                "mde_offboard_expected_org_id": ORG,
                "mde_offboard_package": pkgs["offboarding_zip"],
                "mde_offboard_allow_reboot": True,
            }
        ),
    )
    guard.check(out, err, report_dir=reports)
    report = load_report(reports, "offboard-report")
    hosts = {h["name"]: h for h in report["hosts"]}
    for name in CONVERGE:
        assert hosts[name]["outcome"] == "converged" and hosts[name]["onboarded"] is False and hosts[name]["protected"]
        assert onboarded_org(sim.state(name)) is None
    for server in ("s1", "s2"):
        assert hosts[server]["reboots"] == 1 and hosts[server]["mode"] == "active"
    assert hosts["other"]["outcome"] == "refused" and onboarded_org(sim.state("other")) == OTHER
    # and again: nothing to do
    guard = Invariants(sim, expected_org=ORG)
    _rc, out, err = run(
        "offboard.yml",
        "-e",
        json.dumps(
            {
                "mde_offboard_expected_org_id": ORG,
                "mde_offboard_package": pkgs["offboarding_zip"],
                "mde_offboard_allow_reboot": True,
            }
        ),
    )
    guard.check(out, err, report_dir=reports)
    assert all(row["changed"] == 0 for row in recap(out).values())

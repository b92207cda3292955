"""Hostile and mistaken input through the real rollout: each is refused with a message that names the
problem and the fix, and changes nothing (state files byte-identical, no module run beyond reads).

* waves and threshold: ``[0]``, ``["0%"]``, ``[-1]``, ``["150%"]``, ``["12.5%"]`` (Ansible's serial takes
  whole percentages only), ``"a,b"``, ``""`` and
  ``mde_max_fail_percentage: -5``;
* a decoy package: ``OnboardingInfo`` of the expected organisation written to a key the sensor never
  reads, ahead of the real line of another organisation;
* an organisation id given as ``{UPPER-CASE-GUID}``: accepted and normalised once;
* two inventory aliases of one machine: the second is refused (``duplicate_host``), the first rolls out.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.e2e.invariants import Invariants, onboarded_org
from tests.winsim import packages

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
CALLBACK = {"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"}
FLEET = {
    "defaults": {"reboot_seconds": 1},
    "hosts": {
        "ws": {"os": "windows10_22h2", "third_party_av": [{"name": "Sophos Endpoint"}]},
        "srv": {"os": "server2019", "third_party_av": [{"name": "Trellix Endpoint Security"}]},
    },
}


@pytest.fixture
def sim(winsim):
    return winsim(FLEET)


def rollout(sim, extra: dict, inventory: Path | None = None, name: str = "run") -> tuple[int, str, dict]:
    base = Path(sim.base)
    pkgs = packages.write_set(str(base / "packages"), ORG)
    reports = base / ("reports-" + name)
    ev = {
        "mde_targets": "windows",
        "mde_rollout_expected_org_id": ORG,
        "mde_rollout_onboarding_package": pkgs["onboarding_zip"],
        "mde_report_dir": str(reports),
        "mde_waves": ["100%"],
        "mde_max_fail_percentage": 100,
        **extra,
    }
    vars_file = base / ("%s.vars.json" % name)
    vars_file.write_text(json.dumps(ev), encoding="utf-8")
    rc, out, err = sim.run(
        [
            "ansible-playbook",
            "-i",
            str(inventory or sim.inventory),
            str(ROOT / "playbooks" / "rollout.yml"),
            "-e",
            "@%s" % vars_file,
        ],
        env=CALLBACK,
    )
    path = reports / "fleet-report.json"
    report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return rc, out + err, {h["name"]: h for h in report.get("hosts", [])}


def module_runs(sim) -> dict:
    return {h: sim.module_runs(h) for h in FLEET["hosts"]}


# ============================================================ 13.7 waves and threshold
BAD_WAVES = {
    "zero": ({"mde_waves": [0]}, "mde_waves"),
    "zero-percent": ({"mde_waves": ["0%"]}, "mde_waves"),
    "negative": ({"mde_waves": [-1]}, "mde_waves"),
    "over-100-percent": ({"mde_waves": ["150%"]}, "mde_waves"),
    "fractional-percent": ({"mde_waves": [1, "12.5%"]}, "mde_waves"),
    "not-numbers": ({"mde_waves": "a,b"}, "mde_waves"),
    "empty-string": ({"mde_waves": ""}, "mde_waves"),
    "negative-threshold": ({"mde_max_fail_percentage": -5}, "mde_max_fail_percentage"),
}


@pytest.mark.parametrize("case", sorted(BAD_WAVES))
def test_bad_waves_and_threshold_are_refused_before_any_host_is_touched(sim, case):
    extra, variable = BAD_WAVES[case]
    guard = Invariants(sim, expected_org=ORG)
    before = module_runs(sim)
    rc, out, hosts = rollout(sim, extra, name=case)
    guard.check(out, check_mode=True)  # nothing changed on any host
    assert rc not in (0, 250), out[-3000:]
    assert hosts, "no report was written:\n" + out[-3000:]
    # the pre-flight runs once: the host it ran for carries the refusal, the others were not run
    refused = [r for r in hosts.values() if r["outcome"] == "refused"]
    assert refused and all(r["outcome"] in ("refused", "not_run") for r in hosts.values()), hosts
    for record in refused:
        assert record["reason"] == "invalid_argument", record
        assert variable in (record["msg"] or "") and "no host was changed" in record["msg"], record["msg"]
    # at most the pre-flight ran: no module reached a host
    assert module_runs(sim) == before


# ============================================================ 13.6 a decoy package
def decoy_package(path: Path) -> str:
    """A portal-like package of OTHER whose script first writes ORG's OnboardingInfo to a decoy key."""
    real = packages.onboarding_script(OTHER)
    decoy_line = next(line for line in packages.onboarding_script(ORG).splitlines() if "/v OnboardingInfo" in line)
    decoy_line = decoy_line.replace("Windows Advanced Threat Protection", "Windows Advanced Threat Protection\\Decoy")
    lines = real.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "/v OnboardingInfo" in line)
    script = "".join(lines[:at]) + decoy_line + "\r\n" + "".join(lines[at:])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("WindowsDefenderATPOnboardingScript.cmd", script.encode("utf-8"))
    path.write_bytes(buf.getvalue())
    return str(path)


def test_decoy_package_is_refused_and_nothing_is_onboarded(sim):
    zip_path = decoy_package(Path(sim.base) / "decoy.zip")
    guard = Invariants(sim, expected_org=ORG)
    before = module_runs(sim)
    rc, out, hosts = rollout(sim, {"mde_rollout_onboarding_package": zip_path}, name="decoy")
    guard.check(out, check_mode=True)
    assert rc != 0
    refused = [r for r in hosts.values() if r["outcome"] == "refused"]
    assert refused and all(r["outcome"] in ("refused", "not_run") for r in hosts.values()), hosts
    for record in refused:
        assert record["reason"] in ("wrong_org", "package_invalid"), record
        assert OTHER in (record["msg"] or ""), record["msg"]
    for name in hosts:
        assert onboarded_org(sim.state(name)) is None
    assert module_runs(sim) == before


# ============================================================ 13.8 org id in braces and upper case
def test_upper_case_org_id_in_braces_is_accepted(sim):
    guard = Invariants(sim, expected_org=ORG)
    rc, out, hosts = rollout(sim, {"mde_rollout_expected_org_id": "{%s}" % ORG.upper()}, name="upper")
    guard.check(out)
    assert rc == 0, out[-3000:]
    for name, record in hosts.items():
        assert record["outcome"] == "converged", (name, record)
        assert onboarded_org(sim.state(name)) == ORG


# ============================================================ 13.8 two aliases of one machine
def test_two_aliases_of_one_machine_are_rolled_out_once(sim, tmp_path):
    conn = sim.inventory_data()["all"]["children"]["windows"]["hosts"]["srv"]
    inventory = tmp_path / "aliases.yml"
    hosts = {
        "srv": dict(conn),
        "srv-alias": dict(conn),
        "ws": sim.inventory_data()["all"]["children"]["windows"]["hosts"]["ws"],
    }
    inventory.write_text(yaml.safe_dump({"all": {"children": {"windows": {"hosts": hosts}}}}), encoding="utf-8")
    guard = Invariants(sim, expected_org=ORG)
    rc, out, report = rollout(sim, {}, inventory=inventory, name="aliases")
    guard.check(out)
    assert report["srv"]["outcome"] == "converged", report["srv"]
    assert report["srv-alias"]["outcome"] == "refused" and report["srv-alias"]["reason"] == "duplicate_host", report[
        "srv-alias"
    ]
    assert "srv" in report["srv-alias"]["msg"]
    assert report["ws"]["outcome"] == "converged"
    # the machine ran the rollout once: one passive write, one onboarding
    runs = sim.module_runs("srv")
    assert runs.get("mdeops.defender.win_mde_passive_mode") == 1 and runs.get("mdeops.defender.win_mde_onboarding") == 1
    assert rc == 2

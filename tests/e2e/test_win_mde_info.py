"""win_mde_info end to end: one module run per host, the diagnosis of varied hosts, read-only."""

from __future__ import annotations

import pytest

from tests.e2e.invariants import Invariants

pytestmark = pytest.mark.e2e

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER = "c0ffee00-1234-4abc-8def-0123456789ab"
FORCE = {
    "key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection",
    "name": "ForceDefenderPassiveMode",
    "data": 1,
}

FLEET = {
    "defaults": {"reboot_seconds": 1},
    "hosts": {
        "w11-passive": {
            "os": "windows11_23h2",
            "third_party_av": [{"name": "CrowdStrike Falcon"}],
            "onboarded_org": ORG,
        },
        "w10-noav": {"os": "windows10_22h2"},
        "w10-other": {"os": "windows10_22h2", "third_party_av": [{"name": "Sophos Endpoint"}], "onboarded_org": OTHER},
        "w10-nowsc": {
            "os": "windows10_22h2",
            "security_center_enabled": False,
            "third_party_av": [{"name": "ESET Endpoint Antivirus"}],
            "onboarded_org": ORG,
        },
        "s22-active": {"os": "server2022", "third_party_av": [{"name": "SentinelOne"}], "onboarded_org": ORG},
        "s22-passive": {
            "os": "server2022",
            "third_party_av": [{"name": "SentinelOne"}],
            "onboarded_org": ORG,
            "registry": [FORCE],
        },
        "s22-tp": {
            "os": "server2022",
            "third_party_av": [{"name": "SentinelOne"}],
            "onboarded_org": ORG,
            "tamper_protection": True,
            "registry": [FORCE],
        },
        "w7": {"os": "windows7_sp1", "third_party_av": [{"name": "Symantec Endpoint Protection"}]},
        "s16": {"os": "server2016", "third_party_av": [{"name": "Trend Micro Deep Security"}]},
        "down": {"os": "server2019", "faults": {"down": True}},
    },
}

EXPECTED = {
    "w11-passive": ("passive", True, []),
    "w10-noav": ("active", False, ["not_onboarded", "no_third_party_av"]),
    "w10-other": ("passive", False, ["wrong_org"]),
    "w10-nowsc": ("active", False, ["security_center_disabled"]),
    "s22-active": ("active", False, ["server_passive_not_forced"]),
    "s22-passive": ("passive", True, []),
    "s22-tp": ("passive", True, []),  # forced before onboarding: tamper protection does not matter
    "w7": ("not_installed", False, ["unsupported_os"]),
    "s16": ("active", False, ["unified_agent_required", "not_onboarded"]),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from tests.e2e.conftest import WinSim

    sim = WinSim(tmp_path_factory.mktemp("mde-info"), FLEET).start()
    yield sim
    sim.stop()


def test_diagnosis_of_varied_hosts_in_one_module_run_each(fleet):
    before = {h: fleet.counters(h).get("commands", 0) for h in EXPECTED}
    states_before = {h: (fleet.state_dir / ("%s.json" % h)).read_bytes() for h in EXPECTED}
    guard = Invariants(fleet, expected_org=ORG)
    results = fleet.module("all", "mdeops.defender.win_mde_info", {"expected_org_id": ORG})
    guard.check(check_mode=True)  # read-only
    for host, (mode, compliant, reasons) in EXPECTED.items():
        res = results[host]
        assert not res.get("failed"), res
        assert res["changed"] is False
        assert res["defender"]["mode"] == mode, (host, res["defender"])
        assert res["diagnosis"]["compliant"] is compliant, (host, res["diagnosis"])
        assert [r for r in res["diagnosis"]["reasons"] if r in reasons] == reasons, (host, res["diagnosis"]["reasons"])
        assert res["ansible_facts"]["mde"]["diagnosis"] == res["diagnosis"]
        # exactly one WinRM command (one module run) per host, and nothing written on the host
        counters = fleet.counters(host)
        assert counters["commands"] - before[host] == 1, (host, counters)
        assert counters["modules"]["mdeops.defender.win_mde_info"] >= 1
        assert (fleet.state_dir / ("%s.json" % host)).read_bytes() == states_before[host]
    assert results["down"].get("unreachable") is True


def test_details(fleet):
    guard = Invariants(fleet, expected_org=ORG)
    res = fleet.module(
        "w10-other:s22-active:w10-nowsc",
        "mdeops.defender.win_mde_info",
        {"expected_org_id": ORG, "support_policy": "guide"},
    )
    other = res["w10-other"]
    assert other["onboarding"]["org_id"] == OTHER and other["onboarding"]["org_matches"] is False
    wrong = next(p for p in other["diagnosis"]["problems"] if p["reason"] == "wrong_org")
    assert wrong["family"] == "onboarding" and OTHER in wrong["msg"] and wrong["remediation"]
    server = res["s22-active"]
    assert server["os"]["support"]["supported"] is False  # the guide lists no server
    assert "unsupported_os" in server["diagnosis"]["reasons"]
    products = server["antivirus"]["products"]
    assert products[0]["found_by"] == ["installed_product", "service"] and products[0]["real_time"] is True
    nowsc = res["w10-nowsc"]
    assert nowsc["diagnosis"]["protected"] is True  # the AV service runs although Defender cannot see it
    assert nowsc["security_center"]["service_running"] is False
    guard.check(check_mode=True)  # read-only


def test_check_mode_and_bad_input(fleet):
    guard = Invariants(fleet, expected_org=ORG)
    res = fleet.module("w11-passive", "mdeops.defender.win_mde_info", {"expected_org_id": ORG}, check=True)
    assert res["w11-passive"]["diagnosis"]["compliant"] is True
    before = fleet.counters("w11-passive").get("commands", 0)
    bad = fleet.module("w11-passive", "mdeops.defender.win_mde_info", {"expected_org_id": "not-a-guid"})
    assert bad["w11-passive"]["failed"] is True and bad["w11-passive"]["reason"] == "invalid_argument"
    assert "expected_org_id" in bad["w11-passive"]["msg"]
    unknown = fleet.module("w11-passive", "mdeops.defender.win_mde_info", {"bogus": 1})
    assert unknown["w11-passive"]["reason"] == "invalid_argument" and "bogus" in unknown["w11-passive"]["msg"]
    wrong_type = fleet.module("w11-passive", "mdeops.defender.win_mde_info", {"av_name_patterns": {"a": 1}})
    assert wrong_type["w11-passive"]["reason"] == "invalid_argument"
    assert fleet.counters("w11-passive").get("commands", 0) == before, "bad input must not reach the host"
    guard.check(check_mode=True)  # --check, read-only and refused runs

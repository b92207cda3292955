"""win_mde_info end to end: one module run per host, the diagnosis of varied hosts, read-only."""

from __future__ import annotations

import pytest

from tests.e2e.fleets import FORCE_PASSIVE, ORG
from tests.e2e.invariants import Invariants
from tests.winsim.fleet import onboarding_info_json
from tests.winsim.host import (
    ATP_POLICY_KEY,
    ATP_STATUS_KEY,
    DEFENDER_POLICY_KEY,
    RTP_POLICY_KEY,
    SESSION_MANAGER_KEY,
    WU_REBOOT_REQUIRED_KEY,
    SimHost,
)
from tests.winsim.ps import win_registry

pytestmark = pytest.mark.e2e

OTHER = "c0ffee00-1234-4abc-8def-0123456789ab"

WOW64_UNINSTALL = (
    r"HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall\{5E3F0A11-0000-4000-8000-000000000032}"
)

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
            "registry": [FORCE_PASSIVE],
        },
        "s22-tp": {
            "os": "server2022",
            "third_party_av": [{"name": "SentinelOne"}],
            "onboarded_org": ORG,
            "tamper_protection": True,
            "registry": [FORCE_PASSIVE],
        },
        "w7": {"os": "windows7_sp1", "third_party_av": [{"name": "Symantec Endpoint Protection"}]},
        "s16": {"os": "server2016", "third_party_av": [{"name": "Trend Micro Deep Security"}]},
        "down": {"os": "server2019", "faults": {"down": True}},
        # non-default values everywhere the module reads (test_the_fact_is_what_the_host_holds)
        "s19-facts": {
            "os": "server2019",
            "domain_joined": True,
            "third_party_av": [{"name": "SentinelOne"}],
            "onboarded_org": ORG,
            "pending_reboot": True,
            "registry": [
                {"key": DEFENDER_POLICY_KEY, "name": "ForcePassiveMode", "data": 1},
                {"key": DEFENDER_POLICY_KEY, "name": "DisableAntiSpyware", "data": 0},
                {"key": RTP_POLICY_KEY, "name": "DisableRealtimeMonitoring", "data": 0},
                {"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1},
                {"key": WU_REBOOT_REQUIRED_KEY, "name": "x", "data": 1},
                # a 32-bit program: its uninstall entry is under WOW6432Node
                {
                    "key": WOW64_UNINSTALL,
                    "name": "DisplayName",
                    "type": "REG_SZ",
                    "data": "Trend Micro Deep Security Agent",
                },
                {"key": WOW64_UNINSTALL, "name": "DisplayVersion", "type": "REG_SZ", "data": "20.0.1"},
                {
                    "key": SESSION_MANAGER_KEY,
                    "name": "PendingFileRenameOperations",
                    "type": "REG_MULTI_SZ",
                    "data": ["\\??\\C:\\Windows\\Temp\\old.dll", ""],
                },
            ],
        },
        # the onboarding data is written, Sense has not onboarded yet: the org comes from OnboardingInfo
        "w11-pending": {
            "os": "windows11_23h2",
            "third_party_av": [{"name": "CrowdStrike Falcon"}],
            "registry": [
                {"key": ATP_POLICY_KEY, "name": "OnboardingInfo", "type": "REG_SZ", "data": onboarding_info_json(ORG)}
            ],
        },
        # onboarded by other means: Status\OrgId but no OnboardingInfo policy value
        "w11-statusorg": {
            "os": "windows11_23h2",
            "third_party_av": [{"name": "CrowdStrike Falcon"}],
            "registry": [
                {"key": ATP_STATUS_KEY, "name": "OnboardingState", "data": 1},
                {"key": ATP_STATUS_KEY, "name": "OrgId", "type": "REG_SZ", "data": "{%s}" % ORG.upper()},
            ],
        },
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
        assert "ansible_facts" not in res, "an info module returns its data, it sets no fact"
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


def test_the_fact_is_what_the_host_holds(fleet):
    """Every value win_mde_info reports is the simulated host's own: a key or value name read wrong
    by the PowerShell (or a result key renamed on one side) shows up here as a difference."""
    res = fleet.module("s19-facts:w11-statusorg", "mdeops.defender.win_mde_info", {"expected_org_id": ORG})
    for name, fact in res.items():
        assert not fact.get("failed"), fact
        host = SimHost(name, fleet.state(name), None)
        state = host.state

        def reg(key: str, value: str, host: SimHost = host):
            item = win_registry.values(host, key).get(value)
            return None if item is None else item["data"]

        os_key = win_registry.CURRENT_VERSION
        assert fact["os"]["caption"] == state["os"]["caption"] and fact["os"]["version"] == state["os"]["version"]
        assert fact["os"]["build"] == state["os"]["build"] and fact["os"]["product_type"] == state["os"]["product_type"]
        assert fact["os"]["edition"] == reg(os_key, "EditionID") and fact["os"]["ubr"] == reg(os_key, "UBR")
        assert fact["last_boot_filetime"] == state["boot"]["last_boot_filetime"]
        assert fact["hostname"] == state["hostname"]
        assert fact["domain"] == {"joined": state["domain"]["joined"], "name": state["domain"]["name"]}
        assert fact["policy"] == {
            "force_defender_passive_mode": reg(ATP_POLICY_KEY, "ForceDefenderPassiveMode"),
            "guide_force_passive_mode": reg(DEFENDER_POLICY_KEY, "ForcePassiveMode"),
            "disable_antispyware": reg(DEFENDER_POLICY_KEY, "DisableAntiSpyware"),
            "disable_realtime_monitoring": reg(RTP_POLICY_KEY, "DisableRealtimeMonitoring"),
        }
        assert fact["onboarding"]["onboarding_state"] == reg(ATP_STATUS_KEY, "OnboardingState") == 1
        assert fact["onboarding"]["org_id"] == ORG and fact["onboarding"]["org_matches"] is True
        defender = state["defender"]
        assert (fact["defender"]["platform_version"], fact["defender"]["engine_version"]) == (
            defender["platform_version"],
            defender["engine_version"],
        )
        assert fact["defender"]["signature_version"] == defender["signature_version"]
        assert fact["defender"]["am_running_mode"] == host.running_mode()
        assert fact["tamper_protection"] is bool(defender["tamper_protection"])
        for service in ("WinDefend", "Sense", "WscSvc"):
            model = host.service(service)
            assert fact["services"][service.lower()]["exists"] is (model is not None), service
            if model is not None:
                assert fact["services"][service.lower()]["running"] is (model["state"] == "running"), service
    server = res["s19-facts"]
    assert server["reboot_pending_reasons"] == ["component_based_servicing", "windows_update", "pending_file_rename"]
    installed = {
        values["DisplayName"]["data"]: values.get("DisplayVersion", {}).get("data")
        for key, values in fleet.state("s19-facts")["registry"].items()
        if "\\Uninstall\\" in key and "DisplayName" in values
    }
    products = {p["name"]: p["version"] for p in server["antivirus"]["products"] if not p["microsoft"]}
    assert len(products) == 2 and products == {name: installed[name] for name in products}
    assert res["w11-statusorg"]["reboot_pending"] is False
    pending = fleet.module("w11-pending", "mdeops.defender.win_mde_info", {"expected_org_id": ORG})["w11-pending"]
    assert pending["onboarding"]["org_id"] == ORG and pending["onboarding"]["onboarded"] is False

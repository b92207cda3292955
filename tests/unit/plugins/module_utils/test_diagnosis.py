"""State building and diagnosis rules: one case per reason code and the compliance goal."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._diagnosis import diagnose
from ansible_collections.mdeops.defender.plugins.module_utils._mde_state import build_state
from ansible_collections.mdeops.defender.plugins.module_utils._reasons import FAMILIES, REASONS

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"

CLIENT_OS = {
    "caption": "Microsoft Windows 11 Enterprise",
    "version": "10.0.22631",
    "build_number": "22631",
    "product_type": 1,
    "edition_id": "Enterprise",
}
SERVER_OS = {
    "caption": "Microsoft Windows Server 2022 Datacenter",
    "version": "10.0.20348",
    "build_number": "20348",
    "product_type": 3,
    "edition_id": "ServerDatacenter",
}
RUNNING = {"exists": True, "state": "Running", "start_mode": "Auto"}
STOPPED = {"exists": True, "state": "Stopped", "start_mode": "Manual"}
ABSENT = {"exists": False}
THIRD_ON = {"displayName": "CrowdStrike Falcon Sensor", "productState": 266240}
THIRD_OFF = {"displayName": "CrowdStrike Falcon Sensor", "productState": 262144}
DEFENDER_OFF = {"displayName": "Windows Defender", "productState": 393472}


def raw(
    kind="client",
    mode="Passive Mode",
    onboarded=True,
    org=ORG,
    sense=None,
    wsc=None,
    sc_products=(THIRD_ON, DEFENDER_OFF),
    av_services=(),
    tamper=False,
    policy=None,
    pending=None,
    platform="4.18.24090.11",
    rtp=None,
):
    server = kind == "server"
    sense = RUNNING if sense is None else sense
    wsc = RUNNING if wsc is None else wsc
    reg = {
        "onboarding_state": 1 if onboarded else None,
        "onboarding_org_id": org,
        "force_defender_passive_mode": None,
        "guide_force_passive_mode": None,
        "disable_antispyware": None,
        "disable_realtime_monitoring": None,
    }
    reg.update(policy or {})
    mp = (
        None
        if mode is None
        else {
            "AMRunningMode": mode,
            "AMProductVersion": platform,
            "IsTamperProtected": tamper,
            "RealTimeProtectionEnabled": (mode == "Normal") if rtp is None else rtp,
        }
    )
    return {
        "os": SERVER_OS if server else CLIENT_OS,
        "computer": {"dns_hostname": "H1", "domain": "WORKGROUP", "part_of_domain": False},
        "mp_status": mp,
        "mp_status_error": None if mp else "Get-MpComputerStatus is not available on this host",
        "services": {"WinDefend": RUNNING if mode else ABSENT, "Sense": sense, "WscSvc": ABSENT if server else wsc},
        "registry": reg,
        "security_center": {
            "available": not server and wsc is RUNNING,
            "error": None,
            "products": [] if server else list(sc_products),
        },
        "av_services": list(av_services),
        "installed_products": [],
        "reboot_pending": pending or {},
    }


def run(r, expected=ORG):
    state = build_state(r, expected_org_id=expected)
    return state, diagnose(state, expected_org_id=expected)


def reasons(r, expected=ORG):
    return run(r, expected)[1]["reasons"]


def test_client_goal_met_is_compliant():
    state, d = run(raw())
    assert d["compliant"] and d["protected"] and d["goal_met"] and d["problems"] == []
    assert state["onboarding"]["org_id"] == ORG and state["antivirus"]["third_party_active"]


def test_edr_block_mode_is_compliant():
    assert run(raw(mode="EDR Block Mode"))[1]["compliant"]


def test_server_compliant_with_running_av_service():
    svc = [{"name": "SentinelAgent", "display_name": "Sentinel Agent", "state": "Running", "start_mode": "Auto"}]
    state, d = run(raw(kind="server", av_services=svc, policy={"force_defender_passive_mode": 1}))
    assert d["compliant"], d
    assert state["antivirus"]["products"][0]["found_by"] == ["service"]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (dict(onboarded=False, org=None, mode="Not running"), "not_onboarded"),
        (dict(sense=STOPPED), "sensor_not_running"),
        (dict(onboarded=False, mode="Not running", sense=STOPPED), "sensor_not_running"),
        (dict(org=OTHER), "wrong_org"),
        (dict(sc_products=(DEFENDER_OFF,), mode="Normal"), "no_third_party_av"),
        (dict(sc_products=(THIRD_OFF, DEFENDER_OFF), mode="Normal"), "third_party_av_inactive"),
        (dict(wsc=STOPPED, mode="Normal"), "security_center_disabled"),
        (dict(policy={"disable_antispyware": 1}), "disable_antispyware_policy"),
        (dict(policy={"disable_realtime_monitoring": 1}), "realtime_monitoring_disabled_policy"),
        (dict(policy={"guide_force_passive_mode": 1}), "guide_registry_value_ignored"),
        (dict(mode="Normal"), "passive_mode_not_reached"),
        (dict(mode="SxS Passive Mode", onboarded=False, org=None), "sxs_passive_mode"),
        (dict(pending={"windows_update": True}), "reboot_pending"),
        (dict(mode=None), "defender_not_installed"),
    ],
)
def test_client_reasons(kwargs, reason):
    assert reason in reasons(raw(**kwargs))


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (dict(mode="Normal"), "server_passive_not_forced"),
        (
            dict(mode="Normal", tamper=True, policy={"force_defender_passive_mode": 1}),
            "tamper_protection_blocks_passive",
        ),
        (dict(mode="Normal", policy={"force_defender_passive_mode": 1}), "reboot_pending"),
        (dict(mode="Normal", onboarded=False, org=None, sense=STOPPED), "server_passive_not_forced"),
    ],
)
def test_server_reasons(kwargs, reason):
    svc = [{"name": "CSFalconService", "display_name": "CrowdStrike Falcon Sensor Service", "state": "Running"}]
    assert reason in reasons(raw(kind="server", av_services=svc, **kwargs))


def test_server_without_av_service_has_no_third_party_av():
    assert "no_third_party_av" in reasons(raw(kind="server", mode="Normal"))


def test_unsupported_os():
    r = raw()
    r["os"] = {"caption": "Microsoft Windows 7 Enterprise", "build_number": "7601", "product_type": 1}
    assert "unsupported_os" in reasons(r)
    r["os"] = dict(SERVER_OS, build_number="14393", caption="Microsoft Windows Server 2016")
    r["services"]["Sense"] = ABSENT
    assert "unified_agent_required" in reasons(r)


def test_unregistered_av_still_protects_but_is_not_seen():
    svc = [{"name": "CSFalconService", "display_name": "CrowdStrike Falcon Sensor", "state": "Running"}]
    state, d = run(raw(sc_products=(DEFENDER_OFF,), av_services=svc, mode="Normal"))
    product = next(p for p in state["antivirus"]["products"] if p["third_party"])
    assert product["registered"] is False and product["real_time"] is False
    assert state["antivirus"]["third_party_protecting"] and not state["antivirus"]["third_party_active"]
    assert "third_party_av_inactive" in d["reasons"] and not d["compliant"] and d["protected"]


def test_passive_with_inactive_third_party_is_unprotected_and_says_so():
    _state, d = run(raw(sc_products=(THIRD_OFF, DEFENDER_OFF), mode="Passive Mode"))
    assert d["protected"] is False and not d["compliant"]
    assert (
        "NO real-time antivirus protection"
        in next(p for p in d["problems"] if p["reason"] == "third_party_av_inactive")["msg"]
    )


def test_every_problem_has_family_msg_remediation():
    cases = [
        raw(org=OTHER, sense=STOPPED, policy={"disable_antispyware": 1, "guide_force_passive_mode": 1}),
        raw(wsc=STOPPED),
    ]
    for r in cases:
        for p in run(r)[1]["problems"]:
            assert p["family"] in FAMILIES and p["msg"] and p["remediation"] and p["reason"] in REASONS


def test_without_expected_org_any_org_is_fine():
    assert run(raw(org=OTHER), expected=None)[1]["compliant"]


def test_build_state_does_not_mutate_raw():
    r = raw()
    before = copy.deepcopy(r)
    build_state(r, expected_org_id=ORG)
    assert r == before

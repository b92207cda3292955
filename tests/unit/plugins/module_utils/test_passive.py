"""Decisions of win_mde_passive_mode (module_utils/_passive.py): values, change, guard, reboot, diff."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _passive, _registry
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError

NONE = {"force_defender_passive_mode": None, "guide_force_passive_mode": None}


def values(doc=None, guide=None) -> dict:
    return {"force_defender_passive_mode": doc, "guide_force_passive_mode": guide}


def host(
    kind="server",
    onboarded=False,
    mode="active",
    tamper=False,
    platform="4.18.24090.11",
    third_party=True,
    active=True,
    protecting=None,
    sc_applicable=None,
    supported=True,
) -> dict:
    products = []
    if third_party:
        products.append({"name": "CrowdStrike Falcon Sensor", "third_party": True, "real_time": active})
    return {
        "hostname": "SRV01",
        "os": {"kind": kind, "support": {"supported": supported, "name": "Windows Server 2022", "detail": "x"}},
        "defender": {"mode": mode, "tamper_protected": tamper, "platform_version": platform},
        "onboarding": {"onboarded": onboarded},
        "policy": {"force_defender_passive_mode": None, "guide_force_passive_mode": None},
        "security_center": {"applicable": kind == "workstation" if sc_applicable is None else sc_applicable},
        "antivirus": {
            "products": products,
            "third_party_present": third_party,
            "third_party_active": third_party and active,
            "third_party_protecting": third_party and (active if protecting is None else protecting),
            "third_party_names": [p["name"] for p in products],
        },
    }


# ---------------------------------------------------------------- values and change


def test_locations_are_microsofts_and_the_guides():
    assert _registry.ATP_POLICY_KEY == r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection"
    assert _registry.FORCE_PASSIVE == "ForceDefenderPassiveMode"
    assert _registry.DEFENDER_POLICY_KEY == r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender"
    assert _registry.GUIDE_FORCE_PASSIVE == "ForcePassiveMode"


def test_values_from_state_and_raw():
    state = host()
    state["policy"].update(force_defender_passive_mode="1", disable_antispyware=1)
    assert _passive.values_from_state(state) == values(1)
    assert _passive.values_from_raw(
        {"force_defender_passive_mode": 0, "guide_force_passive_mode": None, "extra": 1}
    ) == values(0)
    assert _passive.values_from_raw(None) == NONE


@pytest.mark.parametrize(
    ("state", "guide_value", "before", "desired", "guide_state"),
    [
        ("present", False, NONE, values(1), "unmanaged"),
        ("absent", False, NONE, values(0), "unmanaged"),  # 0, the documented way back, not a delete
        ("present", True, NONE, values(1, 1), "present"),
        ("absent", True, values(1, 1), values(0), "absent"),
        ("present", False, values(0, 1), values(1, 1), "unmanaged"),  # guide's value left alone
        ("absent", False, values(1, 1), values(0, 1), "unmanaged"),
    ],
)
def test_desired_values(state, guide_value, before, desired, guide_state):
    assert _passive.desired_values(state, guide_value, before) == desired
    assert _passive.guide_state(state, guide_value) == guide_state


def test_needs_change():
    assert _passive.needs_change(NONE, values(1)) is True
    assert _passive.needs_change(values(1), values(1)) is False
    assert _passive.needs_change(values(1, None), values(1, 1)) is True
    assert _passive.needs_change(values(0, 1), values(0, 1)) is False


# ---------------------------------------------------------------- guard


def test_guard_passes_with_a_protecting_third_party_av():
    assert _passive.check_guard(host(), True) == []


def test_guard_refuses_without_third_party_av():
    with pytest.raises(MdeError) as err:
        _passive.check_guard(host(third_party=False), True, host="SRV01")
    assert err.value.reason == "no_third_party_av"
    assert "SRV01" in err.value.msg and "Windows Server has no Security Center" in err.value.msg


def test_guard_message_on_a_client_mentions_security_center():
    with pytest.raises(MdeError) as err:
        _passive.check_guard(host(kind="workstation", third_party=False), True)
    assert "Security Center, services and installed products" in err.value.msg


def test_guard_refuses_an_inactive_third_party_av():
    with pytest.raises(MdeError) as err:
        _passive.check_guard(host(active=False), True)
    assert err.value.reason == "third_party_av_inactive"
    assert "CrowdStrike Falcon Sensor" in err.value.msg


def test_guard_counts_a_running_av_that_security_center_does_not_know():
    # Client: the service runs but the product is not registered; it still protects the host.
    state = host(kind="workstation", active=False, protecting=True)
    state["antivirus"]["products"][0]["real_time_service"] = True
    assert _passive.check_guard(state, True) == []
    assert _passive.third_party_view(state)["protecting_names"] == ["CrowdStrike Falcon Sensor"]


def test_guard_off_always_warns():
    warning = _passive.check_guard(host(), False)
    assert len(warning) == 1 and "OFF" in warning[0]
    danger = _passive.check_guard(host(third_party=False), False)
    assert danger[0].startswith("DANGER") and "NO real-time antivirus protection" in danger[0]
    inactive = _passive.check_guard(host(active=False), False)
    assert inactive[0].startswith("DANGER")


# ---------------------------------------------------------------- tamper protection


@pytest.mark.parametrize(
    ("kwargs", "state", "blocked"),
    [
        ({"onboarded": True, "tamper": True}, "present", True),
        ({"onboarded": True, "tamper": True, "kind": "domain_controller"}, "present", True),
        ({"onboarded": True, "tamper": True}, "absent", False),
        ({"onboarded": False, "tamper": True}, "present", False),  # before onboarding: set it now
        ({"onboarded": True, "tamper": False}, "present", False),
        ({"onboarded": True, "tamper": True, "mode": "passive"}, "present", False),
        ({"onboarded": True, "tamper": True, "platform": "4.18.2207.7"}, "present", False),
        ({"onboarded": True, "tamper": True, "platform": "4.18.2208.0"}, "present", True),
        ({"onboarded": True, "tamper": True, "kind": "workstation"}, "present", False),
    ],
)
def test_tamper_protection_blocks(kwargs, state, blocked):
    assert _passive.tamper_protection_blocks(state, host(**kwargs)) is blocked


def test_advisories():
    warnings, blocked, remediation = _passive.advisories("present", host(onboarded=True, tamper=True))
    assert blocked is True and "troubleshooting mode" in remediation
    assert any("Tamper protection" in w for w in warnings)
    warnings, blocked, remediation = _passive.advisories("present", host(kind="workstation"))
    assert blocked is False and remediation is None
    assert any("Windows Server only" in w for w in warnings)
    assert _passive.advisories("absent", host(kind="workstation")) == ([], False, None)
    warnings = _passive.advisories("present", host(supported=False))[0]
    assert any("not supported" in w for w in warnings)
    assert _passive.advisories("present", host()) == ([], False, None)


# ---------------------------------------------------------------- reboot_required


@pytest.mark.parametrize(
    ("state", "before", "after", "kwargs", "expected"),
    [
        # absent: documented reboot when the value went from 1 to 0
        ("absent", values(1), values(0), {"onboarded": True, "mode": "passive"}, True),
        ("absent", values(1), values(0), {"onboarded": False}, True),
        ("absent", NONE, values(0), {"onboarded": True}, False),
        ("absent", values(0), values(0), {"onboarded": True, "mode": "passive"}, False),
        # present: onboarded and not passive yet -> the safe choice
        ("present", NONE, values(1), {"onboarded": True, "mode": "active"}, True),
        ("present", values(1), values(1), {"onboarded": True, "mode": "active"}, True),
        ("present", NONE, values(1), {"onboarded": True, "mode": "disabled"}, True),
        ("present", NONE, values(1), {"onboarded": True, "mode": "passive"}, False),
        ("present", NONE, values(1), {"onboarded": True, "mode": "edr_block"}, False),
        ("present", NONE, values(1), {"onboarded": True, "mode": "not_installed"}, False),
        # present before onboarding: Sense reads it at onboarding
        ("present", NONE, values(1), {"onboarded": False}, False),
        # the guide's value never needs a reboot
        ("present", values(1), values(1, 1), {"onboarded": True, "mode": "passive"}, False),
        # check mode of a refused/failed write keeps after = before
        ("present", values(0), values(0), {"onboarded": True}, False),
    ],
)
def test_reboot_required(state, before, after, kwargs, expected):
    assert _passive.reboot_required(state, before, after, host(**kwargs)) is expected


# ---------------------------------------------------------------- diff


def test_registry_text_is_reg_style():
    text = _passive.registry_text(values(1, None), include_guide=True)
    assert text == (
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection]\n"
        '"ForceDefenderPassiveMode"=dword:00000001\n'
        "\n"
        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Defender]\n"
        '; "ForcePassiveMode" is not set\n'
    )
    assert "Windows Defender]" not in _passive.registry_text(values(0), include_guide=False)


def test_build_diff_shows_the_guide_key_only_when_relevant():
    diff = _passive.build_diff(NONE, values(1), guide_value=False)
    assert set(diff) == {"before", "after", "before_header", "after_header"}
    assert '; "ForceDefenderPassiveMode" is not set' in diff["before"]
    assert '"ForceDefenderPassiveMode"=dword:00000001' in diff["after"]
    assert "Windows Defender]" not in diff["after"]
    assert "Windows Defender]" in _passive.build_diff(NONE, values(1, 1), guide_value=True)["after"]
    # a stale guide value is shown even when it is not managed
    assert "Windows Defender]" in _passive.build_diff(values(1, 1), values(1, 1), guide_value=False)["before"]

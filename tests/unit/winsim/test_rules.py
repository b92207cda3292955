"""The simulator's Defender mode rules: one case per row of docs/sources.md §1.1, §5.1, §8 and §2.1."""

from __future__ import annotations

import pytest

from tests.winsim import rules
from tests.winsim.fleet import new_state
from tests.winsim.host import ATP_POLICY_KEY, ATP_STATUS_KEY, DEFENDER_POLICY_KEY, SimHost

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
AV = [{"name": "CrowdStrike Falcon"}]
FORCE = {"key": ATP_POLICY_KEY, "name": "ForceDefenderPassiveMode", "data": 1}
DISABLE_AS = {"key": DEFENDER_POLICY_KEY, "name": "DisableAntiSpyware", "data": 1}


def host(**settings) -> SimHost:
    return SimHost("h", new_state("h", settings), None)


def onboard(h: SimHost) -> None:
    """What a successful onboarding script leaves behind."""
    h.reg_set(ATP_STATUS_KEY, "OnboardingState", 1)
    h.set_service("Sense", state="running", start_mode="auto")
    rules.on_onboarded(h.state)


def reboot(h: SimHost) -> None:
    h.complete_boot()


def mode(h: SimHost) -> str | None:
    return rules.derive_running_mode(h.state)


# ---- §1.1 decision table (clients) -------------------------------------------------------


@pytest.mark.parametrize("os_key", ["windows10_22h2", "windows11_23h2"])
def test_client_mdav_primary_is_active_whether_onboarded_or_not(os_key):
    h = host(os=os_key)
    assert mode(h) == rules.NORMAL
    onboard(h)
    assert mode(h) == rules.NORMAL


def test_client_third_party_onboarded_goes_passive_by_itself():
    h = host(os="windows10_22h2", third_party_av=AV)
    onboard(h)
    assert mode(h) == rules.PASSIVE
    assert not rules.real_time_protection_enabled(h.state, mode(h))


def test_client_third_party_not_onboarded_is_disabled():
    assert mode(host(os="windows10_22h2", third_party_av=AV)) == rules.NOT_RUNNING


def test_windows11_smart_app_control_not_onboarded_goes_passive():
    assert mode(host(os="windows11_23h2", third_party_av=AV, smart_app_control=True)) == rules.PASSIVE
    # the exception is Windows 11 only
    assert mode(host(os="windows10_22h2", third_party_av=AV, smart_app_control=True)) == rules.NOT_RUNNING


def test_client_security_center_off_keeps_defender_active():
    h = host(os="windows10_22h2", third_party_av=AV, security_center_enabled=False, onboarded_org=ORG)
    assert mode(h) == rules.NORMAL


def test_client_unregistered_third_party_av_is_invisible():
    h = host(
        os="windows10_22h2", third_party_av=[{"name": "CrowdStrike Falcon", "registered": False}], onboarded_org=ORG
    )
    assert mode(h) == rules.NORMAL


@pytest.mark.parametrize("change", ["uninstalled", "rtp_off"])
def test_client_returns_to_active_when_third_party_av_goes(change):
    h = host(os="windows11_23h2", third_party_av=AV, onboarded_org=ORG)
    assert mode(h) == rules.PASSIVE
    av = h.state["third_party_av"][0]
    av["installed" if change == "uninstalled" else "real_time"] = False
    assert mode(h) == rules.NORMAL


def test_client_ignores_force_defender_passive_mode():
    # MODEL: documented for servers only; a client without a third-party AV stays active.
    h = host(os="windows10_22h2", registry=[FORCE], onboarded_org=ORG)
    assert mode(h) == rules.NORMAL


# ---- §1.1 (servers) ------------------------------------------------------------------------


@pytest.mark.parametrize("os_key", ["server2019", "server2022", "server2025"])
def test_server_never_goes_passive_by_itself(os_key):
    h = host(os=os_key, third_party_av=AV)
    assert mode(h) == rules.NORMAL  # not onboarded: stays active
    onboard(h)
    assert mode(h) == rules.NORMAL  # onboarded without the value: still active


def test_server_force_before_onboarding_goes_passive_at_onboarding():
    h = host(os="server2022", third_party_av=AV)
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    assert mode(h) == rules.NORMAL  # passive needs onboarding
    onboard(h)
    assert mode(h) == rules.PASSIVE


def test_server_without_third_party_av_is_active():
    assert mode(host(os="server2022")) == rules.NORMAL


def test_server_2012r2_needs_the_unified_solution():
    assert mode(host(os="server2012r2")) is None  # no Defender without md4ws
    h = host(os="server2012r2", unified_agent=True, third_party_av=AV)
    assert mode(h) == rules.NORMAL  # installed active (§1.1)
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    onboard(h)
    assert mode(h) == rules.PASSIVE


def test_server_2016_old_solution_cannot_go_passive():
    h = host(os="server2016", third_party_av=AV, registry=[FORCE])
    onboard(h)
    assert mode(h) == rules.NORMAL


def test_md4ws_forcepassivemode_is_passive_at_install():
    h = host(os="server2016", unified_agent=True, third_party_av=AV)
    h.state["mde"]["unified_agent_force_passive"] = True
    assert mode(h) == rules.PASSIVE


def test_edr_block_mode_reads_edr_block_when_passive_and_normal_when_active():
    h = host(os="windows11_23h2", third_party_av=AV, onboarded_org=ORG, edr_block_mode=True)
    assert mode(h) == rules.EDR_BLOCK
    assert mode(host(os="windows11_23h2", onboarded_org=ORG, edr_block_mode=True)) == rules.NORMAL


# ---- §8 tamper protection ----------------------------------------------------------------------


def test_tamper_protection_keeps_server_active_when_value_set_after_onboarding():
    h = host(os="server2022", third_party_av=AV, tamper_protection=True, onboarded_org=ORG)
    assert mode(h) == rules.NORMAL
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    reboot(h)
    assert mode(h) == rules.NORMAL


def test_without_tamper_protection_value_after_onboarding_works_after_reboot():
    h = host(os="server2022", third_party_av=AV, onboarded_org=ORG)
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    assert mode(h) == rules.NORMAL  # MODEL: read at boot
    reboot(h)
    assert mode(h) == rules.PASSIVE


def test_tamper_protection_lock_needs_platform_2208():
    h = host(
        os="server2022", third_party_av=AV, tamper_protection=True, onboarded_org=ORG, defender_platform="4.18.2207.7"
    )
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    reboot(h)
    assert mode(h) == rules.PASSIVE


def test_force_zero_and_reboot_returns_server_to_active():
    h = host(os="server2022", third_party_av=AV, registry=[FORCE], onboarded_org=ORG)
    assert mode(h) == rules.PASSIVE
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 0)
    assert mode(h) == rules.PASSIVE  # until the reboot
    reboot(h)
    assert mode(h) == rules.NORMAL


# ---- §5.1 DisableAntiSpyware ---------------------------------------------------------------------


def test_server_disable_antispyware_before_onboarding_stays_disabled_until_forced():
    h = host(os="server2022", third_party_av=AV, registry=[DISABLE_AS])
    assert mode(h) == rules.NOT_RUNNING
    onboard(h)
    assert mode(h) == rules.NOT_RUNNING
    h.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    reboot(h)
    assert mode(h) == rules.PASSIVE


def test_server_disable_antispyware_after_onboarding_gives_passive_on_new_platform():
    h = host(os="server2022", third_party_av=AV, onboarded_org=ORG)
    h.reg_set(DEFENDER_POLICY_KEY, "DisableAntiSpyware", 1)
    reboot(h)
    assert mode(h) == rules.PASSIVE
    old = host(os="server2022", third_party_av=AV, onboarded_org=ORG, defender_platform="4.18.2205.7")
    old.reg_set(DEFENDER_POLICY_KEY, "DisableAntiSpyware", 1)
    reboot(old)
    assert mode(old) == rules.NOT_RUNNING


def test_client_disable_antispyware_ignored_on_current_platform():
    assert mode(host(os="windows10_22h2", registry=[DISABLE_AS])) == rules.NORMAL
    assert mode(host(os="windows10_22h2", registry=[DISABLE_AS], defender_platform="4.18.2006.10")) == rules.NOT_RUNNING


# ---- §2.1 and the guide's value ------------------------------------------------------------------


def test_limited_periodic_scanning_is_sxs_passive():
    assert mode(host(os="windows10_22h2", third_party_av=AV, limited_periodic_scanning=True)) == rules.SXS_PASSIVE


def test_guide_force_passive_mode_value_has_no_effect():
    h = host(os="server2022", third_party_av=AV, onboarded_org=ORG)
    h.reg_set(DEFENDER_POLICY_KEY, "ForcePassiveMode", 1)
    reboot(h)
    assert mode(h) == rules.NORMAL


def test_invariant_helper_counts_defender_or_third_party():
    assert rules.host_has_real_time_protection(host(os="windows10_22h2").state)
    assert rules.host_has_real_time_protection(host(os="windows10_22h2", third_party_av=AV, onboarded_org=ORG).state)
    off = host(os="windows10_22h2", third_party_av=[{"name": "CrowdStrike Falcon", "real_time": False}])
    assert rules.host_has_real_time_protection(off.state)  # Defender stays active
    assert not rules.host_has_real_time_protection(host(os="windows7_sp1").state)

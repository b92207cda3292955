"""Defender's timeline: the mode switches some time after onboarding and after a boot (host timers)."""

from __future__ import annotations

import pytest

from tests.unit.winsim.native_helpers import CLIENT, ORG, SERVER, make_host
from tests.winsim import fleet, rules
from tests.winsim.host import ATP_POLICY_KEY
from tests.winsim.native import services

TIMELINE = {"client_mode_switch_s": 60, "server_mode_switch_s": 90, "boot_mode_switch_s": 45}


def onboard(host) -> float:
    """Write the onboarding data and start Sense; returns the time onboarding completed."""
    host.reg_set(ATP_POLICY_KEY, "OnboardingInfo", fleet.onboarding_info_json(ORG), "REG_SZ")
    assert services.start_service(host, "Sense") == 0
    host.advance(15 + 2 + 0.01)  # Sense's start, then it writes OnboardingState (timers: ms)
    assert rules.is_onboarded(host.state)
    return host.now()


def test_without_a_timeline_the_client_switches_at_once():
    host = make_host()
    onboard(host)
    assert host.running_mode() == rules.PASSIVE
    assert "timers" not in host.state


def test_a_client_goes_passive_after_its_delay():
    host = make_host(timeline=TIMELINE)
    assert host.running_mode() == rules.NOT_RUNNING  # third-party AV, not onboarded: disabled
    done = onboard(host)
    assert host.running_mode() == rules.NOT_RUNNING
    host.advance_to(done + 59)
    assert host.running_mode() == rules.NOT_RUNNING
    host.advance_to(done + 60.01)
    assert host.running_mode() == rules.PASSIVE
    assert rules.host_has_real_time_protection(host.state)


def test_a_server_with_the_value_set_first_and_tamper_protection_goes_passive_after_its_delay():
    host = make_host(**SERVER, tamper_protection=True, timeline=TIMELINE)
    host.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    done = onboard(host)
    # Until Defender switches it runs as before: active (not latched: it has not settled yet)
    assert host.running_mode() == rules.NORMAL
    assert not host.state["defender"]["active_latched"]
    host.advance_to(done + 90.01)
    assert host.running_mode() == rules.PASSIVE
    assert not host.state["defender"]["active_latched"]


def test_a_value_written_after_onboarding_waits_for_the_boot_and_tamper_protection_keeps_it_active():
    host = make_host(**SERVER, tamper_protection=True, timeline=TIMELINE)
    done = onboard(host)
    host.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)  # too late: read at onboarding
    host.advance_to(done + 90.01)
    assert host.running_mode() == rules.NORMAL
    assert host.state["defender"]["active_latched"]
    host.complete_boot()
    host.advance(45.01)
    assert host.running_mode() == rules.NORMAL  # §8: tamper protection keeps it active


def test_after_a_boot_the_server_switches_after_its_delay():
    host = make_host(**SERVER, timeline=TIMELINE)
    done = onboard(host)
    host.advance_to(done + 90.01)
    assert host.running_mode() == rules.NORMAL
    host.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    host.complete_boot()
    booted = host.now()
    assert host.running_mode() == rules.NORMAL  # runs as before the boot ...
    host.advance_to(booted + 44)
    assert host.running_mode() == rules.NORMAL
    host.advance_to(booted + 45.01)
    assert host.running_mode() == rules.PASSIVE  # ... then with the policy it read at boot


def test_a_boot_before_the_switch_replaces_it():
    host = make_host(**SERVER, timeline=TIMELINE)
    host.reg_set(ATP_POLICY_KEY, "ForceDefenderPassiveMode", 1)
    done = onboard(host)
    host.advance_to(done + 80)
    host.complete_boot()
    booted = host.now()
    host.advance_to(booted + 40)  # the onboarding's switch (due at done + 90) is void ...
    assert host.running_mode() == rules.NORMAL
    host.advance_to(booted + 45.01)
    assert host.running_mode() == rules.PASSIVE


def test_offboarding_before_the_switch_voids_it():
    host = make_host(timeline=TIMELINE)
    done = onboard(host)
    rules.on_offboarded(host.state)
    host.set_service("Sense", state="stopped")
    host.advance_to(done + 120)
    assert host.running_mode() == rules.NOT_RUNNING
    assert "pending_policy" not in host.state["defender"]


def test_a_host_onboarded_before_the_simulation_has_settled():
    state = fleet.new_state("h", {**CLIENT, "onboarded_org": ORG, "timeline": True})
    assert rules.derive_running_mode(state) == rules.PASSIVE
    assert state["timeline"] == rules.TIMELINE_DEFAULTS


@pytest.mark.parametrize(
    "spec, error",
    [
        ({"client_mode_switch": 1}, "unknown keys"),
        ({"boot_mode_switch_s": -1}, ">= 0"),
        ({"boot_mode_switch_s": True}, ">= 0"),
        ("yes", "true, false or a mapping"),
    ],
)
def test_bad_timelines_are_refused(spec, error):
    with pytest.raises(fleet.FleetError, match=error):
        fleet.validate_fleet({"hosts": {"h": {"timeline": spec}}})

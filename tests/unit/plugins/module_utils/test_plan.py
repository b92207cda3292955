"""The rollout plan of one host: one case per rule of module_utils/_plan.py."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._plan import STEPS, PlanOptions, plan_host
from tests.unit.plugins.module_utils.test_diagnosis import DEFENDER_OFF, OTHER, STOPPED, THIRD_OFF, raw, run

SVC_ON = [{"name": "SentinelAgent", "display_name": "Sentinel Agent", "state": "Running", "start_mode": "Auto"}]
SVC_OFF = [{"name": "SentinelAgent", "display_name": "Sentinel Agent", "state": "Stopped", "start_mode": "Auto"}]
DEFAULT = PlanOptions()


def plan(r, options=DEFAULT):
    state, diagnosis = run(r)
    return plan_host(state, diagnosis, options)


def server(**kwargs):
    kwargs.setdefault("av_services", SVC_ON)
    kwargs.setdefault("platform", "4.18.24090.11")
    return raw(kind="server", **kwargs)


# ---------------------------------------------------------------------------- done
def test_compliant_client_is_done():
    p = plan(raw())
    assert (p["action"], p["goal"], p["steps"], p["reason"], p["wave"]) == ("done", "passive", [], None, False)
    assert plan(raw(), PlanOptions(confirm_edr=True))["wave"] is True


def test_compliant_server_is_done():
    assert plan(server(policy={"force_defender_passive_mode": 1}))["action"] == "done"


def test_onboarded_active_client_without_av_is_done_active_by_design():
    p = plan(raw(sc_products=(DEFENDER_OFF,), mode="Normal"))
    assert (p["action"], p["goal"], p["reason"]) == ("done", "active_by_design", "no_third_party_av")
    assert "never set to passive" in p["detail"]


# ---------------------------------------------------------------------------- rollout
def test_new_client_is_onboarded_then_verified():
    p = plan(raw(onboarded=False, org=None, mode="Not running", sense=STOPPED))
    assert (p["action"], p["goal"], p["steps"]) == ("rollout", "passive", ["onboard", "verify_mode"])


def test_new_server_gets_the_value_before_onboarding():
    p = plan(server(onboarded=False, org=None, mode="Normal", sense=STOPPED))
    assert p["steps"] == ["registry", "onboard", "verify_mode"]


def test_new_server_by_group_policy():
    p = plan(
        server(onboarded=False, org=None, mode="Normal", sense=STOPPED),
        PlanOptions(passive_method="group_policy"),
    )
    assert p["steps"] == ["group_policy", "onboard", "verify_mode"]


def test_server_with_the_value_is_only_onboarded():
    p = plan(server(onboarded=False, org=None, mode="Normal", sense=STOPPED, policy={"force_defender_passive_mode": 1}))
    assert p["steps"] == ["onboard", "verify_mode"]


def test_onboarded_server_without_tamper_protection_gets_value_and_reboot():
    p = plan(server(mode="Normal"))
    assert p["steps"] == ["registry", "reboot", "verify_mode"]


def test_onboarded_server_with_value_and_active_needs_only_a_reboot():
    p = plan(server(mode="Normal", policy={"force_defender_passive_mode": 1}))
    assert p["action"] == "rollout" and p["steps"] == ["reboot", "verify_mode"]


def test_clients_get_the_value_only_when_asked():
    new = dict(onboarded=False, org=None, mode="Not running", sense=STOPPED)
    assert "registry" not in plan(raw(**new))["steps"]
    assert plan(raw(**new), PlanOptions(force_passive_on_clients=True))["steps"] == [
        "registry",
        "onboard",
        "verify_mode",
    ]


def test_host_without_av_is_onboarded_never_set_passive():
    p = plan(server(av_services=(), onboarded=False, org=None, mode="Normal", sense=STOPPED))
    assert (p["action"], p["goal"], p["steps"]) == ("rollout", "active_by_design", ["onboard", "verify_mode"])
    assert p["reason"] == "no_third_party_av"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (dict(sc_products=(DEFENDER_OFF,)), "no_third_party_av"),
        (dict(sc_products=(THIRD_OFF, DEFENDER_OFF)), "third_party_av_inactive"),
        (dict(wsc=STOPPED), "security_center_disabled"),
    ],
)
def test_no_av_reasons_are_kept(kwargs, reason):
    r = raw(onboarded=False, org=None, mode="Normal", sense=STOPPED, **kwargs)
    p = plan(r)
    assert (p["action"], p["goal"], p["reason"]) == ("rollout", "active_by_design", reason)
    assert "registry" not in p["steps"]
    refused = plan(r, PlanOptions(require_third_party_av=True))
    assert (refused["action"], refused["reason"], refused["steps"]) == ("refuse", reason, [])


# ---------------------------------------------------------------------------- refusals
def test_other_org_is_refused():
    p = plan(raw(org=OTHER))
    assert (p["action"], p["reason"]) == ("refuse", "wrong_org")


def test_tamper_protection_is_predicted_at_assessment():
    p = plan(server(mode="Normal", tamper=True, platform="4.18.2208.0"))
    assert (p["action"], p["reason"], p["steps"]) == ("refuse", "tamper_protection_blocks_passive", [])


def test_tamper_protection_on_an_old_platform_does_not_lock():
    p = plan(server(mode="Normal", tamper=True, platform="4.18.2207.9"))
    assert p["steps"] == ["registry", "reboot", "verify_mode"]


def test_tamper_protection_before_onboarding_does_not_lock():
    p = plan(server(onboarded=False, org=None, mode="Normal", sense=STOPPED, tamper=True, platform="4.18.2208.0"))
    assert p["steps"] == ["registry", "onboard", "verify_mode"]


def test_unified_agent_required_without_installer_is_refused():
    os_2016 = {
        "caption": "Microsoft Windows Server 2016 Standard",
        "version": "10.0.14393",
        "build_number": "14393",
        "product_type": 3,
        "edition_id": "ServerStandard",
    }
    r = server(onboarded=False, org=None, mode="Normal", sense={"exists": False})
    r["os"] = os_2016
    assert plan(r)["reason"] == "unified_agent_required"
    p = plan(r, PlanOptions(installer_available=True))
    assert p["action"] == "rollout" and p["steps"][0] == "registry"


# ---------------------------------------------------------------------------- unprotected
def test_passive_server_without_running_av_is_repaired():
    p = plan(server(av_services=SVC_OFF, policy={"force_defender_passive_mode": 1}))
    assert (p["action"], p["reason"], p["steps"]) == ("repair", "unprotected", ["passive_off", "reboot", "verify_mode"])


def test_unprotected_without_our_value_is_refused_with_reason():
    p = plan(raw(sc_products=(THIRD_OFF, DEFENDER_OFF), mode="Passive Mode"))
    assert (p["action"], p["reason"]) == ("refuse", "unprotected")


def test_plans_only_hold_known_steps_in_order():
    for r in (raw(), server(), server(onboarded=False, org=None, mode="Normal", sense=STOPPED)):
        steps = plan(r)["steps"]
        assert steps == [s for s in STEPS if s in steps]


def test_passive_value_follows_the_steps():
    assert plan(server(onboarded=False, org=None, mode="Normal", sense=STOPPED))["passive_value"] == "present"
    assert plan(server(av_services=SVC_OFF, policy={"force_defender_passive_mode": 1}))["passive_value"] == "absent"
    assert plan(raw(onboarded=False, org=None, mode="Not running", sense=STOPPED))["passive_value"] is None


def test_unknown_passive_method_is_an_error():
    with pytest.raises(ValueError, match="passive_method"):
        PlanOptions(passive_method="intune")

"""intune_configuration_policy end to end against the fake Graph (Intune configurationPolicies).

create -> rerun changed: false -> check mode on a modified policy writes nothing (the fake's
store is byte-identical) and shows the diff -> real run -> idempotent -> state: absent.
Plus the secret onboarding blob never shown, the guide's real-time protection step refused
unless explicitly allowed (then warned), and an unknown setting definition refused.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.invariants import Invariants

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = pytest.mark.e2e

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
GROUP = "0f6a3e8c-1d2b-4c5d-8e9f-a0b1c2d3e4f5"
BLOB = '{"onboardingInfo":"e2e-very-secret-onboarding-blob-7c1d"}'
FLEET = {"hosts": {"ws01": {"os": "windows11_23h2", "onboarded_org": ORG}}, "tenant": {"org_id": ORG}}

POLICY = cloud_fixtures.api_play(
    "localhost",
    """
    - name: the EDR onboarding policy
      mdeops.defender.intune_configuration_policy:
        name: MDE onboarding (e2e)
        description: "{{ description }}"
        preset: edr_onboarding
        edr:
          configuration_type: auto_from_connector
          sample_sharing: "{{ sample_sharing }}"
        assignments: "{{ assignments }}"
      register: policy
""",
)
FIRST = {
    "description": "Managed by Ansible",
    "sample_sharing": "all",
    "assignments": [{"target": "group", "group_id": GROUP}],
}
MODIFIED = {
    "description": "Managed by Ansible (v2)",
    "sample_sharing": "none",
    "assignments": [{"target": "all_devices"}],
}


def _policies(stand) -> dict:
    return next(iter(stand.cloud.graph_store().values()), {})


def test_policy_lifecycle(cloud_stand):
    stand = cloud_stand(FLEET, with_winsim=False)
    guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret")])
    run = stand.playbook(POLICY, FIRST)
    assert run.rc == 0, run
    created = run.task("the EDR onboarding policy")
    assert created["changed"] and created["actions"] == ["create", "assign"] and created["id"]
    assert created["definitions_checked"] == [
        "device_vendor_msft_windowsadvancedthreatprotection_configurationtype",
        "device_vendor_msft_windowsadvancedthreatprotection_onboarding_fromconnector",
        "device_vendor_msft_windowsadvancedthreatprotection_configuration_samplesharing",
    ]
    assert created["policy"]["template_id"] == "0385b795-0f2f-44ac-8602-9f65bf6adede_1"
    assert created["realtime_protection_disabled"] is False
    stored = _policies(stand)[created["id"]]
    assert stored["technologies"] == "mdm,microsoftSense" and stored["assignments"][0]["target"]["groupId"] == GROUP

    again = stand.playbook(POLICY, FIRST).task("the EDR onboarding policy")
    assert again["changed"] is False and again["actions"] == [] and again["id"] == created["id"]

    before = stand.cloud.graph_store()
    counters_before = stand.cloud.counters()["by_route"]
    check_guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret")])
    check = stand.playbook(POLICY, MODIFIED, check=True, diff=True)
    check_guard.check(check_mode=True)
    assert check.rc == 0, check
    would = check.task("the EDR onboarding policy")
    assert would["changed"] and would["actions"] == ["update_settings", "assign"]
    assert sorted(would["changed_fields"]) == ["assignments", "description", "settings"]
    diff = would["diff"]
    assert diff["before"]["description"] == "Managed by Ansible" and diff["after"]["description"].endswith("(v2)")
    assert diff["before"]["assignments"][0]["target"] == "group" and diff["after"]["assignments"] == [
        {"target": "all_devices", "group_id": None, "filter_id": None, "filter_type": None}
    ]
    sharing = {s["id"]: s["value"] for s in diff["after"]["settings"]}
    assert sharing["device_vendor_msft_windowsadvancedthreatprotection_configuration_samplesharing"].endswith("_0")
    assert stand.cloud.graph_store() == before  # check mode wrote nothing
    writes = [r for r in stand.cloud.counters()["by_route"] if not r.startswith("GET ") and "token" not in r]
    assert writes == [r for r in counters_before if not r.startswith("GET ") and "token" not in r]

    applied = stand.playbook(POLICY, MODIFIED, diff=True).task("the EDR onboarding policy")
    assert applied["changed"] and applied["diff"] == diff
    assert stand.playbook(POLICY, MODIFIED).task("the EDR onboarding policy")["changed"] is False

    absent = cloud_fixtures.api_play(
        "localhost",
        """
    - name: remove it
      mdeops.defender.intune_configuration_policy:
        name: MDE onboarding (e2e)
        state: absent
      register: gone
""",
    )
    check_guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret")])
    check_absent = stand.playbook(absent, check=True).task("remove it")
    check_guard.check(check_mode=True)
    assert check_absent["changed"] and check_absent["actions"] == ["delete"] and _policies(stand)
    gone = stand.playbook(absent).task("remove it")
    assert gone["changed"] and _policies(stand) == {}
    assert stand.playbook(absent).task("remove it")["changed"] is False
    guard.check()


BLOB_AND_GUIDE = cloud_fixtures.api_play(
    "localhost",
    """
    - name: onboard with the blob
      mdeops.defender.intune_configuration_policy:
        name: MDE onboarding (blob)
        preset: edr_onboarding
        edr:
          configuration_type: onboard
          onboarding_blob: "{{ blob }}"
      register: blob_policy

    - name: the guide's real-time protection step, refused
      mdeops.defender.intune_configuration_policy:
        name: Guide step 6
        preset: disable_realtime_protection
      register: refused
      ignore_errors: true

    - name: the guide's real-time protection step, explicitly allowed
      mdeops.defender.intune_configuration_policy:
        name: Guide step 6
        preset: disable_realtime_protection
        allow_disable_realtime: true
      register: allowed

    - name: a setting the catalogue does not have
      mdeops.defender.intune_configuration_policy:
        name: Not a passive-mode setting
        settings:
          - "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance"
            settingDefinitionId: device_vendor_msft_policy_config_defender_forcepassivemode
            choiceSettingValue:
              "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue"
              value: device_vendor_msft_policy_config_defender_forcepassivemode_1
              children: []
      register: unknown
      ignore_errors: true
""",
)


def test_blob_is_secret_and_the_guide_step_is_opt_in(cloud_stand):
    stand = cloud_stand(FLEET, with_winsim=False)
    guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret"), BLOB])
    run = stand.playbook(BLOB_AND_GUIDE, {"blob": BLOB}, diff=True)
    assert run.rc == 0, run
    assert "very-secret-onboarding-blob" not in run.out + run.err
    blob = run.task("onboard with the blob")
    assert blob["changed"] and "very-secret" not in json.dumps(blob)
    stored = json.dumps(stand.cloud.graph_store())
    assert "very-secret-onboarding-blob" in stored  # it did reach Intune
    refused = run.task("the guide's real-time protection step, refused")
    assert refused["failed"] and refused["reason"] == "invalid_argument" and "not passive mode" in refused["msg"]
    allowed = run.task("the guide's real-time protection step, explicitly allowed")
    assert allowed["changed"] and allowed["realtime_protection_disabled"] is True
    assert any("not passive mode" in w for w in allowed["warnings"])
    unknown = run.task("a setting the catalogue does not have")
    assert unknown["reason"] == "invalid_argument" and "does not exist" in unknown["msg"]
    assert "forcepassivemode" in unknown["msg"]
    names = {p["name"] for p in next(iter(stand.cloud.graph_store().values())).values()}
    assert names == {"MDE onboarding (blob)", "Guide step 6"}  # nothing written for the refused ones
    rerun = stand.playbook(BLOB_AND_GUIDE, {"blob": BLOB}).task("onboard with the blob")
    assert rerun["changed"] is False  # secrets compare by presence (update_secrets: on_create)
    guard.check()

"""Intune policy logic: the EDR preset, validation against the catalogue, the plan (idempotence, diff)."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _intune
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from tests.winsim.cloud import catalog
from tests.winsim.cloud.intune import IntuneStore

GROUP = "0f6a3e8c-1d2b-4c5d-8e9f-a0b1c2d3e4f5"


def definitions_for(instances):
    return {i: catalog.definition(i) for i in _intune.definition_ids(instances)}


def body(instances, description="d", tags=None, template=_intune.EDR_TEMPLATE_ID):
    return _intune.policy_body("EDR", description, "windows10", "mdm,microsoftSense", template, tags, instances)


def test_edr_preset_shapes():
    auto = _intune.edr_onboarding_settings()
    assert len(auto) == 1
    ct = auto[0]
    assert ct["settingDefinitionId"] == _intune.CONFIGURATION_TYPE
    assert ct["choiceSettingValue"]["value"] == _intune.CONFIGURATION_TYPE + "_autofromconnector"
    child = ct["choiceSettingValue"]["children"][0]
    assert child["settingDefinitionId"] == _intune.ONBOARDING_FROM_CONNECTOR
    assert child["simpleSettingValue"]["@odata.type"].endswith("SecretSettingValue")
    onboard = _intune.edr_onboarding_settings("onboard", onboarding_blob='{"onboardingInfo":"x"}', sample_sharing="all")
    assert onboard[0]["choiceSettingValue"]["children"][0]["settingDefinitionId"] == _intune.ONBOARDING
    assert onboard[1]["choiceSettingValue"]["value"] == _intune.SAMPLE_SHARING + "_1"
    for instances in (auto, onboard, _intune.edr_onboarding_settings("offboard", offboarding_blob="x")):
        assert _intune.check_against_definitions(instances, definitions_for(instances)) == []
    with pytest.raises(MdeError, match="onboarding_blob"):
        _intune.edr_onboarding_settings("onboard")
    with pytest.raises(MdeError, match="Group Policy script"):
        _intune.edr_onboarding_settings("onboard", onboarding_blob="@echo off\r\nREM WindowsDefenderATP.cmd")


def test_definitions_are_checked_not_trusted():
    guide = [
        _intune.choice(
            "device_vendor_msft_policy_config_defender_forcepassivemode",
            "device_vendor_msft_policy_config_defender_forcepassivemode_1",
        )
    ]
    errors = _intune.check_against_definitions(guide, definitions_for(guide))
    assert len(errors) == 1 and "does not exist" in errors[0]
    wrong_option = [_intune.choice(_intune.SAMPLE_SHARING, _intune.SAMPLE_SHARING + "_7")]
    assert "not an option" in _intune.check_against_definitions(wrong_option, definitions_for(wrong_option))[0]
    plain_secret = copy.deepcopy(_intune.edr_onboarding_settings("onboard", onboarding_blob="x"))
    plain_secret[0]["choiceSettingValue"]["children"][0]["simpleSettingValue"]["@odata.type"] = (
        "#microsoft.graph.deviceManagementConfigurationStringSettingValue"
    )
    assert "is a secret setting" in _intune.check_against_definitions(plain_secret, definitions_for(plain_secret))[0]
    kind = [
        {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": _intune.SAMPLE_SHARING,
            "simpleSettingValue": {},
        }
    ]
    assert "is a choicesettingdefinition" in _intune.check_against_definitions(kind, definitions_for(kind))[0]


def test_realtime_off_is_detected():
    assert _intune.disables_realtime(_intune.realtime_off_settings())
    assert not _intune.disables_realtime(
        [_intune.choice(_intune.ALLOW_REALTIME_MONITORING, _intune.ALLOW_REALTIME_MONITORING + "_1")]
    )
    assert not _intune.disables_realtime(_intune.edr_onboarding_settings())


def test_secrets_only_through_secret_settings():
    raw = [
        {
            "@odata.type": _intune.SIMPLE_INSTANCE,
            "settingDefinitionId": _intune.ONBOARDING,
            "simpleSettingValue": {"@odata.type": _intune.SECRET_VALUE},
        }
    ]
    out = _intune.inject_secrets(_intune.normalize_settings(raw), {_intune.ONBOARDING: "BLOB"})
    assert out[0]["simpleSettingValue"]["value"] == "BLOB"
    with pytest.raises(MdeError, match="plain text"):
        _intune.inject_secrets(_intune.normalize_settings(out), {_intune.ONBOARDING: "BLOB"})
    with pytest.raises(MdeError, match="needs its value"):
        _intune.inject_secrets(_intune.normalize_settings(raw), {})
    with pytest.raises(MdeError, match="not in settings"):
        _intune.inject_secrets([], {"x": "y"})
    assert "BLOB" not in json.dumps(_intune.redact(out))


def stored(instances, description="d", assignments=None):
    """The policy as the (fake) service gives it back: ids added, secrets replaced by tokens."""
    store = IntuneStore(None)
    created = store.create("t", body(instances, description))
    if assignments is not None:
        store.assign("t", created["id"], {"assignments": assignments})
    return store.view(created, {"settings", "assignments"})


def test_plan_create_then_idempotent():
    instances = _intune.edr_onboarding_settings("onboard", onboarding_blob="BLOB", sample_sharing="all")
    want_assign = _intune.assignment_bodies([{"target": "group", "group_id": GROUP}])
    first = _intune.plan(None, body(instances), None, want_assign, True, "on_create")
    assert first["create"] and first["assign"] and first["before"] is None
    assert first["after"]["assignments"] == [
        {"target": "group", "group_id": GROUP, "filter_id": None, "filter_type": None}
    ]
    current = stored(instances, assignments=want_assign)
    again = _intune.plan(current, body(instances), current["assignments"], want_assign, False, "on_create")
    assert not any(again[k] for k in ("create", "put_settings", "patch", "assign"))
    assert again["changed_fields"] == [] and again["before"] == again["after"]
    assert "BLOB" not in json.dumps(again)
    forced = _intune.plan(current, body(instances), current["assignments"], None, False, "always")
    assert forced["put_settings"]


def test_plan_changes_and_diff():
    instances = _intune.edr_onboarding_settings(sample_sharing="all")
    current = stored(instances)
    changed = _intune.edr_onboarding_settings(sample_sharing="none")
    p = _intune.plan(current, body(changed), current["assignments"], None, False, "on_create")
    assert p["put_settings"] and not p["patch"] and p["changed_fields"] == ["settings"]
    before = {s["id"]: s for s in p["before"]["settings"]}
    after = {s["id"]: s for s in p["after"]["settings"]}
    assert before[_intune.SAMPLE_SHARING]["value"].endswith("_1") and after[_intune.SAMPLE_SHARING]["value"].endswith(
        "_0"
    )
    desc = _intune.plan(current, body(instances, description="new"), [], None, False, "on_create")
    assert desc["patch"] and not desc["put_settings"] and desc["changed_fields"] == ["description"]
    tags = _intune.plan(current, body(instances, tags=["0", "7"]), [], None, True, "on_create")
    assert tags["patch"] and tags["changed_fields"] == ["role_scope_tag_ids"]
    assigned = _intune.plan(current, body(instances), [], [], False, "on_create")
    assert not assigned["assign"]  # [] wanted and none there
    to_all = _intune.plan(
        current, body(instances), [], _intune.assignment_bodies([{"target": "all_devices"}]), False, "on_create"
    )
    assert to_all["assign"] and to_all["changed_fields"] == ["assignments"]
    with pytest.raises(MdeError, match="template_id"):
        _intune.plan(current, body(instances, template=None), [], None, False, "on_create")


def test_assignment_validation():
    with pytest.raises(MdeError, match="group_id"):
        _intune.assignment_bodies([{"target": "group", "group_id": "pilot"}])
    with pytest.raises(MdeError, match="only for target"):
        _intune.assignment_bodies([{"target": "all_users", "group_id": GROUP}])
    out = _intune.assignment_bodies(
        [{"target": "exclude_group", "group_id": GROUP.upper(), "filter_id": "f1", "filter_type": "exclude"}]
    )
    assert out == [
        {
            "target": {
                "@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget",
                "groupId": GROUP,
                "deviceAndAppManagementAssignmentFilterId": "f1",
                "deviceAndAppManagementAssignmentFilterType": "exclude",
            }
        }
    ]

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Intune settings-catalog policies: presets, canonical form, diff and validation. PRIVATE.

What Intune really offers for this rollout (docs/sources.md §6): there is NO Intune setting that
puts Defender Antivirus in passive mode (clients go passive by themselves once onboarded
beside a registered third-party antivirus). Intune's part is onboarding: the Endpoint
detection and response (EDR) policy, whose "Microsoft Defender for Endpoint client
configuration package type" is ``Auto from connector`` (recommended), ``Onboard`` (the
``WindowsDefenderATP.onboarding`` blob) or ``Offboard``, plus "Sample sharing".
:func:`edr_onboarding_settings` builds exactly that policy.

The source guide's "disable real-time protection" (``AllowRealtimeMonitoring`` = 0) is not
passive mode and Microsoft warns against it; :func:`realtime_off_settings` builds it only for
an explicit, warned opt-in (``allow_disable_realtime``).

Setting definition ids below were read from exported policies (docs/sources.md §6.1 marks them
UNCONFIRMED); the module never trusts them blindly: every id a policy uses is looked up in
the tenant's ``configurationSettings`` catalogue first (:func:`check_against_definitions`).

Why one file of about 530 lines: building a policy, its canonical form, the plan and the validation
are one model of Graph's settings-catalog types (the ``@odata.type`` names, the secret values and
the EDR template references below); split apart, each part would need the others' private details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from ._errors import MdeError

__all__ = [
    "ALLOW_REALTIME_MONITORING",
    "EDR_TEMPLATE_ID",
    "NO_LOG_PLACEHOLDER",
    "canonical_assignments",
    "canonical_policy",
    "check_against_definitions",
    "definition_ids",
    "disables_realtime",
    "edr_onboarding_settings",
    "plan",
    "policy_body",
    "realtime_off_settings",
]

NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

SETTING = "#microsoft.graph.deviceManagementConfigurationSetting"
CHOICE_INSTANCE = "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance"
CHOICE_VALUE = "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue"
SIMPLE_INSTANCE = "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance"
SECRET_VALUE = "#microsoft.graph.deviceManagementConfigurationSecretSettingValue"

#: The Endpoint detection and response template (endpoint security) for Windows.
EDR_TEMPLATE_ID = "0385b795-0f2f-44ac-8602-9f65bf6adede_1"
EDR_TECHNOLOGIES = "mdm,microsoftSense"

_ATP = "device_vendor_msft_windowsadvancedthreatprotection"
CONFIGURATION_TYPE = _ATP + "_configurationtype"
ONBOARDING = _ATP + "_onboarding"
ONBOARDING_FROM_CONNECTOR = _ATP + "_onboarding_fromconnector"
OFFBOARDING = _ATP + "_offboarding"
SAMPLE_SHARING = _ATP + "_configuration_samplesharing"
ALLOW_REALTIME_MONITORING = "device_vendor_msft_policy_config_defender_allowrealtimemonitoring"

#: (settingInstanceTemplateId, settingValueTemplateId) of the EDR template's settings, as
#: exported EDR policies carry them (UNCONFIRMED: not in a Microsoft page read).
_EDR_TEMPLATE_REFS = {
    CONFIGURATION_TYPE: ("23ab0ea3-1b12-429a-8ed0-7390cf699160", "e5c7c98c-c854-4140-836e-bd22db59d651"),
    SAMPLE_SHARING: ("6998c81e-2814-4f5e-b492-a6159128a97b", "f72c326c-7c5b-4224-b890-0b9b54522bd9"),
}
#: The value exported "Auto from connector" policies carry in the connector blob setting;
#: Intune fills the real blob from the Defender for Endpoint connector (UNCONFIRMED).
CONNECTOR_PLACEHOLDER = "Microsoft ATP connector enabled"

CONFIGURATION_TYPES = {
    "auto_from_connector": ("_autofromconnector", ONBOARDING_FROM_CONNECTOR),
    "onboard": ("_onboard", ONBOARDING),
    "offboard": ("_offboard", OFFBOARDING),
}
SAMPLE_SHARING_VALUES = {"none": "0", "all": "1"}

ASSIGNMENT_TARGETS = {
    "group": "#microsoft.graph.groupAssignmentTarget",
    "exclude_group": "#microsoft.graph.exclusionGroupAssignmentTarget",
    "all_devices": "#microsoft.graph.allDevicesAssignmentTarget",
    "all_users": "#microsoft.graph.allLicensedUsersAssignmentTarget",
}
_TARGET_NAMES = {v.lstrip("#").lower(): k for k, v in ASSIGNMENT_TARGETS.items()}
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: Instance @odata.type short name -> definition @odata.type short name it needs.
_INSTANCE_DEFINITION = {
    "choicesettinginstance": "choicesettingdefinition",
    "simplesettinginstance": "simplesettingdefinition",
    "choicesettingcollectioninstance": "choicesettingcollectiondefinition",
    "simplesettingcollectioninstance": "simplesettingcollectiondefinition",
    "groupsettingcollectioninstance": "settinggroupcollectiondefinition",
}


def _short(odata_type: Any) -> str:
    text = str(odata_type or "").lstrip("#").lower()
    return text.rsplit(".", 1)[-1].replace("devicemanagementconfiguration", "")


# --------------------------------------------------------------------------- building
def choice(
    definition_id: str, value: str, children: list[dict] | None = None, template: tuple[str, str] | None = None
) -> dict:
    inst: dict[str, Any] = {
        "@odata.type": CHOICE_INSTANCE,
        "settingDefinitionId": definition_id,
        "choiceSettingValue": {"@odata.type": CHOICE_VALUE, "value": value, "children": list(children or [])},
    }
    if template:
        inst["settingInstanceTemplateReference"] = {"settingInstanceTemplateId": template[0]}
        inst["choiceSettingValue"]["settingValueTemplateReference"] = {"settingValueTemplateId": template[1]}
    return inst


def secret(definition_id: str, value: str) -> dict:
    return {
        "@odata.type": SIMPLE_INSTANCE,
        "settingDefinitionId": definition_id,
        "simpleSettingValue": {"@odata.type": SECRET_VALUE, "value": value, "valueState": "notEncrypted"},
    }


def edr_onboarding_settings(
    configuration_type: str = "auto_from_connector",
    onboarding_blob: str | None = None,
    offboarding_blob: str | None = None,
    sample_sharing: str | None = None,
) -> list[dict]:
    """The setting instances of Intune's Endpoint detection and response (onboarding) policy."""
    if configuration_type not in CONFIGURATION_TYPES:
        raise MdeError("invalid_argument", "edr.configuration_type must be one of %s" % ", ".join(CONFIGURATION_TYPES))
    suffix, child_id = CONFIGURATION_TYPES[configuration_type]
    if configuration_type == "auto_from_connector":
        child_value = CONNECTOR_PLACEHOLDER
    elif configuration_type == "onboard":
        child_value = _blob(onboarding_blob, "onboarding_blob", "onboard")
    else:
        child_value = _blob(offboarding_blob, "offboarding_blob", "offboard")
    settings = [
        choice(
            CONFIGURATION_TYPE,
            CONFIGURATION_TYPE + suffix,
            [secret(child_id, child_value)],
            _EDR_TEMPLATE_REFS[CONFIGURATION_TYPE],
        )
    ]
    if sample_sharing is not None:
        if sample_sharing not in SAMPLE_SHARING_VALUES:
            raise MdeError("invalid_argument", "edr.sample_sharing must be none or all")
        settings.append(
            choice(
                SAMPLE_SHARING,
                "%s_%s" % (SAMPLE_SHARING, SAMPLE_SHARING_VALUES[sample_sharing]),
                template=_EDR_TEMPLATE_REFS[SAMPLE_SHARING],
            )
        )
    return settings


def _blob(value: str | None, option: str, kind: str) -> str:
    if not value or not str(value).strip():
        raise MdeError(
            "invalid_argument",
            "edr.configuration_type=%s needs edr.%s: the content of the "
            "WindowsDefenderATP.%sing file of the 'Mobile Device Management / Microsoft Intune' package"
            % (kind, option, kind),
        )
    text = str(value).strip()
    if text.lower().startswith("@echo off") or ("WindowsDefenderATP" in text[:200] and ".cmd" in text[:200]):
        raise MdeError(
            "invalid_argument",
            "edr.%s looks like the Group Policy script (.cmd); Intune needs the "
            "WindowsDefenderATP.%sing file of the 'Mobile Device Management / Microsoft Intune' package"
            % (option, kind),
        )
    return text


def realtime_off_settings() -> list[dict]:
    """The guide's step 6: 'Allow Realtime Monitoring' = Not allowed (NOT passive mode)."""
    return [choice(ALLOW_REALTIME_MONITORING, ALLOW_REALTIME_MONITORING + "_0")]


def normalize_settings(raw: list[Any]) -> list[dict]:
    """Setting instances from the user's ``settings`` (whole settings or bare instances)."""
    out = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, dict):
            raise MdeError("invalid_argument", "settings[%d] must be a mapping (a Graph setting instance)" % i)
        inst = item.get("settingInstance") if "settingInstance" in item else item
        if not isinstance(inst, dict) or not inst.get("settingDefinitionId") or not inst.get("@odata.type"):
            raise MdeError(
                "invalid_argument",
                "settings[%d] needs settingDefinitionId and @odata.type (a Graph "
                "deviceManagementConfigurationSettingInstance)" % i,
            )
        out.append(json.loads(json.dumps(inst)))
    return out


def _walk(instances: list[dict]) -> Iterator[dict]:
    for inst in instances:
        yield inst
        value = inst.get("choiceSettingValue") or {}
        yield from _walk(value.get("children") or [])
        for group in inst.get("groupSettingCollectionValue") or []:
            yield from _walk(group.get("children") or [])


def inject_secrets(instances: list[dict], secrets: dict[str, str] | None) -> list[dict]:
    """Put the no_log ``secret_settings`` values into the secret settings of the user's instances.

    A secret value written directly in ``settings`` is refused: it would be echoed in the
    task's arguments.
    """
    secrets = dict(secrets or {})
    used = set()
    for inst in _walk(instances):
        value = inst.get("simpleSettingValue")
        if not isinstance(value, dict) or _short(value.get("@odata.type")) != "secretsettingvalue":
            continue
        did = inst["settingDefinitionId"]
        if value.get("value"):
            raise MdeError(
                "invalid_argument",
                "settings: the secret setting %s carries its value in plain text; leave "
                "value out and pass it in secret_settings (no_log)" % did,
            )
        if did not in secrets:
            raise MdeError(
                "invalid_argument", "settings: the secret setting %s needs its value in secret_settings" % did
            )
        value["value"] = secrets[did]
        value.setdefault("valueState", "notEncrypted")
        used.add(did)
    unused = sorted(set(secrets) - used)
    if unused:
        raise MdeError(
            "invalid_argument", "secret_settings names settings that are not in settings: %s" % ", ".join(unused)
        )
    return instances


def definition_ids(instances: list[dict]) -> list[str]:
    ids: list[str] = []
    for inst in _walk(instances):
        did = inst.get("settingDefinitionId")
        if did and did not in ids:
            ids.append(did)
    return ids


def disables_realtime(instances: list[dict]) -> bool:
    for inst in _walk(instances):
        if str(inst.get("settingDefinitionId", "")).lower() == ALLOW_REALTIME_MONITORING:
            value = str((inst.get("choiceSettingValue") or {}).get("value") or "")
            if value.lower().endswith("_0"):
                return True
    return False


def policy_body(
    name: str,
    description: str | None,
    platforms: str,
    technologies: str,
    template_id: str | None,
    role_scope_tag_ids: list[str] | None,
    instances: list[dict],
) -> dict:
    """The Graph body of a create (POST) or full update (PUT)."""
    body: dict[str, Any] = {
        "name": name,
        "description": description or "",
        "platforms": platforms,
        "technologies": technologies,
        "roleScopeTagIds": list(role_scope_tag_ids) if role_scope_tag_ids is not None else ["0"],
        "settings": [{"@odata.type": SETTING, "settingInstance": inst} for inst in instances],
    }
    if template_id:
        body["templateReference"] = {"templateId": template_id}
    return body


def assignment_bodies(specs: list[dict]) -> list[dict]:
    out = []
    for i, spec in enumerate(specs):
        target_name = spec.get("target") or "group"
        if target_name not in ASSIGNMENT_TARGETS:
            raise MdeError(
                "invalid_argument", "assignments[%d].target must be one of %s" % (i, ", ".join(ASSIGNMENT_TARGETS))
            )
        target: dict[str, Any] = {"@odata.type": ASSIGNMENT_TARGETS[target_name]}
        if target_name in ("group", "exclude_group"):
            gid = spec.get("group_id")
            if not gid or not _GUID_RE.match(str(gid)):
                raise MdeError(
                    "invalid_argument",
                    "assignments[%d].group_id must be the object id (GUID) of an Entra group, got %r" % (i, gid),
                )
            target["groupId"] = str(gid).lower()
        elif spec.get("group_id"):
            raise MdeError(
                "invalid_argument", "assignments[%d]: group_id is only for target group or exclude_group" % i
            )
        if spec.get("filter_id"):
            target["deviceAndAppManagementAssignmentFilterId"] = spec["filter_id"]
            target["deviceAndAppManagementAssignmentFilterType"] = spec.get("filter_type") or "include"
        out.append({"target": target})
    return out


# --------------------------------------------------------------------------- canonical form
def _canonical_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    kind = _short(value.get("@odata.type"))
    if kind == "secretsettingvalue":
        return {"type": "secret"}  # Graph never gives a secret back; only its presence compares
    return {"type": kind, "value": value.get("value")}


def _sort(items: list) -> list:
    return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))


def canonical_instance(inst: dict) -> dict:
    kind = _short(inst.get("@odata.type"))
    out: dict[str, Any] = {"id": inst.get("settingDefinitionId"), "type": kind}
    if kind == "choicesettinginstance":
        value = inst.get("choiceSettingValue") or {}
        out["value"] = value.get("value")
        out["children"] = _sort([canonical_instance(c) for c in value.get("children") or []])
    elif kind == "simplesettinginstance":
        out["value"] = _canonical_value(inst.get("simpleSettingValue"))
    elif kind == "simplesettingcollectioninstance":
        out["values"] = _sort([_canonical_value(v) for v in inst.get("simpleSettingCollectionValue") or []])
    elif kind == "choicesettingcollectioninstance":
        out["values"] = _sort(
            [
                {"value": v.get("value"), "children": _sort([canonical_instance(c) for c in v.get("children") or []])}
                for v in inst.get("choiceSettingCollectionValue") or []
            ]
        )
    elif kind == "groupsettingcollectioninstance":
        out["groups"] = _sort(
            [
                _sort([canonical_instance(c) for c in g.get("children") or []])
                for g in inst.get("groupSettingCollectionValue") or []
            ]
        )
    else:
        out["raw"] = {k: v for k, v in inst.items() if not k.endswith("TemplateReference") and k != "@odata.type"}
    return out


def has_secrets(instances: list[dict]) -> bool:
    return any(
        _short((i.get("simpleSettingValue") or {}).get("@odata.type")) == "secretsettingvalue" for i in _walk(instances)
    )


def _technologies(value: Any) -> list[str]:
    return sorted(t.strip() for t in str(value or "").split(",") if t.strip())


def canonical_policy(policy: dict, compare_scope_tags: bool = True) -> dict:
    """The fields of a policy that decide a change (secrets reduced to their presence)."""
    settings = []
    for item in policy.get("settings") or []:
        inst = item["settingInstance"] if isinstance(item, dict) and "settingInstance" in item else item
        settings.append(canonical_instance(inst))
    out = {
        "name": policy.get("name"),
        "description": policy.get("description") or "",
        "platforms": str(policy.get("platforms") or ""),
        "technologies": _technologies(policy.get("technologies")),
        "template_id": ((policy.get("templateReference") or {}).get("templateId")) or None,
        "settings": _sort(settings),
    }
    if compare_scope_tags:
        out["role_scope_tag_ids"] = sorted(str(t) for t in policy.get("roleScopeTagIds") or [])
    return out


def canonical_assignments(assignments: list[dict]) -> list[dict]:
    out = []
    for a in assignments or []:
        target = a.get("target") or {}
        name = _TARGET_NAMES.get(str(target.get("@odata.type") or "").lstrip("#").lower(), target.get("@odata.type"))
        filter_id = target.get("deviceAndAppManagementAssignmentFilterId") or None
        out.append(
            {
                "target": name,
                "group_id": (str(target["groupId"]).lower() if target.get("groupId") else None),
                "filter_id": filter_id,
                "filter_type": (target.get("deviceAndAppManagementAssignmentFilterType") or "include")
                if filter_id
                else None,
            }
        )
    return _sort(out)


# --------------------------------------------------------------------------- the plan
IMMUTABLE = ("platforms", "technologies", "template_id")


def plan(
    current: dict | None,
    desired_body: dict,
    current_assignments: list[dict] | None,
    desired_assignments: list[dict] | None,
    compare_scope_tags: bool,
    update_secrets: str,
) -> dict:
    """What to do to reach ``desired_body`` (and the assignments when they are managed).

    Returns ``{"create", "put_settings", "patch", "assign", "changed_fields", "before", "after"}``.
    The same computation drives check mode, diff and the real run.
    """
    want = canonical_policy(desired_body, compare_scope_tags)
    want_assign = canonical_assignments(desired_assignments) if desired_assignments is not None else None
    if current is None:
        after = dict(want, assignments=want_assign or [])
        return {
            "create": True,
            "put_settings": False,
            "patch": False,
            "assign": bool(want_assign),
            "changed_fields": sorted(set(want) | {"assignments"} if want_assign else set(want)),
            "before": None,
            "after": after,
        }
    have = canonical_policy(current, compare_scope_tags)
    have_assign = canonical_assignments(current_assignments or [])
    changed = sorted(k for k in want if want[k] != have.get(k))
    immutable = [k for k in changed if k in IMMUTABLE]
    if immutable:
        raise MdeError(
            "invalid_argument",
            "the existing policy %r has other %s (%s); Intune does not change these on "
            "an existing policy: remove it (state: absent) and create it again"
            % (
                desired_body.get("name"),
                ", ".join(immutable),
                "; ".join("%s %r, wanted %r" % (k, have[k], want[k]) for k in immutable),
            ),
        )
    secrets_forced = update_secrets == "always" and has_secrets(
        [s.get("settingInstance", s) for s in desired_body.get("settings") or []]
    )
    put_settings = "settings" in changed or secrets_forced
    if secrets_forced and "settings" not in changed:
        changed.append("settings (secret values, update_secrets=always)")
    patch = any(k in changed for k in ("description", "role_scope_tag_ids")) and not put_settings
    assign = want_assign is not None and want_assign != have_assign
    if assign:
        changed.append("assignments")
    before = dict(have, assignments=have_assign)
    after = dict(want, assignments=want_assign if want_assign is not None else have_assign)
    return {
        "create": False,
        "put_settings": put_settings,
        "patch": patch,
        "assign": assign,
        "changed_fields": changed,
        "before": before,
        "after": after,
    }


# --------------------------------------------------------------------------- validation
def check_against_definitions(instances: list[dict], definitions: dict[str, dict | None]) -> list[str]:
    """Problems of ``instances`` against the tenant's setting definitions (empty = fine)."""
    errors: list[str] = []

    def check(inst: dict, where: str) -> None:
        did = inst.get("settingDefinitionId")
        definition = definitions.get(did) if isinstance(did, str) else None
        if definition is None:
            errors.append(
                "%s: setting definition %r does not exist in this tenant's settings catalog "
                "(GET deviceManagement/configurationSettings/%s answered 404)" % (where, did, did)
            )
            return
        kind = _short(inst.get("@odata.type"))
        need = _INSTANCE_DEFINITION.get(kind)
        have = _short(definition.get("@odata.type"))
        if need and have and need != have:
            errors.append("%s: %s is a %s, not a %s" % (where, did, have, need))
            return
        if kind == "choicesettinginstance":
            value = (inst.get("choiceSettingValue") or {}).get("value")
            options = [o.get("itemId") for o in definition.get("options") or []]
            if options and value not in options:
                errors.append("%s: %r is not an option of %s; options: %s" % (where, value, did, ", ".join(options)))
            for j, child in enumerate((inst.get("choiceSettingValue") or {}).get("children") or []):
                check(child, "%s.children[%d]" % (where, j))
        elif kind == "simplesettinginstance":
            is_secret = bool((definition.get("valueDefinition") or {}).get("isSecret"))
            given_secret = _short((inst.get("simpleSettingValue") or {}).get("@odata.type")) == "secretsettingvalue"
            if is_secret and not given_secret:
                errors.append(
                    "%s: %s is a secret setting; give it a SecretSettingValue (value in secret_settings)" % (where, did)
                )
            elif given_secret and not is_secret:
                errors.append("%s: %s is not a secret setting; do not give it a SecretSettingValue" % (where, did))
        for g, group in enumerate(inst.get("groupSettingCollectionValue") or []):
            for j, child in enumerate(group.get("children") or []):
                check(child, "%s.groups[%d].children[%d]" % (where, g, j))

    for i, inst in enumerate(instances):
        check(inst, "settings[%d]" % i)
    return errors


def redact(value: Any) -> Any:
    """A deep copy with every secret setting value replaced by the no_log placeholder."""
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        out = {k: redact(v) for k, v in value.items()}
        if _short(out.get("@odata.type")) == "secretsettingvalue" and out.get("value"):
            out["value"] = NO_LOG_PLACEHOLDER
        return out
    return value

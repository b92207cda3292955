#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Why about 600 lines: half of them are the module's documentation (DOCUMENTATION, EXAMPLES and
# RETURN, lines 12-290); the code (the Graph calls of a create / update / assign / delete and their
# check-mode twins) is about 300 lines. The policy model itself is in module_utils/_intune.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: intune_configuration_policy
short_description: Manage an Intune settings-catalog configuration policy (the Defender for Endpoint onboarding policy)
version_added: 0.1.0
description:
  - Step 6 of the passive-mode guide (Intune), done the way Microsoft documents it - runs on the controller and
    talks to Microsoft Graph (C(/beta/deviceManagement/configurationPolicies)).
  - Creates, updates or deletes one settings-catalog policy, found by its O(name) - name, description, platform,
    technologies, template, role scope tags, settings and group assignments (C(/assign)).
  - Idempotent - the policy in Intune is compared with the wanted one (secret values, which Graph never returns,
    compare by presence; see O(update_secrets)); check mode reads and compares but never writes; diff mode shows
    before and after of the compared fields, secrets redacted.
  - Every C(settingDefinitionId) the policy uses is looked up in the tenant's catalogue
    (C(GET /beta/deviceManagement/configurationSettings/{id})) before anything is written; an unknown id, a choice
    that is not an option of its definition, or a secret given as plain text fails with a message naming it.
  - O(preset=edr_onboarding) builds what Intune really offers for this rollout - the Endpoint detection and
    response policy (endpoint security) whose I(Microsoft Defender for Endpoint client configuration package type)
    is I(Auto from connector) (default), I(Onboard) (with the C(WindowsDefenderATP.onboarding) blob) or
    I(Offboard), plus I(Sample sharing).
  - There is no Intune setting that puts Defender Antivirus in passive mode - onboarded Windows clients go passive
    by themselves beside a registered third-party antivirus. The source guide's "disable real-time protection" is
    NOT passive mode (Microsoft warns against turning real-time protection off in passive mode, and tamper protection
    locks it). It is refused unless O(allow_disable_realtime=true), which then adds a warning to the result.
options:
  name:
    description:
      - The policy name; it identifies the policy. Two policies with this name make the module fail.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The policy description.
    type: str
  platforms:
    description:
      - C(platforms) of the policy. Default V(windows10).
    type: str
  technologies:
    description:
      - C(technologies) of the policy, comma-separated. Default V(mdm), and V(mdm,microsoftSense) with
        O(preset=edr_onboarding).
    type: str
  template_id:
    description:
      - C(templateReference.templateId) - the endpoint security template the policy is built from. Set by
        O(preset=edr_onboarding) (C(0385b795-0f2f-44ac-8602-9f65bf6adede_1), Endpoint detection and response).
      - O(platforms), O(technologies) and O(template_id) cannot change on an existing policy; delete it first.
    type: str
  role_scope_tag_ids:
    description:
      - Scope tag ids. When not set, new policies get V(0) (Default) and existing ones keep theirs.
    type: list
    elements: str
  settings:
    description:
      - Settings as Graph C(deviceManagementConfigurationSettingInstance) mappings (C(@odata.type),
        C(settingDefinitionId), and C(choiceSettingValue) or C(simpleSettingValue) ...), or whole
        C(deviceManagementConfigurationSetting) mappings with a C(settingInstance). Added to the preset's settings.
      - A secret setting (C(deviceManagementConfigurationSecretSettingValue)) must leave its C(value) out; the value
        goes into O(secret_settings), so it is never echoed.
    type: list
    elements: dict
    default: []
  secret_settings:
    description:
      - Values of the secret settings in O(settings), by C(settingDefinitionId).
    type: dict
  preset:
    description:
      - V(edr_onboarding) - the Endpoint detection and response policy, configured with O(edr).
      - V(disable_realtime_protection) - the source guide's step 6, I(Allow Realtime Monitoring = Not allowed).
        Not passive mode; needs O(allow_disable_realtime=true).
    type: str
    choices: [edr_onboarding, disable_realtime_protection]
  edr:
    description:
      - The Endpoint detection and response settings of O(preset=edr_onboarding).
    type: dict
    suboptions:
      configuration_type:
        description:
          - V(auto_from_connector) - the onboarding package comes from the Defender for Endpoint connector
            (needs the Intune connection turned on in the Defender portal). Recommended.
          - V(onboard) - onboard with O(edr.onboarding_blob).
          - V(offboard) - offboard with O(edr.offboarding_blob).
        type: str
        choices: [auto_from_connector, onboard, offboard]
        default: auto_from_connector
      onboarding_blob:
        description:
          - The content of C(WindowsDefenderATP.onboarding) from the I(Mobile Device Management / Microsoft Intune)
            onboarding package of the Defender portal.
        type: str
      offboarding_blob:
        description:
          - The content of the C(WindowsDefenderATP_valid_until_YYYY-MM-DD.offboarding) file.
        type: str
      sample_sharing:
        description:
          - I(Sample sharing) - V(all) or V(none); not set = not configured.
        type: str
        choices: [none, all]
  allow_disable_realtime:
    description:
      - Allow a policy that turns real-time protection off (C(AllowRealtimeMonitoring) = 0), the source guide's
        step. This does not make Defender passive, leaves devices without Defender real-time protection if the
        third-party antivirus stops, and tamper protection ignores it. The result carries a warning.
    type: bool
    default: false
  assignments:
    description:
      - The policy's assignments. When set, they replace the current ones (V([]) removes every assignment); when
        not set, assignments are left alone.
    type: list
    elements: dict
    suboptions:
      target:
        description:
          - V(group) or V(exclude_group) (with O(assignments[].group_id)), V(all_devices), V(all_users).
        type: str
        choices: [group, exclude_group, all_devices, all_users]
        default: group
      group_id:
        description:
          - The object id of the Entra group.
        type: str
      filter_id:
        description:
          - An assignment filter id.
        type: str
      filter_type:
        description:
          - How the filter applies.
        type: str
        choices: [include, exclude]
  update_secrets:
    description:
      - Graph never returns secret values, so a changed blob cannot be detected.
      - V(on_create) sends secrets when the policy is created or its other settings change.
      - V(always) sends the whole policy again on every run (always V(changed)), to roll a new onboarding blob.
    type: str
    choices: [always, on_create]
    default: on_create
extends_documentation_fragment:
  - mdeops.defender.api
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    details: Reads the policy and the setting definitions, computes the change and the diff, writes nothing.
  diff_mode:
    support: full
    details: Before and after of name, description, platforms, technologies, template, scope tags, settings and
      assignments; secret values are never shown.
notes:
  - "Permission (Microsoft Graph, application): C(DeviceManagementConfiguration.ReadWrite.All)
    (C(DeviceManagementConfiguration.Read.All) is enough in check mode). The tenant needs an Intune licence, and
    I(Auto from connector) needs the Microsoft Defender for Endpoint connector in Intune."
  - Updates of the settings use C(PUT) of the whole policy (what the Intune admin center does; Graph documents
    C(PATCH) for the properties, which does not replace settings); description and scope tags alone use C(PATCH).
  - The C(configurationPolicies) API is Graph beta.
  - Graph does not publish fixed rate limits for Intune; the module keeps to 100 calls per minute and honours
    C(Retry-After) on 429.
seealso:
  - module: mdeops.defender.mde_machine_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: The EDR onboarding policy, from the Defender for Endpoint connector, for the pilot group
  mdeops.defender.intune_configuration_policy:
    tenant_id: "{{ mde_tenant_id }}"
    client_id: "{{ mde_client_id }}"
    client_secret: "{{ mde_client_secret }}"
    name: MDE onboarding (passive-mode rollout)
    description: Managed by Ansible - mdeops.defender
    preset: edr_onboarding
    edr:
      configuration_type: auto_from_connector
      sample_sharing: all
    assignments:
      - target: group
        group_id: 0f6a3e8c-1d2b-4c5d-8e9f-a0b1c2d3e4f5
  delegate_to: localhost
  run_once: true

- name: Onboard with the package blob instead of the connector
  mdeops.defender.intune_configuration_policy:
    name: MDE onboarding (blob)
    preset: edr_onboarding
    edr:
      configuration_type: onboard
      onboarding_blob: "{{ lookup('ansible.builtin.file', 'WindowsDefenderATP.onboarding') }}"
  delegate_to: localhost
  run_once: true

- name: Any settings-catalog policy
  mdeops.defender.intune_configuration_policy:
    name: Defender cloud protection
    technologies: mdm
    settings:
      - "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance"
        settingDefinitionId: device_vendor_msft_policy_config_defender_allowcloudprotection
        choiceSettingValue:
          "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue"
          value: device_vendor_msft_policy_config_defender_allowcloudprotection_1
          children: []
  delegate_to: localhost
  run_once: true

- name: Remove the policy
  mdeops.defender.intune_configuration_policy:
    name: MDE onboarding (blob)
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
step:
  description: The guide step the result judges (V(intune)); a wave's hosts get its verdict as their own.
  returned: always
  type: str
id:
  description: The policy id (null when absent, or when check mode would create it).
  returned: always
  type: str
  sample: 3ffd7cd0-7cd0-3ffd-d07c-fd3fd07cfd3f
exists:
  description: The policy exists after the task (as it would in check mode).
  returned: always
  type: bool
actions:
  description: What was done (or would be in check mode) - V(create), V(update_settings), V(update_properties),
    V(assign), V(delete).
  returned: always
  type: list
  elements: str
changed_fields:
  description: The compared fields that differ.
  returned: always
  type: list
  elements: str
policy:
  description: The compared fields of the policy after the task (C(name), C(description), C(platforms),
    C(technologies), C(template_id), C(role_scope_tag_ids), C(settings) in canonical form, C(assignments));
    null when absent. Secret values are not included.
  returned: always
  type: dict
realtime_protection_disabled:
  description: The policy turns real-time protection off (only possible with O(allow_disable_realtime=true)).
  returned: always
  type: bool
definitions_checked:
  description: The setting definition ids looked up in the tenant's catalogue.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the compared fields (with C(--diff)).
  returned: when diff mode is on
  type: dict
api_calls:
  description: HTTP requests of this task (C(calls), C(tokens), C(retries), C(by_family), C(rate_limit_wait)).
  returned: always
  type: dict
reason:
  description: On failure, a stable code (V(invalid_argument) for an unknown setting definition, a refused option
    or an ambiguous name; V(api_unauthorized), V(api_forbidden), V(api_throttled), V(api_error)).
  returned: failure
  type: str
"""


from ansible_collections.mdeops.defender.plugins.module_utils import _api_module as api  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils import _intune  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._api import ApiClient  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._api_transport import odata_quote  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError  # noqa: E402

POLICIES = "/beta/deviceManagement/configurationPolicies"
DEFINITIONS = "/beta/deviceManagement/configurationSettings"
READ = "DeviceManagementConfiguration.Read.All"
WRITE = "DeviceManagementConfiguration.ReadWrite.All"
FAMILY = "graph_intune"
REALTIME_WARNING = (
    "This policy turns Microsoft Defender Antivirus real-time protection OFF (AllowRealtimeMonitoring = 0), as the "
    "source guide's step 6 says. That is not passive mode: Microsoft warns against turning real-time protection off "
    "in passive mode, tamper protection ignores the setting, and devices lose Defender's real-time protection if the "
    "third-party antivirus stops. Passive mode comes from onboarding beside a registered third-party antivirus "
    "(clients) or ForceDefenderPassiveMode (servers)."
)


def argument_spec() -> dict:
    return api.options(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        description=dict(type="str"),
        platforms=dict(type="str"),
        technologies=dict(type="str"),
        template_id=dict(type="str"),
        role_scope_tag_ids=dict(type="list", elements="str"),
        settings=dict(type="list", elements="dict", default=[]),
        secret_settings=dict(type="dict", no_log=True),
        preset=dict(type="str", choices=["edr_onboarding", "disable_realtime_protection"]),
        edr=dict(
            type="dict",
            options=dict(
                configuration_type=dict(
                    type="str", choices=["auto_from_connector", "onboard", "offboard"], default="auto_from_connector"
                ),
                onboarding_blob=dict(type="str", no_log=True),
                offboarding_blob=dict(type="str", no_log=True),
                sample_sharing=dict(type="str", choices=["none", "all"]),
            ),
        ),
        allow_disable_realtime=dict(type="bool", default=False),
        assignments=dict(
            type="list",
            elements="dict",
            options=dict(
                target=dict(
                    type="str", choices=["group", "exclude_group", "all_devices", "all_users"], default="group"
                ),
                group_id=dict(type="str"),
                filter_id=dict(type="str"),
                filter_type=dict(type="str", choices=["include", "exclude"]),
            ),
        ),
        update_secrets=dict(type="str", choices=["always", "on_create"], default="on_create"),
    )


def desired_instances(params: dict) -> list[dict]:
    """The preset's settings plus the user's, secrets injected from the no_log options."""
    instances: list[dict] = []
    preset = params["preset"]
    if preset == "edr_onboarding":
        edr = params["edr"] or {"configuration_type": "auto_from_connector"}
        instances += _intune.edr_onboarding_settings(
            edr.get("configuration_type") or "auto_from_connector",
            edr.get("onboarding_blob"),
            edr.get("offboarding_blob"),
            edr.get("sample_sharing"),
        )
    elif params["edr"]:
        raise MdeError("invalid_argument", "edr is only used with preset: edr_onboarding")
    if preset == "disable_realtime_protection":
        instances += _intune.realtime_off_settings()
    user = _intune.inject_secrets(_intune.normalize_settings(params["settings"]), params["secret_settings"])
    taken = {i["settingDefinitionId"] for i in instances}
    clash = sorted(taken & {i["settingDefinitionId"] for i in user})
    if clash:
        raise MdeError("invalid_argument", "settings repeat what preset %s sets: %s" % (preset, ", ".join(clash)))
    return instances + user


def resolved_shape(params: dict) -> tuple[str, str, str | None]:
    edr = params["preset"] == "edr_onboarding"
    platforms = params["platforms"] or "windows10"
    technologies = params["technologies"] or (_intune.EDR_TECHNOLOGIES if edr else "mdm")
    template_id = (
        params["template_id"] if params["template_id"] is not None else (_intune.EDR_TEMPLATE_ID if edr else None)
    )
    return platforms, technologies, template_id or None


def load_definitions(client: ApiClient, ids: list[str]) -> dict[str, dict | None]:
    out = {}
    for did in ids:
        out[did] = client.request(
            "GET",
            "%s/%s" % (DEFINITIONS, did),
            family=FAMILY,
            permission=READ,
            what="looking up setting definition %s" % did,
            allow_404=True,
        )
    return out


def find_policy(client: ApiClient, name: str) -> dict | None:
    found = client.get_all(
        POLICIES,
        family=FAMILY,
        permission=READ,
        what="looking up the policy by name",
        params={"$filter": "name eq %s" % odata_quote(name), "$select": "id,name"},
    )
    same = [p for p in found if p.get("name") == name]
    if len(same) > 1:
        raise MdeError(
            "invalid_argument",
            "%d configuration policies are named %r (ids %s); rename or delete the "
            "extra ones - this module finds policies by name" % (len(same), name, ", ".join(p["id"] for p in same)),
        )
    if not same:
        return None
    return client.request(
        "GET",
        "%s/%s" % (POLICIES, same[0]["id"]),
        family=FAMILY,
        permission=READ,
        what="reading the policy",
        params={"$expand": "assignments,settings"},
    )


def present(module: api.MdeApiModule, client: ApiClient) -> dict:
    p = module.params
    if p["preset"] == "disable_realtime_protection" and not p["allow_disable_realtime"]:
        raise MdeError(
            "invalid_argument",
            "preset disable_realtime_protection turns Defender real-time protection "
            "off, which is not passive mode; set allow_disable_realtime: true only if you really want the "
            "source guide's step",
        )
    instances = desired_instances(p)
    realtime_off = _intune.disables_realtime(instances)
    if realtime_off and not p["allow_disable_realtime"]:
        raise MdeError(
            "invalid_argument",
            "the settings turn real-time protection off (%s = 0). That is not "
            "passive mode and Microsoft warns against it; set allow_disable_realtime: true to do it anyway"
            % _intune.ALLOW_REALTIME_MONITORING,
        )
    ids = _intune.definition_ids(instances)
    definitions = load_definitions(client, ids)
    errors = _intune.check_against_definitions(instances, definitions)
    if errors:
        raise MdeError(
            "invalid_argument",
            "the settings do not match the tenant's settings catalog: %s" % "; ".join(errors),
            definitions_checked=ids,
        )
    platforms, technologies, template_id = resolved_shape(p)
    body = _intune.policy_body(
        p["name"], p["description"], platforms, technologies, template_id, p["role_scope_tag_ids"], instances
    )
    if p["description"] is None:
        body.pop("description")
    current = find_policy(client, p["name"])
    if current is not None and p["description"] is None:
        body["description"] = current.get("description") or ""
    if current is not None and p["role_scope_tag_ids"] is None:
        body["roleScopeTagIds"] = list(current.get("roleScopeTagIds") or ["0"])  # a PUT keeps them
    wanted_assign = _intune.assignment_bodies(p["assignments"]) if p["assignments"] is not None else None
    steps = _intune.plan(
        current,
        body,
        (current or {}).get("assignments"),
        wanted_assign,
        compare_scope_tags=p["role_scope_tag_ids"] is not None or current is None,
        update_secrets=p["update_secrets"],
    )
    actions = []
    policy_id = current.get("id") if current else None
    if steps["create"]:
        actions.append("create")
        if not module.check_mode:
            created = client.request(
                "POST",
                POLICIES,
                family=FAMILY,
                permission=WRITE,
                what="creating the policy",
                json_body=body,
                expected=(200, 201),
                idempotent=False,
            )
            policy_id = (created or {}).get("id")
    if steps["put_settings"]:
        actions.append("update_settings")
        if not module.check_mode:
            client.request(
                "PUT",
                "%s/%s" % (POLICIES, policy_id),
                family=FAMILY,
                permission=WRITE,
                what="updating the policy settings",
                json_body=body,
                expected=(200, 204),
            )
    if steps["patch"]:
        actions.append("update_properties")
        if not module.check_mode:
            patch = {"description": body.get("description", "")}
            if p["role_scope_tag_ids"] is not None:
                patch["roleScopeTagIds"] = body["roleScopeTagIds"]
            client.request(
                "PATCH",
                "%s/%s" % (POLICIES, policy_id),
                family=FAMILY,
                permission=WRITE,
                what="updating the policy properties",
                json_body=patch,
                expected=(200, 204),
            )
    if steps["assign"]:
        actions.append("assign")
        if not module.check_mode:
            client.request(
                "POST",
                "%s/%s/assign" % (POLICIES, policy_id),
                family=FAMILY,
                permission=WRITE,
                what="assigning the policy",
                json_body={"assignments": wanted_assign},
                expected=(200, 204),
            )
    if realtime_off:
        module.warn(REALTIME_WARNING)
    return {
        "changed": bool(actions),
        "id": policy_id,
        "exists": True,
        "actions": actions,
        "changed_fields": steps["changed_fields"] if actions else [],
        "policy": steps["after"],
        "realtime_protection_disabled": realtime_off,
        "definitions_checked": ids,
        "_diff": {"before": steps["before"] or {}, "after": steps["after"]},
    }


def absent(module: api.MdeApiModule, client: ApiClient) -> dict:
    current = find_policy(client, module.params["name"])
    if current is None:
        return {
            "changed": False,
            "id": None,
            "exists": False,
            "actions": [],
            "changed_fields": [],
            "policy": None,
            "_diff": {"before": {}, "after": {}},
        }
    before = dict(
        _intune.canonical_policy(current), assignments=_intune.canonical_assignments(current.get("assignments") or [])
    )
    if not module.check_mode:
        client.request(
            "DELETE",
            "%s/%s" % (POLICIES, current["id"]),
            family=FAMILY,
            permission=WRITE,
            what="deleting the policy",
            expected=(200, 204),
        )
    return {
        "changed": True,
        "id": current["id"],
        "exists": False,
        "actions": ["delete"],
        "changed_fields": sorted(before),
        "policy": None,
        "_diff": {"before": before, "after": {}},
    }


def main() -> None:
    module = api.api_module(argument_spec())
    result: dict = {
        "changed": False,
        "step": "intune",
        "id": None,
        "exists": False,
        "actions": [],
        "changed_fields": [],
        "policy": None,
        "realtime_protection_disabled": False,
        "definitions_checked": [],
        "api_calls": {},
    }
    api.run_api_module(
        module,
        result,
        lambda client: present(module, client) if module.params["state"] == "present" else absent(module, client),
    )


if __name__ == "__main__":
    main()

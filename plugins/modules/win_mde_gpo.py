# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_gpo.py)
# that runs plugins/modules/win_mde_gpo.ps1 on a host with the GroupPolicy module.

DOCUMENTATION = r"""
---
module: win_mde_gpo
short_description: Deploy Defender passive mode with a Group Policy Preferences registry item
version_added: 0.1.0
description:
  - Creates or updates a Group Policy Object (GPO) that sets C(ForceDefenderPassiveMode) = V(1) (C(REG_DWORD)) under
    C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection) as a Group Policy Preferences registry
    item with the action C(Update), the Group Policy route Microsoft documents for passive mode, and links the GPO
    to the organizational units in O(target_ous).
  - This is step 5 of the passive-mode guide, done the way Microsoft documents it. The guide's step enables
    "Turn off Microsoft Defender Antivirus" (C(DisableAntiSpyware)); that is not a passive-mode setting
    (Microsoft says to make sure it is disabled) and is only available here as the explicit, warned opt-in
    O(guide_turn_off_defender).
  - Runs on a Windows host with the GroupPolicy PowerShell module, that is a domain controller or a management
    server with the Group Policy Management feature (RSAT); use it with C(delegate_to) and C(run_once).
  - Idempotent. The GPO's managed items and links are read and compared first; nothing is written when they are
    already as asked. Supports check mode and diff (the GPO's managed items and links before and after).
  - Reports other GPOs that reach the target OUs and set C(DisableAntiSpyware) to a non-zero value.
  - Windows applies the value at the next computer policy refresh (every 90 minutes, or
    M(mdeops.defender.win_mde_policy_refresh)) and at boot; Defender reads it at boot.
options:
  name:
    description:
      - The display name of the GPO. It is created when it does not exist.
    type: str
    required: true
  comment:
    description:
      - The GPO's comment (description). Set when creating the GPO, and updated when given and different.
      - When not given, the comment of an existing GPO is left alone.
    type: str
  state:
    description:
      - V(present) makes the GPO carry the values and links described here.
      - V(absent) deletes the whole GPO named O(name) with all its links (C(Remove-GPO)); use it only for a GPO
        this module manages. O(target_ous) is ignored then.
      - Group Policy Preferences items are not removed from the computers when their GPO goes away (they are
        "tattooed"). To return servers to active mode, set O(passive_mode_value=0), let it apply and reboot,
        then delete the GPO.
    type: str
    choices: [present, absent]
    default: present
  target_ous:
    description:
      - Distinguished names of the OUs (or of the domain root, C(DC=corp,DC=example,DC=com)) to link the GPO to,
        for example C(OU=Servers,OU=Corp,DC=corp,DC=example,DC=com).
      - Computers in these OUs and in their child OUs receive the value (unless a child OU blocks inheritance and
        the link is not enforced). Containers such as C(CN=Computers) cannot be linked.
      - Links to other OUs are kept unless O(purge_links=true).
    type: list
    elements: str
    default: []
  link_enabled:
    description:
      - Whether the links to O(target_ous) are enabled.
    type: bool
    default: true
  enforced:
    description:
      - Whether the links to O(target_ous) are enforced (apply even below OUs that block inheritance, and win
        over GPOs linked lower in the tree).
    type: bool
    default: false
  purge_links:
    description:
      - Remove the links of this GPO to OUs that are not in O(target_ous).
    type: bool
    default: false
  passive_mode_value:
    description:
      - The data of C(ForceDefenderPassiveMode). V(1) puts Defender Antivirus on Windows Server in passive mode;
        V(0) is Microsoft's documented way back to active mode (after a reboot).
      - On Windows Server set it before onboarding; with tamper protection on, a server that went active after
        onboarding stays active even with V(1).
    type: int
    choices: [0, 1]
    default: 1
  ensure_defender_not_turned_off:
    description:
      - Make sure this GPO does not carry "Turn off Microsoft Defender Antivirus" (C(DisableAntiSpyware) with a
        non-zero value, as an Administrative Templates value or a preference item), and remove it when it does.
        C(DisableAntiSpyware) = V(0) (the policy set to Disabled, what Microsoft asks for) is left alone.
      - Other GPOs are never changed; those that reach O(target_ous) with C(DisableAntiSpyware) set are reported
        in RV(conflicts) and as warnings.
      - Ignored (treated as V(false)) when O(guide_turn_off_defender=true); setting both to V(true) is an error.
    type: bool
    default: true
  guide_turn_off_defender:
    description:
      - Opt-in to the source guide's step 5 as written - enable "Turn off Microsoft Defender Antivirus"
        (C(DisableAntiSpyware) = V(1) in the GPO's Administrative Templates values). Not recommended, and warned
        about in every result.
      - Microsoft says to make sure this policy is disabled; Windows 10/11 ignore it since platform 4.18.2007.8;
        on older platforms it must be cleared for the Defender for Endpoint sensor to start next to a third-party
        antivirus; onboarded devices must be excluded from it; on Windows Server applied before onboarding it
        leaves Defender disabled, not passive; tamper-protected hosts ignore it.
    type: bool
    default: false
  guide_value:
    description:
      - Also set the source guide's value C(HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\ForcePassiveMode) = V(1)
        as a preference item. No Microsoft documentation uses it and Windows ignores it; warned about.
      - When V(false), that item is removed from this GPO if present.
    type: bool
    default: false
  security_group:
    description:
      - Apply the GPO through security filtering on this computer group (its name in Active Directory) instead
        of to every computer of the linked OUs. The group is created (global security group, in C(CN=Users)) when
        missing; it gets C(GpoApply) on the GPO and C(Authenticated Users) is set to C(GpoRead) (computers must
        still read the GPO; only the group's members apply it).
      - Needs the ActiveDirectory PowerShell module on the host (a domain controller, or RSAT).
    type: str
  members:
    description:
      - Computers to add to (O(member_state=present)) or remove from (O(member_state=absent)) O(security_group),
        by computer name (C(SRV01), C(srv01.corp.example.com) or C(SRV01$)). Other members are left as they are,
        so that rollout waves add up.
      - A computer added to the group applies the GPO once it has a new Kerberos ticket (after a restart, or
        after M(mdeops.defender.win_mde_policy_refresh), which purges the computer's tickets first).
    type: list
    elements: str
  member_state:
    description:
      - Whether O(members) must be in the group or not. With V(absent) only the membership is changed (the
        offboarding role takes a host out of the group so that Group Policy no longer sets the value).
    type: str
    choices: [present, absent]
    default: present
  _preference_values:
    description:
      - The Group Policy Preferences registry values to read back (C(key) and C(value_name) each).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: dict
    default: []
  _policy_values:
    description:
      - The Administrative Templates (Registry.pol) values to read back (C(key) and C(value_name) each).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: dict
    default: []
  _conflict_values:
    description:
      - The values to look for in the other GPOs that reach the target OUs (C(key) and C(value_name) each).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: dict
    default: []
  _changes:
    description:
      - The planned changes of the GPO, in order (C(op) and the fields of that operation).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: dict
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.windows
attributes:
  check_mode:
    details: The GPO is read and compared; nothing is written. A GPO that would be created has RV(gpo.id) null.
  diff_mode:
    support: full
    details: The managed registry settings and the links of the GPO, before and after.
notes:
  - Needs rights to create and edit GPOs and to link them to the OUs (Domain Admins, Group Policy Creator Owners
    plus delegated link rights on the OUs).
  - C(Set-GPPrefRegistryValue) adds a new item on every call; the module therefore removes every item of a value
    before writing it, so the GPO ends with exactly one item per value.
  - The preference item has no "Remove this item when it is no longer applied" option; see O(state).
  - Tamper protection does not protect C(ForceDefenderPassiveMode), so the value applies on tamper-protected hosts;
    tamper protection does make Defender ignore C(DisableAntiSpyware) and the real-time protection policies.
seealso:
  - module: mdeops.defender.win_mde_policy_refresh
  - module: mdeops.defender.win_mde_passive_mode
  - module: mdeops.defender.win_mde_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Create the passive-mode GPO on a domain controller and link it to the servers' OU
  mdeops.defender.win_mde_gpo:
    name: MDE - Defender passive mode
    comment: ForceDefenderPassiveMode = 1 (Microsoft's documented Group Policy route). Managed by Ansible.
    target_ous:
      - OU=Servers,OU=Corp,DC=corp,DC=example,DC=com
  delegate_to: dc-01
  run_once: true
  register: gpo

- name: Show what the GPO carries
  ansible.builtin.debug:
    var: gpo.settings

- name: Return the servers to active mode (then reboot them, then delete the GPO)
  mdeops.defender.win_mde_gpo:
    name: MDE - Defender passive mode
    passive_mode_value: 0
    target_ous:
      - OU=Servers,OU=Corp,DC=corp,DC=example,DC=com
  delegate_to: dc-01
  run_once: true

- name: Delete the GPO and its links
  mdeops.defender.win_mde_gpo:
    name: MDE - Defender passive mode
    state: absent
  delegate_to: dc-01
  run_once: true
"""

RETURN = r"""
gpo:
  description: The GPO after the run (predicted in check mode).
  returned: success
  type: dict
  contains:
    id:
      description: The GPO's GUID (upper case, no braces); null for a GPO that check mode would create.
      type: str
      sample: 5D3C0E4A-9B1F-4C2D-8E7F-1A2B3C4D5E6F
    name:
      description: The display name.
      type: str
      sample: MDE - Defender passive mode
    comment:
      description: The comment.
      type: str
    exists:
      description: Whether the GPO exists (false after O(state=absent)).
      type: bool
    version:
      description:
        - The computer version of the GPO on the domain controller the module ran on (null in check mode when the
          GPO would change). M(mdeops.defender.win_mde_policy_refresh) given this result waits until the member's
          own domain controller has this version.
      type: int
      sample: 4
security:
  description:
    - With O(security_group), the security filtering after the run (predicted in check mode); null without it.
  returned: success
  type: dict
  contains:
    group:
      description: The computer group.
      type: str
    group_exists:
      description: Whether the group exists.
      type: bool
    members:
      description: The group's members (computer account names).
      type: list
      elements: str
      sample: [SRV01$, SRV02$]
    group_permission:
      description: The group's permission on the GPO (V(GpoApply) when filtered on it).
      type: str
    authenticated_users_permission:
      description: C(Authenticated Users)' permission on the GPO (V(GpoRead) when filtered).
      type: str
step:
  description: The guide step this result judges, V(group_policy).
  returned: always
  type: str
detail:
  description: What was found or changed, in one sentence.
  returned: always
  type: str
domain:
  description: The DNS name of the domain of the host the module ran on.
  returned: success
  type: str
  sample: corp.example.com
settings:
  description:
    - The registry settings this module manages that the GPO carries, each with C(kind) (V(preference) for Group
      Policy Preferences, V(policy) for Administrative Templates / Registry.pol), C(key), C(value_name), C(type),
      C(value) and, for preferences, C(action) and C(disabled).
  returned: success
  type: list
  elements: dict
  sample:
    - kind: preference
      key: HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection
      value_name: ForceDefenderPassiveMode
      type: REG_DWORD
      value: 1
      action: update
      disabled: false
links:
  description: The links of the GPO, each with C(target) (distinguished name), C(enabled), C(enforced) and C(order)
    (the link order on that OU when it is one of O(target_ous), else null).
  returned: success
  type: list
  elements: dict
  sample:
    - target: OU=Servers,OU=Corp,DC=corp,DC=example,DC=com
      enabled: true
      enforced: false
      order: 1
before:
  description: The GPO before the run, with C(exists), C(id), C(name), C(comment), C(settings) and C(links) as above.
  returned: success
  type: dict
after:
  description: The GPO after the run (predicted in check mode), same keys as RV(before).
  returned: success
  type: dict
diff:
  description: RV(before) and RV(after), when run with C(--diff).
  returned: success and diff mode
  type: dict
operations:
  description:
    - The changes made (or, in check mode, that would be made), in order, each with C(op) (V(create_gpo),
      V(set_comment), V(set_preference), V(remove_preference), V(set_policy), V(remove_policy), V(new_link),
      V(set_link), V(remove_link), V(remove_gpo)) and its fields.
  returned: success
  type: list
  elements: dict
conflicts:
  description:
    - Other GPOs that reach O(target_ous) (linked there or inherited) and set C(DisableAntiSpyware) to a non-zero
      value, each with C(gpo), C(gpo_id), C(kind), C(key), C(value_name), C(value) and C(targets).
  returned: success
  type: list
  elements: dict
reason:
  description: Null when the GPO (and its security filtering) is as wanted; on failure, a stable code -
    V(gpo_module_missing) (no GroupPolicy module on the host), V(invalid_argument) (malformed or unknown OU,
    conflicting options), V(host_error) (a GroupPolicy or ActiveDirectory cmdlet failed).
  returned: always
  type: str
  sample: gpo_module_missing
"""

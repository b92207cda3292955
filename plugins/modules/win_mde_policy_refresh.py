# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_policy_refresh.py)
# that runs plugins/modules/win_mde_policy_refresh.ps1 on the host.

DOCUMENTATION = r"""
---
module: win_mde_policy_refresh
short_description: Refresh computer Group Policy and prove that ForceDefenderPassiveMode arrived, and from which GPO
version_added: 0.1.0
description:
  - Runs C(gpupdate /target:computer /force), then reads C(ForceDefenderPassiveMode) under
    C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection) and the computer's Resultant Set of
    Policy (C(gpresult /scope computer /x)) to tell which GPO set it.
  - Fails with reason V(policy_not_applied) when the value is not O(expected_value) after the refresh, or when
    O(expected_gpo) is given and the RSOP shows another GPO (or none) set it. The message lists the GPOs that
    were applied and those that were not, and why (security filtering, disabled link, ...).
  - Reports RV(reboot_required) when the refresh changed the value on a host that is already onboarded, because
    Defender reads it at boot. The module never reboots; use M(ansible.windows.win_reboot).
  - Part of step 5 of the passive-mode guide (after M(mdeops.defender.win_mde_gpo)); the verification Microsoft
    describes with C(gpupdate /force) and C(gpresult).
options:
  expected_value:
    description:
      - The value C(ForceDefenderPassiveMode) must have, V(1) for passive, V(0) for back to active.
    type: int
    choices: [0, 1]
    default: 1
  expected_gpo:
    description:
      - The display name of the GPO that must have set the value (compared case-insensitively with the RSOP).
      - When the RSOP report cannot be read, a warning is given instead of a failure.
    type: str
  timeout:
    description:
      - Seconds C(gpupdate) waits for policy processing to finish (C(/wait)).
    type: int
    default: 120
  gpo:
    description:
      - The registered result of M(mdeops.defender.win_mde_gpo) for the GPO that carries the value. The refresh
        then waits until the domain controller this computer uses has that GPO in the version the task left
        (a GPO made or changed on one domain controller reaches the others by replication), and when the GPO is
        filtered on a computer group it purges the computer's Kerberos tickets (C(klist -li 0x3e7 purge)) before
        C(gpupdate), so that a new group membership counts without a restart.
      - A failed GPO task fails this one with its reason (there is nothing to refresh).
    type: dict
  wait_timeout:
    description:
      - With O(gpo), seconds to wait for the GPO to reach this computer's domain controller. The controller's
        copy is read once per O(wait_interval) (one WinRM round trip each; the last one also refreshes). After
        this bound the module fails with V(policy_not_applied) naming the version it waited for.
      - V(0) reads once.
    type: int
    default: 0
  wait_interval:
    description: Seconds between two reads while waiting.
    type: int
    default: 15
  _gpo_id:
    description:
      - The GUID of the GPO to wait for on this computer's domain controller.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
  _gpo_version:
    description:
      - The computer version of that GPO to wait for.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: int
  _purge_tickets:
    description:
      - Purge the computer's Kerberos tickets before C(gpupdate).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: bool
    default: false
  _group:
    description:
      - The computer group the GPO is filtered on; the refresh also waits until this computer's membership in it,
        on its domain controller, is what the GPO task left (member when it is in _group_members).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
  _group_members:
    description:
      - The members of that group as the GPO task left them (computer account names).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.windows
attributes:
  check_mode:
    details: C(gpupdate) is not run; the module reports the value and the RSOP as they are now and does not fail
      when the value has not arrived (RV(msg) says so).
  diff_mode:
    support: none
notes:
  - C(gpresult /scope computer) needs administrative rights on the host.
  - Computer policy also applies at boot, so after a reboot the value is there without a refresh.
  - A value written by M(mdeops.defender.win_mde_passive_mode) is not from Group Policy; RV(source_gpo) is null then.
seealso:
  - module: mdeops.defender.win_mde_gpo
  - module: mdeops.defender.win_mde_info
  - module: ansible.windows.win_reboot
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Refresh policy on the servers and prove the value came from the passive-mode GPO
  mdeops.defender.win_mde_policy_refresh:
    expected_gpo: MDE - Defender passive mode
  register: refresh

- name: Reboot where Defender must read the new value
  ansible.windows.win_reboot:
  when: refresh.reboot_required
"""

RETURN = r"""
value:
  description: C(ForceDefenderPassiveMode) after the refresh (null when not set).
  returned: always
  type: int
  sample: 1
value_before:
  description: C(ForceDefenderPassiveMode) before the refresh.
  returned: always
  type: int
expected_value:
  description: O(expected_value).
  returned: always
  type: int
arrived:
  description: The value equals O(expected_value).
  returned: always
  type: bool
source_gpo:
  description: The display name of the GPO that set the value, according to the RSOP; null when no GPO sets it
    or the report could not be read.
  returned: always
  type: str
  sample: MDE - Defender passive mode
source:
  description: The winning setting in the RSOP (C(gpo), C(gpo_id), C(kind) - V(preference) or V(policy) -,
    C(precedence), C(action)), or null.
  returned: always
  type: dict
applied_gpos:
  description: The GPOs Windows applied to the computer, in processing order (the last one wins).
  returned: always
  type: list
  elements: str
not_applied_gpos:
  description: GPOs that reach the computer but were not applied, with C(name), C(id) and C(reason).
  returned: always
  type: list
  elements: dict
som:
  description: Where the computer account is, as the RSOP names it (for example C(corp.example.com/Corp/Servers)).
  returned: always
  type: str
defender_turned_off_by:
  description: Applied GPOs that set "Turn off Microsoft Defender Antivirus" (C(DisableAntiSpyware) = 1).
  returned: always
  type: list
  elements: str
guide_force_passive_mode:
  description: The source guide's C(Windows Defender\ForcePassiveMode) (ignored by Windows), or null.
  returned: always
  type: int
disable_antispyware:
  description: C(DisableAntiSpyware) in the registry after the refresh, or null.
  returned: always
  type: int
onboarded:
  description: The host is onboarded to Defender for Endpoint (C(OnboardingState) = 1).
  returned: always
  type: bool
reboot_required:
  description: The refresh changed the value and the host is onboarded; Defender reads the value at boot.
  returned: always
  type: bool
refreshed:
  description: C(gpupdate) ran (false in check mode).
  returned: always
  type: bool
gpupdate:
  description: C(rc) and C(stdout) of C(gpupdate), or null in check mode.
  returned: always
  type: dict
rsop_error:
  description: Why the RSOP report could not be read, or null.
  returned: always
  type: str
msg:
  description: In check mode, a note that gpupdate was not run; on failure, what did not arrive and what to check.
  returned: check mode or failure
  type: str
reason:
  description: Null when the value arrived; on failure, a stable code - V(policy_not_applied) (also when the GPO
    did not reach this computer's domain controller within O(wait_timeout)), V(invalid_argument), V(host_error), or
    the reason of the failed GPO task given as O(gpo).
  returned: always
  type: str
  sample: policy_not_applied
step:
  description: The guide step this result judges, V(group_policy).
  returned: always
  type: str
detail:
  description: The value and the GPO it came from, or why it did not arrive, in one sentence.
  returned: always
  type: str
polls:
  description: How many times this computer's domain controller was read (one WinRM round trip each).
  returned: success
  type: int
waited_s:
  description: Seconds spent waiting for the domain controller.
  returned: success
  type: float
directory:
  description:
    - With O(gpo), what this computer's domain controller has - C(found), C(version) (the computer version of the GPO)
      and, for a GPO filtered on a group, C(member) (this computer is in it there), C(member_expected) and C(groups).
  returned: success
  type: dict
"""

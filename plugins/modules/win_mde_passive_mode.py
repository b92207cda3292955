# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_passive_mode.py)
# that reads the host with plugins/modules/win_mde_info.ps1 and changes it with
# plugins/modules/win_mde_passive_mode.ps1.

DOCUMENTATION = r"""
---
module: win_mde_passive_mode
short_description: Force Microsoft Defender Antivirus into passive mode with the documented registry value
version_added: 0.1.0
description:
  - Sets C(ForceDefenderPassiveMode) (REG_DWORD) under
    C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection), the value Microsoft documents to
    keep Defender Antivirus passive beside a third-party antivirus on Windows Server.
  - O(state=present) writes V(1). O(state=absent) writes V(0), which is Microsoft's documented way back to active
    mode (the value is not deleted).
  - This is step 4 of the passive-mode guide ("force passive mode using the registry"), done with the value
    Microsoft documents instead of the guide's C(Windows Defender\ForcePassiveMode); see O(guide_value).
  - Before changing anything the module reads the host once (like M(mdeops.defender.win_mde_info)), or takes the
    state the caller already read (O(assessment)), and refuses O(state=present) when no third-party antivirus with
    real-time protection runs, because passive Defender would leave the host unprotected (see
    O(require_third_party_av)).
  - It never reboots. It returns RV(reboot_required) for a role or a handler to act on with
    M(ansible.windows.win_reboot).
  - Round trips. One read (none with O(assessment)), plus one change call (which also reads the values back) only
    when a value differs and not in check mode.
options:
  state:
    description:
      - V(present) sets C(ForceDefenderPassiveMode) to V(1) (passive).
      - V(absent) sets it to V(0), Microsoft's documented way back to active mode; reboot afterwards.
    type: str
    choices: [present, absent]
    default: present
  guide_value:
    description:
      - Also manage the source guide's C(HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\ForcePassiveMode), for
        people who must follow the guide literally.
      - With O(state=present) it is set to V(1); with O(state=absent) it is removed.
      - This value is not in any Microsoft document and Windows ignores it; it never changes Defender's mode
        and never makes RV(reboot_required) true.
      - With V(false) the guide's value is left as it is.
    type: bool
    default: false
  require_third_party_av:
    description:
      - The safety guard. With V(true), O(state=present) fails with RV(reason=no_third_party_av) (no third-party
        antivirus found) or RV(reason=third_party_av_inactive) (found, but its real-time protection is off)
        before anything is changed.
      - Decided from the state read before any change. On workstations Security Center is read, and products
        whose service runs without being registered with Security Center count too; on servers, the services
        and installed products of the built-in catalogue and O(av_name_patterns).
      - V(false) skips the guard; the result then carries a loud warning, and a second one when no protecting
        third-party antivirus was found.
    type: bool
    default: true
  _value:
    description:
      - The C(ForceDefenderPassiveMode) data to write.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: int
    choices: [0, 1]
  _guide_state:
    description:
      - What to do with the guide's C(ForcePassiveMode) value.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
    choices: [present, absent, unmanaged]
    default: unmanaged
  _recheck_protection:
    description:
      - Read the third-party antivirus's real-time protection again in the run that writes, and refuse to write
        C(ForceDefenderPassiveMode) = 1 (nothing changed) when it is off now.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: bool
    default: false
  _service_patterns:
    description:
      - Service name patterns of the known antivirus products, for the re-check.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - mdeops.defender.windows.assessment
  - ansible.builtin.action_common_attributes
  - mdeops.defender.windows
  - mdeops.defender.windows.av_patterns
attributes:
  check_mode:
    details: The host is read, the guard and all decisions run; the change call is skipped and RV(after) is the
      predicted state.
  diff_mode:
    support: full
    details: The diff shows the registry values in C(.reg) style before and after.
notes:
  - The guard finds the third-party antivirus with the same read as M(mdeops.defender.win_mde_info). Use
    O(av_name_patterns) when it is not a well-known product.
  - "Why not the guide's value: the guide's C(HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\ForcePassiveMode)
    does not appear in any current Microsoft document. Microsoft documents C(ForceDefenderPassiveMode) under
    C(HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection). A C(ForcePassiveMode) name existed
    only in some 2021 migration pages, and then under the Advanced Threat Protection key."
  - "Timing: Microsoft says to set the value on Windows Server B(before) onboarding. The Sense sensor reads it
    when the device is onboarded, so no reboot is needed then (RV(reboot_required) is false). The guide
    places this step after onboarding."
  - "Reboot: Microsoft documents a reboot after setting V(0) (back to active), so O(state=absent) that changes the
    value from V(1) returns RV(reboot_required=true). Microsoft does not say whether V(1) needs one on an
    onboarded host; the module treats a reboot as the safe choice and returns RV(reboot_required=true) while
    such a host's Defender is not passive yet, also on a rerun that changes nothing. The guide asks for a
    restart in every case."
  - "Tamper protection: on an onboarded Windows Server with platform 4.18.2208.0 or later, tamper protection lets
    Defender switch to active but not back to passive. When Defender is already active there, the value is
    still set (it is harmless), but the task fails with RV(reason=tamper_protection_blocks_passive) and
    RV(tamper_protection_blocks_passive=true), with the remediation: turn on troubleshooting mode for the device in
    the Defender portal, then reboot. Next time, set the value before onboarding."
  - "Windows clients: Microsoft documents the value for Windows Server only. Windows 10 and 11 go passive by
    themselves once onboarded with a third-party antivirus registered with Security Center. Setting it on a
    client is allowed but warned about; its effect there is not documented."
  - The value is compared by its data. A value of another type (for example REG_SZ C(1)) that reads as the
    desired number is taken as already set; the change call always writes a REG_DWORD.
seealso:
  - module: mdeops.defender.win_mde_info
  - module: mdeops.defender.win_antivirus_info
  - module: mdeops.defender.win_mde_onboarding
  - module: ansible.windows.win_reboot
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Keep Defender passive on servers, set before onboarding (Microsoft's order)
  mdeops.defender.win_mde_passive_mode:
    state: present
  register: passive

- name: Reboot when the value needs it
  ansible.windows.win_reboot:
  when: passive.reboot_required

- name: Read the host once (for example in an assessment play)
  mdeops.defender.win_mde_info:
  register: assessment

- name: Use the state a win_mde_info task registered just before (no second read of the host)
  mdeops.defender.win_mde_passive_mode:
    state: present
    assessment: "{{ assessment }}"

- name: An in-house antivirus the catalogue does not know
  mdeops.defender.win_mde_passive_mode:
    av_name_patterns:
      - ContosoAV*

- name: Follow the guide literally as well (Windows ignores the guide's value)
  mdeops.defender.win_mde_passive_mode:
    guide_value: true

- name: Back to active mode after the third-party antivirus was removed
  mdeops.defender.win_mde_passive_mode:
    state: absent
    guide_value: true
  register: active

- name: Reboot to go back to active mode
  ansible.windows.win_reboot:
  when: active.reboot_required

- name: Report servers that tamper protection keeps active instead of failing the play
  mdeops.defender.win_mde_passive_mode:
    state: present
  register: passive
  failed_when:
    - passive is failed
    - passive.reason != 'tamper_protection_blocks_passive'
"""

RETURN = r"""
step:
  description: The guide step this result judges, V(registry).
  returned: always
  type: str
reason:
  description:
    - Null when ForceDefenderPassiveMode is now the value asked for; else why not (the task fails) -
      V(no_third_party_av), V(third_party_av_inactive) (refused before any change), V(policy_not_applied) (the value
      does not read back), V(tamper_protection_blocks_passive) (an onboarded server that tamper protection holds
      active), V(invalid_argument), V(host_error).
  returned: always
  type: str
detail:
  description: C(ForceDefenderPassiveMode) as it is now, or why it is not as asked, in one sentence.
  returned: always
  type: str
before:
  description: The two registry values before the task (null when not set).
  returned: always
  type: dict
  contains:
    force_defender_passive_mode:
      description: C(ForceDefenderPassiveMode) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection).
      type: int
      sample: null
    guide_force_passive_mode:
      description: The guide's C(ForcePassiveMode) under C(HKLM\SOFTWARE\Policies\Microsoft\Windows Defender).
      type: int
      sample: null
after:
  description:
    - The two registry values after the task, read back from the host after a change.
    - In check mode, the predicted values.
    - On failure, the same as RV(before) (nothing was changed); both values null when the host could not be read.
  returned: always
  type: dict
  contains:
    force_defender_passive_mode:
      description: C(ForceDefenderPassiveMode).
      type: int
      sample: 1
    guide_force_passive_mode:
      description: The guide's C(ForcePassiveMode).
      type: int
      sample: null
reboot_required:
  description:
    - True when a reboot is needed for the documented value to take effect. O(state=absent) that changed the
      value from V(1) needs a reboot (documented). O(state=present) needs one on an onboarded host whose
      Defender is not passive yet (the safe choice; Microsoft does not say). It does not need one before
      onboarding.
    - The module never reboots.
  returned: always
  type: bool
  sample: false
tamper_protection_blocks_passive:
  description: True when tamper protection keeps this onboarded server's Defender active whatever the value
    (platform 4.18.2208.0 or later, Defender already active). See RV(remediation).
  returned: always
  type: bool
  sample: false
remediation:
  description: What to do when RV(tamper_protection_blocks_passive) is true, or on failure; null otherwise.
  returned: always
  type: str
  sample: null
defender_mode:
  description: Defender's normalised running mode read before the change (V(active), V(passive),
    V(edr_block), V(sxs_passive), V(disabled), V(not_installed), V(unknown)). Setting the value does not change
    the mode by itself. Null when the host could not be read (also RV(onboarded), RV(os_kind), RV(third_party_av)).
  returned: always
  type: str
  sample: active
onboarded:
  description: The device was onboarded to Defender for Endpoint (C(OnboardingState) = 1) before the task.
  returned: always
  type: bool
  sample: false
os_kind:
  description: V(workstation), V(server) or V(domain_controller).
  returned: always
  type: str
  sample: server
third_party_av:
  description: The third-party antivirus the guard saw.
  returned: always
  type: dict
  contains:
    present:
      description: A third-party antivirus was found.
      type: bool
    protecting:
      description: A third-party antivirus has real-time protection on.
      type: bool
    names:
      description: The third-party products found.
      type: list
      elements: str
    protecting_names:
      description: The third-party products with real-time protection on.
      type: list
      elements: str
diff:
  description: In diff mode, the registry values in C(.reg) style (C(before), C(after) and their headers).
  returned: when diff mode is on
  type: dict
  sample:
    before: "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection]\n; \"ForceDefenderPassiveMode\" is not set\n"
    after: "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection]\n\"ForceDefenderPassiveMode\"=dword:00000001\n"
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_info.py)
# that runs plugins/modules/win_mde_info.ps1 on the host.

DOCUMENTATION = r"""
---
module: win_mde_info
short_description: Read Defender for Endpoint and Defender Antivirus state and diagnose passive mode
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip, everything that decides whether Microsoft Defender Antivirus is in
    passive mode beside a third-party antivirus with the Defender for Endpoint (MDE) sensor reporting.
  - Returns the operating system, Defender's status (the C(Get-MpComputerStatus) fields and the running
    mode normalised to one of V(passive), V(edr_block), V(sxs_passive), V(active), V(disabled),
    V(not_installed), V(unknown)), the WinDefend, Sense and Security Center services, onboarding state
    and organisation, the policy values that matter, the antivirus products (Security Center on
    workstations; services and installed products on servers), tamper protection, pending reboot and
    domain membership.
  - Returns a RV(diagnosis) with RV(diagnosis.compliant), RV(diagnosis.protected) and a list of
    RV(diagnosis.problems), each with a stable C(reason) code, its family (the guide's causes of failure,
    that is onboarding, AV conflict, policy, unsupported Windows; and tamper protection, Security Center),
    a message and a remediation.
  - This is step 3 of the passive-mode guide (verify Defender's mode) and the check after every other step.
  - Returns its verdict as RV(step), RV(reason) (null when the host is compliant, or protected with Defender
    active by design) and RV(detail). It never fails because of what it found; register the result.
  - With O(wait_for) it reads the host again (one round trip per read, a pause on the controller between reads)
    until the host reaches the goal or O(wait_timeout) passes, and gives its verdict only then. Windows switches
    Defender's mode and starts the sensor some time after onboarding and after a boot.
  - The task does not fail on the verdict (an info module); RV(reason) says whether the host reached its goal.
  - With O(rollout) it also returns the host's rollout plan (RV(plan)), as the C(mdeops.defender.mde_rollout)
    role follows it.
options:
  expected_org_id:
    description:
      - The Defender for Endpoint organisation id (a GUID, in any case, with or without braces) the host must be onboarded to.
      - When set, a host onboarded to another organisation gets the problem C(wrong_org) and is not
        compliant.
    type: str
  wait_for:
    description:
      - Read the host until it reaches this goal, or O(wait_timeout) passes.
      - V(passive) - Defender passive (or EDR block mode) beside a third-party antivirus, onboarded, sensor running.
      - V(active_by_design) - onboarded with the sensor running and Defender the active antivirus (no third-party
        antivirus to stand aside for); a host that reaches V(passive) also ends the wait.
      - V(onboarded) - C(OnboardingState) 1 and the Sense service running.
      - V(offboarded) - not onboarded, the Sense service stopped, and the host protected (Defender active, or the
        third-party antivirus).
      - V(protected) - the check after a repair (C(ForceDefenderPassiveMode) back to 0); real-time protection by any
        antivirus ends the wait. RV(reason) is null when the third-party antivirus protects the host; when Defender
        alone does, it names why the third-party antivirus does not (V(third_party_av_inactive),
        V(no_third_party_av), V(security_center_disabled)) - protected, but not ready for passive mode; V(unprotected)
        when the host is still without real-time protection.
      - V(none) - read once.
      - In check mode the host is read once and not judged (RV(reason) is null) - the changes the wait is for did not
        happen.
    type: str
    choices: [none, passive, active_by_design, onboarded, offboarded, protected]
    default: none
  wait_timeout:
    description: The longest wait, in seconds, for O(wait_for). The verdict is given after it.
    type: int
    default: 300
  wait_interval:
    description: Seconds between two reads while waiting (one WinRM round trip per read).
    type: int
    default: 10
  host_read:
    description:
      - The host as a module of this collection read it at the end of its change, in the same round trip
        (RV(mdeops.defender.win_mde_onboarding#module:host_read) of C(mdeops.defender.win_mde_onboarding)).
      - With O(wait_for), a host that read already reached the goal is judged from it, without another round trip;
        otherwise the first read follows O(wait_interval) seconds later. Give it only when nothing changed the host
        since (no reboot in between).
      - When it comes from an onboarding (offboarding) whose script stopped waiting with a sensor exit code
        (C(pending_onboarding)) and the host does not get there within O(wait_timeout), the verdict is the
        script's own (RV(step=onboard), its exit code and its documented meaning), with what the wait saw.
      - Without O(wait_for), or in check mode, it is ignored and the host is read.
    type: dict
  rollout:
    description:
      - Plan this host's rollout as the C(mdeops.defender.mde_rollout) role does, from this read. Adds RV(plan) and
        sets RV(reason) when the plan refuses the host.
    type: dict
    suboptions:
      require_third_party_av:
        description: Refuse hosts without an active third-party antivirus (else they are onboarded and Defender
          stays active by design).
        type: bool
        default: false
      passive_method:
        description: How ForceDefenderPassiveMode is delivered to hosts that need it (V(none) - by you, outside the role).
        type: str
        choices: [registry, group_policy, none]
        default: registry
      force_passive_on_clients:
        description: Plan ForceDefenderPassiveMode on Windows clients too (Microsoft documents it for servers).
        type: bool
        default: false
      installer_available:
        description: md4ws.msi is available for Windows Server 2012 R2 and 2016 (else they are refused).
        type: bool
        default: false
      confirm_edr:
        description: Compliant hosts still join a wave, to have their EDR confirmed through the Defender API.
        type: bool
        default: false
  offboard:
    description:
      - Plan this host's offboarding as the C(mdeops.defender.mde_offboard) role does (RV(plan)) - ForceDefenderPassiveMode
        back to 0 and a reboot first where Defender is passive or off, then the offboarding package. Mutually exclusive
        with O(rollout).
    type: dict
    suboptions:
      allow_reboot:
        description: A reboot is allowed; without it a host that would be left unprotected is refused.
        type: bool
        default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.info_module
  - mdeops.defender.windows
  - mdeops.defender.windows.av_patterns
  - mdeops.defender.windows.support_policy
  - mdeops.defender.windows.host_read
notes:
  - The mode is reported as Windows reports it in RV(defender.am_running_mode) and normalised in
    RV(defender.mode). C(Passive) and C(Passive Mode) are the same state; C(EDR Block Mode) means passive
    with EDR in block mode turned on.
  - Microsoft documents no bit layout of Security Center's C(productState); the community decoding is used
    and a product whose state cannot be decoded does not count as real-time protection.
  - On Windows Server there is no Security Center; detection by service and installed product is a
    best effort, extendable with O(av_name_patterns).
seealso:
  - module: mdeops.defender.win_antivirus_info
  - module: mdeops.defender.win_mde_onboarding
  - module: mdeops.defender.win_mde_passive_mode
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Read the Defender state of every host
  mdeops.defender.win_mde_info:
    expected_org_id: 0a1b2c3d-1111-2222-3333-444455556666
  register: mde

- name: Show hosts that are not in passive mode yet, and why
  ansible.builtin.debug:
    msg: "{{ mde.diagnosis.summary }}"
  when: mde.reason is not none

- name: After onboarding, wait (up to 10 minutes) for Defender to go passive, then judge
  mdeops.defender.win_mde_info:
    expected_org_id: 0a1b2c3d-1111-2222-3333-444455556666
    wait_for: passive
    wait_timeout: 600
    wait_interval: 15
  register: settled
  # an info module does not fail on the verdict: reason says whether the goal was reached
  failed_when: settled.reason is not none

- name: Stop a host whose Defender cannot go passive
  ansible.builtin.assert:
    that: mde.diagnosis.protected
    fail_msg: "{{ mde.diagnosis.problems | map(attribute='msg') | join('; ') }}"

- name: Recognise an in-house antivirus on servers
  mdeops.defender.win_mde_info:
    av_name_patterns:
      - ContosoAV*
"""

RETURN = r"""
step:
  description:
    - The guide step this result judges - V(verify_mode), V(assess) with O(rollout) or O(offboard), or V(onboard) when
      a pending onboarding in O(host_read) never got there (see O(host_read)).
  returned: success
  type: str
  sample: verify_mode
reason:
  description:
    - The verdict - null when the host is compliant or protected with Defender active by design (with O(rollout) -
      when the plan does not refuse the host), else a reason code (see the collection's C(docs/reason-codes.md)).
    - On failure, V(invalid_argument) or V(host_error).
  returned: always
  type: str
  sample: null
detail:
  description: The verdict in one sentence, for people.
  returned: success
  type: str
polls:
  description: How many times the host was read (one WinRM round trip each); 0 when O(host_read) already showed the goal.
  returned: success
  type: int
  sample: 1
waited_s:
  description: Seconds spent reading and waiting.
  returned: success
  type: float
plan:
  description:
    - With O(rollout) or O(offboard) - the host's plan - C(action) (V(refuse), V(done), V(rollout), V(repair),
      V(offboard)), C(goal) (V(passive), V(active_by_design) or V(offboarded)), C(steps) in order (from
      V(passive_off), V(registry), V(group_policy), V(onboard), V(reboot), V(offboard), V(verify_mode)),
      C(passive_value) (V(present), V(absent) or null - what to do with ForceDefenderPassiveMode), C(wave) (whether
      the host joins a wave), C(reason) and C(detail).
  returned: when O(rollout) or O(offboard) is given
  type: dict
hostname:
  description: The host's DNS host name.
  returned: success
  type: str
  sample: WS-W11-01
computer:
  description: The machine's own identity.
  returned: success
  type: dict
  contains:
    machine_guid:
      description: C(HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid), written once by Windows Setup; two inventory
        names of one machine report the same (the rollout refuses the second, reason V(duplicate_host)).
      type: str
os:
  description: Operating system facts and whether passive mode is supported there.
  returned: success
  type: dict
  contains:
    caption:
      description: C(Win32_OperatingSystem.Caption).
      type: str
      sample: Microsoft Windows 11 Enterprise
    version:
      description: The version, for example C(10.0.22631).
      type: str
    build:
      description: The build number.
      type: int
      sample: 22631
    ubr:
      description: The update build revision, when known.
      type: int
    product_type:
      description: 1 workstation, 2 domain controller, 3 server.
      type: int
    kind:
      description: V(workstation), V(server) or V(domain_controller).
      type: str
    edition:
      description: The C(EditionID).
      type: str
    support:
      description: The support classification (C(supported), C(family), C(name), C(passive_automatic),
        C(needs_force_passive), C(needs_unified_agent), C(reason), C(detail)).
      type: dict
defender:
  description: Microsoft Defender Antivirus (C(edr_block_mode) says whether Windows reported C(EDR Block Mode);
    with ForceDefenderPassiveMode 0 that is the active mode).
  returned: success
  type: dict
  contains:
    installed:
      description: Whether Defender Antivirus is present.
      type: bool
    mode:
      description: The normalised running mode.
      type: str
      sample: passive
    am_running_mode:
      description: C(AMRunningMode) as C(Get-MpComputerStatus) reports it.
      type: str
      sample: Passive Mode
    real_time_protection_enabled:
      description: C(RealTimeProtectionEnabled).
      type: bool
    platform_version:
      description: C(AMProductVersion).
      type: str
    engine_version:
      description: C(AMEngineVersion).
      type: str
    signature_version:
      description: C(AntivirusSignatureVersion).
      type: str
    tamper_protected:
      description: C(IsTamperProtected).
      type: bool
    status:
      description: The C(Get-MpComputerStatus) properties the collection reads, or null.
      type: dict
    status_error:
      description: Why the status could not be read, or null.
      type: str
services:
  description: The C(windefend), C(sense) and C(wscsvc) services (C(exists), C(state), C(start_mode), C(running)).
  returned: success
  type: dict
onboarding:
  description: Defender for Endpoint onboarding.
  returned: success
  type: dict
  contains:
    onboarded:
      description: C(OnboardingState) is 1.
      type: bool
    onboarding_state:
      description: The raw C(OnboardingState) value, or null.
      type: int
    org_id:
      description: The organisation id from C(OnboardingInfo), or null.
      type: str
    sense_running:
      description: The Sense service is running.
      type: bool
    sense_installed:
      description: The Sense service exists.
      type: bool
    expected_org_id:
      description: O(expected_org_id), normalised.
      type: str
    org_matches:
      description: Whether the org id is the expected one (null when either is unknown).
      type: bool
policy:
  description: The policy registry values that matter (null when not set).
  returned: success
  type: dict
  contains:
    force_defender_passive_mode:
      description: C(HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection\ForceDefenderPassiveMode).
      type: int
    guide_force_passive_mode:
      description: The source guide's C(HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\ForcePassiveMode), which Windows ignores.
      type: int
    disable_antispyware:
      description: C(DisableAntiSpyware) ("Turn off Microsoft Defender Antivirus").
      type: int
    disable_realtime_monitoring:
      description: C(DisableRealtimeMonitoring) ("Turn off real-time protection").
      type: int
security_center:
  description: Windows Security Center (C(applicable) on workstations only, C(available), C(service_running), C(error)).
  returned: success
  type: dict
antivirus:
  description: Antivirus products and whether a third-party one provides real-time protection.
  returned: success
  type: dict
  contains:
    products:
      description: Each product with C(name), C(microsoft), C(third_party), C(enabled), C(real_time),
        C(up_to_date), C(state), C(product_state), C(found_by) (V(security_center), V(service),
        V(installed_product), V(user_pattern)), C(registered), C(service), C(service_state).
      type: list
      elements: dict
    third_party_present:
      description: A non-Microsoft antivirus was found.
      type: bool
    third_party_active:
      description: A non-Microsoft antivirus has real-time protection on.
      type: bool
    third_party_names:
      description: Names of the third-party products.
      type: list
      elements: str
    active_names:
      description: Names of the third-party products with real-time protection on.
      type: list
      elements: str
tamper_protection:
  description: Tamper protection is on (null when unknown).
  returned: success
  type: bool
reboot_pending:
  description: A reboot is pending.
  returned: success
  type: bool
reboot_pending_reasons:
  description: Which markers say so (V(component_based_servicing), V(windows_update), V(pending_file_rename)).
  returned: success
  type: list
  elements: str
domain:
  description: Domain membership (C(joined), C(name)).
  returned: success
  type: dict
last_boot_filetime:
  description: Last boot time as a Windows FILETIME.
  returned: success
  type: int
diagnosis:
  description: Whether the passive-mode goal is met, and why not.
  returned: success
  type: dict
  contains:
    compliant:
      description: Defender passive (or EDR block mode), onboarded (to O(expected_org_id) when given), sensor
        running, and a third-party antivirus with real-time protection on.
      type: bool
    verdict:
      description:
        - V(compliant); V(active_by_design) (onboarded, sensor running, Defender the active antivirus because no
          third-party antivirus can take over); V(unprotected) (no real-time protection at all); V(non_compliant).
        - A host whose verdict is V(compliant) or V(active_by_design) carries no problem of severity V(error).
      type: str
    protected:
      description: The host has real-time antivirus protection (Defender active, or a third-party antivirus).
      type: bool
    goal_met:
      description: Defender's mode is V(passive) or V(edr_block).
      type: bool
    mode:
      description: The normalised mode.
      type: str
    problems:
      description: Problems found, each with C(reason), C(family), C(severity) (V(error), V(warning), V(info)),
        C(msg) and C(remediation). See the reason codes in the collection's docs.
      type: list
      elements: dict
    reasons:
      description: The C(reason) of every problem.
      type: list
      elements: str
    summary:
      description: One line for people.
      type: str
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_onboarding.py)
# that runs plugins/modules/win_mde_onboarding.ps1 on the host.

DOCUMENTATION = r"""
---
module: win_mde_onboarding
short_description: Onboard a Windows host to Defender for Endpoint, or offboard it, with the portal's script package
version_added: 0.1.0
description:
  - Step 1 of the passive-mode guide. Runs the Defender for Endpoint (MDE) B(Group Policy) onboarding script
    downloaded from the Microsoft Defender portal (O(state=present)), or the offboarding script (O(state=absent)),
    unattended and elevated, then waits until the sensor (the Sense service) reports the wanted state.
  - The package is read and checked B(before) anything runs on the host - its organisation id, its kind, its
    expiry date (offboarding packages expire 7 days after download), an optional O(checksum) - and refused with a
    stable RV(reason) code when it must not run.
  - The host is read once first. A host already onboarded to the package's organisation with Sense running
    (or, for O(state=absent), a host that is not onboarded) is left alone and reports C(changed=false); nothing is
    transferred and no script runs.
  - Windows Server 2012 R2 and 2016 need the modern unified solution (C(md4ws.msi)) before the onboarding script
    can work. Give it with O(installer) or O(remote_installer); it is installed silently, only when
    C(Microsoft Defender for Endpoint) is not installed yet.
  - The module never sets Defender Antivirus' mode. On Windows 10/11 with a third-party antivirus registered with
    Windows Security Center, Defender goes to passive mode by itself once the host is onboarded. On Windows Server
    set C(ForceDefenderPassiveMode) with M(mdeops.defender.win_mde_passive_mode), B(before) onboarding.
options:
  state:
    description:
      - V(present) runs an onboarding package, V(absent) an offboarding package.
      - A package of the other kind is refused with C(reason=wrong_package_type).
    type: str
    choices: [present, absent]
    default: present
  package:
    description:
      - Path on the controller of the package downloaded from the Defender portal (Settings > Endpoints > Device
        management > Onboarding or Offboarding, deployment method C(Group Policy)), either the zip
        (C(WindowsDefenderATPOnboardingPackage.zip), C(WindowsDefenderATPOffboardingPackage.zip)) or the C(.cmd)
        inside it.
      - A relative path is searched like other modules' C(src) (the role's or the playbook's C(files/) directory).
      - The file may be encrypted with ansible-vault.
      - The script is sent inside the module's arguments (no file transfer) and never comes back in the result.
      - Mutually exclusive with O(remote_package); one of them is required.
    type: path
  remote_package:
    description:
      - Path on the host (local or UNC) of the package, for when the controller does not hold it.
      - The host sends the file back first (at most 2 MiB) so the same checks run on the controller before the
        script does; this costs one more WinRM command.
      - A UNC path is read as the connection user; with NTLM or plain Kerberos that user has no credentials for the
        share (double hop). Use CredSSP, Kerberos delegation or O(package).
    type: str
  checksum:
    description:
      - The expected SHA-256 of the package, as C(sha256:<hex>) (or just C(<hex>)); it may be the checksum of the zip or
        of the script inside it.
      - A mismatch is refused with C(reason=checksum_mismatch) before anything runs.
    type: str
  expected_org_id:
    description:
      - The Defender for Endpoint organisation id (a GUID, in any case, with or without braces) the package must belong to.
      - A package of another organisation is refused with C(reason=wrong_org) before the host is contacted; O(force)
        does not override this.
    type: str
  force:
    description:
      - Run the package although the host is onboarded to B(another) organisation (otherwise C(reason=wrong_org)).
      - Microsoft's way to move a device is to offboard it with the old organisation's package first.
      - An offboarding script still refuses a package of another organisation (exit code 70).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the script and then for the sensor to reach the wanted state (OnboardingState = 1 and
        Sense running, or Sense stopped and OnboardingState not 1).
      - A script still running after this is stopped (with its child processes).
      - Does not bound the installer (msiexec gets up to 1800 seconds).
    type: int
    default: 300
  installer:
    description:
      - Path on the controller of C(md4ws.msi), the modern unified solution for Windows Server 2012 R2 and 2016.
      - Transferred to a temporary directory on the host (removed afterwards) only when the host needs it.
      - Ignored (with a warning) with O(state=absent), and on hosts that do not need it.
    type: path
  remote_installer:
    description:
      - Path on the host (local or UNC) of C(md4ws.msi); the same as O(installer) without the transfer.
      - The same double-hop limit as O(remote_package) applies to UNC paths.
    type: str
  installer_force_passive:
    description:
      - Install C(md4ws.msi) with C(FORCEPASSIVEMODE=1), so Defender Antivirus starts in passive mode.
      - Microsoft says the C(ForceDefenderPassiveMode) registry value must B(also) be set for Defender to stay passive
        after onboarding; that is M(mdeops.defender.win_mde_passive_mode)'s job, not this module's.
    type: bool
    default: true
  wait:
    description:
      - Wait (within O(timeout)) until Windows reports the device onboarded with the Sense sensor running (or, for
        V(absent), offboarded), and judge the run by that.
      - V(false) returns once the script has run; a run whose sensor is still starting is not a failure (RV(pending))
        and is judged later, for example by M(mdeops.defender.win_mde_info) with O(mdeops.defender.win_mde_info#module:wait_for).
        The C(mdeops.defender.mde_rollout) role does so, so that the wait does not hold a fork for every host.
    type: bool
    default: true
  _action:
    description:
      - The operation, to read a package on the host or to run the onboarding or offboarding script.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
    choices: [read_package, onboard, offboard]
  _path:
    description:
      - The path on the host of the package to read (O(remote_package)).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
  _max_bytes:
    description:
      - The largest package file that is read.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: int
    default: 2097152
  _script:
    description:
      - The text of the onboarding or offboarding script, read and checked on the controller. Never logged (C(no_log)).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
  _script_name:
    description:
      - The file name to give the script on the host.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
    default: WindowsDefenderATPOnboardingScript.cmd
  _installer:
    description:
      - The path on the host of md4ws.msi to install when the unified agent is missing.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: str
  _recheck_exit_codes:
    description:
      - The exit codes of the script's own waits, after which the host is given what is left of O(timeout) to reach
        the state.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: int
    default: []
  _service_patterns:
    description:
      - Service name patterns of the known antivirus products. A server that holds C(ForceDefenderPassiveMode) = 1 is
        onboarded only while one of them still runs (checked in the run that onboards); the installer's
        C(FORCEPASSIVEMODE=1) is left off when none does.
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: list
    elements: str
    default: []
  _wait:
    description:
      - V(false) skips the wait on the host after the script (O(wait)).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: bool
    default: true
  _read_state:
    description:
      - The host read to return after the change (the options of the win_mde_info read).
      - Internal, set by the action plugin for the PowerShell side. A task cannot set it (the action plugin rejects it).
    type: dict
extends_documentation_fragment:
  - mdeops.defender.windows.assessment
  - ansible.builtin.action_common_attributes
  - mdeops.defender.windows
  - mdeops.defender.windows.av_patterns
  - mdeops.defender.windows.support_policy
attributes:
  check_mode:
    details:
      - The host is read (and O(remote_package) fetched); nothing is transferred or run. C(changed), RV(after) and the
        diff are the prediction of a successful run; RV(script_result) and RV(events) stay empty.
  diff_mode:
    support: full
    details: The diff is RV(before) and RV(after) (onboarded, org_id, onboarding_state, sense_running).
notes:
  - O(av_name_patterns) and O(support_policy) apply to the host read before the change and to RV(host_read)
    returned after it. Whether O(installer) is needed always follows Microsoft's documentation.
  - Interactive script - B(refused). The local script (C(WindowsDefenderATPLocalOnboardingScript.cmd)) asks for C(Y)
    with C(set /p) and waits for a key; without a console it loops on its prompt. It is refused with
    C(reason=interactive_package). Use the Group Policy package, which Microsoft describes as the one for unattended
    deployment. A zip holding both scripts runs the Group Policy one.
  - Who runs the script - the B(connection user), elevated, not SYSTEM. WinRM gives administrators an elevated token,
    which is what the script needs (it checks it and exits 65 otherwise); Group Policy uses SYSTEM only because it
    has no user. Running as SYSTEM would need a scheduled task, more round trips and a second place where the script
    lands on disk. To run it exactly as Group Policy does, set C(become=true), C(become_method=runas),
    C(become_user=SYSTEM) on the task.
  - How the script runs - written to a new directory in the connection user's temporary directory (private to that
    user, SYSTEM and administrators), run with C(cmd.exe /d /c) in a console of its own without a window, as a Group
    Policy startup script runs (no stream redirected, so the script's own C(timeout) waits work), output not read
    (the scripts log to the event log, their output could echo the onboarding data), stopped after O(timeout) (a
    stray C(pause) ends so), and deleted afterwards.
  - The package content is sensitive - anyone with it can onboard devices into the tenant. It is sent as a C(no_log)
    module argument, so neither the module invocation, the Ansible event log entry on the host, the result nor the
    controller's verbose output shows it. With C(ANSIBLE_DEBUG=1) ansible-core prints module arguments; with
    O(remote_package) the package itself comes back over WinRM and ansible-core's C(-vvvvv) output of the connection
    shows raw command output.
  - After onboarding or offboarding, the same round trip reads the whole host as M(mdeops.defender.win_mde_info)
    does and returns it as RV(host_read), so a play does not need to read the host again.
  - A host that reports another organisation than the package's after the script ran fails hard with
    C(reason=wrong_org), whatever else happened.
  - WinRM commands per task - nothing to do 1; onboarding or offboarding 2 (read the host, run); check mode 1; a
    refused package 0; O(remote_package) one more; a transferred O(installer) three more (temporary directory,
    transfer, cleanup). With O(assessment) the read before the change is not made (one command less).
  - Offboarding does not uninstall C(md4ws.msi) on Server 2012 R2/2016 (Microsoft - offboard first, then
    C(msiexec /x md4ws.msi /quiet)). The installer runs with C(/norestart); RV(reboot_required) says when Windows
    Installer asked for a restart (use M(ansible.windows.win_reboot)).
  - Exit codes and event IDs of the scripts are Microsoft's (troubleshoot-onboarding) - 5, 10, 15, 30, 35, 40, 65,
    70; 15 and 30 (Sense did not start) fail with C(reason=sensor_not_running), the others with
    C(reason=onboarding_failed) or C(reason=offboarding_failed). The codes of the script's own waits (15, 30, 35,
    40; offboarding 15) are judged by what the host reports after the wait - a host that got there passes, with a
    warning - or, with O(wait=false), left to the caller (RV(pending)).
seealso:
  - module: mdeops.defender.win_mde_info
  - module: mdeops.defender.win_mde_passive_mode
  - name: Onboard Windows devices using Group Policy
    description: Microsoft's page on the Group Policy onboarding package.
    link: https://learn.microsoft.com/defender-endpoint/configure-endpoints-gp
  - name: Troubleshoot onboarding issues
    description: The script's error event IDs.
    link: https://learn.microsoft.com/defender-endpoint/troubleshoot-onboarding
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Onboard with the Group Policy package kept (vault-encrypted) in the playbook's files/ directory
  mdeops.defender.win_mde_onboarding:
    package: WindowsDefenderATPOnboardingPackage.zip
    expected_org_id: 0a1b2c3d-1111-2222-3333-444455556666
    checksum: sha256:9f3c5ad1c8b0f6bbf1e4a8f1e2a7b4d60f5b9a1f0c3e2d4b6a8c0e1f2a3b4c5d
  register: onboarding

- name: Show the script's result
  ansible.builtin.debug:
    msg: "{{ onboarding.script_result.exit_code }}: {{ onboarding.script_result.meaning }}"
  when: onboarding.script_result is not none

- name: Server 2012 R2 / 2016 - set passive mode first, then install md4ws.msi and onboard
  when:
    - ansible_facts.os_product_type != 'workstation'
    - ansible_facts.distribution_version is version('10.0.14393', '<=')
  block:
    - name: Force passive mode before onboarding (servers never go passive by themselves)
      mdeops.defender.win_mde_passive_mode:
        state: present

    - name: Install the unified solution and onboard
      mdeops.defender.win_mde_onboarding:
        package: WindowsDefenderATPOnboardingPackage.zip
        installer: md4ws.msi
        installer_force_passive: true
        timeout: 600
      register: onboarding

    - name: Restart when Windows Installer asked for it
      ansible.windows.win_reboot:
      when: onboarding.reboot_required

- name: Onboard from a package already on the host, as SYSTEM like Group Policy
  mdeops.defender.win_mde_onboarding:
    remote_package: C:\Deploy\WindowsDefenderATPOnboardingScript.cmd
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM

- name: Offboard (the offboarding package is valid for 7 days after download)
  mdeops.defender.win_mde_onboarding:
    state: absent
    package: WindowsDefenderATPOffboardingPackage.zip
    expected_org_id: 0a1b2c3d-1111-2222-3333-444455556666

- name: Branch on the reason code, never on the message
  mdeops.defender.win_mde_onboarding:
    package: WindowsDefenderATPOnboardingPackage.zip
  register: onboarding
  failed_when:
    - onboarding is failed
    - onboarding.reason != 'wrong_org'
"""

RETURN = r"""
step:
  description: The guide step this result judges, V(onboard).
  returned: always
  type: str
reason:
  description:
    - Null when the step reached what it promised; else the failure's reason code (the task fails) - V(wrong_org),
      V(package_expired), V(checksum_mismatch), V(package_invalid), V(package_not_found), V(wrong_package_type),
      V(interactive_package), V(unified_agent_required), V(onboarding_failed), V(offboarding_failed),
      V(sensor_not_running), V(invalid_argument), V(host_error).
  returned: always
  type: str
  sample: null
detail:
  description: What happened, in one sentence.
  returned: always
  type: str
pending:
  description: With O(wait=false), the script ran and Windows is still starting (or stopping) the sensor.
  returned: when the script ran
  type: bool
host_read:
  description:
    - The host as M(mdeops.defender.win_mde_info) reads it, right after the script, in the same round trip (the
      state, the diagnosis and its verdict).
    - When the script stopped waiting with a sensor exit code while Windows was still starting (or stopping)
      Sense (RV(pending=true)), its key C(pending_onboarding) holds what the settle wait of
      M(mdeops.defender.win_mde_info) needs to judge the script if the host never gets there (the exit code, the
      timeout, the events).
  returned: when the script ran
  type: dict
state:
  description: O(state).
  returned: always
  type: str
  sample: present
operation:
  description: What the module decided - V(none) (already in the wanted state), V(onboard) or V(offboard); null when
    it stopped before reading the host.
  returned: always
  type: str
  sample: onboard
package:
  description: What was read from the package (never its content); null when it could not be read.
  returned: always
  type: dict
  contains:
    name:
      description: File name of the package.
      type: str
      sample: WindowsDefenderATPOnboardingPackage.zip
    script_name:
      description: The script in it.
      type: str
      sample: WindowsDefenderATPOnboardingScript.cmd
    kind:
      description: V(onboarding) or V(offboarding).
      type: str
    flavor:
      description: V(group_policy) (unattended) or V(local) (interactive, refused).
      type: str
    org_id:
      description: The organisation id the package belongs to.
      type: str
      sample: 0a1b2c3d-1111-2222-3333-444455556666
    sha256:
      description: SHA-256 of the package file.
      type: str
    script_sha256:
      description: SHA-256 of the script.
      type: str
    valid_until:
      description: Offboarding packages - the last day the package is valid (from its file name); null otherwise.
      type: str
      sample: "2026-12-07"
    source:
      description: V(controller) (O(package)) or V(remote) (O(remote_package)).
      type: str
before:
  description: The onboarding state read before any change; null when the module stopped before reading the host.
  returned: always
  type: dict
  contains:
    onboarded:
      description: C(OnboardingState) is 1.
      type: bool
    org_id:
      description: The organisation the host is onboarded to (from C(OnboardingInfo)), or null.
      type: str
    onboarding_state:
      description: The raw C(HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status\OnboardingState), or null.
      type: int
    sense_running:
      description: The Sense service is running.
      type: bool
  sample: {onboarded: false, org_id: null, onboarding_state: null, sense_running: false}
after:
  description:
    - The onboarding state after the run, with the keys of RV(before) (read on the host at the end of the run).
    - In check mode, the predicted state; when nothing had to be done, the same as RV(before).
  returned: always
  type: dict
  sample: {onboarded: true, org_id: 0a1b2c3d-1111-2222-3333-444455556666, onboarding_state: 1, sense_running: true}
diff:
  description: RV(before) and RV(after) as C(before)/C(after), in diff mode.
  returned: diff mode
  type: dict
script_result:
  description: The script's exit code and its documented meaning; null when no script ran.
  returned: always
  type: dict
  contains:
    exit_code:
      description: The exit code (0 success; for errors the ID of the error event the script wrote); null when it was
        stopped.
      type: int
      sample: 0
    meaning:
      description: Microsoft's meaning of the exit code (troubleshoot-onboarding).
      type: str
    documented:
      description: Whether Microsoft documents the code.
      type: bool
    success:
      description: Exit code 0 within the timeout.
      type: bool
    timed_out:
      description: The script did not finish within O(timeout) and was stopped.
      type: bool
    duration_s:
      description: How long the script ran.
      type: float
    waited_s:
      description: How long the module then waited for the sensor.
      type: float
    wait_timed_out:
      description: The sensor did not reach the wanted state within O(timeout).
      type: bool
events:
  description: The C(WDATPOnboarding)/C(WDATPOffboarding) events of the Application log written during the run.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: C(WDATPOnboarding) or C(WDATPOffboarding).
      type: str
    id:
      description: Event ID (20 success, 10 Sense already running, errors - the exit code).
      type: int
    level:
      description: C(Information) or C(Error).
      type: str
    message:
      description: The event's text.
      type: str
    time:
      description: When it was written (ISO 8601, UTC).
      type: str
installer:
  description: The unified solution (C(md4ws.msi)); null when the host does not need it.
  returned: always
  type: dict
  contains:
    required:
      description: The host needs the unified solution (Server 2012 R2/2016 without it).
      type: bool
    path:
      description: The installer's path on the host.
      type: str
    already_installed:
      description: C(Microsoft Defender for Endpoint) was found installed, so msiexec did not run.
      type: bool
    installed:
      description: msiexec ran and succeeded.
      type: bool
    exit_code:
      description: msiexec's exit code.
      type: int
    meaning:
      description: Windows Installer's meaning of the exit code.
      type: str
    force_passive:
      description: O(installer_force_passive).
      type: bool
    log_path:
      description: msiexec's verbose log on the host.
      type: str
reboot_required:
  description: Windows Installer asked for a restart (exit code 3010 or 1641). Onboarding itself needs none.
  returned: always
  type: bool
  sample: false
msg:
  description: What happened, or on failure what went wrong and what to do.
  returned: always
  type: str
family:
  description: On failure, the family of RV(reason) (for example V(onboarding), V(input)).
  returned: failure
  type: str
remediation:
  description: On failure, what to do about RV(reason).
  returned: failure
  type: str
"""

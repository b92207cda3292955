# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_onboard_reboot.py)
# that runs the action plugins of mdeops.defender.win_mde_onboarding and ansible.windows.win_reboot.

DOCUMENTATION = r"""
---
module: win_mde_onboard_reboot
short_description: Onboard a Windows host and reboot it where needed, in one task, so that a wave's hosts wait on Windows at the same time
version_added: 0.1.0
description:
  - Runs M(mdeops.defender.win_mde_onboarding) with O(onboarding) (when O(onboard)), then
    M(ansible.windows.win_reboot) with O(reboot_options) when a reboot is needed (O(reboot)) and allowed
    (O(allow_reboot)), on the same host, in this order, each as if it were its own task. It decides nothing about
    the host itself.
  - Why it exists - Ansible's default (linear) strategy runs a task on every host of a batch before the next task.
    With two tasks, the hosts that only need a reboot (Defender reads C(ForceDefenderPassiveMode) at boot) wait
    until the slowest onboarding of the batch (an C(md4ws.msi) installation) has finished before they start
    rebooting. In one task, the installation on one host and the reboot of another run at the same time, and the
    batch waits for the longer of the two, not for both.
  - The onboarding's verdict (RV(step), RV(reason), RV(detail)) is this task's when it did not reach its state;
    no reboot follows it. A reboot after which the host does not come back fails the task with
    C(reason=reboot_failed) and C(step=reboot).
  - Options are checked before anything runs on the host - O(reboot_options) against the options of
    M(ansible.windows.win_reboot), O(onboarding) by M(mdeops.defender.win_mde_onboarding) itself (a refused
    package or option reboots nothing).
  - Check mode and diff mode as in the two modules (M(ansible.windows.win_reboot) reports a reboot in check mode
    without rebooting).
  - It makes no WinRM command of its own; a host with nothing to onboard and no reboot allowed costs none.
options:
  onboard:
    description:
      - Run M(mdeops.defender.win_mde_onboarding) with O(onboarding).
      - V(false) for a host that only needs the reboot (O(reboot=true)).
    type: bool
    default: true
  onboarding:
    description:
      - The options of M(mdeops.defender.win_mde_onboarding) (for example C(package), C(expected_org_id),
        C(installer)), validated by that module.
    type: dict
    default: {}
  reboot:
    description:
      - A reboot is needed after the onboarding, or without one when O(onboard=false) - the caller's decision, such as
        Defender taking up C(ForceDefenderPassiveMode) on an onboarded server.
      - A reboot is also needed when the installer asked for a restart (the onboarding's C(reboot_required)).
      - No reboot follows an onboarding that failed or did not reach its state.
    type: bool
    default: false
  allow_reboot:
    description:
      - Reboot when a reboot is needed (O(reboot), or the installer asked for one).
      - V(false) reboots nothing; RV(reboot_required) then says that the host waits for a reboot, and RV(reboot) has
        C(pending_reboot=true).
    type: bool
    default: true
  reboot_options:
    description:
      - The options of M(ansible.windows.win_reboot) (for example C(reboot_timeout), C(msg)). A name that is not one
        of its options is refused before anything runs.
    type: dict
    default: {}
notes:
  - The task's C(timeout) must cover both the onboarding and the reboot (C(reboot_timeout)).
  - Runs no PowerShell of its own; its WinRM commands are those of the two modules.
seealso:
  - module: mdeops.defender.win_mde_onboarding
  - module: ansible.windows.win_reboot
  - module: mdeops.defender.win_mde_passive_mode
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Read each host and plan its steps (md4ws.msi is given below, so Server 2012 R2/2016 is planned too)
  mdeops.defender.win_mde_info:
    rollout:
      installer_available: true
  register: assessed

- name: ForceDefenderPassiveMode on the servers (Defender reads it at boot)
  mdeops.defender.win_mde_passive_mode:
    state: present
    assessment: "{{ assessed }}"
  when: "'registry' in assessed.plan.steps"

- name: Onboard the hosts that need it and reboot those that need it, all at the same time
  mdeops.defender.win_mde_onboard_reboot:
    onboard: "{{ 'onboard' in assessed.plan.steps }}"
    onboarding:
      package: WindowsDefenderATPOnboardingPackage.zip
      expected_org_id: 0a1b2c3d-1111-2222-3333-444455556666
      installer: md4ws.msi
      assessment: "{{ assessed }}"
    reboot: "{{ 'reboot' in assessed.plan.steps }}"
    allow_reboot: "{{ reboots_allowed | default(false) }}"
    reboot_options:
      reboot_timeout: 1200
      msg: Reboot to apply Defender passive mode
  register: onboard_reboot
  timeout: 3600
  when: "'onboard' in assessed.plan.steps or 'reboot' in assessed.plan.steps"

- name: Show what happened on the host
  ansible.builtin.debug:
    msg: >-
      onboarding {{ 'changed' if onboard_reboot.onboarding.changed | default(false) else 'unchanged' }},
      rebooted {{ onboard_reboot.rebooted }}, waits for a reboot {{ onboard_reboot.reboot_required }}
  when: onboard_reboot is not skipped
"""

RETURN = r"""
step:
  description: The guide step of the failure - V(onboard) or V(reboot); null when both reached their state.
  returned: always
  type: str
  sample: null
reason:
  description:
    - Null when the onboarding (if it ran) and the reboot (if one was due) reached their state; else the reason code
      of M(mdeops.defender.win_mde_onboarding)'s failure, or V(reboot_failed), or V(invalid_argument) for
      O(reboot_options).
  returned: always
  type: str
  sample: null
detail:
  description: What failed, in one sentence; null when nothing failed.
  returned: always
  type: str
onboarding:
  description:
    - The result of M(mdeops.defender.win_mde_onboarding) (its keys, such as C(host_read), C(reboot_required),
      C(before), C(after)); a result with C(skipped=true) when O(onboard=false).
  returned: always
  type: dict
reboot:
  description:
    - The result of M(ansible.windows.win_reboot) (C(rebooted), C(elapsed), ...); a result with C(skipped=true) when no
      reboot was needed.
    - When a reboot was needed and O(allow_reboot=false), a result with C(step=reboot), C(pending_reboot=true) and a
      C(detail) that says why (M(mdeops.defender.fleet_progress) records the host as waiting for a reboot).
  returned: always
  type: dict
rebooted:
  description:
    - The host was rebooted and came back.
    - In check mode, that it would be rebooted (M(ansible.windows.win_reboot) reports C(rebooted=true) in check mode
      without rebooting).
  returned: always
  type: bool
  sample: true
reboot_required:
  description: A reboot was needed and not done (O(allow_reboot=false)); the host waits for one.
  returned: always
  type: bool
  sample: false
"""

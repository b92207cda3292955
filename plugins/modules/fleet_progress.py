# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation stub: the module is an action plugin (plugins/action/fleet_progress.py) that runs
# on the controller.

DOCUMENTATION = r"""
---
module: fleet_progress
short_description: Record the verdicts of a host's steps for the fleet report, and stop the host at the first failure
version_added: 0.1.0
description:
  - Every module the collection's roles gate on returns its verdict - C(step) (the guide step it judges),
    C(reason) (null when the step reached the state it promised) and C(detail). This module takes those
    registered results, records each step in the host's progress fact C(mde_report_host) (which the
    C(mdeops.defender.fleet_report) callback and module turn into the fleet report) and, at the first result
    whose C(reason) is set or that failed, fails the host with that reason, its cause family and remediation.
  - It decides nothing itself and takes no message apart - the verdict is in the results.
  - Results of tasks that were skipped are ignored. A failed task without a C(reason) is a C(host_error), a
    crash (a result with an exception) a C(module_failure), a task timeout a C(timeout).
  - A result with C(pending_reboot=true) (the C(reboot) of M(mdeops.defender.win_mde_onboard_reboot) when a reboot is
    needed and not allowed) records the host as waiting for a reboot - the fleet report's C(pending_reboot) outcome
    - and its step 3 as not run.
  - Runs on the controller; connects to no host.
options:
  result:
    description: One registered result (for example the failed task's C(ansible_failed_result) in a rescue).
    type: raw
  results:
    description: Registered results, in the order the steps ran; the first failing one stops the host.
    type: list
    elements: raw
    default: []
  wave_results:
    description:
      - Results of tasks that ran once for the whole wave (C(run_once)), such as the Defender API lookups.
      - A wave-level C(reason) (the API refused the call) fails every host. Otherwise the host's own entry in the
        result's C(hosts) dictionary is its verdict; a host missing from it fails alone with C(host_error).
    type: list
    elements: raw
    default: []
  step:
    description:
      - The step O(result) judges, when the result does not say (for example V(assess) for the assessment read,
        V(reboot) for C(ansible.windows.win_reboot)).
      - The step of a record made with O(outcome) or O(set).
    type: str
    choices: [assess, onboard, third_party_av, verify_mode, registry, group_policy, intune, confirm_edr, reboot]
  fleet:
    description: The run-level check of C(mdeops.defender.preflight) (V(fleet) stage); a host it refuses fails here.
    type: raw
  failed_action:
    description: In a rescue, the action of the task that failed (C(ansible_failed_task.action)).
    type: str
  gate:
    description:
      - Stop the host at the first failing verdict. V(false) records the verdicts (the report shows them) without
        failing the host - an audit that must not fail the play.
    type: bool
    default: true
  outcome:
    description: Record O(step) with this outcome, without a result (for example a reboot that is still pending).
    type: str
    choices: [ok, changed, skipped, failed, not_run]
  reboots:
    description: Reboots to add to the host's count.
    type: int
    default: 0
  set:
    description: Other keys to merge into the progress record (for example C(pending_reboot)).
    type: dict
  wave:
    description:
      - Judge a finished wave instead of recording a host - the inventory names of the wave's hosts
        (C(ansible_play_batch)), run once. RV(stop) is true when more than O(max_fail_percentage) percent of them
        failed (Ansible's own rule for C(max_fail_percentage)). The hosts' records are read, nothing is changed.
      - The C(mdeops.defender.rollout) playbook ends the play on RV(stop) (C(meta) C(end_play)), so that the fleet
        report is still written and the run's exit status comes from it.
    type: list
    elements: str
  max_fail_percentage:
    description: With O(wave), the share of failed hosts (percent) the wave may have; 0 - any failure stops.
    type: int
    default: 0
  stop:
    description:
      - Fail the host with the failure its progress record already holds - one recorded earlier with O(gate=false),
        for example by a rescue that first tried to repair the host. A record without a failure does not stop.
      - A failing verdict among O(result) and O(results) still comes first.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.controller
seealso:
  - module: mdeops.defender.fleet_report
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: "Steps 4, 1 and 3: record the verdicts and check the states they promised"
  mdeops.defender.fleet_progress:
    results:
      - "{{ registry }}"
      - "{{ onboarding }}"
      - "{{ verification }}"

- name: Record why the host stopped (in a rescue)
  mdeops.defender.fleet_progress:
    result: "{{ ansible_failed_result }}"
    failed_action: "{{ ansible_failed_task.action }}"
"""

RETURN = r"""
progress:
  description:
    - The host's progress record after the update, when the host failed (Ansible keeps no facts of a failed task).
    - Otherwise the record is the fact C(mde_report_host) only, so that the result stays small.
  returned: failure
  type: dict
reason:
  description: The reason code of the first failing verdict.
  returned: failure
  type: str
family:
  description: The cause family of RV(reason).
  returned: failure
  type: str
remediation:
  description: What to do about it.
  returned: failure
  type: str
step:
  description: The step whose verdict stopped the host.
  returned: failure
  type: str
detail:
  description: What the failing step observed.
  returned: failure
  type: str
stop:
  description: With O(wave), whether the rollout must stop after this wave.
  returned: when O(wave) is given
  type: bool
failed_hosts:
  description: With O(wave), the wave's hosts that failed.
  returned: when O(wave) is given
  type: list
  elements: str
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation stub: the module is an action plugin (plugins/action/preflight.py) that runs on
# the controller.

DOCUMENTATION = r"""
---
module: preflight
short_description: Check a role's inputs on the controller before any host is touched
version_added: 0.1.0
description:
  - The collection's roles run it once per run (C(run_once)), first. Every problem is reported at once, each naming
    the variable to fix; a failure stops the run before any host is read or changed.
  - V(inputs) stage - the role's variables as the play sees them are validated against the role's argument spec
    (C(meta/argument_specs.yml)); a dictionary given as a string (C(-e var='{...}')) is refused; a variable that looks
    like one of the role's or the playbooks' but is not one of them (a typo such as C(mde_verify_expected_orgid)) is
    an error that names the closest real variable; the waves (C(mde_waves)) and the failure threshold
    (C(mde_max_fail_percentage)) are validated; the onboarding or offboarding package is found (an absolute path, or
    relative to the playbook's directory, then to the current directory; the error lists every place looked at),
    opened and checked (a Group Policy package of the expected organisation, not expired, the checksum); the installer
    is found and checked to be an MSI package. An organisation id is accepted in any case, with or without braces,
    and returned in canonical form.
  - V(fleet) stage, after the assessment - inputs that only some hosts need (a package for the hosts that need
    onboarding, md4ws.msi for Windows Server 2012 R2 and 2016) stop the run when missing; two inventory names of the
    same machine are found by the machine's own identity and all but the first are refused.
  - Runs on the controller; connects to no host.
options:
  role:
    description: The role whose inputs are checked.
    type: str
    required: true
    choices: [mde_rollout, mde_verify, mde_offboard]
  stage:
    description: V(inputs) before the assessment, V(fleet) after it.
    type: str
    choices: [inputs, fleet]
    default: inputs
  assessment:
    description: With O(stage=fleet), the name of the variable every host registered its assessment in.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.controller
attributes:
  check_mode:
    details: Reads files on the controller only.
seealso:
  - module: mdeops.defender.win_mde_info
  - module: mdeops.defender.fleet_progress
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Check the rollout's inputs once, before any host is touched
  mdeops.defender.preflight:
    role: mde_rollout
  run_once: true
  register: preflight

- name: After the assessment, check the inputs some hosts need and find duplicate hosts
  mdeops.defender.preflight:
    role: mde_rollout
    stage: fleet
    assessment: assessment
  run_once: true
  register: fleet
"""

RETURN = r"""
role:
  description: The role checked.
  returned: success, stage V(inputs)
  type: str
expected_org_id:
  description: The organisation id in canonical form (lower case, no braces), or null when none was given.
  returned: success, stage V(inputs)
  type: str
packages:
  description: Per package variable, the package found - C(path) (absolute), C(org_id), C(kind), C(script_name), C(sha256).
  returned: success, stage V(inputs)
  type: dict
installer:
  description: The absolute path of the installer, when one was given on the controller.
  returned: success, stage V(inputs), when given
  type: str
waves:
  description: The validated waves (mde_rollout, mde_offboard).
  returned: success, stage V(inputs)
  type: list
max_fail_percentage:
  description: The validated failure threshold (mde_rollout, mde_offboard).
  returned: success, stage V(inputs)
  type: int
plan_options:
  description: The options of the hosts' rollout plans (the O(mdeops.defender.win_mde_info#module:rollout) option).
  returned: success, stage V(inputs), role mde_rollout
  type: dict
intune_assignments:
  description: The Intune policy's assignments built from the group ids.
  returned: success, stage V(inputs), role mde_rollout
  type: list
warnings:
  description: What the run does not check because an input was left out (for example no organisation id).
  returned: success, stage V(inputs)
  type: list
refused:
  description: Hosts refused by the run-level checks (stage V(fleet)), each with C(reason) and C(detail).
  returned: success, stage V(fleet)
  type: dict
pending:
  description:
    - The hosts whose plan has work for the waves and that the run did not refuse (stage V(fleet)), in the
      order the waves run them. The waves are the ones C(mde_waves) cuts from the sorted host names, so the
      canary is the same host on every run; within a wave the hosts with the longest path come first
      (md4ws.msi to install, then a reboot, then ForceDefenderPassiveMode to write, then the rest), so that
      their waits on Windows overlap the controller's work on the wave's other hosts.
    - The C(mdeops.defender.rollout) playbook adds them to the group C(mde_rollout_pending) with one
      C(ansible.builtin.add_host) task for the run, instead of a C(group_by) task per host, and runs that
      group in this order (the play keyword C(order) set to C(inventory)).
  returned: success, stage V(fleet)
  type: list
  elements: str
problems:
  description: Every problem found.
  returned: failure
  type: list
reason:
  description: V(invalid_argument), or the package's reason code (for example V(wrong_org), V(package_not_found)).
  returned: failure
  type: str
"""

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation stub: the module is an action plugin (plugins/action/fleet_progress.py) that runs
# on the controller.

DOCUMENTATION = r"""
---
module: fleet_progress
short_description: Record a rollout step for the fleet report and stop the host when its gate fails
version_added: 0.1.0
description:
  - Records the outcome of one of the guide's steps in the host's progress fact C(mde_report_host), which the
    C(mdeops.defender.fleet_report) callback and module turn into the fleet report.
  - With O(gate), it is also the step's gate - when O(gate) is false the host fails with a stable C(reason) code,
    its cause family and the remediation (see the collection's C(docs/reason-codes.md)).
  - Used by the collection's roles after each step; one task per step keeps the controller's work small.
  - Runs on the controller; connects to no host.
options:
  step:
    description: The step.
    type: str
    required: true
    choices: [assess, onboard, third_party_av, verify_mode, registry, group_policy, intune, confirm_edr]
  outcome:
    description:
      - The step's outcome - a registered task result (its outcome is derived) or one of V(ok), V(changed),
        V(skipped), V(failed), V(unreachable), V(not_run).
      - A step already recorded as V(changed) stays V(changed) when it is checked again as V(ok).
    type: raw
    default: ok
  gate:
    description: The state the step promised. When false, the host fails with O(reason) and O(msg).
    type: bool
  reason:
    description: Reason code of the failure when O(gate) is false.
    type: str
  msg:
    description: What is wrong, for people, when O(gate) is false.
    type: str
  reboots:
    description: Reboots to add to the host's count.
    type: int
    default: 0
  set:
    description: Other keys to merge into the progress record (for example C(pending_reboot), C(held), C(done)).
    type: dict
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: mdeops.defender.fleet_report
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: "Step 1: record the outcome and check the state it promised"
  mdeops.defender.fleet_progress:
    step: onboard
    outcome: "{{ onboarding }}"
    gate: "{{ onboarding.after.onboarded and onboarding.after.sense_running }}"
    reason: sensor_not_running
    msg: The Sense service does not run after the onboarding script.
"""

RETURN = r"""
progress:
  description: The host's progress record after the update (also set as the fact C(mde_report_host)).
  returned: always
  type: dict
reason:
  description: The reason code when the gate failed.
  returned: failure
  type: str
family:
  description: The cause family of O(reason).
  returned: failure
  type: str
remediation:
  description: What to do about it.
  returned: failure
  type: str
mde_step:
  description: The step whose gate failed.
  returned: failure
  type: str
"""

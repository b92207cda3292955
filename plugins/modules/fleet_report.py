# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation stub: the module is an action plugin (plugins/action/fleet_report.py) that runs
# on the controller.

DOCUMENTATION = r"""
---
module: fleet_report
short_description: Build the Defender passive-mode fleet report from the run's host variables
version_added: 0.1.0
description:
  - Builds the fleet report (JSON, CSV and a self-contained HTML page) from what the collection's roles left in
    each host's variables - the fact C(mde) read by M(mdeops.defender.win_mde_info) and the progress fact
    C(mde_report_host) - and returns the totals, ready for M(ansible.builtin.set_stats).
  - When the C(mdeops.defender.fleet_report) callback is enabled (recommended; the collection's playbooks assume it),
    the callback writes the files at the end of the run, including hosts that were unreachable or never reached
    because the run stopped, and this module only returns the totals. See O(write).
  - Runs on the controller; connects to no host.
options:
  hosts:
    description: Inventory names to report on. Default, every host of the inventory but localhost.
    type: list
    elements: str
  report_dir:
    description: Directory the report is written to.
    type: path
    default: ./reports
  basename:
    description: File name of the report without extension.
    type: str
    default: fleet-report
  goal:
    description:
      - What the run aimed at, which decides each host's outcome.
      - V(passive) (rollout) - compliant hosts are C(compliant) or C(converged).
      - V(offboarded) (offboard) - hosts that are no longer onboarded and still protected are C(compliant) or C(converged).
      - V(audit) (verify) - non-compliant hosts are C(audited).
    type: str
    choices: [passive, offboarded, audit]
    default: passive
  playbook:
    description: Name of the playbook, shown in the report.
    type: str
  write:
    description:
      - V(auto) writes the files unless the C(mdeops.defender.fleet_report) callback is enabled;
        V(always) and V(never) say it plainly.
    type: str
    choices: [auto, always, never]
    default: auto
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.controller
attributes:
  check_mode:
    details: The report is written in check mode too; it changes no host.
seealso:
  - module: mdeops.defender.win_mde_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Write the fleet report and publish its totals
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Build the report
      mdeops.defender.fleet_report:
        report_dir: "{{ mde_report_dir | default('./reports') }}"
        playbook: rollout.yml
      register: report

    - name: Publish the totals (AWX artifacts)
      ansible.builtin.set_stats:
        data: "{{ report.stats }}"
"""

RETURN = r"""
summary:
  description:
    - A short summary for the end of the run, one line per item - the number of hosts by outcome, the hosts to fix
      first (unprotected, failed, refused, unreachable, not compliant, waiting for a reboot, not run; at most 10) with
      their reason, and where the report is. The collection's playbooks print it as their last task.
  returned: always
  type: list
  elements: str
  sample:
    - "14 host(s): 1 failed, 2 refused, 1 unreachable, 3 converged, 7 compliant"
    - "Fix first (4):"
    - "  srv-2022-tp: refused - tamper_protection_blocks_passive"
    - "Report: reports/fleet-report.html (also reports/fleet-report.json, reports/fleet-report.csv)"
totals:
  description: Fleet totals (see the report's JSON schema in the collection's docs).
  returned: always
  type: dict
stats:
  description: Flat totals for M(ansible.builtin.set_stats) (C(mde_hosts), C(mde_compliant), C(mde_outcome_<outcome>)...).
  returned: always
  type: dict
paths:
  description: Paths of the C(json), C(csv) and C(html) files.
  returned: always
  type: dict
written_by:
  description: V(action) when this module wrote the files, V(callback) when the callback does.
  returned: always
  type: str
"""

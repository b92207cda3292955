# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the module is an action plugin (plugins/action/win_mde_detection_test.py)
# that runs plugins/modules/win_mde_detection_test.ps1 on the host.

DOCUMENTATION = r"""
---
module: win_mde_detection_test
short_description: Run Microsoft's Defender for Endpoint detection test on a Windows host
version_added: 0.1.0
description:
  - Step 7 of the passive-mode guide (confirm EDR), optional - the honest way to show that alerts are reporting.
  - Runs the detection test command Microsoft documents for onboarded devices - a hidden
    C(powershell.exe -NoExit -ExecutionPolicy Bypass -WindowStyle Hidden) whose command tries to download
    C(http://127.0.0.1/1.exe) into O(directory) and start it. Nothing listens on 127.0.0.1 and nothing is
    started; Defender for Endpoint raises an alert on the command line itself, usually within about 10 minutes.
  - Non-destructive - creates O(directory) (Microsoft says to create it first), stops the hidden PowerShell after
    O(stop_after) seconds and removes the directory again if it created it and it is empty.
  - Returns the time the test ran (RV(ran_at), UTC), to wait for the alert from it with
    M(mdeops.defender.mde_alert_info) (O(mdeops.defender.mde_alert_info#module:since)).
  - Reports whether the host looks onboarded (C(OnboardingState) and the Sense service); the alert only comes from
    an onboarded host with a running sensor, so a warning says so otherwise.
options:
  directory:
    description:
      - The directory the test command names (Microsoft's command uses C(C:\test-MDATP-test)).
    type: str
    default: C:\test-MDATP-test
  stop_after:
    description:
      - Seconds after which the hidden PowerShell the test leaves open (C(-NoExit)) is stopped.
      - V(0) leaves it running and keeps the directory.
    type: int
    default: 10
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - mdeops.defender.windows
attributes:
  check_mode:
    details: Nothing runs in check mode; the result says the test would run (V(changed)) and shows the command.
  diff_mode:
    support: none
notes:
  - Run it on a few pilot hosts only; every run raises an alert in the Defender portal (titled
    C([Test Alert] Suspicious Powershell commandline) in the reports read), which the security team will see.
  - Defender in passive mode still lets Defender for Endpoint detect the test; the alert's detection source is EDR.
seealso:
  - module: mdeops.defender.mde_alert_info
  - module: mdeops.defender.mde_machine_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Run the detection test on the pilot hosts
  mdeops.defender.win_mde_detection_test:
  register: detection

- name: Wait for the test alerts in the Defender API
  mdeops.defender.mde_alert_info:
    machines: "{{ ansible_play_hosts }}"
    detection_test: true
    since: "{{ detection.ran_at }}"
    wait_for: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
ran:
  description: The test command was started (false in check mode).
  returned: success
  type: bool
ran_at:
  description: When it was started, UTC, ISO 8601 (null in check mode).
  returned: success
  type: str
  sample: "2026-03-01T10:15:02.1234567Z"
ran_at_epoch:
  description: RV(ran_at) as seconds since the epoch.
  returned: success
  type: float
command_line:
  description: The command line that was (or would be) started.
  returned: success
  type: str
process_id:
  description: Id of the hidden PowerShell process.
  returned: success
  type: int
directory_created:
  description: O(directory) did not exist and was created.
  returned: success
  type: bool
process_stopped:
  description: The hidden PowerShell was stopped after O(stop_after) seconds.
  returned: success
  type: bool
directory_removed:
  description: The directory the module created was removed again.
  returned: success
  type: bool
onboarded:
  description: C(OnboardingState) is 1 and the Sense service runs - the alert can come.
  returned: success
  type: bool
onboarding_state:
  description: The raw C(OnboardingState) value, or null.
  returned: success
  type: int
sense_status:
  description: The Sense service status (V(Running), V(Stopped)), or null when it does not exist.
  returned: success
  type: str
reason:
  description: On failure, a stable code (V(invalid_argument), V(host_error)).
  returned: failure
  type: str
"""

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mde_alert_info
short_description: List Defender for Endpoint alerts, or wait for an alert on given machines
version_added: 0.1.0
description:
  - Step 7 of the passive-mode guide (confirm EDR), the optional proof that alerts are reporting - runs on the
    controller.
  - Lists alerts with C(GET /api/alerts) created since O(since) (an OData C($filter) on C(alertCreationTime), one
    call for every machine of a wave) and keeps those on O(machines) whose title contains O(title_contains). The
    API documents no filter on the machine or the title, so those are matched on the returned alerts.
  - With O(wait_for=true), polls until every machine of O(machines) has a matching alert, at most
    O(wait_timeout) seconds, one call every O(poll_interval) seconds. Used after
    M(mdeops.defender.win_mde_detection_test), whose alert Microsoft says appears within about 10 minutes.
options:
  machines:
    description:
      - Machines whose alerts are wanted, as FQDNs, short host names or machine ids. Empty = every machine.
    type: list
    elements: str
    default: []
  hosts:
    description:
      - The wave's hosts as a mapping of inventory name to device name (the role passes the names the hosts reported), instead
        of O(machines). Each host gets its own verdict in RV(hosts); with O(wait_for=true) a host whose alert does not
        come in time gets V(timeout) and the module does not fail. A name that cannot be a device name fails that host
        only.
    type: dict
  title_contains:
    description:
      - Keep only alerts whose title contains this text (case-insensitive).
    type: str
  detection_test:
    description:
      - Look for the alert of Microsoft's detection test (a title containing C([Test Alert])), unless
        O(title_contains) is set.
    type: bool
    default: false
  since:
    description:
      - Only alerts created at or after this time - an ISO 8601 time (for example RV(mdeops.defender.win_mde_detection_test#module:ran_at))
        or a relative time such as V(30m), V(2h), V(1d). Default - the last 24 hours.
    type: str
  filter:
    description:
      - An extra OData C($filter) on the documented alert properties (C(status), C(severity), C(category),
        C(detectionSource), C(lastUpdateTime), ...), combined with the time filter by C(and).
    type: str
  wait_for:
    description:
      - Wait until every machine of O(machines) has a matching alert. Fails with reason V(timeout) after
        O(wait_timeout) seconds.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait_for=true).
    type: int
    default: 900
  poll_interval:
    description:
      - Seconds between two polls with O(wait_for=true) (at least 1; the module also never exceeds the API's
        100 calls per minute).
    type: int
    default: 30
extends_documentation_fragment:
  - mdeops.defender.api
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    details: Read-only; runs (and waits) the same way in check mode.
  diff_mode:
    support: none
notes:
  - "Permission (WindowsDefenderATP, application): C(Alert.Read.All)."
  - "Rate limit: 100 calls per minute and 1,500 per hour. A wait of 15 minutes with the default poll interval
    costs about 30 calls."
  - The title of the detection test's alert is C([Test Alert] Suspicious Powershell commandline) in the reports
    read; Microsoft's page does not state it, hence the substring match.
seealso:
  - module: mdeops.defender.win_mde_detection_test
  - module: mdeops.defender.mde_machine_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Run Microsoft's detection test on the pilot hosts
  mdeops.defender.win_mde_detection_test:
  register: detection

- name: Wait for the test alerts (about 10 minutes)
  mdeops.defender.mde_alert_info:
    machines: "{{ ansible_play_hosts }}"
    detection_test: true
    since: "{{ detection.ran_at }}"
    wait_for: true
    wait_timeout: 1200
  delegate_to: localhost
  run_once: true
  register: test_alerts

- name: New high-severity alerts of the last day
  mdeops.defender.mde_alert_info:
    since: 1d
    filter: "severity eq 'High' and status eq 'New'"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
hosts:
  description:
    - With O(hosts), each host's own verdict - C(step) (V(confirm_edr)), C(reason) (null when its alert was found,
      else V(timeout), or V(invalid_argument) for a name that cannot be looked up), C(detail) and C(device_name).
  returned: when O(hosts) is given
  type: dict
step:
  description: V(confirm_edr), proven by an alert from each host (the collection's C(docs/cloud-steps.md), step 7).
  returned: always
  type: str
alerts:
  description: The matching alerts (C(id), C(title), C(severity), C(status), C(category), C(detection_source),
    C(machine_id), C(computer_dns_name), C(alert_creation_time), C(first_event_time), C(last_event_time),
    C(last_update_time), C(incident_id), C(threat_family_name)).
  returned: always
  type: list
  elements: dict
by_machine:
  description: Alert ids per requested machine (per machine name when O(machines) is empty).
  returned: always
  type: dict
found:
  description: Every machine of O(machines) has at least one matching alert (with no O(machines), any alert).
  returned: always
  type: bool
missing:
  description: Machines of O(machines) without a matching alert.
  returned: always
  type: list
  elements: str
polls:
  description: How many times the alerts were listed.
  returned: always
  type: int
waited:
  description: Seconds spent waiting between polls.
  returned: always
  type: float
since:
  description: The time filter used (UTC).
  returned: always
  type: str
api_calls:
  description: HTTP requests of this task (C(calls), C(tokens), C(retries), C(by_family), C(rate_limit_wait)).
  returned: always
  type: dict
reason:
  description: On failure, a stable code (V(timeout) when the alert did not come in time, V(api_unauthorized),
    V(api_forbidden), V(api_throttled), V(api_error), V(invalid_argument)).
  returned: failure
  type: str
"""

import datetime  # noqa: E402

from ansible_collections.mdeops.defender.plugins.module_utils import _api_module as api  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils import _wave_hosts  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._alerts import (  # noqa: E402 - imports follow the documentation
    alert_filter,
    alert_record,
    match_alerts,
    odata_time,
    parse_since,
)
from ansible_collections.mdeops.defender.plugins.module_utils._api import ApiClient  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError  # noqa: E402

PERMISSION = "Alert.Read.All"
TEST_ALERT_MARKER = "[Test Alert]"


def argument_spec() -> dict:
    return api.options(
        machines=dict(type="list", elements="str", default=[]),
        hosts=dict(type="dict"),
        title_contains=dict(type="str"),
        detection_test=dict(type="bool", default=False),
        since=dict(type="str"),
        filter=dict(type="str"),
        wait_for=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=900),
        poll_interval=dict(type="int", default=30),
    )


def host_verdicts(by_host: dict[str, str], missing: list[str], waited: int) -> dict[str, dict]:
    """Each host's own verdict: its alert was found, or not within the wait."""
    out = {}
    for host, device in by_host.items():
        if device in missing:
            out[host] = _wave_hosts.verdict(
                "timeout",
                "no matching alert for %s%s" % (device, " within %d s" % waited if waited else ""),
                device,
            )
        else:
            out[host] = _wave_hosts.verdict(None, "the alert for %s was found" % device, device)
    return out


def poll(module: api.MdeApiModule, client: ApiClient, now: datetime.datetime) -> dict:
    p = module.params
    machines = [str(m) for m in p["machines"]]
    hosts = p["hosts"]
    if hosts is not None and machines:
        raise MdeError("invalid_argument", "machines and hosts are mutually exclusive: give one of them")
    by_host, refused = _wave_hosts.split_hosts(hosts or {})
    if hosts is not None:
        machines = _wave_hosts.unique(by_host)
        if not machines:
            return {"hosts": refused}
    if p["wait_for"] and not machines:
        raise MdeError("invalid_argument", "wait_for needs machines to wait for")
    if p["wait_timeout"] < 0 or p["poll_interval"] < 1:
        raise MdeError("invalid_argument", "wait_timeout must be >= 0 and poll_interval >= 1")
    title = p["title_contains"] or (TEST_ALERT_MARKER if p["detection_test"] else None)
    since = parse_since(p["since"], now)
    params = {"$filter": alert_filter(since, p["filter"]), "$top": 10000}
    deadline = client.clock() + p["wait_timeout"]
    polls = 0
    waited = 0.0
    while True:
        alerts = client.get_all(
            "/api/alerts", family="alerts", permission=PERMISSION, what="listing alerts", params=params
        )
        polls += 1
        kept, by_machine = match_alerts(alerts, machines, title)
        missing = [m for m in machines if not by_machine.get(m)]
        result = {
            "alerts": [alert_record(a) for a in kept],
            "by_machine": by_machine,
            "found": not missing if machines else bool(kept),
            "missing": missing,
            "polls": polls,
            "waited": round(waited, 3),
            "since": odata_time(since),
        }
        remaining = deadline - client.clock()
        if not p["wait_for"] or not missing or (hosts is not None and remaining <= 0):
            if hosts is not None:
                result["hosts"] = dict(
                    host_verdicts(by_host, missing, p["wait_timeout"] if p["wait_for"] else 0), **refused
                )
            return result
        if remaining <= 0:
            raise MdeError(
                "timeout",
                "no alert%s on %s within %d s (%d polls). The detection test's alert usually appears within about 10 "
                "minutes of the test; check that the machines are onboarded and active (mde_machine_info), then "
                "raise wait_timeout."
                % (" titled like %r" % title if title else "", ", ".join(missing), p["wait_timeout"], polls),
                **result,
            )
        pause = min(float(p["poll_interval"]), remaining)
        client.sleep(pause)
        waited += pause


def main() -> None:
    module = api.api_module(argument_spec())
    result = {
        "changed": False,
        "step": _wave_hosts.STEP,
        "alerts": [],
        "by_machine": {},
        "found": False,
        "missing": [],
        "polls": 0,
        "waited": 0.0,
        "since": None,
        "api_calls": {},
    }
    api.run_api_module(
        module, result, lambda client: poll(module, client, datetime.datetime.now(datetime.timezone.utc))
    )


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mde_machine_info
short_description: Look up many devices at once in the Defender for Endpoint API (health, onboarding, AV mode)
version_added: 0.1.0
description:
  - Step 7 of the passive-mode guide (confirm EDR), the cloud side - runs on the controller.
  - Lists the tenant's machines with C(GET /api/machines) (OData paging, 10,000 per page) and, unless
    O(av_info=false), the device antivirus health with C(GET /api/deviceavinfo), then matches every name of
    O(names) to a machine entity. A wave of hundreds of hosts costs two or three calls, never one per host.
  - For each name returns whether the device is known, its machine id, C(healthStatus), C(onboardingStatus),
    C(lastSeen), C(osPlatform) and the antivirus mode (C(avMode), raw and normalised to V(passive),
    V(edr_block), V(active), V(disabled), V(unknown)).
  - Names are matched case-insensitively against C(computerDnsName) (the FQDN); a short name matches the host
    part of the FQDN. When several machine entities carry one name (a reimaged or renamed device), the one seen
    last is used and the others are listed in RV(machines.duplicates).
  - An unhealthy device gets a problem with a reason code (C(not_onboarded), C(sensor_not_running)) and the
    remediation Microsoft documents for its health status - an unhealthy sensor is not always an incomplete
    onboarding (impaired communications, no sensor data, inactive for more than 7 days).
options:
  names:
    description:
      - The devices to look up, as FQDNs or short host names (for example C(ansible_play_hosts)).
      - When empty, every listed machine is returned, keyed by its C(computerDnsName).
    type: list
    elements: str
    default: []
  hosts:
    description:
      - The wave's hosts as a mapping of inventory name to device name (the role passes the names the hosts reported, through
        the P(mdeops.defender.device_names#filter) filter). Mutually exclusive with O(names).
      - Every host gets its own verdict in RV(hosts); a name that cannot be a device name fails that host only.
        Non-ASCII computer names, which Windows allows, are looked up as they are.
    type: dict
  wait_timeout:
    description:
      - Seconds to keep listing (every O(wait_interval) seconds) until every requested device is found and active;
        a device onboarded moments ago takes a while to appear. 0 lists once.
    type: int
    default: 0
  wait_interval:
    description:
      - Seconds between two listings while waiting (the listing is one call per 10,000 devices).
    type: int
    default: 30
  filter:
    description:
      - An OData C($filter) for C(/api/machines) to list fewer machines in a large tenant, for example
        C(healthStatus ne 'Inactive'), C(rbacGroupId eq 12), or a C(startswith) on C(computerDnsName).
      - Filterable properties - C(computerDnsName), C(id), C(version), C(deviceValue), C(aadDeviceId),
        C(machineTags), C(lastSeen), C(exposureLevel), C(onboardingStatus), C(lastIpAddress), C(healthStatus),
        C(osPlatform), C(riskScore), C(rbacGroupId).
    type: str
  av_info:
    description:
      - Also read C(/api/deviceavinfo) for the antivirus mode (C(avMode)) of each device.
      - That API allows 30 calls per minute and 1,000 per hour; one call returns up to 10,000 devices.
    type: bool
    default: true
  page_size:
    description:
      - Items per page (OData C($top)); the API's maximum is 10,000.
    type: int
    default: 10000
extends_documentation_fragment:
  - mdeops.defender.api
  - ansible.builtin.action_common_attributes
  - mdeops.defender.info_module
notes:
  - "Permission (WindowsDefenderATP, application): C(Machine.Read.All)."
  - "Rate limits: C(/api/machines) 100 calls per minute and 1,500 per hour; C(/api/deviceavinfo) 30 per minute
    and 1,000 per hour. The module waits rather than exceed them, and needs one call per 10,000 devices."
  - C(lastSeen) is the time of the last full device report (typically daily), not the portal's last seen.
  - Windows Server 2012 R2 and 2016 appear in C(/api/deviceavinfo) only with the modern unified solution.
seealso:
  - module: mdeops.defender.mde_hunting_query
  - module: mdeops.defender.mde_alert_info
  - module: mdeops.defender.win_mde_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Confirm EDR for the wave (one lookup for every host of the play)
  mdeops.defender.mde_machine_info:
    tenant_id: "{{ mde_tenant_id }}"
    client_id: "{{ mde_client_id }}"
    client_secret: "{{ mde_client_secret }}"
    names: "{{ ansible_play_hosts }}"
  delegate_to: localhost
  run_once: true
  register: mde_cloud

- name: Fail the hosts the Defender portal does not see as active
  ansible.builtin.assert:
    that: mde_cloud.machines[inventory_hostname].edr_active
    fail_msg: "{{ mde_cloud.machines[inventory_hostname].problems | map(attribute='msg') | join('; ') }}"

- name: A US Government (GCC High) tenant with a certificate credential
  mdeops.defender.mde_machine_info:
    cloud: usgov_gcc_high
    tenant_id: "{{ mde_tenant_id }}"
    client_id: "{{ mde_client_id }}"
    client_certificate_path: /etc/mde/automation.pem
    names: [srv-2022-01.corp.example.com]
  delegate_to: localhost
  run_once: true

- name: Every server that is not active, from the EU geo host
  mdeops.defender.mde_machine_info:
    tenant_id: "{{ mde_tenant_id }}"
    client_id: "{{ mde_client_id }}"
    client_secret: "{{ mde_client_secret }}"
    api_base_url: https://eu.api.security.microsoft.com
    filter: "healthStatus ne 'Active' and startswith(computerDnsName,'srv-')"
    av_info: false
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
machines:
  description: One entry per requested name (or per listed machine when O(names) is empty).
  returned: always
  type: dict
  contains:
    name:
      description: The requested name.
      type: str
    found:
      description: The tenant knows a machine with this name.
      type: bool
    id:
      description: The machine id (also C(DeviceId) in advanced hunting).
      type: str
      sample: 1e5bc9d7e413ddd7902c2932e418702b84d0cc07
    computer_dns_name:
      description: C(computerDnsName) (FQDN).
      type: str
    health_status:
      description: C(healthStatus) - V(Active), V(Inactive), V(ImpairedCommunication), V(NoSensorData),
        V(NoSensorDataImpairedCommunication), V(Unknown).
      type: str
    onboarding_status:
      description: C(onboardingStatus) (V(Onboarded), V(CanBeOnboarded), V(Unsupported), V(InsufficientInfo)).
      type: str
    last_seen:
      description: C(lastSeen) (last full device report).
      type: str
    first_seen:
      description: C(firstSeen).
      type: str
    os_platform:
      description: C(osPlatform), for example V(Windows11) or V(WindowsServer2022).
      type: str
    os_build:
      description: C(osBuild).
      type: int
    version:
      description: C(version) (for example V(22H2)).
      type: str
    last_ip_address:
      description: C(lastIpAddress).
      type: str
    rbac_group_name:
      description: C(rbacGroupName) (device group).
      type: str
    machine_tags:
      description: C(machineTags).
      type: list
      elements: str
    av_mode:
      description: C(avMode) of C(/api/deviceavinfo) as the API gives it (a string-typed integer, V(0) active,
        V(1) passive, V(2) disabled, V(3) other, V(4) EDR blocked, V(5) passive audit), or null.
      type: str
    av_mode_normalized:
      description: The mode normalised like M(mdeops.defender.win_mde_info) does (V(passive), V(edr_block),
        V(active), V(disabled), V(unknown)); null when O(av_info=false) or the device is not found.
      type: str
    av_info_found:
      description: C(/api/deviceavinfo) has an entry for the device.
      type: bool
    av_last_seen:
      description: C(lastSeenTime) of the antivirus health entry.
      type: str
    duplicates:
      description: Ids of other (older) machine entities with the same name.
      type: list
      elements: str
    edr_active:
      description: C(healthStatus) is V(Active) and C(onboardingStatus) is V(Onboarded).
      type: bool
    problems:
      description: Problems with C(reason), C(family), C(severity), C(msg), C(remediation).
      type: list
      elements: dict
hosts:
  description:
    - With O(hosts), each host's own verdict - C(step) (V(confirm_edr)), C(reason) (null when its EDR sensor is
      active and onboarded, else V(not_onboarded), V(sensor_not_running) or V(invalid_argument) for a name that
      cannot be looked up), C(detail) and C(device_name).
  returned: when O(hosts) is given
  type: dict
step:
  description: V(confirm_edr), judged on each host's device record (the collection's C(docs/cloud-steps.md), step 7).
  returned: always
  type: str
missing:
  description: Requested names the tenant does not know.
  returned: always
  type: list
  elements: str
active:
  description: Requested names whose EDR sensor is active and onboarded.
  returned: always
  type: list
  elements: str
not_active:
  description: Requested names that are known but not active (see their problems).
  returned: always
  type: list
  elements: str
counts:
  description: C(requested), C(found), C(missing), C(edr_active), C(health_status) (per status) and
    C(av_mode) (per normalised mode).
  returned: always
  type: dict
listed:
  description: How many machine entities the listing returned.
  returned: always
  type: int
api_calls:
  description: HTTP requests of this task - C(calls) (all, sign-in included), C(tokens), C(retries),
    C(by_family) and C(rate_limit_wait) (seconds waited to stay under the rate limits).
  returned: always
  type: dict
reason:
  description: On failure, a stable code (V(api_unauthorized), V(api_forbidden), V(api_throttled), V(api_error),
    V(invalid_argument)).
  returned: failure
  type: str
"""


import time  # noqa: E402

from ansible_collections.mdeops.defender.plugins.module_utils import _api_module as api  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils import _wave_hosts  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._api import ApiClient  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._mde_machines import (  # noqa: E402 - imports follow the documentation
    build_records,
    invalid_names,
    summarize,
)

PERMISSION = "Machine.Read.All"


def argument_spec() -> dict:
    return api.options(
        names=dict(type="list", elements="str", default=[]),
        hosts=dict(type="dict"),
        wait_timeout=dict(type="int", default=0),
        wait_interval=dict(type="int", default=30),
        filter=dict(type="str"),
        av_info=dict(type="bool", default=True),
        page_size=dict(type="int", default=10000),
    )


def host_verdicts(devices: dict[str, str], records: dict[str, dict]) -> dict[str, dict]:
    """Each host's own verdict from the record of its device."""
    out = {}
    for host, device in devices.items():
        record = records[device]
        if record["edr_active"]:
            out[host] = _wave_hosts.verdict(None, "%s is onboarded and its EDR sensor is active" % device, device)
            continue
        problem = (record["problems"] or [{}])[0]
        out[host] = _wave_hosts.verdict(
            problem.get("reason") or "sensor_not_running",
            problem.get("msg") or "%s is not active in Defender for Endpoint" % device,
            device,
            remediation=problem.get("remediation"),
        )
    return out


def run(module: api.MdeApiModule, client: ApiClient) -> dict:
    names = [str(n) for n in module.params["names"]]
    hosts = module.params["hosts"]
    if hosts is not None and names:
        raise MdeError("invalid_argument", "names and hosts are mutually exclusive: give one of them")
    devices, refused = _wave_hosts.split_hosts(hosts or {})
    if hosts is not None:
        names = _wave_hosts.unique(devices)
    bad = invalid_names(names)
    if bad:
        raise MdeError("invalid_argument", "names: not host names: %s" % ", ".join(repr(b) for b in bad[:10]))
    page = module.params["page_size"]
    if not 1 <= page <= 10000:
        raise MdeError("invalid_argument", "page_size must be between 1 and 10000, got %d" % page)
    if module.params["wait_timeout"] < 0 or module.params["wait_interval"] < 1:
        raise MdeError("invalid_argument", "wait_timeout must be 0 or more and wait_interval at least 1 (seconds)")
    if hosts is not None and not names:
        # No host of the wave has a usable name: nothing to ask, each host has its verdict.
        return {"hosts": refused}
    deadline = time.monotonic() + module.params["wait_timeout"]
    while True:
        result = list_once(module, client, names, page)
        waiting = [n for n, r in result["machines"].items() if not r["edr_active"]]
        if not names or not waiting or time.monotonic() + module.params["wait_interval"] > deadline:
            break
        time.sleep(module.params["wait_interval"])
    if hosts is not None:
        result["hosts"] = dict(host_verdicts(devices, result["machines"]), **refused)
    return result


def list_once(module: api.MdeApiModule, client: ApiClient, names: list[str], page: int) -> dict:
    params = {"$top": page}
    if module.params["filter"]:
        params["$filter"] = module.params["filter"]
    # 404 means "no recent machines" on this API (get-machines.md), not an error.
    machines = client.get_all(
        "/api/machines",
        family="machines",
        permission=PERMISSION,
        what="listing machines",
        params=params,
        allow_404_empty=True,
    )
    av_infos = None
    if module.params["av_info"]:
        av_infos = client.get_all(
            "/api/deviceavinfo",
            family="deviceavinfo",
            permission=PERMISSION,
            what="listing device antivirus health",
            params={"$top": page},
            allow_404_empty=True,
        )
    keys = names or sorted({str(m.get("computerDnsName")) for m in machines if m.get("computerDnsName")})
    records = build_records(keys, machines, av_infos)
    return {
        "machines": records,
        "missing": [n for n, r in records.items() if not r["found"]],
        "active": [n for n, r in records.items() if r["edr_active"]],
        "not_active": [n for n, r in records.items() if r["found"] and not r["edr_active"]],
        "counts": summarize(records),
        "listed": len(machines),
    }


def main() -> None:
    module = api.api_module(argument_spec())
    result = {
        "changed": False,
        "step": _wave_hosts.STEP,
        "machines": {},
        "missing": [],
        "active": [],
        "not_active": [],
        "counts": {},
        "listed": 0,
        "api_calls": {},
    }
    api.run_api_module(module, result, lambda client: run(module, client))


if __name__ == "__main__":
    main()

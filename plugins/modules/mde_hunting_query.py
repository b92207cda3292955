#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mde_hunting_query
short_description: Run an advanced hunting query (Defender API or Microsoft Graph), or confirm a wave's timeline data
version_added: 0.1.0
description:
  - Step 7 of the passive-mode guide (confirm EDR) - runs on the controller.
  - Runs a Kusto (KQL) advanced hunting query through the Defender for Endpoint API
    (C(POST /api/advancedqueries/run), O(api=defender)) or Microsoft Graph
    (C(POST /v1.0/security/runHuntingQuery), O(api=graph)) and returns the columns and rows in one shape,
    whichever API answered (the Defender API answers C(Schema)/C(Results), Graph C(schema)/C(results)).
  - With O(devices) instead of O(query), builds and runs ONE query for the whole wave that tells, per device,
    whether its timeline holds events of the last O(timeline_hours) hours and which sensor health state the device
    reports (C(DeviceInfo.SensorHealthState)). The query is returned in RV(queries); waves larger than 500 devices
    are split into one query per 500.
options:
  api:
    description:
      - V(defender) - the Defender for Endpoint API (C(AdvancedQuery.Read.All) of WindowsDefenderATP). Microsoft
        calls it the older, limited version; it covers the C(Device*) tables this module needs.
      - V(graph) - Microsoft Graph C(runHuntingQuery) (C(ThreatHunting.Read.All) of Microsoft Graph), the API
        Microsoft recommends; it also covers the other Defender XDR tables.
    type: str
    choices: [defender, graph]
    default: defender
  query:
    description:
      - The KQL query to run. Mutually exclusive with O(devices).
    type: str
  devices:
    description:
      - Device names (FQDN, as C(DeviceName) in advanced hunting and C(computerDnsName) in the machines API -
        use RV(mdeops.defender.mde_machine_info#module:machines.computer_dns_name)) to confirm timeline data
        and sensor health for. Mutually exclusive with O(query).
      - A short name only matches a device registered without a domain.
    type: list
    elements: str
  hosts:
    description:
      - The wave's hosts as a mapping of inventory name to device name (the role passes the names the hosts reported). Like
        O(devices), and each host gets its own verdict in RV(hosts); a name that cannot be a device name fails that
        host only. Mutually exclusive with O(query) and O(devices).
    type: dict
  timeline_hours:
    description:
      - How far back the wave query looks for timeline events (1 to 720 hours; advanced hunting keeps 30 days).
    type: int
    default: 24
  timeline_tables:
    description:
      - Device timeline tables the wave query counts events in. One table is enough to prove data flows, and
        every table more costs query time (the tenant has 10 minutes of query time per hour).
    type: list
    elements: str
    choices: [DeviceProcessEvents, DeviceNetworkEvents, DeviceFileEvents, DeviceRegistryEvents, DeviceLogonEvents,
              DeviceImageLoadEvents, DeviceEvents]
    default: [DeviceProcessEvents]
extends_documentation_fragment:
  - mdeops.defender.api
  - ansible.builtin.action_common_attributes
  - mdeops.defender.info_module
notes:
  - "Permission: C(AdvancedQuery.Read.All) (WindowsDefenderATP, application) for O(api=defender);
    C(ThreatHunting.Read.All) (Microsoft Graph, application) for O(api=graph)."
  - "Limits (Defender API): 45 calls per minute and 1,500 per hour, 10 minutes of query time per hour and 3 hours
    per day, 100,000 rows and 124 MB per answer, data of the last 30 days. The module waits rather than exceed
    the call rate; the wave query is one call per wave."
  - The wave query unions C(DeviceInfo) with the O(timeline_tables), keeps the last O(timeline_hours) hours and
    the O(devices) (C(DeviceName in~)), and summarises per C(DeviceId) and C(DeviceName) the number of timeline
    events, the newest event, the newest C(DeviceInfo) report and the set of C(SensorHealthState) values. The
    exact text is in RV(queries) and in the collection's docs/modules/mde_hunting_query.md.
seealso:
  - module: mdeops.defender.mde_machine_info
author:
  - mdeops.defender contributors (@mdeops)
"""

EXAMPLES = r"""
- name: Look the wave up in the device inventory
  mdeops.defender.mde_machine_info:
    names: "{{ ansible_play_hosts }}"
  delegate_to: localhost
  run_once: true
  register: mde_cloud

- name: Confirm timeline data and sensor health for the wave with one query
  mdeops.defender.mde_hunting_query:
    devices: "{{ mde_cloud.machines.values() | selectattr('found') | map(attribute='computer_dns_name') | list }}"
    timeline_hours: 24
  delegate_to: localhost
  run_once: true
  register: mde_timeline

- name: Hosts without recent timeline events
  ansible.builtin.debug:
    var: mde_timeline.not_confirmed

- name: Any query, through Microsoft Graph
  mdeops.defender.mde_hunting_query:
    api: graph
    query: >-
      DeviceInfo | where Timestamp > ago(1d) | summarize arg_max(Timestamp, SensorHealthState) by DeviceName
  delegate_to: localhost
  run_once: true
  register: hunting
"""

RETURN = r"""
hosts:
  description:
    - With O(hosts), each host's own verdict - C(step) (V(confirm_edr)), C(reason) (null when its timeline holds
      events and its sensor reports Active, else V(sensor_not_running), or V(invalid_argument) for a name that cannot
      be looked up), C(detail) and C(device_name).
  returned: when O(hosts) is given
  type: dict
step:
  description: V(confirm_edr), judged on each host's timeline and sensor health (the collection's
    C(docs/cloud-steps.md), step 7).
  returned: always
  type: str
columns:
  description: The columns of the answer (C(name), C(type)).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "DeviceName", "type": "String"}, {"name": "Events", "type": "Int64"}]
rows:
  description: The rows, one mapping of column name to value each.
  returned: always
  type: list
  elements: dict
row_count:
  description: Number of rows.
  returned: always
  type: int
queries:
  description: The queries that ran (one per 500 devices in O(devices) mode).
  returned: always
  type: list
  elements: str
api:
  description: The API that answered (V(defender) or V(graph)).
  returned: always
  type: str
devices:
  description: In O(devices) mode, one entry per requested device.
  returned: when O(devices) is set
  type: dict
  contains:
    found:
      description: The device has rows in the window.
      type: bool
    device_ids:
      description: The C(DeviceId) values seen for the name.
      type: list
      elements: str
    events:
      description: Timeline events in the window.
      type: int
    last_event:
      description: Time of the newest timeline event.
      type: str
    last_report:
      description: Time of the newest C(DeviceInfo) report.
      type: str
    sensor_health_states:
      description: C(SensorHealthState) values reported in the window.
      type: list
      elements: str
    sensor_health_state:
      description: The state when only one was reported, V(Mixed) otherwise, null without reports.
      type: str
    timeline_ok:
      description: There are timeline events in the window.
      type: bool
    sensor_healthy:
      description: The only reported sensor health state is V(Active).
      type: bool
    confirmed:
      description: RV(devices.timeline_ok) and RV(devices.sensor_healthy).
      type: bool
confirmed:
  description: In O(devices) mode, the devices with recent timeline events and an active sensor.
  returned: always
  type: list
  elements: str
not_confirmed:
  description: In O(devices) mode, the other devices.
  returned: always
  type: list
  elements: str
api_calls:
  description: HTTP requests of this task (C(calls), C(tokens), C(retries), C(by_family), C(rate_limit_wait)).
  returned: always
  type: dict
reason:
  description: On failure, a stable code (V(api_unauthorized), V(api_forbidden), V(api_throttled), V(api_error),
    V(invalid_argument) for a query the service refused).
  returned: failure
  type: str
"""


from ansible_collections.mdeops.defender.plugins.module_utils import _api_module as api  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils import _wave_hosts  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._api import ApiClient  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError  # noqa: E402
from ansible_collections.mdeops.defender.plugins.module_utils._hunting import (  # noqa: E402 - imports follow the documentation
    DEFAULT_TIMELINE_TABLES,
    TIMELINE_TABLES,
    build_wave_query,
    chunks,
    evaluate_wave,
    normalize_results,
)

ENDPOINTS = {
    "defender": ("/api/advancedqueries/run", "advancedqueries", "AdvancedQuery.Read.All"),
    "graph": ("/v1.0/security/runHuntingQuery", "graph_hunting", "ThreatHunting.Read.All"),
}


def argument_spec() -> dict:
    return api.options(
        api=dict(type="str", choices=["defender", "graph"], default="defender"),
        query=dict(type="str"),
        devices=dict(type="list", elements="str"),
        hosts=dict(type="dict"),
        timeline_hours=dict(type="int", default=24),
        timeline_tables=dict(
            type="list", elements="str", choices=list(TIMELINE_TABLES), default=list(DEFAULT_TIMELINE_TABLES)
        ),
    )


def run_query(client: ApiClient, api: str, query: str) -> dict:
    path, family, permission = ENDPOINTS[api]
    try:
        data = client.request(
            "POST",
            path,
            family=family,
            permission=permission,
            what="advanced hunting query",
            json_body={"Query": query},
        )
    except MdeError as exc:
        if exc.extra.get("http_status") == 400:
            raise MdeError(
                "invalid_argument", "the advanced hunting query was refused: %s" % exc.msg, **exc.extra
            ) from exc
        raise
    return normalize_results(data)


def host_verdicts(by_host: dict[str, str], evaluated: dict[str, dict], hours: int) -> dict[str, dict]:
    """Each host's own verdict: its timeline holds events and its sensor reports Active."""
    out = {}
    for host, device in by_host.items():
        entry = evaluated[device]
        if entry["confirmed"]:
            out[host] = _wave_hosts.verdict(
                None, "%s: %d timeline events in %d h, sensor Active" % (device, entry["events"], hours), device
            )
        else:
            out[host] = _wave_hosts.verdict(
                "sensor_not_running",
                "%s: %d timeline events in the last %d h, sensor health %s"
                % (device, entry["events"], hours, entry["sensor_health_state"] or "not reported"),
                device,
            )
    return out


def run(module: api.MdeApiModule, client: ApiClient) -> dict:
    api = module.params["api"]
    devices = module.params["devices"]
    hosts = module.params["hosts"]
    by_host, refused = _wave_hosts.split_hosts(hosts or {})
    if hosts is not None:
        devices = _wave_hosts.unique(by_host)
        if not devices:
            return {"hosts": refused}
    if module.params["query"] is not None:
        if not module.params["query"].strip():
            raise MdeError("invalid_argument", "query is empty")
        queries = [module.params["query"]]
    else:
        if not devices:
            raise MdeError("invalid_argument", "devices must name at least one device")
        queries = [
            build_wave_query(chunk, module.params["timeline_hours"], module.params["timeline_tables"])
            for chunk in chunks(list(devices))
        ]
    columns: list = []
    rows: list = []
    for query in queries:
        answer = run_query(client, api, query)
        columns = columns or answer["columns"]
        rows.extend(answer["rows"])
    result = {
        "columns": columns,
        "rows": rows,
        "row_count": len(rows),
        "queries": queries,
        "api": api,
        "confirmed": [],
        "not_confirmed": [],
    }
    if devices:
        evaluated = evaluate_wave(list(devices), rows)
        result["devices"] = evaluated
        result["confirmed"] = [d for d, e in evaluated.items() if e["confirmed"]]
        result["not_confirmed"] = [d for d, e in evaluated.items() if not e["confirmed"]]
        if hosts is not None:
            result["hosts"] = dict(host_verdicts(by_host, evaluated, module.params["timeline_hours"]), **refused)
        short = [d for d in devices if "." not in d]
        if short:
            module.warn(
                "devices %s are short names; DeviceName in advanced hunting is the FQDN, so they only match "
                "devices without a domain. Pass computer_dns_name from mde_machine_info." % ", ".join(short[:5])
            )
    return result


def main() -> None:
    module = api.api_module(
        argument_spec(),
        mutually_exclusive=[("query", "devices", "hosts")],
        required_one_of=[("query", "devices", "hosts")],
    )
    result = {
        "changed": False,
        "step": _wave_hosts.STEP,
        "columns": [],
        "rows": [],
        "row_count": 0,
        "queries": [],
        "api": module.params["api"],
        "confirmed": [],
        "not_confirmed": [],
        "api_calls": {},
    }
    api.run_api_module(module, result, lambda client: run(module, client))


if __name__ == "__main__":
    main()

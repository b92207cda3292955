"""mde_machine_info and mde_hunting_query end to end: simulated fleet -> fake Defender API -> real ansible-playbook.

Also the failure paths asserted on ``reason`` (401, 403, 429, 5xx, wrong secret) and the
proof that the client secret never reaches the output, even at -vvv.
"""

from __future__ import annotations

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.fleets import FORCE_PASSIVE, ORG
from tests.e2e.invariants import Invariants

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = pytest.mark.e2e

SECRET = "e2e-Secret-Value-4f1b9c"
FLEET = {
    "defaults": {"third_party_av": [{"name": "CrowdStrike Falcon"}], "domain_joined": True, "reboot_seconds": 1},
    "hosts": {
        "ws-ok": {"os": "windows11_23h2", "onboarded_org": ORG},
        "srv-ok": {"os": "server2022", "onboarded_org": ORG, "registry": [FORCE_PASSIVE]},
        "ws-nosensor": {"os": "windows10_22h2", "onboarded_org": ORG, "sense_running": False},
        "ws-new": {"os": "windows10_22h2"},
    },
    "tenant": {
        "tenant_id": "5d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a",
        "org_id": ORG,
        "clients": [
            {"client_id": "0a0a0a0a-1111-4222-8333-444444444444", "secret": SECRET},
            {
                "client_id": "0b0b0b0b-1111-4222-8333-444444444444",
                "secret": "alerts-only",
                "permissions": ["Alert.Read.All"],
            },
        ],
    },
}

LOOKUP = cloud_fixtures.api_play(
    "localhost",
    cloud_fixtures.LOOK_UP_THE_WAVE
    + """
    - name: look up the wave in check mode
      mdeops.defender.mde_machine_info:
        names: "{{ groups['windows'] }}"
      check_mode: true
      register: mde_check

    - name: confirm timeline data for the wave
      mdeops.defender.mde_hunting_query:
        devices: "{{ mde.machines.values() | selectattr('found') | map(attribute='computer_dns_name') | list }}"
        timeline_hours: 6
      register: timeline

    - name: confirm timeline data through Graph
      mdeops.defender.mde_hunting_query:
        api: graph
        devices: "{{ mde.machines.values() | selectattr('found') | map(attribute='computer_dns_name') | list }}"
      register: timeline_graph

    - name: a hand-written query
      mdeops.defender.mde_hunting_query:
        query: DeviceInfo | where Timestamp > ago(2h) | summarize Reports = count() by DeviceName
      register: custom

    - name: secret from the environment
      mdeops.defender.mde_machine_info:
        tenant_id: "{{ api.tenant_id }}"
        client_id: "{{ api.client_id }}"
        client_secret: "{{ omit }}"
        names: [ws-ok]
        av_info: false
      environment:
        MDE_CLIENT_SECRET: "{{ api.client_secret }}"
      register: from_env
""",
)


def test_wave_lookup_and_timeline(cloud_stand):
    stand = cloud_stand(FLEET)
    guard = Invariants(stand, expected_org=ORG, secrets=[SECRET])
    run = stand.playbook(LOOKUP)
    guard.check(check_mode=True)  # read-only
    assert run.rc == 0, run
    mde = run.task("look up the wave")
    assert mde["changed"] is False
    m = mde["machines"]
    assert m["ws-ok"]["found"] and m["ws-ok"]["health_status"] == "Active" and m["ws-ok"]["edr_active"]
    assert m["ws-ok"]["computer_dns_name"] == "ws-ok.corp.example.com"
    assert m["ws-ok"]["onboarding_status"] == "Onboarded" and m["ws-ok"]["os_platform"] == "Windows11"
    assert (m["ws-ok"]["av_mode"], m["ws-ok"]["av_mode_normalized"]) == ("1", "passive")
    assert (m["srv-ok"]["av_mode"], m["srv-ok"]["av_mode_normalized"]) == ("1", "passive")
    assert m["ws-nosensor"]["health_status"] == "NoSensorData" and not m["ws-nosensor"]["edr_active"]
    assert [p["reason"] for p in m["ws-nosensor"]["problems"]] == ["sensor_not_running"]
    assert not m["ws-new"]["found"] and m["ws-new"]["problems"][0]["reason"] == "not_onboarded"
    assert mde["missing"] == ["ws-new"] and sorted(mde["active"]) == ["srv-ok", "ws-ok"]
    assert mde["not_active"] == ["ws-nosensor"]
    assert mde["api_calls"]["by_family"] == {"deviceavinfo": 1, "login": 2, "machines": 1}
    check = run.task("look up the wave in check mode")
    assert check["machines"] == m  # read-only: check mode runs normally

    timeline = run.task("confirm timeline data for the wave")
    assert sorted(timeline["confirmed"]) == ["srv-ok.corp.example.com", "ws-ok.corp.example.com"]
    assert timeline["not_confirmed"] == ["ws-nosensor.corp.example.com"]
    assert timeline["devices"]["ws-ok.corp.example.com"]["events"] >= 30
    assert timeline["devices"]["ws-nosensor.corp.example.com"]["found"] is False
    assert len(timeline["queries"]) == 1 and "ago(6h)" in timeline["queries"][0]
    assert timeline["api_calls"]["by_family"]["advancedqueries"] == 1
    graph = run.task("confirm timeline data through Graph")
    assert graph["api"] == "graph" and sorted(graph["confirmed"]) == sorted(timeline["confirmed"])
    assert graph["api_calls"]["by_family"]["graph_hunting"] == 1
    custom = run.task("a hand-written query")
    assert {c["name"] for c in custom["columns"]} == {"DeviceName", "Reports"} and custom["row_count"] == 2
    assert run.task("secret from the environment")["machines"]["ws-ok"]["found"]


FAILURES = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/mdeops.defender.api: "{{ api }}"
    ansible.builtin.uri:
      url: "{{ cloud.control_url }}/faults"
      method: POST
      body_format: json
      ca_path: "{{ cloud.ca_path }}"
  tasks:
    - name: every call refused with 401
      ansible.builtin.uri:
        body: {faults: [{status: 401, count: null, family: machines}]}

    - name: lookup with 401
      mdeops.defender.mde_machine_info:
        names: [ws-ok]
      register: r401
      ignore_errors: true

    - name: an app without Machine.Read.All
      ansible.builtin.uri:
        body: {faults: []}

    - name: lookup with 403
      mdeops.defender.mde_machine_info:
        client_id: "{{ cloud.clients[1].client_id }}"
        client_secret: "{{ cloud.clients[1].client_secret }}"
        names: [ws-ok]
      register: r403
      ignore_errors: true

    - name: two 429 with Retry-After
      ansible.builtin.uri:
        body: {faults: [{status: 429, count: 2, family: machines, retry_after: 1}]}

    - name: lookup after two 429
      mdeops.defender.mde_machine_info:
        names: [ws-ok]
        av_info: false
      register: r429

    - name: 429 for ever
      ansible.builtin.uri:
        body: {faults: [{status: 429, count: null, family: machines, retry_after: 1}]}

    - name: lookup throttled for ever
      mdeops.defender.mde_machine_info:
        names: [ws-ok]
        max_retries: 1
      register: r429x
      ignore_errors: true

    - name: 503 for ever
      ansible.builtin.uri:
        body: {faults: [{status: 503, count: null, family: advancedqueries}]}

    - name: hunting with 503
      mdeops.defender.mde_hunting_query:
        devices: [ws-ok.corp.example.com]
        max_retries: 2
      register: r503
      ignore_errors: true

    - name: no more faults
      ansible.builtin.uri:
        body: {faults: []}

    - name: wrong secret
      mdeops.defender.mde_machine_info:
        client_secret: not-the-secret
        names: [ws-ok]
      register: rsecret
      ignore_errors: true
"""


def test_failures_carry_reason_codes(cloud_stand):
    stand = cloud_stand(FLEET, with_winsim=False)
    guard = Invariants(stand, expected_org=ORG, secrets=[SECRET])
    run = stand.playbook(FAILURES)
    guard.check(check_mode=True)  # read-only
    assert run.rc == 0, run
    r401 = run.task("lookup with 401")
    assert r401["failed"] and r401["reason"] == "api_unauthorized" and r401["family"] == "api"
    assert r401["http_status"] == 401 and r401["api_calls"]["retries"] == 0
    r403 = run.task("lookup with 403")
    assert r403["reason"] == "api_forbidden" and "Machine.Read.All" in r403["msg"]
    r429 = run.task("lookup after two 429")
    assert not r429.get("failed") and r429["machines"]["ws-ok"]["found"] and r429["api_calls"]["retries"] == 2
    r429x = run.task("lookup throttled for ever")
    assert r429x["failed"] and r429x["reason"] == "api_throttled" and r429x["attempts"] == 2
    r503 = run.task("hunting with 503")
    assert r503["reason"] == "api_error" and r503["attempts"] == 3 and "503" in r503["msg"]
    rsecret = run.task("wrong secret")
    assert rsecret["reason"] == "api_unauthorized" and "AADSTS7000215" in rsecret["msg"]
    counters = stand.cloud.counters()
    assert counters["faults_served"]["machines"] >= 4


def test_client_secret_never_in_output(cloud_stand):
    stand = cloud_stand(FLEET, with_winsim=False)
    play = cloud_fixtures.api_play(
        "localhost",
        """
    - name: lookup, verbose
      mdeops.defender.mde_machine_info:
        client_secret: "{{ api.client_secret }}"
        names: [ws-ok, ws-new]
    - name: failing lookup, verbose
      mdeops.defender.mde_machine_info:
        client_secret: "{{ api.client_secret }}"
        api_base_url: https://127.0.0.1:1
        max_retries: 0
        names: [ws-ok]
      ignore_errors: true
""",
    )
    # ansible-core 2.21 injects the invocation (the module's arguments) only when asked to
    inject = {"ANSIBLE_INJECT_INVOCATION": "1"}
    guard = Invariants(stand, expected_org=ORG, secrets=[SECRET])
    for verbosity in ("-vvv", "-vvvv"):
        run = stand.playbook(play, extra_args=(verbosity,), json_output=False, env=inject)
        assert run.rc == 0, run
        assert SECRET not in run.out and SECRET not in run.err
        assert "eyJ" not in run.out  # no access token (a JWT) either
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.out
    run = stand.playbook(play, env=inject)
    assert SECRET not in run.out and SECRET not in run.err
    for name in ("lookup, verbose", "failing lookup, verbose"):
        args = run.task(name)["invocation"]["module_args"]
        assert args["client_secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    guard.check(check_mode=True)  # read-only, every verbosity

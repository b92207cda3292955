"""The opt-in detection test end to end: win_mde_detection_test over WinRM -> the fake raises the
test alert for that machine -> mde_alert_info waits for it (bounded polling)."""

from __future__ import annotations

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.fleets import ORG
from tests.e2e.invariants import Invariants

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = pytest.mark.e2e

FLEET = {
    "defaults": {"third_party_av": [{"name": "SentinelOne"}], "domain_joined": True, "reboot_seconds": 1},
    "hosts": {
        "ws-pilot": {"os": "windows11_23h2", "onboarded_org": ORG},
        "ws-fresh": {"os": "windows10_22h2"},
    },
    "tenant": {"org_id": ORG},
    # simulated seconds (the cloud runs on the hosts' clock): 3 s of real time at the e2e time_scale
    "cloud": {"alert_delay_s": 60},
}

PLAY = cloud_fixtures.api_play(
    "ws-pilot",
    """
    - name: detection test in check mode
      mdeops.defender.win_mde_detection_test:
      check_mode: true
      register: dry

    - name: detection test
      mdeops.defender.win_mde_detection_test:
        stop_after: 1
      register: detection

    - name: wait for the test alert
      mdeops.defender.mde_alert_info:
        machines: "{{ ansible_play_hosts }}"
        detection_test: true
        since: "{{ detection.ran_at }}"
        wait_for: true
        wait_timeout: 60
        poll_interval: 1
      delegate_to: localhost
      run_once: true
      register: alerts

- hosts: ws-fresh
  gather_facts: false
  module_defaults:
    group/mdeops.defender.api: "{{ api }}"
  tasks:
    - name: detection test on a host that is not onboarded
      mdeops.defender.win_mde_detection_test:
        stop_after: 1
      register: fresh

    - name: no alert comes from it
      mdeops.defender.mde_alert_info:
        machines: [ws-fresh]
        detection_test: true
        since: 10m
        wait_for: true
        wait_timeout: 4
        poll_interval: 2
      delegate_to: localhost
      register: no_alert
      ignore_errors: true
""",
)


def test_detection_test_alert_arrives(cloud_stand):
    stand = cloud_stand(FLEET)
    guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret")])
    run = stand.playbook(PLAY)
    guard.check()
    assert run.rc == 0, run
    dry = run.task("detection test in check mode", "ws-pilot")
    assert dry["changed"] and dry["ran"] is False and dry["ran_at"] is None
    assert dry["command_line"].startswith("powershell.exe -NoExit -ExecutionPolicy Bypass -WindowStyle Hidden ")
    assert "DownloadFile('http://127.0.0.1/1.exe', 'C:\\\\test-MDATP-test\\\\invoice.exe')" in dry["command_line"]
    detection = run.task("detection test", "ws-pilot")
    assert detection["ran"] and detection["ran_at"].endswith("Z") and detection["onboarded"] is True
    assert detection["directory_created"] and detection["directory_removed"] and detection["process_stopped"]
    tests = stand.state("ws-pilot")["mde"]["detection_tests"]
    assert len(tests) == 1  # check mode recorded nothing
    alerts = run.task("wait for the test alert", "ws-pilot")
    assert alerts["found"] and alerts["missing"] == [] and alerts["polls"] >= 2 and alerts["waited"] > 0
    assert [a["title"] for a in alerts["alerts"]] == ["[Test Alert] Suspicious Powershell commandline"]
    assert alerts["alerts"][0]["computer_dns_name"] == "ws-pilot.corp.example.com"
    assert alerts["by_machine"]["ws-pilot"] == [alerts["alerts"][0]["id"]]
    fresh = run.task("detection test on a host that is not onboarded", "ws-fresh")
    assert fresh["ran"] and fresh["onboarded"] is False
    assert any("does not look onboarded" in w for w in fresh["warnings"])
    none = run.task("no alert comes from it", "ws-fresh")
    assert none["failed"] and none["reason"] == "timeout" and none["missing"] == ["ws-fresh"]
    assert none["polls"] >= 2

"""End to end: the real Ansible CLI and winrm connection plugin against the simulated fleet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.invariants import Invariants

pytestmark = pytest.mark.e2e

FLEET = {
    "defaults": {"reboot_seconds": 1},
    "hosts": {
        "ws01": {"os": "windows11_23h2", "groups": ["pilot"]},
        "ws02": {"os": "windows10_22h2"},
        "srv01": {"os": "server2022"},
        "dead01": {"os": "server2019", "faults": {"down": True}},
    },
}

PLAYBOOK = """
- hosts: ws01
  gather_facts: false
  tasks:
    - name: module run
      ansible.windows.win_ping:
        data: e2e
      register: ping
    - name: raw command
      ansible.builtin.raw: hostname
      register: raw_out
    - name: reboot
      ansible.windows.win_reboot:
        reboot_timeout: 120
      register: reboot
    - name: answers again after the reboot
      ansible.windows.win_ping:
    - ansible.builtin.assert:
        that:
          - ping.ping == 'e2e'
          - raw_out.stdout | trim == 'WS01'
          - reboot.rebooted
"""


def _host_lines(stdout: str) -> dict[str, str]:
    """``host | STATUS …`` lines of an ad-hoc run, by host."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+) \| ([A-Z!]+)", stdout, re.M)}


def test_win_ping_fleet_with_a_down_host(winsim):
    sim = winsim(FLEET)
    assert sim.banner.startswith("winsim: 3 hosts listening")
    guard = Invariants(sim)
    rc, out, err = sim.adhoc("all", "ansible.windows.win_ping", None, "-f", "10")
    guard.check(check_mode=True)  # read-only
    status = _host_lines(out)
    assert status == {"ws01": "SUCCESS", "ws02": "SUCCESS", "srv01": "SUCCESS", "dead01": "UNREACHABLE!"}, out + err
    assert rc == 4  # some host unreachable
    counters = sim.counters("ws01")
    assert counters["modules"] == {"ansible.windows.win_ping": 1}
    assert counters["requests"] == {"Create": 1, "Command": 1, "Send": 1, "Receive": 1, "Signal": 1, "Delete": 1}
    groups = sim.inventory_data()["all"]["children"]
    assert set(groups["workstations"]["hosts"]) == {"ws01", "ws02"}
    assert set(groups["servers"]["hosts"]) == {"srv01", "dead01"}
    assert set(groups["pilot"]["hosts"]) == {"ws01"}


def test_playbook_module_raw_and_reboot(winsim, tmp_path: Path):
    sim = winsim(FLEET)
    boot_before = sim.state("ws01")["boot"]["last_boot_filetime"]
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK, encoding="utf-8")
    guard = Invariants(sim)
    rc, out, err = sim.playbook(playbook)
    guard.check()
    assert rc == 0, out + err
    assert "ok=5" in out and "failed=0" in out
    state = sim.state("ws01")
    assert state["boot"]["last_boot_filetime"] > boot_before
    assert state["boot"]["count"] == 2
    counters = sim.counters("ws01")
    assert counters["reboots"] == 1
    assert counters["raw"]["reboot"] == 1 and counters["raw"]["hostname"] == 1
    assert counters["modules"]["ansible.windows.win_ping"] == 2


def test_wrong_password_is_unreachable(winsim):
    sim = winsim(FLEET)
    guard = Invariants(sim)
    rc, out, err = sim.adhoc("ws01", "ansible.windows.win_ping", None, "-e", "ansible_password=wrong")
    guard.check(check_mode=True)  # refused at the door: nothing changed
    assert rc == 4, out + err
    assert "UNREACHABLE" in out
    assert "the specified credentials were rejected by the server" in out
    assert sim.counters("ws01")["auth_failures"] >= 1


def test_https_with_full_certificate_validation(winsim):
    sim = winsim({"hosts": {"ws01": {}, "srv01": {"os": "server2022"}}}, https=True)
    host_vars = sim.inventory_data()["all"]["children"]["windows"]["hosts"]["ws01"]
    assert host_vars["ansible_winrm_scheme"] == "https"
    assert host_vars["ansible_winrm_server_cert_validation"] == "validate"
    guard = Invariants(sim)
    rc, out, err = sim.adhoc("all", "ansible.windows.win_ping")
    assert rc == 0, out + err
    assert _host_lines(out) == {"ws01": "SUCCESS", "srv01": "SUCCESS"}
    # Trusting only the public CAs, the same endpoint is rejected: validation really happens.
    import certifi

    rc, out, err = sim.adhoc(
        "ws01", "ansible.windows.win_ping", None, "-e", "ansible_winrm_ca_trust_path=%s" % certifi.where()
    )
    assert rc == 4 and "CERTIFICATE_VERIFY_FAILED" in out, out + err
    guard.check(check_mode=True)  # read-only


def test_state_survives_a_restart_and_gather_facts_works(winsim, tmp_path: Path):
    sim = winsim({"hosts": {"ws01": {"reboot_seconds": 1}}})
    playbook = tmp_path / "facts.yml"
    playbook.write_text(
        "- hosts: ws01\n  gather_facts: true\n  tasks:\n"
        "    - ansible.builtin.assert:\n        that:\n"
        "          - ansible_facts.os_family == 'Windows'\n"
        "          - ansible_facts.hostname == 'WS01'\n",
        encoding="utf-8",
    )
    guard = Invariants(sim)
    rc, out, err = sim.playbook(playbook)
    assert rc == 0, out + err
    before = sim.state("ws01")
    assert sim.stop() == 0  # SIGTERM: clean exit
    sim.start(reset=False)
    assert sim.state("ws01") == before
    rc, out, err = sim.adhoc("ws01", "ansible.windows.win_ping")
    assert rc == 0, out + err
    guard.check(check_mode=True)  # gathering facts and ping are read-only, across a restart
    assert sim.stop() == 0

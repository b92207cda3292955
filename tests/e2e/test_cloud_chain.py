"""The whole chain end to end: onboard a simulated host over WinRM, then confirm EDR in the fake cloud.

Before onboarding the tenant does not know the host; after win_mde_onboarding ran the
Group Policy package, the fake Defender API lists it as Active (passive antivirus beside the
third-party one), and the wave query finds its first timeline events.
"""

from __future__ import annotations

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.invariants import Invariants
from tests.winsim import packages

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = pytest.mark.e2e

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
FLEET = {
    "defaults": {"third_party_av": [{"name": "CrowdStrike Falcon"}], "domain_joined": True, "reboot_seconds": 1},
    "hosts": {"ws-chain": {"os": "windows11_23h2"}},
    "tenant": {"org_id": ORG},
}

PLAY = cloud_fixtures.api_play(
    "ws-chain",
    """
    - name: before onboarding
      mdeops.defender.mde_machine_info:
        names: "{{ ansible_play_hosts }}"
      delegate_to: localhost
      run_once: true
      register: before

    - name: onboard
      mdeops.defender.win_mde_onboarding:
        package: "{{ package }}"
        expected_org_id: "{{ cloud.org_id }}"
        timeout: 60
      register: onboarding

    - name: after onboarding
      mdeops.defender.mde_machine_info:
        names: "{{ ansible_play_hosts }}"
      delegate_to: localhost
      run_once: true
      register: after

    - name: timeline
      mdeops.defender.mde_hunting_query:
        devices: "{{ after.machines.values() | selectattr('found') | map(attribute='computer_dns_name') | list }}"
        timeline_hours: 1
      delegate_to: localhost
      run_once: true
      register: timeline
""",
)


def test_onboard_then_confirm(cloud_stand, tmp_path):
    stand = cloud_stand(FLEET)
    paths = packages.write_set(str(tmp_path / "packages"), ORG)
    guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret")])
    run = stand.playbook(PLAY, {"package": paths["onboarding_zip"]})
    guard.check()
    assert run.rc == 0, run
    assert run.task("before onboarding", "ws-chain")["missing"] == ["ws-chain"]
    assert run.task("onboard", "ws-chain")["changed"]
    after = run.task("after onboarding", "ws-chain")["machines"]["ws-chain"]
    assert after["found"] and after["edr_active"] and after["av_mode_normalized"] == "passive"
    timeline = run.task("timeline", "ws-chain")
    assert timeline["confirmed"] == ["ws-chain.corp.example.com"]

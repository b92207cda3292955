"""Confirming EDR for 200 simulated hosts costs a handful of API calls and never trips the rate limit.

The fleet (200 onboarded hosts, generated here) runs in the simulator; the fake cloud reads
its state. The playbook is the role's step 7 for one wave: one mde_machine_info and one
mde_hunting_query, each once for the whole wave. The fake's counters are the referee.
"""

from __future__ import annotations

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.fleets import FORCE_PASSIVE, ORG
from tests.e2e.invariants import Invariants

cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOSTS = 200
OSES = ("windows11_23h2", "windows11_24h2", "windows10_22h2", "server2022", "server2019")


def fleet() -> dict:
    hosts = {}
    for i in range(HOSTS):
        os_key = OSES[i % len(OSES)]
        host = {"os": os_key}
        if os_key.startswith("server"):
            host["registry"] = [FORCE_PASSIVE]
        hosts["host%03d" % i] = host
    return {
        "defaults": {
            "onboarded_org": ORG,
            "third_party_av": [{"name": "CrowdStrike Falcon"}],
            "domain_joined": True,
            "reboot_seconds": 1,
        },
        "hosts": hosts,
        "tenant": {"org_id": ORG},
    }


PLAY = cloud_fixtures.api_play(
    "localhost",
    cloud_fixtures.LOOK_UP_THE_WAVE
    + """
    - name: confirm timeline data and sensor health for the wave
      mdeops.defender.mde_hunting_query:
        devices: "{{ mde.machines.values() | selectattr('found') | map(attribute='computer_dns_name') | list }}"
      register: timeline
""",
)


def test_two_hundred_hosts_cost_a_handful_of_calls(cloud_stand):
    stand = cloud_stand(fleet())
    stand.cloud.reset_counters()
    guard = Invariants(stand, expected_org=ORG, secrets=[stand.cloud.connection().get("client_secret")])
    run = stand.playbook(PLAY)
    guard.check(check_mode=True)  # read-only
    assert run.rc == 0, run
    mde = run.task("look up the wave")
    assert mde["counts"]["requested"] == HOSTS and mde["counts"]["edr_active"] == HOSTS and mde["missing"] == []
    assert mde["counts"]["av_mode"] == {"passive": HOSTS}
    timeline = run.task("confirm timeline data and sensor health for the wave")
    assert len(timeline["confirmed"]) == HOSTS and timeline["not_confirmed"] == []

    counters = stand.cloud.counters()
    requests = counters["requests"]
    api_calls = counters["api_calls"]  # Defender API + Graph
    tokens = requests.get("token", 0)
    assert requests == {"discovery": 2, "token": 2, "machines": 1, "deviceavinfo": 1, "advancedqueries": 1}
    assert api_calls == 3 and api_calls + tokens <= 5
    assert counters["throttled"] == {}  # never tripped the rate limit
    assert all(set(s) == {"200"} for s in counters["status"].values())
    # the modules count the same calls themselves
    assert mde["api_calls"]["calls"] + timeline["api_calls"]["calls"] == sum(requests.values())
    print(
        "\n200 hosts: %d API calls + %d token requests (+ %d OIDC discovery documents); counters %s"
        % (api_calls, tokens, requests["discovery"], requests)
    )

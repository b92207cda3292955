"""Simulated fleets that several end-to-end tests share."""

from __future__ import annotations

from tests.e2e.invariants import ATP_POLICY, _reg

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
SERVERS_OU = "OU=Servers,OU=Corp,DC=corp,DC=example,DC=com"
CLIENTS_OU = "OU=Clients,OU=Corp,DC=corp,DC=example,DC=com"
#: a fleet host's registry entry: ForceDefenderPassiveMode = 1 (the value of step 5, set on the host)
FORCE_PASSIVE = {
    "key": r"HKLM\SOFTWARE\Policies\Microsoft\Windows Advanced Threat Protection",
    "name": "ForceDefenderPassiveMode",
    "data": 1,
}


def force_value(state: dict) -> int | None:
    """ForceDefenderPassiveMode in a simulated host's saved state (``WinSim.state``), or None."""
    value: int | None = _reg(state, ATP_POLICY, FORCE_PASSIVE["name"])
    return value


def domain_fleet(**hosts: dict) -> dict:
    """A domain with its controller ``dc1`` and ``hosts`` (members in the servers' OU unless they say
    otherwise, each with a third-party antivirus)."""
    return {
        "defaults": {
            "reboot_seconds": 1,
            "domain_joined": True,
            "ou": SERVERS_OU,
            "third_party_av": [{"name": "SentinelOne"}],
        },
        "hosts": {
            "dc1": {
                "os": "server2022",
                "domain_controller": True,
                "ou": "OU=Domain Controllers,DC=corp,DC=example,DC=com",
            },
            **hosts,
        },
    }


#: a server onboarded before ForceDefenderPassiveMode was set (no tamper protection): the value, then a reboot
REBOOT_HOST = {"os": "server2019", "onboarded_org": ORG}


def timed_fleet(hosts: dict[str, dict]) -> dict:
    """A workgroup fleet with the simulator's delays on at a tenth of their time (Sense starting,
    msiexec, a 5 s reboot) and a third-party antivirus on every host."""
    return {
        "time_scale": 0.1,
        "defaults": {"reboot_seconds": 5, "third_party_av": [{"name": "CrowdStrike Falcon"}]},
        "hosts": hosts,
    }

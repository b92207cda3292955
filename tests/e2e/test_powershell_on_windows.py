"""What Windows does to the collection's PowerShell, end to end (the simulator runs the real .ps1).

Each test is a Windows behaviour that the modules must survive: the onboarding script's own
waits, which collapse under a redirected standard input, native stderr under ``2>&1`` with
``$ErrorActionPreference = 'Stop'``, Get-WinEvent failing a whole query for one unregistered
provider, and the older name of the unified agent on Server 2012 R2/2016.
"""

from __future__ import annotations

import pytest

from tests.e2e.invariants import Invariants
from tests.winsim import packages as gen

pytestmark = pytest.mark.e2e

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
ONBOARD = "mdeops.defender.win_mde_onboarding"
CLIENT = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
#: Sense takes its default time to start; the answers wait for it at 1/20 of real time.
FAST = 0.05
SIG = "U0lNVUxBVEVELVNJRw=="  # inside every generated script: must never be printed


def test_the_scripts_own_waits_work_and_a_slower_sensor_is_judged_by_what_the_host_does(winsim, tmp_path):
    """The portal's script waits with ``timeout``, which exits at once when standard input is
    redirected: run so, the script gives up (exit 35, OnboardingState not there yet) while Sense
    onboards the host seconds later. The module runs it in a console without a window, so its waits
    work (exit 0). A sensor slower than the script's waits (exit 30) is waited for within ``timeout``
    and the host is judged by what it reports, with a warning naming the exit code."""
    paths = gen.write_set(str(tmp_path / "files"), ORG)
    slow = {**CLIENT, "faults": {"sense_start_delay_s": 120}}
    sim = winsim({"time_scale": FAST, "hosts": {"ws-01": CLIENT, "ws-02": slow}})
    guard = Invariants(sim, expected_org=ORG, secrets=[SIG])
    results = sim.module("all", ONBOARD, {"package": paths["onboarding_zip"], "expected_org_id": ORG})
    guard.check()
    onboarded = {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True}
    for name, result in results.items():
        assert not result.get("failed"), result
        assert result["after"] == onboarded, result
        assert sim.state(name)["services"]["Sense"]["state"] == "running"
    prompt = results["ws-01"]
    assert prompt["script_result"]["exit_code"] == 0 and prompt["script_result"]["success"] is True
    assert not prompt.get("warnings"), prompt.get("warnings")
    late = results["ws-02"]
    assert late["script_result"]["exit_code"] == 30 and late["script_result"]["success"] is False
    assert any("exited with 30" in w for w in late.get("warnings", [])), late.get("warnings")


def test_a_failed_onboarding_keeps_its_events(winsim, tmp_path):
    """WDATPOffboarding is not registered before the first offboarding: the events of a failed
    onboarding must still come back (Get-WinEvent fails a query naming an unknown provider)."""
    paths = gen.write_set(str(tmp_path / "files"), ORG)
    # The registry refuses OnboardingInfo: the script exits 10 and writes its error event.
    sim = winsim({"time_scale": FAST, "hosts": {"ws-01": {**CLIENT, "faults": {"onboarding_exit_code": 10}}}})
    guard = Invariants(sim, expected_org=ORG, secrets=[SIG])
    result = sim.module("ws-01", ONBOARD, {"package": paths["onboarding_zip"]})["ws-01"]
    guard.check()
    assert result["failed"] and result["reason"] == "onboarding_failed"
    assert [(e["source"], e["id"], e["level"]) for e in result["events"]] == [("WDATPOnboarding", 10, "Error")]
    assert "events: WDATPOnboarding 10" in result["msg"]
    assert "Access is denied" in result["events"][0]["message"]


def test_policy_refresh_reports_a_gpupdate_that_writes_to_stderr(winsim):
    """gpupdate writes its failure to stderr; under ``2>&1`` with ErrorActionPreference Stop Windows
    PowerShell 5.1 turns the first line into a terminating error. The module must return gpupdate's
    result, and the action plugin judge the value, instead of crashing."""
    fleet = {
        "time_scale": FAST,
        "hosts": {"srv-01": {"os": "server2022", "domain_joined": True, "faults": {"dc_unreachable": True}}},
    }
    sim = winsim(fleet)
    guard = Invariants(sim)
    result = sim.module("srv-01", "mdeops.defender.win_mde_policy_refresh")["srv-01"]
    guard.check()
    assert result["failed"] and result["reason"] == "policy_not_applied", result
    assert result["gpupdate"]["rc"] == 1
    assert "lack of network connectivity to a domain controller" in result["gpupdate"]["stdout"]
    assert "Unhandled exception" not in str(result)


def test_the_older_unified_agent_name_counts_as_installed(winsim, tmp_path):
    """md4ws.msi installs named themselves "Microsoft Defender for Windows Server" before the current
    "Microsoft Defender for Endpoint" (Microsoft's install.ps1 looks for both): such a Server 2016
    onboards without an installer, and win_mde_info reports the unified agent."""
    paths = gen.write_set(str(tmp_path / "files"), ORG)
    server = {
        "os": "server2016",
        "unified_agent": True,
        "unified_agent_name": "Microsoft Defender for Windows Server",
        "third_party_av": [{"name": "Trend Micro Deep Security"}],
    }
    sim = winsim({"time_scale": FAST, "hosts": {"srv-2016": server}})
    guard = Invariants(sim, expected_org=ORG, secrets=[SIG])
    info = sim.module("srv-2016", "mdeops.defender.win_mde_info")["srv-2016"]
    assert info["os"]["support"]["supported"] is True, info["os"]["support"]
    result = sim.module("srv-2016", ONBOARD, {"package": paths["onboarding_zip"], "expected_org_id": ORG})["srv-2016"]
    assert result.get("reason") != "unified_agent_required", result
    assert not result.get("failed"), result
    assert result["after"]["onboarded"] is True
    guard.check()

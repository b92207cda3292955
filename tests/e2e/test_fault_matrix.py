"""The fault matrix of the simulator's injected faults (``faults.inject``), through the real rollout.

Each row puts one fault on one host, in one window of the rollout, next to the control hosts of
``test_faults.py`` (a client and a server without faults), and checks

* the faulty host's outcome, reason and what Windows ends with;
* that the control hosts end exactly as in a fault-free rollout (outcome, state, module runs);
* the invariants (``tests/e2e/invariants.py``): no host ends without real-time protection, none
  onboarded to another organisation, nothing secret in the output;
* that the run ends within its documented bound (docs/rollout.md, "Bounds").

Windows of the real-time-protection fault (the third-party antivirus's real-time protection goes
off while the rollout runs): between the assessment and the ``ForceDefenderPassiveMode`` write,
between the write and onboarding, after onboarding, and found by the verify playbook afterwards.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from tests.e2e import cloud_fixtures
from tests.e2e.fleets import force_value
from tests.e2e.invariants import Invariants, onboarded_org
from tests.e2e.test_faults import (  # pylint: disable=unused-import  # reference: a fixture, used by name
    INFO,
    ONBOARD,
    ORG,
    PASSIVE,
    ROOT,
    SRV,
    WS,
    assert_like_reference,
    fleet,
    make_stand,
    reference,  # noqa: F401 - the fixture, used by name
)
from tests.winsim import rules

pytestmark = pytest.mark.e2e
cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name


def inject(*events: dict) -> dict:
    return {"faults": {"inject": [dict(e) for e in events]}}


def faulty_server(*events: dict) -> dict:
    return {"srv-fault": dict(copy.deepcopy(SRV), **inject(*events))}


def defender_active(state: dict) -> bool:
    return rules.derive_running_mode(state) == rules.NORMAL


# ============================================================ 13.1: real-time protection goes off
def rtp_off_around_the_write(winsim, at: str):
    """A rollout (reboots allowed) in which the server's antivirus goes off just ``at`` the passive write."""
    stand = make_stand(winsim, fleet(faulty_server({"module": "win_mde_passive_mode", "at": at, "do": "rtp_off"})))
    run = stand.rollout(mde_rollout_allow_reboot=True, mde_rollout_reboot_timeout=60)
    return stand, run, run.hosts["srv-fault"]


def test_rtp_off_between_assessment_and_the_passive_write(winsim, reference):  # noqa: F811
    """The write re-checks real-time protection in its own run and refuses: nothing changes."""
    stand, run, record = rtp_off_around_the_write(winsim, "before")
    # refused: left exactly as it was
    assert record["outcome"] == "refused" and record["reason"] == "third_party_av_inactive", str(run)
    assert record["failed_step"] == "registry", str(run)
    assert "checked again just before the write" in record["msg"]
    state = stand.sim.state("srv-fault")
    assert force_value(state) is None, "the value was written"
    assert onboarded_org(state) is None and defender_active(state)
    assert run.runs["srv-fault"].get(ONBOARD, 0) == 0
    assert_like_reference(stand, run, reference)


def test_rtp_off_between_the_write_and_onboarding(winsim, reference):  # noqa: F811
    """Onboarding a server that holds the value re-checks first and refuses: Defender stays active."""
    stand, run, record = rtp_off_around_the_write(winsim, "after")
    assert record["outcome"] == "failed" and record["reason"] == "third_party_av_inactive", str(run)
    assert record["failed_step"] == "onboard", str(run)
    assert "checked again just before onboarding" in record["msg"]
    state = stand.sim.state("srv-fault")
    assert onboarded_org(state) is None, "onboarded without real-time protection"
    assert defender_active(state) and rules.host_has_real_time_protection(state)
    assert_like_reference(stand, run, reference)


def test_rtp_off_after_onboarding_is_repaired(winsim, reference):  # noqa: F811
    """Found passive without protection after onboarding: value back to 0, reboot, Defender active.

    Defender switches some time after onboarding (the timeline on), so the settle wait reads the host
    again after the onboarding's own read, and finds the third-party antivirus off.
    """
    host = faulty_server({"module": "win_mde_onboarding", "at": "after", "do": "rtp_off"})
    host["srv-fault"]["timeline"] = True
    stand = make_stand(winsim, fleet(host))
    run = stand.rollout(mde_rollout_allow_reboot=True, mde_rollout_reboot_timeout=60)
    record = run.hosts["srv-fault"]
    state = stand.sim.state("srv-fault")
    assert force_value(state) == 0 and defender_active(state), str(run)
    assert rules.host_has_real_time_protection(state)
    assert record["outcome"] == "failed" and record["protected"] is True, str(run)
    assert record["reason"] == "third_party_av_inactive", str(run)
    assert "Defender alone protects this host (Defender is active, ForceDefenderPassiveMode 0)" in record["msg"]
    assert "real-time protection back on" in record["msg"], record["msg"]
    assert run.report["totals"]["unprotected"] == 0
    assert_like_reference(stand, run, reference)


def test_the_role_on_its_own_repairs_then_fails_the_host_with_the_repairs_verdict(winsim):
    """Used without the collection's playbooks, the role's rescue repairs the host, then fails it (stop)."""
    host = faulty_server({"module": "win_mde_onboarding", "at": "after", "do": "rtp_off"})
    host["srv-fault"]["timeline"] = True
    stand = make_stand(winsim, fleet(host))
    play = stand.base / "role-alone.yml"
    play.write_text(
        "- hosts: srv-fault\n  gather_facts: false\n  roles:\n    - mdeops.defender.mde_rollout\n", encoding="utf-8"
    )
    extra = {
        "mde_rollout_expected_org_id": ORG,
        "mde_rollout_onboarding_package": stand.pkgs["onboarding_zip"],
        "mde_rollout_allow_reboot": True,
        "mde_rollout_reboot_timeout": 60,
    }
    rc, out, _err = stand.sim.playbook(play, extra, extra_args=["-e", "mde_rollout_onboarding_timeout=120"])
    state = stand.sim.state("srv-fault")
    assert force_value(state) == 0 and defender_active(state), out[-3000:]
    assert rules.host_has_real_time_protection(state)
    assert rc == 2 and "failed=1" in out, out[-3000:]
    assert "[third_party_av_inactive] step verify_mode: Defender alone protects this host" in out, out[-3000:]


def test_rtp_off_found_by_verify_then_repaired_by_the_rollout(winsim, reference):  # noqa: F811
    """verify.yml reports the host unprotected, first in the report; the next rollout repairs it."""
    stand = make_stand(winsim, fleet({"srv-fault": copy.deepcopy(SRV)}))
    first = stand.rollout(mde_rollout_allow_reboot=True, mde_rollout_reboot_timeout=60)
    assert first.outcome("srv-fault") == "converged", first
    stand.sim.set_faults("srv-fault", {"inject": [{"module": "win_mde_info", "at": "before", "do": "rtp_off"}]})
    reports = stand.base / "verify-reports"
    rc, out, _err = stand.sim.run(
        [
            "ansible-playbook",
            "-i",
            str(stand.sim.inventory),
            str(ROOT / "playbooks" / "verify.yml"),
            "-e",
            json.dumps({"mde_targets": "windows", "mde_verify_expected_org_id": ORG, "mde_report_dir": str(reports)}),
        ],
        env={"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"},
    )
    report = json.loads((reports / "verify-report.json").read_text(encoding="utf-8"))
    assert rc != 0, out[-3000:]
    hosts = report["hosts"]
    assert hosts[0]["name"] == "srv-fault" and hosts[0]["outcome"] == "unprotected", [
        (h["name"], h["outcome"]) for h in hosts
    ]
    assert report["totals"]["unprotected"] == 1
    # The rollout's assessment plans the repair: value 0 and, with consent, the reboot.
    guard = Invariants(stand.sim, expected_org=ORG)
    run = stand.rollout(mde_rollout_allow_reboot=True, mde_rollout_reboot_timeout=60)
    state = stand.sim.state("srv-fault")
    assert force_value(state) == 0 and defender_active(state), str(run)
    assert run.hosts["srv-fault"]["outcome"] != "unprotected", str(run)
    assert run.hosts["srv-fault"]["protected"] is True, str(run)
    guard.check(run.out, run.err)


def test_rtp_off_on_a_client_changes_nothing_for_the_others(winsim, reference):  # noqa: F811
    """A client's Defender sees the other antivirus go off through Security Center and stays active."""
    faulty = {"ws-fault": dict(copy.deepcopy(WS), **inject({"module": "win_mde_onboarding", "do": "rtp_off"}))}
    stand = make_stand(winsim, fleet(faulty))
    run = stand.rollout()
    state = stand.sim.state("ws-fault")
    assert rules.host_has_real_time_protection(state) and defender_active(state), str(run)
    assert run.hosts["ws-fault"]["protected"] is True
    # Defender stays active for as long as the other antivirus is off: no settle wait changes that, so the
    # wait ends at the first read that shows it, and the host is reported what it is
    assert run.hosts["ws-fault"]["outcome"] == "active_by_design", str(run)
    assert run.runs["ws-fault"] == {INFO: 1, ONBOARD: 1}, run.runs["ws-fault"]  # judged from onboarding's read
    assert_like_reference(stand, run, reference)


# ============================================================ 13.4: a hung command is cut at its bound
def test_hung_onboarding_is_cut_at_its_bound(winsim, reference):  # noqa: F811
    """A 90 s hang of the onboarding command: the task ends at its bound, the host is `timeout`,
    the wave goes on and the run ends within its bound."""
    hang = {"module": "win_mde_onboarding", "at": "before", "do": "hang", "seconds": 200}
    stand = make_stand(winsim, fleet(faulty_server(hang)))
    started = time.monotonic()
    run = stand.rollout(mde_rollout_onboarding_timeout=40, mde_rollout_command_timeout=10)
    elapsed = time.monotonic() - started
    record = run.hosts["srv-fault"]
    assert record["outcome"] == "failed" and record["reason"] == "timeout", str(run)
    assert record["failed_step"] == "onboard", str(run)
    # onboarding bound: 40 s (script) + 10 s (margin) = 50 s; the rest of the run is a few seconds
    assert 50 <= elapsed < 110, elapsed
    assert rules.host_has_real_time_protection(stand.sim.state("srv-fault"))
    assert_like_reference(stand, run, reference)


def test_hung_assessment_is_cut_at_its_bound(winsim, reference):  # noqa: F811
    hang = {"module": "win_mde_info", "call": 1, "at": "before", "do": "hang", "seconds": 120}
    stand = make_stand(winsim, fleet(faulty_server(hang)))
    started = time.monotonic()
    run = stand.rollout(mde_rollout_command_timeout=10)
    elapsed = time.monotonic() - started
    record = run.hosts["srv-fault"]
    assert record["outcome"] == "failed" and record["reason"] == "timeout", str(run)
    assert 10 <= elapsed < 75, elapsed
    assert_like_reference(stand, run, reference)


# ============================================================ HTTP 500 and a reboot in the middle of a module
@pytest.mark.parametrize("at", ["before", "after"])
def test_http_500_in_the_middle_of_onboarding(winsim, reference, at):  # noqa: F811
    stand = make_stand(winsim, fleet(faulty_server({"module": "win_mde_onboarding", "at": at, "do": "http_500"})))
    run = stand.rollout()
    record = run.hosts["srv-fault"]
    assert record["outcome"] in ("failed", "unreachable"), str(run)
    assert record["reason"] in ("unreachable", "host_error", "module_failure"), str(run)
    assert record["reason"] != "not_onboarded"
    assert rules.host_has_real_time_protection(stand.sim.state("srv-fault"))
    assert_like_reference(stand, run, reference)
    # the rerun converges without onboarding twice
    stand.sim.clear_faults("srv-fault")
    rerun = stand.rollout()
    assert rerun.outcome("srv-fault") in ("converged", "compliant"), rerun
    assert rerun.runs["srv-fault"].get(ONBOARD, 0) == (0 if at == "after" else 1), rerun.runs["srv-fault"]


def test_reboot_in_the_middle_of_the_passive_write(winsim, reference):  # noqa: F811
    stand = make_stand(winsim, fleet(faulty_server({"module": "win_mde_passive_mode", "at": "after", "do": "reboot"})))
    run = stand.rollout()
    record = run.hosts["srv-fault"]
    assert record["outcome"] in ("failed", "unreachable"), str(run)
    assert rules.host_has_real_time_protection(stand.sim.state("srv-fault"))
    assert_like_reference(stand, run, reference)
    stand.sim.clear_faults("srv-fault")
    rerun = stand.rollout()
    assert rerun.outcome("srv-fault") in ("converged", "compliant"), rerun
    assert rerun.runs["srv-fault"].get(PASSIVE, 0) == 0, rerun.runs["srv-fault"]
    assert rerun.runs["srv-fault"].get(INFO, 0) >= 1


def test_fault_spec_errors_are_refused(winsim):
    """A fault the simulator does not know is an error at start, never ignored."""
    from tests.winsim.fleet import FleetError  # noqa: F401 - the error the server raises

    bad = fleet(faulty_server({"module": "win_mde_onboarding", "do": "explode"}))
    with pytest.raises(Exception, match="do"):
        winsim(bad)


# ============================================================ 13.2, 13.3, 13.5: the wave's API answers
def cloud_rollout(cloud_stand, hosts: dict, *args: str, api_faults=(), tenant=None, env=None, **extra):
    """A fleet in the fake tenant, its rollout with EDR confirmation (the control hosts included).

    ``tenant``: the fleet file's ``tenant:`` block (default: the expected organisation, a generated
    client); ``env``: more environment for ansible-playbook.
    """
    from tests.e2e.test_faults import Stand

    stand_ = cloud_stand(fleet(hosts, tenant=tenant or {"org_id": ORG}))
    stand = Stand(stand_.sim, stand_.base, cloud=stand_.cloud, local_inventory=stand_.local_inventory)
    stand.sim.env.update(env or {})
    stand.cloud.set_faults(list(api_faults))
    options = stand.cloud.connection()
    run = stand.rollout(
        *args,
        mde_rollout_confirm_edr_enabled=True,
        mde_rollout_api_options={
            k: options[k] for k in ("api_base_url", "graph_base_url", "authority_host", "ca_path")
        },
        **extra,
    )
    return stand, run


def assert_confirmed(run, *hosts: str) -> None:
    for host in hosts:
        record = run.hosts[host]
        assert record["outcome"] == "converged" and record["reason"] is None, (host, str(run))
        assert record["steps"]["confirm_edr"] == "ok", (host, record["steps"])


def test_one_failed_host_does_not_fail_edr_confirmation_for_its_wave(cloud_stand, reference):  # noqa: F811
    bad = {"srv-fault": dict(copy.deepcopy(SRV), faults={"onboarding_exit_code": 10})}
    stand, run = cloud_rollout(cloud_stand, bad)
    record = run.hosts["srv-fault"]
    assert record["outcome"] == "failed" and record["reason"] == "onboarding_failed", str(run)
    assert_confirmed(run, "ok-ws", "ok-srv")
    assert stand.cloud.counters()["requests"].get("machines") == 1  # one lookup for the wave


def test_graph_503_storm_with_intune_keeps_edr_confirmation(cloud_stand, reference):  # noqa: F811
    storm = [{"status": 503, "count": "always", "family": "graph_intune"}]
    _stand, run = cloud_rollout(cloud_stand, {}, api_faults=storm, mde_rollout_intune_enabled=True)
    for host in ("ok-ws", "ok-srv"):
        record = run.hosts[host]
        assert record["reason"] == "api_error" and record["failed_step"] == "intune", (host, str(run))
        assert record["steps"]["confirm_edr"] == "ok", (host, record["steps"])
        assert record["mode"] == "passive" and record["protected"] is True


def test_malformed_api_answer_is_an_api_error_not_a_device_state(cloud_stand, reference):  # noqa: F811
    malformed = [{"status": 200, "count": "always", "family": "machines", "body": ["not", "an", "object"]}]
    _stand, run = cloud_rollout(cloud_stand, {}, api_faults=malformed)
    for host in ("ok-ws", "ok-srv"):
        record = run.hosts[host]
        assert record["reason"] == "api_error" and record["failed_step"] == "confirm_edr", (host, str(run))
        assert "not_onboarded" not in json.dumps(record["problems"]), record["problems"]
        assert record["mode"] == "passive" and record["protected"] is True


def test_non_ascii_computer_name_is_that_hosts_own_verdict(cloud_stand, reference):  # noqa: F811
    kitchen = {"kueche": dict(copy.deepcopy(WS), hostname="KÜCHE-PC")}
    _stand, run = cloud_rollout(cloud_stand, kitchen)
    assert_confirmed(run, "ok-ws", "ok-srv", "kueche")

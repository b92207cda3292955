"""win_mde_info's settle wait: one read per poll, bounded, the verdict only after it."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.action.win_mde_info import ActionModule
from tests.unit.conftest import PsHost, run_action
from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost

MODULE = "mdeops.defender.win_mde_info"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
AV = [{"name": "CrowdStrike Falcon"}]


def host(**settings) -> SimHost:
    return SimHost("h", new_state("h", dict({"os": "windows11_23h2"}, **settings)), None)


def waiting(monkeypatch, fake: PsHost, later: SimHost | None = None, after_polls: int = 1) -> list[float]:
    """A controller clock that only moves when the plugin sleeps; the host changes after ``after_polls`` sleeps."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(self, seconds):
        sleeps.append(seconds)
        now[0] += seconds
        if later is not None and len(sleeps) == after_polls:
            fake.host = later

    monkeypatch.setattr(ActionModule, "sleep", staticmethod(lambda seconds: sleep(None, seconds)))
    monkeypatch.setattr(ActionModule, "clock", staticmethod(lambda: now[0]))
    return sleeps


def run(fake: PsHost, check_mode: bool = False, **args) -> dict:
    return run_action(ActionModule, fake, MODULE, dict(args, expected_org_id=ORG), check_mode=check_mode)


def test_the_wait_ends_when_the_host_gets_there(monkeypatch):
    fake = PsHost(host=host(third_party_av=AV))
    sleeps = waiting(monkeypatch, fake, later=host(third_party_av=AV, onboarded_org=ORG), after_polls=2)
    res = run(fake, wait_for="passive", wait_timeout=60, wait_interval=10)
    assert res["reason"] is None and res["defender"]["mode"] == "passive"
    assert res["polls"] == 3 and sleeps == [10, 10] and len(fake.calls) == 3, "one round trip per read"


def test_a_host_that_never_gets_there_is_judged_after_the_bound(monkeypatch):
    fake = PsHost(host=host(third_party_av=AV))
    sleeps = waiting(monkeypatch, fake)
    res = run(fake, wait_for="passive", wait_timeout=30, wait_interval=10)
    assert res["reason"] == "not_onboarded" and not res.get("failed"), "an info module does not fail on its verdict"
    assert res["polls"] == 4 and sum(sleeps) == 30 and "after 4 read(s)" in res["detail"]


def test_onboarded_is_judged_by_onboarding_only(monkeypatch):
    # an onboarded server beside a third-party antivirus whose passive value is not set yet: Defender is
    # active and the host is not compliant, but it is onboarded with Sense running
    fake = PsHost(host=host(os="server2022", third_party_av=AV, onboarded_org=ORG))
    waiting(monkeypatch, fake)
    res = run(fake, wait_for="onboarded", wait_timeout=30, wait_interval=10)
    assert res["defender"]["mode"] == "active" and res["diagnosis"]["compliant"] is False
    assert res["polls"] == 1 and res["reason"] is None, res["detail"]
    # another organisation is not "onboarded" for this run
    fake = PsHost(host=host(onboarded_org="c0ffee00-1234-4abc-8def-0123456789ab"))
    waiting(monkeypatch, fake)
    res = run(fake, wait_for="onboarded", wait_timeout=0, wait_interval=10)
    assert res["reason"] == "wrong_org"


def test_check_mode_reads_once_and_does_not_judge(monkeypatch):
    fake = PsHost(host=host(third_party_av=AV))
    sleeps = waiting(monkeypatch, fake)
    res = run(fake, wait_for="passive", wait_timeout=60, wait_interval=10, check_mode=True)
    assert res["reason"] is None and res["polls"] == 1 and sleeps == [] and "check mode" in res["detail"]

"""The API modules' run logic without Ansible: the alert wait loop on a fake clock, check mode
writing nothing, and one wave lookup, each against a fake transport or the in-process fake cloud."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.modules import (
    intune_configuration_policy,
    mde_alert_info,
    mde_machine_info,
)
from tests.unit.plugins.module_utils.test_api import FakeClock, FakeTransport, _json, make_client
from tests.winsim.cloud.inprocess import InProcessCloud

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-0000-0000-0000-000000000001"


class StubModule:
    """What the run functions use of AnsibleModule."""

    def __init__(self, module, check_mode: bool = False, diff: bool = False, **params) -> None:
        base = {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": "s"}
        base.update(params)
        checked = ArgumentSpecValidator(module.argument_spec()).validate(base)
        assert not checked.error_messages, checked.error_messages
        self.params = checked.validated_parameters
        self.check_mode = check_mode
        self._diff = diff
        self.warnings: list[str] = []
        self.logs: list[str] = []

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def log(self, msg: str) -> None:
        self.logs.append(msg)


ALERT = {
    "id": "da1",
    "title": "[Test Alert] Suspicious Powershell commandline",
    "machineId": "m1",
    "computerDnsName": "ws01.corp.example.com",
    "alertCreationTime": "2026-03-01T10:00:00Z",
}


def test_wait_for_alert_polls_on_the_clock():
    t = FakeTransport()
    t.script["/api/alerts"] = [_json(200, {"value": []}), _json(200, {"value": []}), _json(200, {"value": [ALERT]})]
    clock = FakeClock()
    client = make_client(t, clock)
    module = StubModule(
        mde_alert_info,
        machines=["ws01"],
        detection_test=True,
        wait_for=True,
        poll_interval=30,
        wait_timeout=300,
        since="2026-03-01T09:00:00Z",
    )
    import datetime

    out = mde_alert_info.poll(module, client, datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC))
    assert out["found"] and out["polls"] == 3 and out["waited"] == 60 and clock.sleeps == [30.0, 30.0]
    assert out["by_machine"] == {"ws01": ["da1"]} and out["since"] == "2026-03-01T09:00:00Z"
    filters = [c[1] for c in t.calls if "/api/alerts" in c[1]]
    assert all("$filter=alertCreationTime%20ge%202026-03-01T09:00:00Z" in f for f in filters)


def test_wait_for_alert_gives_up_with_timeout():
    import datetime

    t = FakeTransport()
    t.script["/api/alerts"] = [_json(200, {"value": []})]
    clock = FakeClock()
    module = StubModule(
        mde_alert_info, machines=["ws01"], detection_test=True, wait_for=True, poll_interval=30, wait_timeout=65
    )
    with pytest.raises(MdeError) as err:
        mde_alert_info.poll(module, make_client(t, clock), datetime.datetime.now(datetime.UTC))
    assert err.value.reason == "timeout" and err.value.extra["polls"] == 4 and err.value.extra["missing"] == ["ws01"]
    assert clock.sleeps == [30.0, 30.0, 5.0]  # never past the deadline


FLEET = {
    "defaults": {"third_party_av": [{"name": "CrowdStrike Falcon"}], "domain_joined": True},
    "hosts": {"ws01": {"os": "windows11_23h2", "onboarded_org": ORG}, "ws02": {"os": "windows10_22h2"}},
    "tenant": {"tenant_id": TENANT, "org_id": ORG, "clients": [{"client_id": CLIENT, "secret": "s"}]},
}


@pytest.fixture
def fake(tmp_path):
    cloud = InProcessCloud(tmp_path, json.loads(json.dumps(FLEET)))
    yield cloud
    cloud.stop()


def test_machine_info_run(fake):
    client = fake.client(CLIENT, "s", tenant=TENANT)
    module = StubModule(mde_machine_info, names=["WS01", "ws02"])
    out = mde_machine_info.run(module, client)
    assert out["active"] == ["WS01"] and out["missing"] == ["ws02"] and out["listed"] == 1
    assert out["machines"]["WS01"]["av_mode_normalized"] == "passive"
    assert client.summary()["by_family"] == {"deviceavinfo": 1, "login": 2, "machines": 1}


def test_intune_check_mode_writes_nothing(fake):
    params = {
        "name": "EDR",
        "preset": "edr_onboarding",
        "edr": {"sample_sharing": "all"},
        "assignments": [{"target": "all_devices"}],
    }
    check = StubModule(intune_configuration_policy, check_mode=True, **params)
    out = intune_configuration_policy.present(check, fake.client(CLIENT, "s", tenant=TENANT))
    assert out["changed"] and out["actions"] == ["create", "assign"] and out["id"] is None
    assert fake.state.intune.policies(TENANT) == {}
    real = StubModule(intune_configuration_policy, **params)
    out = intune_configuration_policy.present(real, fake.client(CLIENT, "s", tenant=TENANT))
    assert out["changed"] and len(fake.state.intune.policies(TENANT)) == 1
    again = intune_configuration_policy.present(real, fake.client(CLIENT, "s", tenant=TENANT))
    assert not again["changed"] and again["_diff"]["before"] == again["_diff"]["after"]
    gone = intune_configuration_policy.absent(
        StubModule(intune_configuration_policy, check_mode=True, name="EDR", state="absent"),
        fake.client(CLIENT, "s", tenant=TENANT),
    )
    assert gone["changed"] and len(fake.state.intune.policies(TENANT)) == 1

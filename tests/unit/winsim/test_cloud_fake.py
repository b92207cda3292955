"""The fake cloud (tests/winsim/cloud): sign-in, Defender API, Graph, faults, throttling, counters.

The fake runs in-process on a background thread over real HTTPS; the collection's own API
client (module_utils/_api.py, open_url transport) talks to it, so these tests also prove the
client works against realistic answers.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._api import (
    ApiClient,
    ApiSettings,
)
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._hunting import build_wave_query
from tests.winsim import fleet as fleet_mod
from tests.winsim.cloud.config import CloudConfigError, parse_fault
from tests.winsim.cloud.inprocess import InProcessCloud

ROOT = Path(__file__).resolve().parents[3]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER_ORG = "c0ffee00-1234-4abc-8def-0123456789ab"
AV = [{"name": "CrowdStrike Falcon"}]

FLEET = {
    "defaults": {"third_party_av": AV, "domain_joined": True},
    "hosts": {
        "ws01": {"os": "windows11_23h2", "onboarded_org": ORG},
        "ws02": {"os": "windows10_22h2", "onboarded_org": ORG, "sense_running": False},
        "ws03": {"os": "windows10_22h2"},
        "ws04": {"os": "windows10_22h2", "onboarded_org": OTHER_ORG},
        "srv01": {"os": "server2022", "onboarded_org": ORG},
    },
    "tenant": {
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "org_id": ORG,
        "clients": [
            {"client_id": "aaaaaaaa-0000-0000-0000-000000000001", "secret": "all-the-rights"},
            {
                "client_id": "aaaaaaaa-0000-0000-0000-000000000002",
                "secret": "no-machines",
                "permissions": ["Alert.Read.All"],
            },
            {"client_id": "aaaaaaaa-0000-0000-0000-000000000003", "certificate": True},
        ],
    },
    "cloud": {
        "tenants": [
            {
                "tenant_id": "99999999-2222-3333-4444-555555555555",
                "org_id": OTHER_ORG,
                "clients": [{"client_id": "bbbbbbbb-0000-0000-0000-000000000001", "secret": "other"}],
            }
        ],
        "alert_delay_s": 0,
    },
}


@pytest.fixture
def cloud(tmp_path):
    started = []

    def start(fleet: dict | None = None) -> InProcessCloud:
        fake = InProcessCloud(tmp_path / ("c%d" % len(started)), json.loads(json.dumps(fleet or FLEET)))
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def machines(client: ApiClient, **params) -> list[dict]:
    return client.get_all(
        "/api/machines",
        family="machines",
        permission="Machine.Read.All",
        what="list",
        params=params or None,
        allow_404_empty=True,
    )


# --------------------------------------------------------------------------- Defender API
def test_devices_come_from_the_fleet_state(cloud):
    fake = cloud()
    client = fake.client()
    found = {m["computerDnsName"]: m for m in machines(client)}
    assert set(found) == {"ws01.corp.example.com", "ws02.corp.example.com", "srv01.corp.example.com"}
    assert found["ws01.corp.example.com"]["healthStatus"] == "Active"
    assert found["ws01.corp.example.com"]["onboardingStatus"] == "Onboarded"
    assert found["ws01.corp.example.com"]["osPlatform"] == "Windows11"
    assert found["ws02.corp.example.com"]["healthStatus"] == "NoSensorData"
    assert found["srv01.corp.example.com"]["osPlatform"] == "WindowsServer2022"
    # ws04 belongs to the other org: the other tenant sees it, this one does not
    other = fake.client("bbbbbbbb-0000-0000-0000-000000000001", "other", tenant="99999999-2222-3333-4444-555555555555")
    assert [m["computerDnsName"] for m in machines(other)] == ["ws04.corp.example.com"]
    assert client.stats.tokens == 1


def test_device_av_info_follows_the_running_mode(cloud):
    fake = cloud()
    infos = {
        a["computerDnsName"]: a
        for a in fake.client().get_all(
            "/api/deviceavinfo", family="deviceavinfo", permission="Machine.Read.All", what="av", params={"$top": 100}
        )
    }
    assert infos["ws01.corp.example.com"]["avMode"] == "1"  # onboarded client beside a registered AV: passive
    assert infos["srv01.corp.example.com"]["avMode"] == "0"  # server without ForceDefenderPassiveMode: active


def test_onboarding_over_winrm_shows_up_without_restart(cloud):
    fake = cloud()
    client = fake.client()
    assert "ws03.corp.example.com" not in {m["computerDnsName"] for m in machines(client)}
    state = fake.read_state("ws03")
    state["registry"][r"HKLM\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status"] = {
        "OnboardingState": {"type": "REG_DWORD", "data": 1},
        "OrgId": {"type": "REG_SZ", "data": ORG},
    }
    state["services"]["Sense"]["state"] = "running"
    fake.write_state("ws03", state)
    os.utime(fake.state_dir / "ws03.json", ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert "ws03.corp.example.com" in {m["computerDnsName"] for m in machines(client)}


def test_paging_filter_and_404(cloud):
    fake = cloud()
    fake.control("POST", "/config", {"page_size": {"machines": 1}})
    client = fake.client()
    listed = machines(client, **{"$top": 10000})
    assert len(listed) == 3 and client.stats.by_family["machines"] == 3  # one page each
    unhealthy = machines(client, **{"$filter": "healthStatus ne 'Active'"})
    assert [m["computerDnsName"] for m in unhealthy] == ["ws02.corp.example.com"]
    srv = machines(client, **{"$filter": "startswith(computerDnsName,'srv')"})
    assert [m["computerDnsName"] for m in srv] == ["srv01.corp.example.com"]
    with pytest.raises(MdeError) as err:
        machines(client, **{"$filter": "agentVersion eq '1'"})
    assert err.value.reason == "api_error" and "agentVersion" in err.value.msg
    with pytest.raises(MdeError) as err:
        machines(client, **{"$top": 10001})
    assert "10000" in err.value.msg
    # no machine at all: 404, which the listing treats as empty
    assert machines(client, **{"$filter": "computerDnsName eq 'nothing'"}) == []


# --------------------------------------------------------------------------- sign-in and permissions
def test_wrong_secret_unknown_client_unknown_tenant(cloud):
    fake = cloud()
    with pytest.raises(MdeError) as err:
        machines(fake.client(secret="wrong"))
    assert err.value.reason == "api_unauthorized" and "AADSTS7000215" in err.value.msg
    assert "wrong" not in err.value.msg
    with pytest.raises(MdeError) as err:
        machines(fake.client("aaaaaaaa-0000-0000-0000-00000000dead"))
    assert "AADSTS700016" in err.value.msg
    with pytest.raises(MdeError) as err:
        machines(fake.client(tenant="00000000-0000-0000-0000-000000000000"))
    assert err.value.reason == "api_unauthorized" and "00000000-0000-0000-0000-000000000000" in err.value.msg


def test_missing_permission_is_403_naming_it(cloud):
    fake = cloud()
    with pytest.raises(MdeError) as err:
        machines(fake.client("aaaaaaaa-0000-0000-0000-000000000002", "no-machines"))
    assert err.value.reason == "api_forbidden" and "Machine.Read.All" in err.value.msg
    assert err.value.extra["http_status"] == 403


def test_certificate_client(cloud):
    fake = cloud()
    c = fake.config.client("aaaaaaaa-0000-0000-0000-000000000003")
    client = fake.client(c.client_id, None, client_certificate_path=c.key_path)
    assert len(machines(client)) == 3
    # key only + thumbprint
    key_only = Path(c.key_path).read_text().split("-----BEGIN CERTIFICATE-----")[0]
    client = fake.client(c.client_id, None, client_certificate_key=key_only, client_certificate_thumbprint=c.thumbprint)
    assert len(machines(client)) == 3
    with pytest.raises(MdeError) as err:
        machines(
            fake.client(c.client_id, None, client_certificate_key=key_only, client_certificate_thumbprint="00" * 20)
        )
    assert "AADSTS700027" in err.value.msg


def test_token_audience_is_checked(cloud):
    fake = cloud()
    client = fake.client()
    graph_token = client.token("graph")
    status, _headers, body = fake.raw("GET", "/mde/api/machines", graph_token)
    assert status == 401 and body["error"]["code"] == "Unauthorized" and "audience" in body["error"]["message"]
    status, _headers, body = fake.raw("GET", "/mde/api/machines")
    assert status == 401
    status, _headers, body = fake.raw("GET", "/graph/beta/deviceManagement/configurationPolicies", client.token("api"))
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"


# --------------------------------------------------------------------------- faults, throttling, counters
def test_injected_faults(cloud):
    fake = cloud()
    sleeps: list = []
    client = fake.client(sleeps=sleeps)
    fake.control("POST", "/faults", {"faults": [{"status": 503, "count": 2, "family": "machines"}]})
    assert len(machines(client)) == 3 and sleeps == [1.0, 2.0]
    fake.control("POST", "/faults", {"faults": [{"status": 429, "count": 1, "retry_after": 3}]})
    sleeps.clear()
    assert len(machines(client)) == 3 and sleeps == [3.0]
    fake.control("POST", "/faults", {"faults": [{"status": 401, "count": None, "family": "machines"}]})
    with pytest.raises(MdeError) as err:
        machines(client)
    assert err.value.reason == "api_unauthorized"
    fake.control("POST", "/faults", {"faults": [{"status": 502, "count": None}]})
    sleeps.clear()
    with pytest.raises(MdeError) as err:
        machines(client)
    assert err.value.reason == "api_error" and err.value.extra["attempts"] == 4 and len(sleeps) == 3
    assert fake.control("DELETE", "/faults") == {"faults": []}
    assert len(machines(client)) == 3


def test_next_link_fault_keeps_the_real_page_and_sets_its_link(cloud):
    fake = cloud()
    token = fake.client().token("api")
    fake.control(
        "POST", "/faults", {"faults": [{"status": 200, "count": 2, "family": "machines", "next_link": "{self}"}]}
    )
    status, _headers, body = fake.raw("GET", "/mde/api/machines?$top=2", token)
    assert status == 200 and len(body["value"]) == 2
    assert body["@odata.nextLink"] == fake.base + "/mde/api/machines?$top=2"
    fake.control("POST", "/faults", {"faults": [{"status": 200, "family": "machines", "next_link": 42}]})
    status, _headers, body = fake.raw("GET", "/mde/api/machines", token)
    assert status == 200 and len(body["value"]) == 3 and body["@odata.nextLink"] == 42
    status, _headers, body = fake.raw("GET", "/mde/api/machines", token)  # count 1: served once
    assert "@odata.nextLink" not in body
    with pytest.raises(CloudConfigError, match="exclude each other"):
        parse_fault({"status": 200, "body": {}, "next_link": "x"})


def test_throttling_answers_429_with_retry_after(cloud):
    fleet = json.loads(json.dumps(FLEET))
    fleet["cloud"]["limits"] = {"machines": [3, 100]}
    fake = cloud(fleet)
    token = fake.client().token("api")
    statuses = [fake.raw("GET", "/mde/api/machines", token) for _call in range(4)]
    assert [s[0] for s in statuses] == [200, 200, 200, 429]
    assert 1 <= int(statuses[3][1]["Retry-After"]) <= 60
    assert statuses[3][2]["error"]["code"] == "TooManyRequests"
    with pytest.raises(MdeError) as err:
        machines(fake.client(retries=0))
    assert err.value.reason == "api_throttled"
    counters = fake.control("GET", "/counters")
    assert counters["throttled"]["machines"] == 2
    on_disk = json.loads((fake.state_dir / "cloud" / "counters.json").read_text())
    assert on_disk["requests"] == counters["requests"]
    assert counters["status"]["machines"] == {"200": 3, "429": 2}


def test_counters_count_every_family(cloud):
    fake = cloud()
    client = fake.client()
    machines(client)
    client.get_all(
        "/api/deviceavinfo", family="deviceavinfo", permission="Machine.Read.All", what="av", params={"$top": 10000}
    )
    c = fake.control("GET", "/counters")
    assert c["requests"] == {"discovery": 1, "token": 1, "machines": 1, "deviceavinfo": 1}
    assert c["api_calls"] == 2
    fake.control("POST", "/counters/reset")
    assert fake.control("GET", "/counters")["requests"] == {}


# --------------------------------------------------------------------------- advanced hunting
def test_wave_query_on_both_apis(cloud):
    fake = cloud()
    client = fake.client()
    query = build_wave_query(["ws01.corp.example.com", "ws02.corp.example.com", "srv01.corp.example.com"], 24)
    legacy = client.request(
        "POST",
        "/api/advancedqueries/run",
        family="advancedqueries",
        permission="AdvancedQuery.Read.All",
        what="q",
        json_body={"Query": query},
    )
    assert [c["Name"] for c in legacy["Schema"]] == [
        "DeviceId",
        "DeviceName",
        "Events",
        "LastEvent",
        "LastReport",
        "SensorHealthStates",
    ]
    rows = {r["DeviceName"]: r for r in legacy["Results"]}
    assert set(rows) == {"ws01.corp.example.com", "srv01.corp.example.com"}  # ws02's sensor sends nothing
    assert rows["ws01.corp.example.com"]["Events"] >= 140 and rows["ws01.corp.example.com"]["SensorHealthStates"] == [
        "Active"
    ]
    graph = client.request(
        "POST",
        "/v1.0/security/runHuntingQuery",
        family="graph_hunting",
        permission="ThreatHunting.Read.All",
        what="q",
        json_body={"Query": query},
    )
    assert graph["schema"][0] == {"name": "DeviceId", "type": "String"}
    assert {r["DeviceName"] for r in graph["results"]} == set(rows)


def test_hunting_other_queries_and_unsupported_ones(cloud):
    fake = cloud()
    client = fake.client()

    def run(q):
        return client.request(
            "POST",
            "/api/advancedqueries/run",
            family="advancedqueries",
            permission="AdvancedQuery.Read.All",
            what="q",
            json_body={"Query": q},
        )

    out = run('DeviceInfo | where Timestamp > ago(3h) | where DeviceName =~ "WS01.corp.example.com" | count')
    assert out["Results"] in ([{"Count": 3}], [{"Count": 4}])
    out = run(
        "DeviceProcessEvents | where Timestamp > ago(1h) | summarize n = count() by DeviceName "
        "| order by DeviceName asc"
    )
    assert [r["DeviceName"] for r in out["Results"]] == ["srv01.corp.example.com", "ws01.corp.example.com"]
    with pytest.raises(MdeError) as err:
        run("DeviceInfo | join kind=inner (DeviceProcessEvents) on DeviceId")
    assert "does not support" in err.value.msg and err.value.extra["http_status"] == 400
    with pytest.raises(MdeError) as err:
        run("EmailEvents | take 1")
    assert "EmailEvents" in err.value.msg


# --------------------------------------------------------------------------- alerts
def test_detection_test_raises_an_alert(cloud):
    fake = cloud()
    state = fake.read_state("ws01")
    ran = time.time() - 5
    state["mde"]["detection_tests"] = [{"time": ran, "command": "powershell.exe -NoExit ..."}]
    fake.write_state("ws01", state)
    client = fake.client()
    since = datetime.datetime.fromtimestamp(ran - 60, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    alerts = client.get_all(
        "/api/alerts",
        family="alerts",
        permission="Alert.Read.All",
        what="alerts",
        params={"$filter": "alertCreationTime ge %s" % since},
    )
    assert [(a["computerDnsName"], a["title"]) for a in alerts] == [
        ("ws01.corp.example.com", "[Test Alert] Suspicious Powershell commandline")
    ]
    later = datetime.datetime.fromtimestamp(ran + 3600, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (
        client.get_all(
            "/api/alerts",
            family="alerts",
            permission="Alert.Read.All",
            what="alerts",
            params={"$filter": "alertCreationTime ge %s" % later},
        )
        == []
    )
    with pytest.raises(MdeError) as err:  # machineId is not a documented alert filter
        client.get_all(
            "/api/alerts",
            family="alerts",
            permission="Alert.Read.All",
            what="alerts",
            params={"$filter": "machineId eq 'x'"},
        )
    assert "machineId" in err.value.msg


# --------------------------------------------------------------------------- Intune
EDR = [
    {
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSetting",
        "settingInstance": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
            "settingDefinitionId": "device_vendor_msft_windowsadvancedthreatprotection_configurationtype",
            "choiceSettingValue": {
                "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingValue",
                "value": "device_vendor_msft_windowsadvancedthreatprotection_configurationtype_onboard",
                "children": [
                    {
                        "@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                        "settingDefinitionId": "device_vendor_msft_windowsadvancedthreatprotection_onboarding",
                        "simpleSettingValue": {
                            "@odata.type": "#microsoft.graph.deviceManagementConfigurationSecretSettingValue",
                            "value": "BLOB-SECRET",
                            "valueState": "notEncrypted",
                        },
                    }
                ],
            },
        },
    }
]


def test_intune_policy_lifecycle(cloud):
    fake = cloud()
    client = fake.client()

    def call(method, path, body=None, expected=(200,), **kw):
        return client.request(
            method,
            "/beta/deviceManagement/configurationPolicies" + path,
            family="graph_intune",
            permission="DeviceManagementConfiguration.ReadWrite.All",
            what="intune",
            json_body=body,
            expected=expected,
            **kw,
        )

    created = client.request(
        "POST",
        "/beta/deviceManagement/configurationPolicies",
        family="graph_intune",
        permission="p",
        what="create",
        expected=(201,),
        json_body={
            "name": "EDR",
            "platforms": "windows10",
            "technologies": "mdm,microsoftSense",
            "templateReference": {"templateId": "0385b795-0f2f-44ac-8602-9f65bf6adede_1"},
            "settings": EDR,
        },
    )
    pid = created["id"]
    assert created["templateReference"]["templateFamily"] == "endpointSecurityEndpointDetectionAndResponse"
    listed = call("GET", "", params={"$filter": "name eq 'EDR'"})["value"]
    assert [p["id"] for p in listed] == [pid]
    full = call("GET", "/" + pid, params={"$expand": "assignments,settings"})
    secret = full["settings"][0]["settingInstance"]["choiceSettingValue"]["children"][0]["simpleSettingValue"]
    assert secret["valueState"] == "encryptedValueToken" and secret["value"] != "BLOB-SECRET"
    assert "BLOB-SECRET" not in json.dumps(full)
    call("PATCH", "/" + pid, {"description": "new"})
    call(
        "POST",
        "/%s/assign" % pid,
        {
            "assignments": [
                {
                    "target": {
                        "@odata.type": "#microsoft.graph.groupAssignmentTarget",
                        "groupId": "0f6a3e8c-1d2b-4c5d-8e9f-a0b1c2d3e4f5",
                    }
                }
            ]
        },
    )
    full = call("GET", "/" + pid, params={"$expand": "assignments"})
    assert full["description"] == "new" and full["assignments"][0]["target"]["groupId"].startswith("0f6a3e8c")
    with pytest.raises(MdeError) as err:
        call(
            "PUT",
            "/" + pid,
            {"name": "EDR", "platforms": "macOS", "technologies": "mdm,microsoftSense", "settings": EDR},
            expected=(204,),
        )
    assert "cannot be changed" in err.value.msg
    bad = json.loads(json.dumps(EDR))
    bad[0]["settingInstance"]["settingDefinitionId"] = "device_vendor_msft_policy_config_defender_forcepassivemode"
    with pytest.raises(MdeError) as err:
        client.request(
            "POST",
            "/beta/deviceManagement/configurationPolicies",
            family="graph_intune",
            permission="p",
            what="create",
            expected=(201,),
            json_body={"name": "bad", "settings": bad},
        )
    assert "forcepassivemode" in err.value.msg and err.value.extra["http_status"] == 400
    call("DELETE", "/" + pid, expected=(204,))
    assert call("GET", "", params={"$filter": "name eq 'EDR'"})["value"] == []
    assert (
        client.request(
            "GET",
            "/beta/deviceManagement/configurationSettings/nope",
            family="graph_intune",
            permission="p",
            what="def",
            allow_404=True,
        )
        is None
    )


# --------------------------------------------------------------------------- the command line
def test_cli_writes_config_and_stops_on_sigterm(tmp_path):
    import yaml

    fleet_path = tmp_path / "fleet.yml"
    fleet_path.write_text(yaml.safe_dump(FLEET), encoding="utf-8")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    for name in FLEET["hosts"]:
        state = fleet_mod.new_state(name, fleet_mod.host_settings(FLEET, name))
        (state_dir / ("%s.json" % name)).write_text(json.dumps(state), encoding="utf-8")
    out = tmp_path / "cloud.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.winsim.cloud",
            "--state-dir",
            str(state_dir),
            "--fleet",
            str(fleet_path),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not out.exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cfg = json.loads(out.read_text())
        assert cfg["api_base_url"].startswith("https://127.0.0.1:") and cfg["api_base_url"].endswith("/mde")
        assert cfg["tenant_id"] == "11111111-2222-3333-4444-555555555555" and cfg["client_secret"] == "all-the-rights"
        cert_client = next(c for c in cfg["clients"] if c["client_id"].endswith("3"))
        assert (
            os.path.exists(cert_client["client_certificate_path"])
            and len(cert_client["client_certificate_thumbprint"]) == 40
        )
        settings = ApiSettings(
            tenant_id=cfg["tenant_id"],
            client_id=cfg["client_id"],
            client_secret=cfg["client_secret"],
            api_base_url=cfg["api_base_url"],
            authority_host=cfg["authority_host"],
            ca_path=cfg["ca_path"],
        )
        assert len(machines(ApiClient(settings))) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0

"""The wave query builder and the normalisation of both advanced hunting answers."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from ansible_collections.mdeops.defender.plugins.module_utils._hunting import (
    build_wave_query,
    chunks,
    evaluate_wave,
    normalize_results,
)


def test_wave_query_text():
    q = build_wave_query(["WS01.corp.example.com", "ws02.corp.example.com", "ws01.corp.example.com"], 12)
    assert q == (
        "union withsource=SourceTable DeviceInfo, DeviceProcessEvents | where Timestamp > ago(12h) "
        '| where DeviceName in~ ("ws01.corp.example.com", "ws02.corp.example.com") '
        '| summarize Events = countif(SourceTable != "DeviceInfo"), '
        'LastEvent = maxif(Timestamp, SourceTable != "DeviceInfo"), '
        'LastReport = maxif(Timestamp, SourceTable == "DeviceInfo"), '
        'SensorHealthStates = make_set_if(SensorHealthState, SourceTable == "DeviceInfo") by DeviceId, DeviceName'
    )
    q2 = build_wave_query(["a.b"], tables=["DeviceProcessEvents", "DeviceNetworkEvents"])
    assert q2.startswith("union withsource=SourceTable DeviceInfo, DeviceProcessEvents, DeviceNetworkEvents | ")


@pytest.mark.parametrize(
    "devices,hours,tables",
    [
        ([], 24, None),
        (['evil") | take 1 //'], 24, None),
        (["ok"], 0, None),
        (["ok"], 721, None),
        (["ok"], 24, ["DeviceTvmSoftwareInventory"]),
    ],
)
def test_wave_query_refuses_bad_input(devices, hours, tables):
    with pytest.raises(MdeError) as err:
        build_wave_query(devices, hours, tables or ("DeviceProcessEvents",))
    assert err.value.reason == "invalid_argument"


def test_chunks():
    assert [len(c) for c in chunks(["h%d" % i for i in range(1201)])] == [500, 500, 201]


def test_both_answer_shapes_normalise_to_one():
    legacy = {"Schema": [{"Name": "DeviceName", "Type": "String"}], "Results": [{"DeviceName": "a"}]}
    graph = {
        "@odata.context": "x",
        "schema": [{"name": "DeviceName", "type": "String"}],
        "results": [{"DeviceName": "a"}],
    }
    assert (
        normalize_results(legacy)
        == normalize_results(graph)
        == {"columns": [{"name": "DeviceName", "type": "String"}], "rows": [{"DeviceName": "a"}]}
    )


def test_evaluate_wave():
    rows = [
        {
            "DeviceId": "1",
            "DeviceName": "ws01.corp",
            "Events": 40,
            "LastEvent": "2026-01-02T10:00:00Z",
            "LastReport": "2026-01-02T10:00:00Z",
            "SensorHealthStates": ["Active"],
        },
        {
            "DeviceId": "2",
            "DeviceName": "ws02.corp",
            "Events": 0,
            "LastEvent": None,
            "LastReport": "2026-01-02T09:00:00Z",
            "SensorHealthStates": '["Inactive","Active"]',
        },
    ]
    out = evaluate_wave(["ws01.corp", "WS02.CORP", "ws03.corp", "ws01"], rows)
    assert out["ws01.corp"]["confirmed"] and out["ws01.corp"]["events"] == 40
    assert out["ws01"]["confirmed"]  # short name matches the host part
    assert out["WS02.CORP"]["found"] and not out["WS02.CORP"]["timeline_ok"]
    assert out["WS02.CORP"]["sensor_health_state"] == "Mixed" and not out["WS02.CORP"]["sensor_healthy"]
    assert out["ws03.corp"] == {
        "found": False,
        "device_ids": [],
        "device_names": [],
        "events": 0,
        "last_event": None,
        "last_report": None,
        "sensor_health_states": [],
        "sensor_health_state": None,
        "timeline_ok": False,
        "sensor_healthy": False,
        "confirmed": False,
    }

"""Alert filtering and matching (mde_alert_info's pure logic)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._alerts import (
    alert_filter,
    match_alerts,
    parse_since,
)
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


def test_since_forms():
    assert parse_since(None, NOW) == NOW - datetime.timedelta(hours=24)
    assert parse_since("30m", NOW) == NOW - datetime.timedelta(minutes=30)
    assert parse_since("2h", NOW) == NOW - datetime.timedelta(hours=2)
    assert parse_since("2026-03-01T10:00:00Z", NOW) == datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC)
    assert parse_since("2026-03-01T11:00:00+01:00", NOW) == datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC)
    with pytest.raises(MdeError):
        parse_since("yesterday", NOW)


def test_filter():
    since = datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC)
    assert alert_filter(since) == "alertCreationTime ge 2026-03-01T10:00:00Z"
    assert (
        alert_filter(since, "severity eq 'High'")
        == "alertCreationTime ge 2026-03-01T10:00:00Z and (severity eq 'High')"
    )


ALERTS = [
    {
        "id": "1",
        "title": "[Test Alert] Suspicious Powershell commandline",
        "machineId": "m1",
        "computerDnsName": "ws01.corp.example.com",
    },
    {"id": "2", "title": "Something else", "machineId": "m1", "computerDnsName": "ws01.corp.example.com"},
    {
        "id": "3",
        "title": "[Test Alert] Suspicious Powershell commandline",
        "machineId": "m2",
        "computerDnsName": "ws02.corp.example.com",
    },
]


def test_match_by_machine_and_title():
    kept, by_machine = match_alerts(ALERTS, ["WS01", "ws03", "m2"], "[test alert]")
    assert [a["id"] for a in kept] == ["1", "3"]
    assert by_machine == {"WS01": ["1"], "ws03": [], "m2": ["3"]}
    kept, by_machine = match_alerts(ALERTS, [], None)
    assert len(kept) == 3 and by_machine["ws01.corp.example.com"] == ["1", "2"]

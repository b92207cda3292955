"""Matching inventory names to Defender machine entities (mde_machine_info's pure logic)."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils._mde_machines import (
    build_records,
    invalid_names,
    match_machines,
    summarize,
)


def machine(name, mid, health="Active", onboarding="Onboarded", last_seen="2026-01-02T00:00:00Z"):
    return {
        "id": mid,
        "computerDnsName": name,
        "healthStatus": health,
        "onboardingStatus": onboarding,
        "lastSeen": last_seen,
        "osPlatform": "Windows11",
        "osBuild": 22631,
    }


MACHINES = [
    machine("ws01.corp.example.com", "a" * 40),
    machine("WS02.corp.example.com", "b" * 40, health="NoSensorData"),
    machine("lab7", "c" * 40),  # workgroup machine, no domain
    machine("srv01.corp.example.com", "d" * 40, health="Inactive", last_seen="2025-06-01T00:00:00Z"),
    machine("srv01.corp.example.com", "e" * 40, last_seen="2026-01-05T00:00:00Z"),  # reimaged: a new entity
]


def test_fqdn_and_short_names_match_case_insensitively():
    m = match_machines(
        ["WS01.CORP.EXAMPLE.COM", "ws02", "lab7.corp.example.com", "lab7", "nope", "ws01.other.com"], MACHINES
    )
    assert m["WS01.CORP.EXAMPLE.COM"][0]["id"] == "a" * 40
    assert m["ws02"][0]["id"] == "b" * 40
    assert m["lab7.corp.example.com"][0]["id"] == "c" * 40  # no-domain entity matches the host part
    assert m["lab7"][0]["id"] == "c" * 40
    assert m["nope"] == (None, [])
    assert m["ws01.other.com"] == (None, [])  # another domain is another device


def test_duplicates_prefer_the_latest_seen():
    best, dups = match_machines(["srv01"], MACHINES)["srv01"]
    assert best["id"] == "e" * 40 and [d["id"] for d in dups] == ["d" * 40]


def test_records_problems_and_av_mode():
    av = [
        {"machineId": "a" * 40, "avMode": "1", "lastSeenTime": "2026-01-02T00:00:00Z"},
        {"machineId": "b" * 40, "avMode": "0"},
    ]
    recs = build_records(["ws01", "ws02", "srv01", "ghost"], MACHINES, av)
    assert recs["ws01"]["edr_active"] and recs["ws01"]["av_mode"] == "1"
    assert recs["ws01"]["av_mode_normalized"] == "passive" and recs["ws01"]["problems"] == []
    assert recs["ws02"]["av_mode_normalized"] == "active"
    assert [p["reason"] for p in recs["ws02"]["problems"]] == ["sensor_not_running"]
    assert "DiagTrack" in recs["ws02"]["problems"][0]["remediation"]
    assert recs["srv01"]["duplicates"] == ["d" * 40] and recs["srv01"]["edr_active"]
    assert recs["srv01"]["av_mode_normalized"] == "unknown" and not recs["srv01"]["av_info_found"]
    assert not recs["ghost"]["found"] and recs["ghost"]["problems"][0]["reason"] == "not_onboarded"
    counts = summarize(recs)
    assert counts == {
        "requested": 4,
        "found": 3,
        "missing": 1,
        "edr_active": 2,
        "health_status": {"Active": 2, "NoSensorData": 1},
        "av_mode": {"active": 1, "passive": 1, "unknown": 1},
    }


def test_onboarding_status_other_than_onboarded():
    recs = build_records(["x"], [machine("x.corp", "f" * 40, health="Inactive", onboarding="CanBeOnboarded")], None)
    assert recs["x"]["problems"][0]["reason"] == "not_onboarded" and not recs["x"]["edr_active"]
    assert recs["x"]["av_mode_normalized"] is None  # av info not requested


def test_invalid_names():
    assert invalid_names(["ws01", "ws01.corp.example.com", "bad name", "", "x;y"]) == ["bad name", "", "x;y"]

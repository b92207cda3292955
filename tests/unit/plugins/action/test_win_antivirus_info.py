"""Action plugin of win_antivirus_info with ``_execute_module`` answered by the real PowerShell (``PsHost``)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mdeops.defender.plugins.action.win_antivirus_info import (
    ActionModule,
    assemble,
    defender_from_status,
)
from tests.unit.conftest import PsHost, run_action

MODULE = "mdeops.defender.win_antivirus_info"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"


def run(fake: PsHost, args: dict | None = None, check_mode: bool = False) -> dict:
    return run_action(ActionModule, fake, MODULE, args, check_mode=check_mode)


def by_name(result: dict) -> dict:
    return {p["name"]: p for p in result["products"]}


def test_client_uses_security_center_in_one_round_trip():
    fake = PsHost({"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]})
    before = copy.deepcopy(fake.host.state)
    result = run(fake)
    assert [call[0] for call in fake.calls] == [MODULE]
    assert fake.host.state == before
    assert result["changed"] is False
    assert result["detection_method"] == "security_center"
    assert result["security_center"] == {"applicable": True, "available": True, "service_running": True, "error": None}
    falcon = by_name(result)["CrowdStrike Falcon Sensor"]
    assert falcon["found_by"] == ["installed_product", "security_center", "service"]
    assert falcon["registered"] is True and falcon["real_time"] is True and falcon["up_to_date"] is True
    assert falcon["service"] == "CSFalconService" and falcon["version"] == "7.1.0"
    assert by_name(result)["Windows Defender"]["microsoft"] is True
    assert result["third_party_active"] is True and result["third_party_present"] is True
    assert result["active_names"] == ["CrowdStrike Falcon Sensor"]


def test_server_uses_services_and_installed_products():
    result = run(PsHost({"os": "server2022", "third_party_av": [{"name": "CrowdStrike Falcon"}]}))
    assert result["detection_method"] == "services_and_products"
    assert result["security_center"]["applicable"] is False and result["security_center"]["available"] is False
    falcon = by_name(result)["CrowdStrike Falcon Sensor"]
    assert falcon["found_by"] == ["installed_product", "service"]
    assert falcon["registered"] is None and falcon["real_time"] is True and falcon["up_to_date"] is None
    defender = by_name(result)["Microsoft Defender Antivirus"]
    assert defender["found_by"] == ["defender_status"] and defender["real_time"] is True
    assert result["defender"]["mode"] == "active"
    assert result["third_party_active"] is True


def test_server_with_a_stopped_av_is_present_not_active():
    result = run(PsHost({"os": "server2022", "third_party_av": [{"name": "Symantec", "real_time": False}]}))
    assert result["third_party_present"] is True and result["third_party_active"] is False
    assert by_name(result)["Symantec Endpoint Protection"]["service_state"] == "stopped"


def test_server_without_av():
    result = run(PsHost({"os": "server2022"}))
    assert result["third_party_present"] is False and result["third_party_active"] is False
    assert [p["name"] for p in result["products"]] == ["Microsoft Defender Antivirus"]


def test_custom_pattern_finds_an_unknown_product():
    settings = {"os": "server2022", "third_party_av": [{"name": "Contoso Shield", "service": "ContosoShieldSvc"}]}
    assert run(PsHost(settings))["third_party_present"] is False
    fake = PsHost(settings)
    result = run(fake, {"av_name_patterns": ["Contoso*"]})
    assert "Contoso*" in fake.calls[0][1]["_service_patterns"] and "Contoso*" in fake.calls[0][1]["_product_patterns"]
    shield = by_name(result)["Contoso Shield"]
    assert shield["found_by"] == ["user_pattern"] and shield["real_time"] is True
    assert result["third_party_active"] is True


def test_include_microsoft_false_filters_products_only():
    settings = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
    result = run(PsHost(settings), {"include_microsoft": False})
    assert [p["name"] for p in result["products"]] == ["CrowdStrike Falcon Sensor"]
    assert result["third_party_active"] is True
    server = run(PsHost({"os": "server2022"}), {"include_microsoft": False})
    assert server["products"] == [] and server["defender"]["installed"] is True


def test_unregistered_av_on_a_client_protects_but_defender_cannot_see_it():
    settings = {"os": "windows10_22h2", "third_party_av": [{"name": "Sophos", "registered": False}]}
    result = run(PsHost(settings))
    sophos = by_name(result)["Sophos Endpoint Agent"]
    assert sophos["registered"] is False and sophos["real_time"] is False and sophos["real_time_service"] is True
    assert "security_center" not in sophos["found_by"]
    assert result["third_party_active"] is False and result["third_party_protecting"] is True


def test_client_with_security_center_off():
    settings = {
        "os": "windows11_23h2",
        "security_center_enabled": False,
        "third_party_av": [{"name": "CrowdStrike Falcon"}],
    }
    result = run(PsHost(settings))
    assert result["security_center"]["available"] is False and result["security_center"]["service_running"] is False
    assert result["security_center"]["error"]
    assert result["third_party_active"] is False and result["third_party_protecting"] is True
    # Defender's own entry comes from Get-MpComputerStatus when Security Center cannot be read
    assert by_name(result)["Microsoft Defender Antivirus"]["real_time"] is True


def test_check_mode_runs_normally():
    settings = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
    normal = run(PsHost(settings))
    checked = run(PsHost(settings), check_mode=True)
    assert checked == normal


def test_invalid_argument():
    fake = PsHost({"os": "server2022"})
    result = run(fake, {"include_microsoft": "maybe"})
    assert result["failed"] is True and result["reason"] == "invalid_argument"
    assert fake.calls == []


@pytest.mark.parametrize(
    ("mp", "mode", "real_time", "up_to_date"),
    [
        (
            {"AMRunningMode": "Normal", "RealTimeProtectionEnabled": True, "DefenderSignaturesOutOfDate": False},
            "active",
            True,
            True,
        ),
        # passive: RTP may run for Endpoint DLP only, which is not antivirus protection
        ({"AMRunningMode": "Passive Mode", "RealTimeProtectionEnabled": True}, "passive", False, None),
        ({"AMRunningMode": "EDR Block Mode", "RealTimeProtectionEnabled": False}, "edr_block", False, None),
        (
            {"AMRunningMode": "Normal", "RealTimeProtectionEnabled": "False", "DefenderSignaturesOutOfDate": "True"},
            "active",
            False,
            False,
        ),
    ],
)
def test_defender_from_status(mp, mode, real_time, up_to_date):
    d = defender_from_status(mp, None)
    assert (d["mode"], d["real_time"], d["up_to_date"], d["installed"]) == (mode, real_time, up_to_date, True)


def test_defender_not_installed():
    raw = {
        "os": {"product_type": 3, "build_number": "20348"},
        "services": {},
        "security_center": {},
        "av_services": [],
        "installed_products": [],
        "mp_status": None,
        "mp_status_error": "not available",
    }
    result = assemble(raw, [])
    assert result["defender"]["installed"] is False and result["defender"]["status_error"] == "not available"
    assert result["products"] == []

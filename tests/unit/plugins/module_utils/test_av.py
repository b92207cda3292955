"""Third-party antivirus detection (module_utils/_av.py): catalogue, Security Center, servers, summary."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _av

RUNNING = "Running"


def svc(name, state=RUNNING, display=None):
    return {"name": name, "display_name": display or name, "state": state, "start_mode": "Auto"}


def prod(name, version="7.1.0"):
    return {"display_name": name, "publisher": "x", "version": version, "key": "{K}"}


def test_patterns_for_adds_user_patterns_to_both_lists():
    pats = _av.patterns_for(["Contoso*"])
    assert "CSFalconService" in pats["services"] and "CrowdStrike*Sensor*" in pats["products"]
    assert "Contoso*" in pats["services"] and "Contoso*" in pats["products"]
    assert pats["services"] == sorted(set(pats["services"]))
    assert _av.patterns_for(None)["services"] == _av.patterns_for([])["services"]


def test_every_catalogue_entry_has_services_and_products():
    for vendor, entry in _av.CATALOG.items():
        assert entry["services"] and entry["products"], vendor


def test_from_security_center_decodes_and_separates_microsoft():
    products = _av.from_security_center(
        [
            {"displayName": "Windows Defender", "productState": 393472},
            {"displayName": "CrowdStrike Falcon Sensor", "productState": 266240, "instanceGuid": "{G}"},
            {"displayName": "Sophos Anti-Virus", "productState": 266256},
            {"displayName": "Expired AV", "productState": 274432},
        ]
    )
    by_name = {p["name"]: p for p in products}
    assert by_name["Windows Defender"]["microsoft"] is True and by_name["Windows Defender"]["real_time"] is False
    falcon = by_name["CrowdStrike Falcon Sensor"]
    assert falcon["third_party"] and falcon["real_time"] and falcon["up_to_date"] and falcon["enabled"]
    assert falcon["found_by"] == ["security_center"] and falcon["instance_guid"] == "{G}"
    assert by_name["Sophos Anti-Virus"]["up_to_date"] is False
    assert by_name["Expired AV"]["state"] == "expired" and by_name["Expired AV"]["real_time"] is False


def test_from_server_inventory_merges_service_and_product_of_one_vendor():
    products = _av.from_server_inventory([svc("CSFalconService")], [prod("CrowdStrike Falcon Sensor")])
    assert len(products) == 1
    p = products[0]
    assert p["name"] == "CrowdStrike Falcon Sensor" and p["version"] == "7.1.0"
    assert p["found_by"] == ["installed_product", "service"]
    assert p["real_time"] is True and p["service"] == "CSFalconService" and p["service_state"] == "running"


def test_a_stopped_service_or_a_product_alone_is_not_protection():
    stopped = _av.from_server_inventory([svc("SepMasterService", "Stopped")], [])
    assert stopped[0]["real_time"] is False and stopped[0]["state"] == "off"
    alone = _av.from_server_inventory([], [prod("ESET Endpoint Antivirus")])
    assert alone[0]["found_by"] == ["installed_product"] and alone[0]["real_time"] is False


def test_microsoft_services_never_count():
    assert _av.from_server_inventory([svc("WinDefend"), svc("Sense"), svc("wscsvc")], [], ["*"]) == []


def test_unknown_product_needs_a_user_pattern():
    services = [svc("ContosoShieldSvc", display="Contoso Shield")]
    assert _av.from_server_inventory(services, [prod("Contoso Shield")]) == []
    found = _av.from_server_inventory(services, [prod("Contoso Shield")], ["Contoso*"])
    assert len(found) == 1
    assert found[0]["found_by"] == ["user_pattern"] and found[0]["real_time"] is True
    assert found[0]["name"] == "Contoso Shield"


def test_display_name_matches_when_the_service_name_does_not():
    found = _av.from_server_inventory([svc("xagt", display="Sophos Endpoint Defense Service")], [])
    assert found and found[0]["real_time"] is True


def test_summarize():
    products = [
        {"name": "Windows Defender", "third_party": False, "real_time": True},
        {"name": "A", "third_party": True, "real_time": False},
        {"name": "B", "third_party": True, "real_time": False, "real_time_service": True},
    ]
    summary = _av.summarize(products)
    assert summary["third_party_present"] is True
    assert summary["third_party_active"] is False  # what Defender sees
    assert summary["third_party_protecting"] is True  # B's service runs
    assert summary["third_party_names"] == ["A", "B"] and summary["active_names"] == []
    assert _av.summarize([])["third_party_present"] is False

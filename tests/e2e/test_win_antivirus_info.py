"""End to end: mdeops.defender.win_antivirus_info against the simulated fleet with the real Ansible CLI."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.e2e.doc_examples import module_examples, write_playbook
from tests.e2e.invariants import Invariants

pytestmark = pytest.mark.e2e

MODULE = "mdeops.defender.win_antivirus_info"
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}

FLEET = {
    "hosts": {
        # client: Security Center
        "ws01": {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]},
        # client: running AV that is not registered with Security Center
        "ws02": {"os": "windows10_22h2", "third_party_av": [{"name": "Sophos", "registered": False}]},
        # server: services and installed products
        "srv01": {"os": "server2022", "third_party_av": [{"name": "CrowdStrike Falcon"}]},
        # server: AV installed, real-time protection (service) off
        "srv02": {"os": "server2019", "third_party_av": [{"name": "Symantec", "real_time": False}]},
        # server: a product the catalogue does not know
        "srv03": {
            "os": "server2022",
            "third_party_av": [{"name": "Contoso Shield", "service": "ContosoShieldSvc", "vendor": "Contoso"}],
        },
    },
}


def run_all(sim, args: dict | None = None, check: bool = False) -> dict:
    play = [{"hosts": "all", "gather_facts": False, "tasks": [{"name": "under test", MODULE: dict(args or {})}]}]
    path = sim.base / ("play-%d.yml" % len(list(sim.base.glob("play-*.yml"))))
    path.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
    rc, out, err = sim.playbook(path, check=check, env=JSON_CALLBACK, extra_args=["-f", "10"])
    assert rc == 0, out + err
    return json.loads(out)["plays"][0]["tasks"][0]["hosts"]


def products(result: dict) -> dict:
    return {p["name"]: p for p in result["products"]}


def test_clients_and_servers_one_round_trip_each(winsim):
    sim = winsim(FLEET)
    pristine = {h: (sim.state_dir / f"{h}.json").read_bytes() for h in FLEET["hosts"]}
    guard = Invariants(sim)
    checked = run_all(sim, check=True)
    results = run_all(sim)
    guard.check(check_mode=True)  # --check and a read-only run
    for host in FLEET["hosts"]:
        assert (sim.state_dir / f"{host}.json").read_bytes() == pristine[host], host  # read-only
        assert sim.counters(host)["modules"] == {MODULE: 2}, host  # one module run per task
        assert sim.counters(host)["requests"]["Command"] == 2, host
        assert checked[host] == results[host], host  # check mode runs normally
        assert results[host]["changed"] is False

    # client: Security Center, and what else found the same product
    ws01 = results["ws01"]
    assert ws01["detection_method"] == "security_center"
    assert ws01["security_center"]["available"] is True
    falcon = products(ws01)["CrowdStrike Falcon Sensor"]
    assert falcon["found_by"] == ["installed_product", "security_center", "service"]
    assert falcon["registered"] is True and falcon["real_time"] is True and falcon["up_to_date"] is True
    assert falcon["product_state_hex"] == "0x041000"
    assert products(ws01)["Windows Defender"]["microsoft"] is True
    assert ws01["third_party_active"] is True and ws01["third_party_present"] is True

    # client whose AV runs but is not registered: Defender cannot see it
    ws02 = results["ws02"]
    sophos = products(ws02)["Sophos Endpoint Agent"]
    assert "security_center" not in sophos["found_by"] and sophos["registered"] is False
    assert ws02["third_party_active"] is False and ws02["third_party_protecting"] is True

    # server: no Security Center; services and installed products
    srv01 = results["srv01"]
    assert srv01["detection_method"] == "services_and_products"
    assert srv01["security_center"]["applicable"] is False and srv01["security_center"]["available"] is False
    falcon = products(srv01)["CrowdStrike Falcon Sensor"]
    assert falcon["found_by"] == ["installed_product", "service"]
    assert falcon["service"] == "CSFalconService" and falcon["service_state"] == "running"
    assert products(srv01)["Microsoft Defender Antivirus"]["found_by"] == ["defender_status"]
    assert srv01["third_party_active"] is True

    srv02 = results["srv02"]
    assert srv02["third_party_present"] is True and srv02["third_party_active"] is False
    assert products(srv02)["Symantec Endpoint Protection"]["service_state"] == "stopped"

    # the unknown product is not found without a pattern
    assert results["srv03"]["third_party_present"] is False


def test_custom_pattern_finds_an_unknown_product_and_include_microsoft(winsim):
    sim = winsim({"hosts": {"srv03": FLEET["hosts"]["srv03"], "ws01": FLEET["hosts"]["ws01"]}})
    guard = Invariants(sim)
    results = run_all(sim, {"av_name_patterns": ["Contoso*"], "include_microsoft": False})
    guard.check(check_mode=True)  # read-only
    srv03 = results["srv03"]
    shield = products(srv03)["Contoso Shield"]
    assert shield["found_by"] == ["user_pattern"]
    assert shield["service"] == "ContosoShieldSvc" and shield["real_time"] is True
    assert srv03["third_party_active"] is True
    assert srv03["active_names"] == ["Contoso Shield"]
    # include_microsoft: false drops Defender from the list, nothing else
    for host, result in results.items():
        assert not any(p["microsoft"] for p in result["products"]), host
    assert results["ws01"]["third_party_active"] is True
    assert results["srv03"]["defender"]["installed"] is True


def test_documented_examples_run(winsim):
    """The EXAMPLES of the module's documentation stub, as a play against a client and a server."""
    sim = winsim({"hosts": {"ws01": FLEET["hosts"]["ws01"], "srv01": FLEET["hosts"]["srv01"]}})
    tasks = module_examples("win_antivirus_info")
    path = write_playbook(sim.base, [{"hosts": "all", "gather_facts": False, "tasks": tasks}])
    guard = Invariants(sim)
    rc, out, err = sim.playbook(path)
    guard.check(out, err, check_mode=True)  # read-only
    assert rc == 0, out + err
    assert "failed=0" in out

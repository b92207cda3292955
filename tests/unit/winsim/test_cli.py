"""``python -m tests.winsim``: inventory shape, state loading and the ``state`` command."""

from __future__ import annotations

import json

from tests.winsim import cli, fleet
from tests.winsim.server import HostEndpoint, make_tls_material

FLEET = {
    "hosts": {
        "ws01": {"groups": ["pilot", "ring1"]},
        "srv01": {"os": "server2022"},
        "dc01": {"os": "server2019", "domain_controller": True},
        "dead01": {"faults": {"down": True}},
    }
}


def _endpoints(tmp_path, reset=True):
    hosts = cli.load_hosts(fleet.validate_fleet(FLEET), str(tmp_path), reset)
    return [HostEndpoint(h, port=50000 + i) for i, h in enumerate(hosts)]


def test_inventory_groups_and_connection_vars(tmp_path):
    inventory = cli.build_inventory(_endpoints(tmp_path), None)
    groups = inventory["all"]["children"]
    assert set(groups["windows"]["hosts"]) == {"ws01", "srv01", "dc01", "dead01"}
    assert set(groups["workstations"]["hosts"]) == {"ws01", "dead01"}
    assert set(groups["servers"]["hosts"]) == {"srv01", "dc01"}
    assert set(groups["domain_controllers"]["hosts"]) == {"dc01"}
    assert set(groups["pilot"]["hosts"]) == set(groups["ring1"]["hosts"]) == {"ws01"}
    ws01 = groups["windows"]["hosts"]["ws01"]
    assert ws01 == {
        "ansible_host": "127.0.0.1",
        "ansible_port": 50000,
        "ansible_user": "ansible",
        "ansible_password": fleet.DEFAULT_PASSWORD,
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "basic",
        "ansible_winrm_scheme": "http",
    }
    assert "ansible_shell_type" not in ws01  # 2.19 defaults to powershell, 2.21 to cmd


def test_https_inventory_points_at_the_ca(tmp_path):
    tls = make_tls_material(str(tmp_path))
    ws01 = cli.build_inventory(_endpoints(tmp_path), tls)["all"]["children"]["windows"]["hosts"]["ws01"]
    assert ws01["ansible_winrm_scheme"] == "http"  # endpoints built here have no TLS context
    assert ws01["ansible_winrm_ca_trust_path"] == tls.ca_path
    assert ws01["ansible_winrm_server_cert_validation"] == "validate"


def test_saved_state_is_loaded_unless_reset(tmp_path):
    first = cli.load_hosts(fleet.validate_fleet(FLEET), str(tmp_path), reset=True)
    first[0].state["hostname"] = "CHANGED"
    first[0].save_if_changed()
    again = cli.load_hosts(fleet.validate_fleet(FLEET), str(tmp_path), reset=False)
    assert again[0].state["hostname"] == "CHANGED"
    fresh = cli.load_hosts(fleet.validate_fleet(FLEET), str(tmp_path), reset=True)
    assert fresh[0].state["hostname"] == "WS01"


def test_state_command_prints_state_and_counters(tmp_path, capsys):
    hosts = cli.load_hosts(fleet.validate_fleet(FLEET), str(tmp_path), reset=True)
    hosts[0].count("shells")
    hosts[0].save_counters()
    assert cli.main(["state", "--state-dir", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"ws01", "srv01", "dc01", "dead01"}
    assert out["ws01"]["counters"] == {"shells": 1} and out["ws01"]["state"]["name"] == "ws01"
    assert cli.main(["state", "--state-dir", str(tmp_path), "--host", "srv01"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"srv01"}
    assert cli.main(["state", "--state-dir", str(tmp_path), "--host", "nope"]) == 1

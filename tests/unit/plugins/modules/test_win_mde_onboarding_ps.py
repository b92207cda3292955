"""win_mde_onboarding.ps1 on a simulated host, called the way its action plugin calls it.

The action plugin tests (tests/unit/plugins/action/test_win_mde_onboarding.py) cover the
decisions; these cover what only the PowerShell side does: reading a package's bytes with a
bound, Ansible.Basic's argument checks on the internal options, the installer's failure path,
and that nothing it runs touches the settings that decide Defender's mode.
"""

from __future__ import annotations

import base64

from tests.unit.conftest import run_ps_module
from tests.winsim import fleet, rules
from tests.winsim import packages as gen
from tests.winsim.host import SimHost

MODULE = "mdeops.defender.win_mde_onboarding"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
MODE_VALUES = ("forcedefenderpassivemode", "forcepassivemode", "disableantispyware", "disablerealtimemonitoring")


def make(**settings) -> SimHost:
    merged = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}], **settings}
    return SimHost("h", fleet.new_state("h", merged), None)


def run(host: SimHost, **args) -> dict:
    return run_ps_module(host, MODULE, args)


def test_read_package_returns_the_bytes_within_the_bound():
    host = make()
    data = gen.onboarding_zip(ORG)
    host.write_file(r"C:\Deploy\pkg.zip", data)
    result = run(host, _action="read_package", _path=r"c:\deploy\PKG.zip")
    assert result["changed"] is False and not result.get("failed")
    assert base64.b64decode(result["package"]["data"]) == data and result["package"]["size"] == len(data)
    result = run(host, _action="read_package", _path=r"C:\Deploy\pkg.zip", _max_bytes=10)
    assert result["package"]["too_large"] and result["package"]["data"] is None
    result = run(host, _action="read_package", _path=r"C:\Deploy\missing.zip")
    assert result["package"]["exists"] is False and "does not exist" in result["package"]["error"]
    result = run(host, _action="read_package", _path="C:\\Deploy")
    assert result["package"]["exists"] is False


def test_internal_options_are_checked_by_ansible_basic():
    host = make()
    result = run(host, _action="read_package")
    assert result["failed"] and result["msg"] == "_action is read_package but all of the following are missing: _path"
    result = run(host, _action="onboard")
    assert result["failed"] and "missing: _script" in result["msg"]
    result = run(host, _action="explode", _path="x")
    assert result["failed"] and "value of _action must be one of: read_package, onboard, offboard" in result["msg"]
    result = run(host, _action="onboard", _script="x", bogus=1)
    assert result["failed"] and result["msg"].startswith("Unsupported parameters for (%s) module: bogus." % MODULE)


def test_onboarding_never_touches_the_settings_that_decide_defenders_mode():
    host = make()
    result = run(host, _action="onboard", _script=gen.onboarding_script(ORG))
    assert result["script_run"]["exit_code"] == 0 and rules.is_onboarded(host.state)
    names = {name.lower() for values in host.state["registry"].values() for name in values}
    assert not names & set(MODE_VALUES)


def test_an_invalid_msi_fails_with_1620_and_the_script_does_not_run():
    host = make(os="server2012r2", third_party_av=[])
    host.write_file(r"C:\md4ws.msi", b"not an msi")
    result = run(host, _action="onboard", _script=gen.onboarding_script(ORG), _installer=r"C:\md4ws.msi")
    assert result["installer"]["exit_code"] == 1620 and result["script_run"] is None
    assert host.state["mde"]["unified_agent"] is False and not rules.is_onboarded(host.state)

"""The action plugin of win_mde_onboarding with ``_execute_module`` answered by the real PowerShell.

``FakeHost`` (a ``PsHost`` of tests/unit/conftest.py) runs win_mde_info.ps1 / win_mde_onboarding.ps1
on a simulated host and plays mkdtemp / put_file / remove for the installer transfer, so whole
scenarios can be checked. It records every call, so the tests can assert how many WinRM commands a
path costs and that nothing reaches the host before a refusal.
"""

from __future__ import annotations

import copy
import datetime
import json
import ntpath
import re
from pathlib import Path
from unittest.mock import MagicMock, patch

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.mdeops.defender.plugins.action import win_mde_onboarding as plugin
from tests.unit.conftest import PsHost
from tests.winsim import packages as gen

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
CLIENT = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
ONBOARD = "mdeops.defender.win_mde_onboarding"
INFO = "mdeops.defender.win_mde_info"
SIG = "U0lNVUxBVEVELVNJRw=="  # the placeholder signature inside every generated script
MSI = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 256
REPO = Path(__file__).resolve().parents[4]


# ----------------------------------------------------------------------------- harness
class FakeHost(PsHost):
    """A simulated client: module runs go to the real PowerShell, file transfers to the host's files."""

    def __init__(self, check_mode: bool = False, **settings) -> None:
        super().__init__({**CLIENT, **settings}, check_mode=check_mode)

    def mkdtemp(self, action):
        def make(remote_user=None):
            path = self.host.mkdtemp(r"%TEMP%", "ansible-tmp-1700000000.1-1-1")
            self.calls.append(("mkdtemp", {"path": path}))
            action._connection._shell.tmpdir = path
            action._cleanup_remote_tmp = True
            return path

        return make

    def put_file(self, local, remote):
        self.calls.append(("put_file", {"local": local, "remote": remote}))
        with open(local, "rb") as fh:
            self.host.write_file(remote, fh.read())
        return remote

    def remove(self, action):
        def remove(tmp_path, force=False):
            self.calls.append(("remove", {"path": tmp_path}))
            self.host.remove_path(tmp_path)
            action._connection._shell.tmpdir = None

        return remove

    def module_args(self, name: str) -> list[dict]:
        return [c[1] for c in self.calls if c[0] == name]


def make_action(args: dict, search_path: Path, check: bool = False, diff: bool = False, loader=None):
    task = MagicMock()
    task.args = args
    task.check_mode = check
    task.diff = diff
    task.async_val = 0
    task.action = ONBOARD
    task.get_search_path.return_value = [str(search_path)]
    connection = MagicMock()
    connection._shell.tmpdir = None
    connection._shell.join_path = ntpath.join
    play_context = MagicMock()
    play_context.remote_addr = "127.0.0.1"
    play_context.check_mode = check
    return plugin.ActionModule(
        task, connection, play_context, loader or DataLoader(), templar=None, shared_loader_obj=None
    )


def run(
    args: dict,
    files: Path,
    host: PsHost | None = None,
    check=False,
    diff=False,
    loader=None,
) -> dict:
    action = make_action(args, files, check=check, diff=diff, loader=loader)
    host = host if host is not None else FakeHost()
    host.check_mode = check
    action._execute_module = host.execute_module
    if isinstance(host, FakeHost):
        action._make_tmp_path = host.mkdtemp(action)
        action._transfer_file = host.put_file
        action._remove_tmp_path = host.remove(action)
    else:
        action._make_tmp_path = MagicMock(side_effect=AssertionError("no temporary directory expected"))
        action._transfer_file = MagicMock(side_effect=AssertionError("no transfer expected"))
    return action.run(task_vars={})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A playbook directory with the packages in files/ (like a real project)."""
    (tmp_path / "files").mkdir()
    paths = gen.write_set(str(tmp_path / "files"), ORG, other_org=OTHER)
    (tmp_path / "files" / "md4ws.msi").write_bytes(MSI)
    (tmp_path / "files" / "WindowsDefenderATP.onboarding").write_text("{}", encoding="utf-8")
    (tmp_path / "files" / "WindowsDefenderATPLocalOnboardingScript.cmd").write_text(
        gen.onboarding_script(ORG, local=True), encoding="utf-8"
    )
    assert paths["org_id"] == ORG
    return tmp_path


def script_text() -> str:
    return gen.onboarding_script(ORG)


# ----------------------------------------------------------------------------- the happy paths
def test_onboarding_costs_two_commands_and_reports_everything(files):
    host = FakeHost()
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "expected_org_id": ORG}, files, host)
    assert not result.get("failed"), result
    assert host.modules == [INFO, ONBOARD]
    sent = host.module_args(ONBOARD)[0]
    assert sent["_action"] == "onboard" and sent["_script"] == script_text() and sent["timeout"] == 300
    assert sent["_script_name"] == "WindowsDefenderATPOnboardingScript.cmd"
    assert result["changed"] is True and result["operation"] == "onboard"
    assert result["before"] == {"onboarded": False, "org_id": None, "onboarding_state": None, "sense_running": False}
    assert result["after"] == {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True}
    # The script runs in a console of its own: its waits for Sense and OnboardingState work.
    assert result["script_result"]["exit_code"] == 0 and result["script_result"]["success"]
    assert result["script_result"]["duration_s"] > 15 and not result["script_result"]["wait_timed_out"]
    assert "warnings" not in result
    assert [(e["source"], e["id"]) for e in result["events"]] == [("WDATPOnboarding", 20)]
    assert result["package"]["org_id"] == ORG and result["package"]["source"] == "controller"
    assert result["installer"] is None and result["reboot_required"] is False
    assert "diff" not in result
    assert result["invocation"]["module_args"]["package"] == "WindowsDefenderATPOnboardingPackage.zip"


def test_the_host_read_after_the_change_comes_back_in_the_result(files):
    """The run also reads the host (as win_mde_info): Defender's mode after onboarding, no third call."""
    host = FakeHost()
    args = {"package": "WindowsDefenderATPOnboardingPackage.zip", "av_name_patterns": ["ContosoAV*"]}
    result = run(args, files, host)
    assert host.modules == [INFO, ONBOARD]
    sent = host.module_args(ONBOARD)[0]["_read_state"]
    assert sent == host.module_args(INFO)[0], "the same read as win_mde_info's"
    assert any("ContosoAV" in p for p in sent["_service_patterns"])
    assert "ansible_facts" not in result, "no fact: the caller registers the result"
    mde = result["host_read"]
    assert mde["defender"]["mode"] == "passive" and mde["onboarding"]["sense_running"] is True
    # no expected_org_id: the diagnosis checks the package's organisation
    assert mde["onboarding"]["org_id"] == ORG and mde["onboarding"]["org_matches"] is True
    assert mde["diagnosis"]["compliant"] is True
    # what win_mde_info itself would report now
    info = FakeHost()
    info.host = host.host
    from ansible_collections.mdeops.defender.plugins.plugin_utils._host_read import interpret

    fresh = interpret(info.execute_module(module_name=INFO, module_args=sent), ["ContosoAV*"], "microsoft", ORG)
    assert json.loads(json.dumps(fresh)) == json.loads(json.dumps(mde))


def test_no_mde_fact_in_check_mode_on_a_rerun_or_on_failure(files):
    args = {"package": "WindowsDefenderATPOnboardingPackage.zip", "expected_org_id": ORG}
    assert "ansible_facts" not in run(args, files, FakeHost(), check=True)
    assert "ansible_facts" not in run(args, files, FakeHost(onboarded_org=ORG))
    failed = run(args, files, FakeHost(faults={"onboarding_exit_code": 10}))
    assert failed["failed"] and failed["reason"] == "onboarding_failed" and "ansible_facts" not in failed


def test_offboarding_returns_the_host_as_read_after(files):
    host = FakeHost(onboarded_org=ORG)
    result = run({"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip"}, files, host)
    mde = result["host_read"]
    assert result["changed"] and mde["onboarding"]["onboarded"] is False
    # a client with a registered third-party antivirus: Defender disables itself without MDE, still protected
    assert mde["defender"]["mode"] == "disabled" and mde["diagnosis"]["protected"] is True


def test_rerun_is_one_read_and_nothing_sent(files):
    host = FakeHost(onboarded_org=ORG)
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host, diff=True)
    assert host.modules == [INFO]
    assert result["changed"] is False and result["operation"] == "none"
    assert result["before"] == result["after"]
    assert result["diff"] == {"before": result["before"], "after": result["after"]}


def test_check_mode_never_runs_the_mutating_call(files):
    host = FakeHost()
    before = host.host.serialise()
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host, check=True, diff=True)
    assert host.modules == [INFO]
    assert host.host.serialise() == before
    assert result["changed"] is True and result["script_result"] is None and result["events"] == []
    assert result["after"] == {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True}
    assert result["diff"]["before"]["onboarded"] is False and result["diff"]["after"]["onboarded"] is True
    assert "would onboard" in result["msg"]


def test_check_mode_with_an_installer_transfers_nothing(files):
    host = FakeHost(os="server2016", third_party_av=[])
    result = run(
        {"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "md4ws.msi"}, files, host, check=True
    )
    assert host.modules == [INFO]
    assert result["changed"] is True and result["installer"]["required"] and not result["installer"]["installed"]


def test_diff_mode_on_a_real_run(files):
    host = FakeHost()
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host, diff=True)
    assert result["diff"] == {
        "before": {"onboarded": False, "org_id": None, "onboarding_state": None, "sense_running": False},
        "after": {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True},
    }


def test_offboarding_then_rerun(files):
    host = FakeHost(onboarded_org=ORG)
    result = run({"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip"}, files, host)
    assert not result.get("failed"), result
    assert host.modules == [INFO, ONBOARD]
    assert host.module_args(ONBOARD)[0]["_action"] == "offboard"
    assert host.module_args(ONBOARD)[0]["_script_name"].startswith("WindowsDefenderATPOffboardingScript_valid_until_")
    assert result["after"] == {"onboarded": False, "org_id": None, "onboarding_state": 0, "sense_running": False}
    assert result["package"]["valid_until"] == (datetime.date.today() + datetime.timedelta(days=7)).isoformat()
    again = run({"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip"}, files, host)
    assert again["changed"] is False and host.modules == [INFO, ONBOARD, INFO]


def test_offboarding_a_host_that_is_not_onboarded_is_one_read(files):
    host = FakeHost()
    result = run({"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip"}, files, host)
    assert result["changed"] is False and result["operation"] == "none" and host.modules == [INFO]


def test_cmd_file_and_absolute_path(files):
    host = FakeHost()
    result = run({"package": str(files / "files" / "WindowsDefenderATPOnboardingScript.cmd")}, files, host)
    assert result["changed"] and result["package"]["name"] == "WindowsDefenderATPOnboardingScript.cmd"


def test_vault_encrypted_package(files, tmp_path):
    secret = VaultSecret(b"s3cret")
    zip_path = files / "files" / "WindowsDefenderATPOnboardingPackage.zip"
    encrypted = VaultLib([("default", secret)]).encrypt(zip_path.read_bytes(), secret)
    (files / "files" / "vaulted.zip").write_bytes(encrypted)
    loader = DataLoader()
    loader.set_vault_secrets([("default", secret)])
    host = FakeHost()
    result = run({"package": "vaulted.zip"}, files, host, loader=loader)
    assert not result.get("failed"), result
    assert result["package"]["org_id"] == ORG and result["changed"]


# ----------------------------------------------------------------------------- refusals before the host
REFUSALS = [
    ({"package": "OtherOrg-WindowsDefenderATPOnboardingPackage.zip", "expected_org_id": ORG}, "wrong_org"),
    ({"state": "absent", "package": "Expired-WindowsDefenderATPOffboardingPackage.zip"}, "package_expired"),
    ({"package": "WindowsDefenderATPOnboardingPackage.zip", "checksum": "sha256:" + "ab" * 32}, "checksum_mismatch"),
    ({"package": "Corrupt-WindowsDefenderATPOnboardingPackage.zip"}, "package_invalid"),
    ({"package": "NoScript-WindowsDefenderATPOnboardingPackage.zip"}, "package_invalid"),
    ({"package": "WindowsDefenderATPLocalOnboardingPackage.zip"}, "interactive_package"),
    ({"package": "WindowsDefenderATPLocalOnboardingScript.cmd"}, "interactive_package"),
    ({"package": "WindowsDefenderATPOffboardingPackage.zip"}, "wrong_package_type"),
    ({"state": "absent", "package": "WindowsDefenderATPOnboardingPackage.zip"}, "wrong_package_type"),
    ({"package": "WindowsDefenderATP.onboarding"}, "wrong_package_type"),
    ({"package": "nope.zip"}, "package_not_found"),
    ({"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "missing.msi"}, "package_not_found"),
    ({"package": "WindowsDefenderATPOnboardingPackage.zip", "expected_org_id": "not-a-guid"}, "invalid_argument"),
    ({"package": "WindowsDefenderATPOnboardingPackage.zip", "remote_package": r"C:\x.zip"}, "invalid_argument"),
    ({}, "invalid_argument"),
    ({"package": "WindowsDefenderATPOnboardingPackage.zip", "timeout": 0}, "invalid_argument"),
    (
        {
            "package": "WindowsDefenderATPOnboardingPackage.zip",
            "installer": "md4ws.msi",
            "remote_installer": "C:\\m.msi",
        },
        "invalid_argument",
    ),
]


@pytest.mark.parametrize("args, reason", REFUSALS, ids=[r[1] + "-" + str(i) for i, r in enumerate(REFUSALS)])
def test_refused_before_any_host_call(files, args, reason):
    host = FakeHost()
    result = run(args, files, host)
    assert result["failed"] is True and result["reason"] == reason, result
    assert host.calls == [], "the host was contacted before the refusal"
    assert result["msg"] and result["remediation"] and result["changed"] is False


def test_refusals_keep_the_documented_keys(files):
    result = run({"package": "Corrupt-WindowsDefenderATPOnboardingPackage.zip"}, files, FakeHost())
    for key in (
        "state",
        "operation",
        "package",
        "before",
        "after",
        "script_result",
        "events",
        "installer",
        "reboot_required",
        "reason",
        "family",
        "remediation",
        "msg",
    ):
        assert key in result


def test_host_onboarded_to_another_org_is_refused_after_the_read(files):
    host = FakeHost(onboarded_org=OTHER)
    before = host.host.serialise()
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert result["reason"] == "wrong_org" and OTHER in result["msg"]
    assert host.modules == [INFO] and host.host.serialise() == before
    assert result["before"]["org_id"] == OTHER


def test_force_onboards_a_host_of_another_org(files):
    host = FakeHost(onboarded_org=OTHER)
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "force": True}, files, host)
    assert not result.get("failed"), result
    assert result["before"]["org_id"] == OTHER and result["after"]["org_id"] == ORG


def test_offboarding_a_host_of_another_org_is_refused(files):
    host = FakeHost(onboarded_org=OTHER)
    result = run({"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip"}, files, host)
    assert result["reason"] == "wrong_org" and host.modules == [INFO]


def test_forced_offboarding_of_another_org_fails_with_exit_70(files):
    host = FakeHost(onboarded_org=OTHER)
    result = run({"state": "absent", "package": "WindowsDefenderATPOffboardingPackage.zip", "force": True}, files, host)
    assert result["reason"] == "offboarding_failed"
    assert result["script_result"]["exit_code"] == 70 and "different organisation" in result["msg"]


# ----------------------------------------------------------------------------- Server 2012 R2 / 2016
def test_unified_agent_required_without_installer(files):
    host = FakeHost(os="server2012r2", third_party_av=[])
    before = host.host.serialise()
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert result["reason"] == "unified_agent_required"
    assert host.modules == [INFO] and host.host.serialise() == before


def test_installer_is_transferred_installed_and_cleaned_up(files):
    host = FakeHost(os="server2016", third_party_av=[])
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "md4ws.msi"}, files, host)
    assert not result.get("failed"), result
    assert host.modules == [INFO, "mkdtemp", "put_file", ONBOARD, "remove"]
    tmp = host.module_args("mkdtemp")[0]["path"]
    sent = host.module_args(ONBOARD)[0]
    assert sent["_installer"] == ntpath.join(tmp, "md4ws.msi") and sent["installer_force_passive"] is True
    assert not host.host.path_exists(tmp)
    assert result["installer"]["installed"] and result["installer"]["exit_code"] == 0
    assert result["after"]["onboarded"] and host.host.state["mde"]["unified_agent"]
    rerun = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "md4ws.msi"}, files, host)
    assert rerun["changed"] is False and host.modules[5:] == [INFO]


def test_remote_installer_is_not_transferred(files):
    host = FakeHost(os="server2012r2", third_party_av=[])
    host.host.write_file(r"D:\Deploy\md4ws.msi", MSI)
    result = run(
        {
            "package": "WindowsDefenderATPOnboardingPackage.zip",
            "remote_installer": r"D:\Deploy\md4ws.msi",
            "installer_force_passive": False,
        },
        files,
        host,
    )
    assert not result.get("failed"), result
    assert host.modules == [INFO, ONBOARD]
    assert host.module_args(ONBOARD)[0]["installer_force_passive"] is False


def test_missing_remote_installer(files):
    host = FakeHost(os="server2012r2", third_party_av=[])
    result = run(
        {"package": "WindowsDefenderATPOnboardingPackage.zip", "remote_installer": r"\\srv\mde\md4ws.msi"}, files, host
    )
    assert result["reason"] == "package_not_found" and "md4ws.msi" in result["msg"]
    assert result["script_result"] is None


def test_installer_tmpdir_is_removed_when_the_run_fails(files):
    host = FakeHost(os="server2016", third_party_av=[])
    (files / "files" / "bad.msi").write_bytes(b"not an msi")
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "bad.msi"}, files, host)
    assert result["reason"] == "onboarding_failed" and "1620" in result["msg"]
    assert host.modules[-1] == "remove"


def test_installer_is_not_sent_to_hosts_that_do_not_need_it(files):
    host = FakeHost()
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "installer": "md4ws.msi"}, files, host)
    assert host.modules == [INFO, ONBOARD] and "installer" not in host.module_args(ONBOARD)[0]
    assert result["installer"] is None


# ----------------------------------------------------------------------------- remote_package
def test_remote_package_costs_one_more_command(files):
    host = FakeHost()
    data = (files / "files" / "WindowsDefenderATPOnboardingPackage.zip").read_bytes()
    host.host.write_file(r"C:\Deploy\WindowsDefenderATPOnboardingPackage.zip", data)
    result = run({"remote_package": r"C:\Deploy\WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert not result.get("failed"), result
    assert host.modules == [ONBOARD, INFO, ONBOARD]
    assert host.module_args(ONBOARD)[0]["_action"] == "read_package"
    assert result["package"]["source"] == "remote" and result["package"]["org_id"] == ORG


@pytest.mark.parametrize(
    "name, state, reason",
    [
        ("missing.zip", "present", "package_not_found"),
        ("Expired-WindowsDefenderATPOffboardingPackage.zip", "absent", "package_expired"),
        ("Corrupt-WindowsDefenderATPOnboardingPackage.zip", "present", "package_invalid"),
        ("WindowsDefenderATPLocalOnboardingPackage.zip", "present", "interactive_package"),
    ],
)
def test_remote_package_is_checked_on_the_controller_before_anything_runs(files, name, state, reason):
    host = FakeHost()
    src = files / "files" / name
    if src.exists():
        host.host.write_file("\\\\srv\\mde\\" + name, src.read_bytes())
    result = run({"state": state, "remote_package": "\\\\srv\\mde\\" + name}, files, host)
    assert result["reason"] == reason
    assert host.modules == [ONBOARD] and host.module_args(ONBOARD)[0]["_action"] == "read_package"


def test_remote_package_too_large(files):
    host = FakeHost()
    host.host.write_file("C:\\p.zip", b"PK" + b"\0" * (9 * 2**20))
    result = run({"remote_package": "C:\\p.zip"}, files, host)
    assert result["reason"] == "package_invalid" and host.modules == [ONBOARD]


# ----------------------------------------------------------------------------- failures after the run
def test_onboarding_exit_code_is_reported_with_its_meaning(files):
    host = FakeHost(faults={"onboarding_exit_code": 65})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert result["failed"] and result["reason"] == "onboarding_failed"
    assert "65" in result["msg"] and "not run elevated" in result["msg"]
    assert result["script_result"]["exit_code"] == 65
    # Not elevated, the script cannot register its event source either: no event.
    assert result["events"] == []


def test_the_events_of_a_failed_onboarding_come_back(files):
    host = FakeHost(faults={"onboarding_exit_code": 10})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert result["failed"] and result["script_result"]["exit_code"] == 10
    assert [(e["source"], e["id"], e["level"]) for e in result["events"]] == [("WDATPOnboarding", 10, "Error")]


def test_sense_never_starts(files):
    host = FakeHost(faults={"sense_never_starts": True})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "timeout": 42}, files, host)
    assert result["reason"] == "sensor_not_running" and "timeout=42 s" in result["msg"]
    assert result["changed"] is True  # OnboardingInfo was written
    assert result["after"]["org_id"] == ORG and not result["after"]["sense_running"]


def test_sense_too_slow(files):
    host = FakeHost(faults={"sense_start_delay_s": 60})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "timeout": 5}, files, host)
    assert result["reason"] == "sensor_not_running" and "timeout=5 s" in result["msg"]
    # net start waits for the service: the script itself was still running at the timeout
    assert result["script_result"]["timed_out"] is True


def test_sense_slow_but_within_the_timeout(files):
    host = FakeHost(faults={"sense_start_delay_s": 3})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip", "timeout": 10}, files, host)
    assert not result.get("failed") and result["after"]["sense_running"]


def test_exit_15_is_sensor_not_running(files):
    host = FakeHost(faults={"sense_never_starts": True})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert host.modules == [INFO, ONBOARD]
    assert result["reason"] == "sensor_not_running"
    assert "SENSE service did not start" in result["msg"] and "WDATPOnboarding 15" in result["msg"]
    assert result["before"]["onboarded"] is False
    assert result["after"] == {"onboarded": False, "org_id": ORG, "onboarding_state": None, "sense_running": False}
    assert result["script_result"]["exit_code"] == 15 and result["script_result"]["documented"]


def test_check_mode_has_exactly_one_call(files):
    host = FakeHost()
    before = copy.deepcopy(host.host.state)
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host, check=True)
    assert result["changed"] is True and host.modules == [INFO]
    assert host.host.state == before


def test_powershell_failure_is_host_error(files):
    host = PsHost(CLIENT, fail={ONBOARD: {"failed": True, "msg": "running the onboard script: access denied"}})
    result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host)
    assert result["reason"] == "host_error" and "access denied" in result["msg"]
    assert result["before"] is not None


# ----------------------------------------------------------------------------- the package stays secret
def test_the_script_never_comes_back(files):
    host = FakeHost()
    with (
        patch.object(plugin, "display") as display,
        patch("ansible_collections.mdeops.defender.plugins.plugin_utils._action.display") as base_display,
    ):
        result = run({"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, host, diff=True)
        failed = run(
            {"package": "WindowsDefenderATPOnboardingPackage.zip"}, files, FakeHost(faults={"onboarding_exit_code": 40})
        )
    text = json.dumps(result) + json.dumps(failed)
    assert SIG not in text and "OnboardingInfo /t REG_SZ" not in text
    assert "script" not in result["invocation"]["module_args"]
    logged = repr(display.mock_calls) + repr(base_display.mock_calls)
    assert SIG not in logged
    assert any("2 WinRM command(s)" in repr(c) for c in display.vv.mock_calls)
    # ... but it does reach the host, inline in the module arguments (no file transfer)
    assert SIG in host.module_args(ONBOARD)[0]["_script"]


def test_the_powershell_side_declares_the_script_no_log():
    text = (REPO / "plugins" / "modules" / "win_mde_onboarding.ps1").read_text(encoding="utf-8")
    assert re.search(r"script\s*=\s*@\{\s*type\s*=\s*'str';\s*no_log\s*=\s*\$true\s*\}", text)


def test_a_pending_onboarding_leaves_the_settle_wait_what_it_needs(files):
    """wait: false and the script exits with a sensor code (35): judged later, by win_mde_info's settle wait."""
    host = FakeHost(faults={"onboarding_exit_code": 35})
    args = {"package": "WindowsDefenderATPOnboardingPackage.zip", "expected_org_id": ORG, "wait": False}
    result = run(args, files, host)
    assert result.get("failed") is not True and result["pending"] is True, result
    pending = result["host_read"]["pending_onboarding"]
    assert pending["state"] == "present" and pending["script_run"]["exit_code"] == 35
    from ansible_collections.mdeops.defender.plugins.module_utils import _onboarding as onb

    reason, msg = onb.judge_pending(pending, result["host_read"]["onboarding"])
    assert reason == "onboarding_failed" and "exited with 35" in msg, msg
    # a host onboarded fine (nothing pending) carries none
    assert "pending_onboarding" not in run({**args, "wait": True}, files, FakeHost())["host_read"]

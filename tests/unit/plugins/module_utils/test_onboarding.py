"""Decisions of win_mde_onboarding (module_utils/_onboarding.py): exit codes, package checks, the plan."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _onboarding as onb
from ansible_collections.mdeops.defender.plugins.module_utils import _package as pkg
from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError
from tests.winsim import packages as gen

ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
TODAY = datetime.date(2026, 11, 30)


def onboarding_package(org=ORG, local=False):
    return pkg.read_package_bytes("WindowsDefenderATPOnboardingPackage.zip", gen.onboarding_zip(org, local=local))


def offboarding_package(org=ORG, valid_until=TODAY + datetime.timedelta(days=7)):
    return pkg.read_package_bytes("WindowsDefenderATPOffboardingPackage.zip", gen.offboarding_zip(org, valid_until))


def status(onboarded=False, org=None, sense=False):
    return onb.status(1 if onboarded else None, org, sense)


# ----------------------------------------------------------------------------- exit codes
@pytest.mark.parametrize(
    "code, words",
    [
        (5, "offboarding data could not be removed"),
        (10, "OnboardingInfo"),
        (15, "SENSE service did not start"),
        (30, "gave up waiting"),
        (35, "never appeared"),
        (40, "not 1"),
        (65, "not run elevated"),
        (70, "different organisation"),
    ],
)
def test_documented_onboarding_exit_codes(code, words):
    assert words in onb.exit_code_meaning(code)
    assert "not documented" not in onb.exit_code_meaning(code)


def test_the_documented_table_is_exactly_microsofts():
    # docs/sources.md §3.2 (troubleshoot-onboarding.md): 5, 10, 15, 30, 35, 40, 65, 70 - and 0 for success.
    assert sorted(onb.ONBOARDING_EXIT_CODES) == [0, 5, 10, 15, 30, 35, 40, 65, 70]
    assert onb.SENSOR_EXIT_CODES == {15, 30}


def test_unknown_codes_say_so_and_point_at_the_events():
    text = onb.exit_code_meaning(1)
    assert "not documented" in text and "WDATPOnboarding" in text
    off = onb.exit_code_meaning(10, "offboarding")
    assert "not documented" in off and "WDATPOffboarding" in off
    assert "different organisation" in onb.exit_code_meaning(70, "offboarding")
    assert "did not report" in onb.exit_code_meaning(None)


def test_installer_meanings():
    assert onb.installer_meaning(0) == "installed"
    assert "restart is required" in onb.installer_meaning(3010)
    assert "fatal error" in onb.installer_meaning(1603)
    assert "Windows Installer error 1234" in onb.installer_meaning(1234)
    assert "did not finish in time" in onb.installer_meaning(None, timed_out=True)
    assert onb.MSIEXEC_SUCCESS == {0, 1641, 3010}


# ----------------------------------------------------------------------------- package checks
def test_a_good_package_passes_every_check():
    package = onboarding_package()
    onb.check_package(
        package, "present", expected_org_id=ORG, checksum="sha256:" + package["package_sha256"], today=TODAY
    )
    onb.check_package(package, "present", checksum=package["sha256"], today=TODAY)  # the script's checksum too
    onb.check_package(offboarding_package(), "absent", expected_org_id=ORG, today=TODAY)


@pytest.mark.parametrize(
    "package, state, kwargs, reason",
    [
        (onboarding_package, "present", {"checksum": "sha256:" + "0" * 64}, "checksum_mismatch"),
        (onboarding_package, "present", {"checksum": "md5:abc"}, "invalid_argument"),
        (onboarding_package, "absent", {}, "wrong_package_type"),
        (offboarding_package, "present", {}, "wrong_package_type"),
        (lambda: onboarding_package(local=True), "present", {}, "interactive_package"),
        (lambda: offboarding_package(valid_until=TODAY - datetime.timedelta(days=1)), "absent", {}, "package_expired"),
        (lambda: onboarding_package(OTHER), "present", {"expected_org_id": ORG}, "wrong_org"),
        (lambda: offboarding_package(OTHER), "absent", {"expected_org_id": ORG}, "wrong_org"),
    ],
)
def test_package_refusals(package, state, kwargs, reason):
    with pytest.raises(MdeError) as err:
        onb.check_package(package(), state, today=TODAY, **kwargs)
    assert err.value.reason == reason


def test_checksum_is_checked_first_an_untrusted_package_says_nothing_else():
    with pytest.raises(MdeError) as err:
        onb.check_package(offboarding_package(OTHER), "present", expected_org_id=ORG, checksum="f" * 64, today=TODAY)
    assert err.value.reason == "checksum_mismatch"


def test_interactive_refusal_says_what_to_download():
    with pytest.raises(MdeError) as err:
        onb.check_package(onboarding_package(local=True), "present", today=TODAY)
    assert "Group Policy" in err.value.msg and "set /p" in err.value.msg


def test_package_summary_never_holds_the_script():
    package = onboarding_package()
    summary = onb.package_summary(package, "controller")
    assert summary["org_id"] == ORG and summary["source"] == "controller"
    assert "content" not in summary
    assert "U0lNVUxBVEVELVNJRw" not in repr(summary)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("WindowsDefenderATPOnboardingScript.cmd", "WindowsDefenderATPOnboardingScript.cmd"),
        (
            "WindowsDefenderATPOffboardingScript_valid_until_2026-12-07.cmd",
            "WindowsDefenderATPOffboardingScript_valid_until_2026-12-07.cmd",
        ),
        ("..\\..\\evil name&calc.cmd", "evil_name_calc.cmd"),
        ("x/y/onboard", "onboard.cmd"),
        ("", "WindowsDefenderATPOnboardingScript.cmd"),
    ],
)
def test_safe_script_name(name, expected):
    assert onb.safe_script_name(name) == expected


# ----------------------------------------------------------------------------- the plan
PLAN_ROWS = [
    # state, before, package org, force, needs agent, agent, installer → operation / reason, install
    ("present", status(), ORG, False, False, False, False, "onboard", False),
    ("present", status(True, ORG, True), ORG, False, False, False, False, "none", False),
    ("present", status(True, ORG, False), ORG, False, False, False, False, "onboard", False),  # Sense stopped
    ("present", status(False, ORG, True), ORG, False, False, False, False, "onboard", False),  # state not 1
    ("present", status(True, OTHER, True), ORG, False, False, False, False, "wrong_org", False),
    ("present", status(True, OTHER, True), ORG, True, False, False, False, "onboard", False),
    ("present", status(True, None, True), ORG, False, False, False, False, "onboard", False),  # org unknown
    ("present", status(), ORG, False, True, False, False, "unified_agent_required", False),
    ("present", status(), ORG, False, True, False, True, "onboard", True),
    ("present", status(), ORG, False, True, True, False, "onboard", False),
    ("present", status(True, ORG, True), ORG, False, True, True, False, "none", False),
    ("absent", status(), ORG, False, False, False, False, "none", False),
    ("absent", status(True, ORG, True), ORG, False, False, False, False, "offboard", False),
    ("absent", status(True, ORG, False), ORG, False, False, False, False, "offboard", False),
    ("absent", status(False, None, True), ORG, False, False, False, False, "offboard", False),
    ("absent", status(True, OTHER, True), ORG, False, False, False, False, "wrong_org", False),
    ("absent", status(True, OTHER, True), ORG, True, False, False, False, "offboard", False),
]


@pytest.mark.parametrize("state, before, org, force, needs, agent, installer, expected, install", PLAN_ROWS)
def test_plan(state, before, org, force, needs, agent, installer, expected, install):
    package = {"org_id": org}
    if expected in ("none", "onboard", "offboard"):
        decision = onb.plan(
            state,
            package,
            before,
            force=force,
            needs_unified_agent=needs,
            unified_agent=agent,
            installer_given=installer,
        )
        assert decision.operation == expected
        assert decision.install_agent is install
    else:
        with pytest.raises(MdeError) as err:
            onb.plan(
                state,
                package,
                before,
                force=force,
                needs_unified_agent=needs,
                unified_agent=agent,
                installer_given=installer,
            )
        assert err.value.reason == expected


def test_wrong_org_message_names_both_orgs_and_the_way_out():
    with pytest.raises(MdeError) as err:
        onb.plan("present", {"org_id": ORG}, status(True, OTHER, True))
    assert OTHER in err.value.msg and ORG in err.value.msg and "force" in err.value.msg


def test_prediction():
    assert onb.predict_after("present", {"org_id": ORG}, status()) == {
        "onboarded": True,
        "org_id": ORG,
        "onboarding_state": 1,
        "sense_running": True,
    }
    assert onb.predict_after("absent", {"org_id": ORG}, status(True, ORG, True)) == {
        "onboarded": False,
        "org_id": None,
        "onboarding_state": 0,
        "sense_running": False,
    }


def test_status_from_observed_normalises_the_org_and_the_service_state():
    observed = {
        "onboarding_state": 1,
        "org_id": None,
        "status_org_id": "{%s}" % ORG.upper(),
        "sense": {"exists": True, "state": "Running", "start_mode": "Auto"},
    }
    assert onb.status_from_observed(observed) == {
        "onboarded": True,
        "org_id": ORG,
        "onboarding_state": 1,
        "sense_running": True,
    }
    assert onb.status_from_observed({"sense": {"exists": True, "state": "Start Pending"}})["sense_running"] is False
    assert onb.status_from_observed(None) == {
        "onboarded": False,
        "org_id": None,
        "onboarding_state": None,
        "sense_running": False,
    }


def test_status_from_win_mde_info_state():
    state = {"onboarding": {"onboarded": True, "onboarding_state": 1, "org_id": ORG, "sense_running": True}}
    assert onb.status_from_state(state) == {
        "onboarded": True,
        "org_id": ORG,
        "onboarding_state": 1,
        "sense_running": True,
    }


# ----------------------------------------------------------------------------- results
def run(code=0, timed_out=False, wait_timed_out=False):
    return {
        "ran": True,
        "exit_code": code,
        "timed_out": timed_out,
        "duration_s": 1.5,
        "waited_s": 2.0,
        "wait_timed_out": wait_timed_out,
    }


ONBOARDED = {"onboarded": True, "org_id": ORG, "onboarding_state": 1, "sense_running": True}
NOT_RUNNING = {"onboarded": False, "org_id": ORG, "onboarding_state": None, "sense_running": False}
OFFBOARDED = {"onboarded": False, "org_id": None, "onboarding_state": 0, "sense_running": False}
ERR15 = [{"source": "WDATPOnboarding", "id": 15, "level": "Error", "message": "x", "time": "t"}]


def test_script_result_shape():
    result = onb.script_result(run(15), "onboarding")
    assert result["exit_code"] == 15 and result["documented"] and not result["success"]
    assert "SENSE" in result["meaning"]
    assert onb.script_result(run(0), "onboarding")["success"] is True
    assert onb.script_result(run(None, timed_out=True), "onboarding")["meaning"].startswith("the script did not finish")
    assert onb.script_result(None, "onboarding") is None
    assert onb.script_result({"ran": False}, "onboarding") is None


@pytest.mark.parametrize(
    "state, installer, script, after, events, reason, words",
    [
        ("present", None, run(0), ONBOARDED, [], None, None),
        ("absent", None, run(0), OFFBOARDED, [], None, None),
        ("present", {"exists": False, "path": "C:\\x\\md4ws.msi"}, None, NOT_RUNNING, [], "package_not_found", "md4ws"),
        (
            "present",
            {"exists": True, "ran": True, "exit_code": 1603, "log_path": "C:\\l.log"},
            None,
            NOT_RUNNING,
            [],
            "onboarding_failed",
            "1603",
        ),
        ("present", None, None, NOT_RUNNING, [], "host_error", "did not run"),
        ("present", None, run(None, timed_out=True), NOT_RUNNING, [], "sensor_not_running", "timeout=300 s"),
        ("present", None, run(None, timed_out=True), {**NOT_RUNNING, "org_id": None}, [], "onboarding_failed", "local"),
        # a script's wait that collapsed, and the host got there anyway: judged by what it reports
        ("present", None, run(35), ONBOARDED, [], None, None),
        ("present", None, run(40), ONBOARDED, [], None, None),
        ("present", None, run(10), ONBOARDED, [], "onboarding_failed", "OnboardingInfo"),
        ("absent", None, run(15), OFFBOARDED, [], None, None),
        ("present", None, run(15), NOT_RUNNING, ERR15, "sensor_not_running", "WDATPOnboarding 15"),
        ("present", None, run(30), NOT_RUNNING, [], "sensor_not_running", "gave up"),
        ("present", None, run(10), NOT_RUNNING, [], "onboarding_failed", "OnboardingInfo"),
        ("present", None, run(65), NOT_RUNNING, [], "onboarding_failed", "elevated"),
        ("present", None, run(0, wait_timed_out=True), NOT_RUNNING, [], "sensor_not_running", "timeout=300 s"),
        ("absent", None, run(70), ONBOARDED, [], "offboarding_failed", "different organisation"),
        ("absent", None, run(0, wait_timed_out=True), ONBOARDED, [], "offboarding_failed", "event 29"),
    ],
)
def test_evaluate(state, installer, script, after, events, reason, words):
    failure = onb.evaluate(state, 300, installer, script, after, events)
    if reason is None:
        assert failure is None
    else:
        assert failure is not None and failure[0] == reason
        assert words in failure[1]


def test_msiexec_success_lets_the_evaluation_continue():
    installer = {"exists": True, "ran": True, "exit_code": 3010}
    assert onb.evaluate("present", 300, installer, run(0), ONBOARDED, []) is None
    shaped = onb.installer_result(installer, True, "C:\\t\\md4ws.msi", True)
    assert shaped["installed"] and "restart" in shaped["meaning"]


def test_events_are_shaped_and_sorted():
    events = [
        {"source": "WDATPOnboarding", "id": "20", "level": "Information", "message": "ok", "time": "b"},
        {"source": "WDATPOnboarding", "id": 10, "level": "Information", "message": "m", "time": "a"},
    ]
    assert [e["id"] for e in onb.shape_events(events)] == [10, 20]
    assert onb.shape_events(None) == []


def test_wait_exit_warning_names_the_scripts_verdict_only_when_the_host_got_there():
    script = {"ran": True, "exit_code": 35, "timed_out": False, "waited_s": 2.0}
    warning = onb.wait_exit_warning("present", script, ONBOARDED)
    assert warning and "exited with 35" in warning and "2 s later" in warning
    assert onb.wait_exit_warning("present", script, NOT_RUNNING) is None
    assert onb.wait_exit_warning("present", dict(script, exit_code=10), ONBOARDED) is None
    assert onb.wait_exit_warning("present", dict(script, exit_code=0), ONBOARDED) is None
    assert "offboarded" in onb.wait_exit_warning("absent", dict(script, exit_code=15), OFFBOARDED)

"""The action plugin of win_mde_onboard_reboot: which of the two actions run, in which order, with which
arguments, and the verdict it returns. The two actions are replaced by recorders (their own behaviour
has its own tests; the whole chain runs end to end in tests/e2e/test_rollout*.py)."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.playbook.task import Task
from ansible_collections.ansible.windows.plugins.action.win_reboot import ActionModule as WinReboot

from ansible_collections.mdeops.defender.plugins.action import win_mde_onboard_reboot as plugin

ONBOARD = "mdeops.defender.win_mde_onboarding"
REBOOT = "ansible.windows.win_reboot"
ONBOARDED = {"changed": True, "step": "onboard", "reason": None, "detail": "onboarded", "reboot_required": False}
REBOOTED = {"changed": True, "rebooted": True, "elapsed": 12}


class Loader:
    """``action_loader``: hands out recorders that answer with the given results and note each run."""

    def __init__(self, answers: dict[str, dict]) -> None:
        self.answers = answers
        self.runs: list[tuple[str, dict, Any]] = []

    def get(self, name: str, class_only: bool = False, **kw: Any) -> Any:
        if class_only:
            return WinReboot if name == REBOOT else None
        loader = self

        class Recorder:
            def run(self, task_vars: dict | None = None) -> dict:
                loader.runs.append((name, dict(kw["task"].args), kw["task"].check_mode))
                return dict(loader.answers[name])

        assert kw["connection"] is not None
        return Recorder()

    @property
    def names(self) -> list[str]:
        return [r[0] for r in self.runs]


class Run:
    """One run of the plugin: its result, the recorder of the two actions, and the task it was given."""

    def __init__(self, result: dict, loader: Loader, task: Task) -> None:
        self.result, self.loader, self.task = result, loader, task


def run(args: dict, answers: dict[str, dict] | None = None, check_mode: bool = False) -> Run:
    loader = Loader(answers or {ONBOARD: ONBOARDED, REBOOT: REBOOTED})
    task = Task()
    task.args = dict(args)
    task.check_mode = check_mode
    task.action = "mdeops.defender.win_mde_onboard_reboot"
    shared = MagicMock()
    shared.action_loader = loader
    connection = MagicMock()
    connection._shell.tmpdir = None
    action = plugin.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=shared)
    action._shared_loader_obj = shared  # ansible-core ignores the argument: it is always ansible.plugins.loader
    return Run(action.run(task_vars={}), loader, task)


def test_onboarding_alone_when_no_reboot_is_needed():
    ran = run({"onboarding": {"package": "p.zip", "expected_org_id": "x"}})
    assert ran.loader.runs == [(ONBOARD, {"package": "p.zip", "expected_org_id": "x"}, False)]
    result = ran.result
    assert result["onboarding"]["detail"] == "onboarded"
    assert result["reboot"] == {"skipped": True, "changed": False}
    assert (result["changed"], result["rebooted"], result["reboot_required"]) == (True, False, False)
    assert (result["reason"], result["step"]) == (None, None)
    assert not result.get("failed")
    assert ran.task.args == {"onboarding": {"package": "p.zip", "expected_org_id": "x"}}  # the task is not touched


def test_reboot_alone_on_a_host_that_only_needs_one():
    ran = run({"onboard": False, "reboot": True, "reboot_options": {"reboot_timeout": 900, "msg": "m"}})
    assert ran.loader.runs == [(REBOOT, {"reboot_timeout": 900, "msg": "m"}, False)]
    assert ran.result["onboarding"] == {"skipped": True, "changed": False}
    assert (ran.result["changed"], ran.result["rebooted"], ran.result["reason"]) == (True, True, None)
    assert ran.result["reboot"]["elapsed"] == 12


def test_onboarding_then_reboot_in_this_order():
    ran = run({"onboarding": {"package": "p.zip"}, "reboot": True})
    assert ran.loader.names == [ONBOARD, REBOOT]
    assert ran.result["rebooted"] is True


@pytest.mark.parametrize(
    "reboot, required, expected",
    [(False, True, [ONBOARD, REBOOT]), (False, False, [ONBOARD]), (True, False, [ONBOARD, REBOOT])],
)
def test_the_installers_restart_is_a_needed_reboot_too(reboot, required, expected):
    answers = {ONBOARD: dict(ONBOARDED, reboot_required=required), REBOOT: REBOOTED}
    ran = run({"onboarding": {"package": "p.zip"}, "reboot": reboot}, answers=answers)
    assert ran.loader.names == expected
    assert ran.result["rebooted"] is (expected == [ONBOARD, REBOOT])


@pytest.mark.parametrize(
    "args, required, why",
    [
        ({"onboard": False, "reboot": True}, False, "a reboot is needed"),
        ({"onboarding": {"package": "p.zip"}}, True, "the installer asked for a restart"),
    ],
)
def test_without_consent_nothing_reboots_and_the_host_waits_for_one(args, required, why):
    answers = {ONBOARD: dict(ONBOARDED, reboot_required=required), REBOOT: REBOOTED}
    ran = run(dict(args, allow_reboot=False), answers=answers)
    assert REBOOT not in ran.loader.names
    result = ran.result
    assert (result["rebooted"], result["reboot_required"], result["reason"]) == (False, True, None)
    assert not result.get("failed")
    pending = result["reboot"]
    assert pending["pending_reboot"] is True and pending["step"] == "reboot" and pending["changed"] is False
    assert pending["detail"].startswith(why) and "allow_reboot=false" in pending["detail"]
    assert "rebooted" not in pending  # fleet_progress reads rebooted=false as a reboot that failed


def test_without_consent_a_host_that_needs_nothing_else_costs_no_command():
    ran = run({"onboard": False, "reboot": True, "allow_reboot": False})
    assert ran.loader.runs == []
    assert ran.result["reboot_required"] is True and ran.result["changed"] is False


@pytest.mark.parametrize(
    "onboarding",
    [
        {"failed": True, "changed": False, "step": "onboard", "reason": "wrong_org", "detail": "d", "msg": "m"},
        {"changed": True, "step": "onboard", "reason": "sensor_not_running", "detail": "d", "msg": "m"},
    ],
)
@pytest.mark.parametrize("allow", [True, False])
def test_no_reboot_after_an_onboarding_that_did_not_reach_its_state(onboarding, allow):
    ran = run(
        {"onboarding": {"package": "p.zip"}, "reboot": True, "allow_reboot": allow},
        answers={ONBOARD: onboarding, REBOOT: REBOOTED},
    )
    assert ran.loader.names == [ONBOARD]
    result = ran.result
    assert (result["step"], result["reason"], result["detail"], result["msg"]) == (
        "onboard",
        onboarding["reason"],
        "d",
        "m",
    )
    assert bool(result.get("failed")) is bool(onboarding.get("failed"))
    assert (result["rebooted"], result["reboot_required"]) == (False, False)


@pytest.mark.parametrize(
    "answer",
    [
        {"failed": True, "changed": True, "rebooted": True, "msg": "Timed out waiting for post-reboot test command"},
        {"changed": True, "rebooted": False, "msg": "Timed out waiting for post-reboot test command"},
    ],
)
def test_a_host_that_does_not_come_back_fails_the_task_as_reboot_failed(answer):
    result = run({"onboard": False, "reboot": True}, answers={ONBOARD: ONBOARDED, REBOOT: answer}).result
    assert result["failed"] is True
    assert (result["step"], result["reason"]) == ("reboot", "reboot_failed")
    assert "post-reboot" in result["detail"] and result["msg"] == result["detail"]
    assert result["rebooted"] is False
    assert result["reboot"]["msg"] == answer["msg"]


def test_a_reboot_option_win_reboot_does_not_have_is_refused_before_anything_runs():
    ran = run({"onboarding": {"package": "p.zip"}, "reboot": True, "reboot_options": {"reboot_timout": 5}})
    assert ran.loader.runs == []
    assert ran.result["failed"] is True and ran.result["reason"] == "invalid_argument"
    assert "reboot_timout" in ran.result["msg"] and "reboot_timeout" in ran.result["msg"]


def test_an_option_of_its_own_is_checked_like_any_module():
    ran = run({"onboarding": {"package": "p.zip"}, "reboot": "sometimes"})
    assert ran.loader.runs == []
    assert ran.result["failed"] is True and ran.result["reason"] == "invalid_argument"
    assert "reboot" in ran.result["msg"]


def test_check_mode_is_passed_to_both():
    ran = run({"onboarding": {"package": "p.zip"}, "reboot": True}, check_mode=True)
    assert [(r[0], r[2]) for r in ran.loader.runs] == [(ONBOARD, True), (REBOOT, True)]
    assert ran.result["changed"] is True


def test_invocation_names_the_onboarding_options_instead_of_repeating_them():
    shown = run({"onboarding": {"package": "p.zip", "assessment": {"diagnosis": {}}}}).result["invocation"][
        "module_args"
    ]
    assert "see onboarding.invocation" in shown["onboarding"]
    assert shown["reboot"] is False and shown["allow_reboot"] is True


def test_nothing_runs_when_there_is_nothing_to_do():
    ran = run({"onboard": False})
    assert ran.loader.runs == []
    assert (ran.result["changed"], ran.result["rebooted"], ran.result["reason"]) == (False, False, None)


def test_ansibles_plugin_loader_finds_both_actions_by_the_names_the_plugin_uses():
    from ansible.plugins.loader import action_loader

    assert action_loader.get(plugin.REBOOT, class_only=True) is WinReboot
    onboarding = action_loader.get(plugin.ONBOARDING, class_only=True)
    assert onboarding is not None and onboarding.MODULE == "win_mde_onboarding"

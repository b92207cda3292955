"""fleet_progress: records the modules' verdicts for the report and gates the host on them alone."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.playbook.task import Task

from ansible_collections.mdeops.defender.plugins.action.fleet_progress import ActionModule


def run(args: dict, progress: dict | None = None, host: str = "h1") -> dict:
    task = MagicMock(Task)
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    plugin = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    task_vars: dict = {"inventory_hostname": host}
    if progress is not None:
        task_vars["ansible_facts"] = {"mde_report_host": progress}
    return plugin.run(task_vars=task_vars)


def test_records_each_verdict_and_passes_when_no_reason():
    res = run({"results": [{"step": "registry", "reason": None, "changed": True}, {"step": "onboard", "reason": None}]})
    assert not res.get("failed") and res["changed"] is False
    record = res["ansible_facts"]["mde_report_host"]
    assert record["steps"] == {"registry": "changed", "onboard": "ok"}
    assert "progress" not in res  # the record is the fact; repeated only when the host failed (no facts kept)


def test_first_reason_stops_the_host_with_family_and_remediation():
    res = run(
        {"results": [{"step": "verify_mode", "reason": "passive_mode_not_reached", "detail": "still Normal"}]},
        {"steps": {"assess": "ok"}},
    )
    assert res["failed"] is True and res["reason"] == "passive_mode_not_reached" and res["family"] == "policy"
    assert res["step"] == "verify_mode" and res["detail"] == "still Normal"
    assert res["msg"].startswith("[passive_mode_not_reached] step verify_mode:")
    record = res["progress"]
    assert record["steps"] == {"assess": "ok", "verify_mode": "failed"}
    assert record["failure"]["reason"] == "passive_mode_not_reached"


def test_reads_the_record_only_from_the_facts_namespace():
    first = run({"result": {"step": "registry", "changed": True}})["ansible_facts"]["mde_report_host"]
    again = run({"result": {"step": "onboard"}}, first)["ansible_facts"]["mde_report_host"]
    assert again["steps"] == {"registry": "changed", "onboard": "ok"}


def test_a_pending_reboot_is_recorded_without_result():
    res = run({"step": "reboot", "outcome": "changed", "set": {"pending_reboot": True}})
    record = res["ansible_facts"]["mde_report_host"]
    assert not res.get("failed") and record["pending_reboot"] is True
    assert record["steps"] == {"verify_mode": "changed"}


def test_rescue_of_a_reboot_that_timed_out():
    res = run({"result": {"failed": True, "msg": "Timed out"}, "failed_action": "ansible.windows.win_reboot"})
    assert res["reason"] == "reboot_failed"


def test_wave_results_judge_each_host_alone():
    wave = {"step": "confirm_edr", "hosts": {"h1": {"reason": None}, "h2": {"reason": "not_onboarded"}}}
    assert not run({"wave_results": [wave]}, host="h1").get("failed")
    assert run({"wave_results": [wave]}, host="h2")["reason"] == "not_onboarded"


@pytest.mark.parametrize(
    "args",
    [{"step": "nope"}, {"step": "onboard", "outcome": "weird"}, {"bogus": 1}],
)
def test_bad_input_is_refused(args):
    res = run(args)
    assert res["failed"] is True and res["reason"] == "invalid_argument"


def test_judging_a_wave_reads_each_hosts_record_and_changes_nothing():
    task = MagicMock(Task)
    task.args = {"wave": ["a", "b"], "max_fail_percentage": 10}
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    plugin = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    hostvars = {
        "a": {"ansible_facts": {"mde_report_host": {"failure": {"reason": "sensor_not_running"}}}},
        "b": {"ansible_facts": {"mde_report_host": {"steps": {"onboard": "changed"}}}},
    }
    res = plugin.run(task_vars={"inventory_hostname": "a", "hostvars": hostvars})
    assert not res.get("failed") and res["changed"] is False and "ansible_facts" not in res
    assert res["stop"] is True and res["failed_hosts"] == ["a"] and "1 of 2" in res["msg"]


def test_a_wave_and_a_result_are_mutually_exclusive():
    res = run({"wave": ["a"], "result": {"step": "onboard"}})
    assert res["failed"] and "mutually exclusive" in res["msg"]


def test_stop_fails_the_host_with_the_failure_recorded_earlier():
    # a rescue records without stopping (gate=false), repairs, then stops the host (the role used on its own)
    unprotected = {"step": "verify_mode", "reason": "unprotected", "detail": "UNPROTECTED: Defender is passive"}
    recorded = run({"result": unprotected, "gate": False})
    assert not recorded.get("failed") and recorded["reason"] == "unprotected"
    record = recorded["ansible_facts"]["mde_report_host"]
    res = run({"stop": True}, record)
    assert res["failed"] is True and res["reason"] == "unprotected" and res["step"] == "verify_mode", res
    assert res["family"] and res["remediation"] and res["detail"] == "UNPROTECTED: Defender is passive"
    assert res["msg"] == "[unprotected] step verify_mode: UNPROTECTED: Defender is passive"
    assert res["progress"]["failure"]["reason"] == "unprotected"


def test_stop_without_a_recorded_failure_does_not_fail():
    res = run({"stop": True}, {"steps": {"assess": "ok"}})
    assert not res.get("failed") and "reason" not in res
    assert run({"stop": True, "wave": ["h1"]}).get("failed") is True, "stop judges a host, not a wave"

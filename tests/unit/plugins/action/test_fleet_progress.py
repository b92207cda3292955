"""fleet_progress: one task per step records the outcome for the report and gates the host."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.playbook.task import Task

from ansible_collections.mdeops.defender.plugins.action.fleet_progress import ActionModule


def run(args: dict, progress: dict | None = None) -> dict:
    task = MagicMock(Task)
    task.args = args
    task.async_val = 0
    task.check_mode = False
    task.diff = False
    plugin = ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    task_vars = {} if progress is None else {"mde_report_host": progress}
    return plugin.run(task_vars=task_vars)


def test_records_the_outcome_of_a_registered_result():
    res = run({"step": "onboard", "outcome": {"changed": True}})
    assert not res.get("failed") and res["changed"] is False
    record = res["ansible_facts"]["mde_report_host"]
    assert record["steps"] == {"onboard": "changed"} and record["current_step"] == "onboard"


def test_changed_stays_changed_and_reboots_add_up():
    first = run({"step": "registry", "outcome": "changed", "reboots": 1})["progress"]
    again = run({"step": "registry", "outcome": "ok", "reboots": 1, "set": {"done": True}}, first)["progress"]
    assert again["steps"]["registry"] == "changed" and again["reboots"] == 2 and again["done"] is True


def test_gate_true_passes_and_none_is_no_gate():
    assert not run({"step": "assess", "gate": True, "reason": "wrong_org"}).get("failed")
    assert not run({"step": "assess"}).get("failed")


def test_failed_gate_stops_the_host_with_reason_family_and_remediation():
    res = run(
        {"step": "third_party_av", "gate": False, "reason": "no_third_party_av", "msg": "no AV."},
        {"steps": {"assess": "ok"}},
    )
    assert res["failed"] is True and res["reason"] == "no_third_party_av" and res["family"] == "av_conflict"
    assert res["mde_step"] == "third_party_av" and res["msg"].startswith("[no_third_party_av] (av_conflict)")
    assert "Install a third-party antivirus" in res["msg"]
    record = res["ansible_facts"]["mde_report_host"]
    assert record["steps"] == {"assess": "ok", "third_party_av": "failed"}
    assert record["failure"]["reason"] == "no_third_party_av" and record["failure"]["step"] == "third_party_av"


@pytest.mark.parametrize(
    "args",
    [{"step": "nope"}, {"step": "onboard", "outcome": "weird"}, {"step": "onboard", "bogus": 1}, {}],
)
def test_bad_input_is_refused(args):
    res = run(args)
    assert res["failed"] is True and res["reason"] == "invalid_argument"

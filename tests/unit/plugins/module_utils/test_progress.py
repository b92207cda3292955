"""Recording the modules' verdicts (module_utils/_progress.py): the gate reads results, never messages."""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils._progress import apply, device_name, wave_verdict

STATE = {
    "hostname": "WS-01",
    "domain": {"joined": True, "name": "corp.example.com"},
    "diagnosis": {"compliant": True, "protected": True, "problems": []},
    "defender": {"mode": "passive"},
}


def test_a_step_without_reason_is_recorded_and_passes():
    record, verdict = apply({}, "h", results=[{"step": "onboard", "reason": None, "changed": True}])
    assert verdict is None
    assert record["steps"]["onboard"] == "changed"


def test_the_first_reason_stops_the_host_and_later_results_are_not_recorded():
    results = [
        {"step": "registry", "reason": None, "changed": True},
        {"step": "onboard", "reason": "onboarding_failed", "detail": "exit code 35", "failed": True},
        {"step": "verify_mode", "reason": None},
    ]
    record, verdict = apply({}, "h", results=results)
    assert verdict["reason"] == "onboarding_failed" and verdict["step"] == "onboard"
    assert verdict["family"] == "onboarding" and verdict["detail"] == "exit code 35"
    assert record["steps"] == {"registry": "changed", "onboard": "failed"}


def test_skipped_results_are_not_steps():
    record, verdict = apply({}, "h", results=[{"skipped": True, "changed": False}, {"step": "verify_mode"}])
    assert verdict is None and list(record["steps"]) == ["verify_mode"]


def test_a_failure_without_reason_is_a_host_error_or_a_crash():
    _r, verdict = apply({}, "h", results=[{"failed": True, "msg": "boom"}], step="onboard")
    assert verdict["reason"] == "host_error"
    _r, verdict = apply({}, "h", results=[{"failed": True, "msg": "MODULE FAILURE", "exception": "Traceback"}])
    assert verdict["reason"] == "module_failure"


def test_a_reboot_that_is_needed_and_not_allowed_records_the_host_as_waiting_for_it():
    pending = {"changed": False, "step": "reboot", "reason": None, "pending_reboot": True, "detail": "no consent"}
    results = [
        {"step": "registry", "reason": None, "changed": True},
        {"step": "onboard", "reason": None, "changed": True},
        pending,
        {"skipped": True},  # step 3 did not run
    ]
    record, verdict = apply({}, "h", results=results)
    assert verdict is None
    assert record["pending_reboot"] is True
    assert record["steps"] == {"registry": "changed", "onboard": "changed", "verify_mode": "not_run"}
    assert record["reboots"] == 0


def test_without_pending_reboot_a_host_is_not_recorded_as_waiting():
    record, _verdict = apply({}, "h", results=[{"step": "onboard", "reason": None, "changed": True}, {"skipped": True}])
    assert "pending_reboot" not in record


def test_a_reboot_that_failed_is_reboot_failed():
    _r, verdict = apply(
        {}, "h", results=[{"failed": True, "msg": "timed out"}], failed_action="ansible.windows.win_reboot"
    )
    assert (verdict["reason"], verdict["step"]) == ("reboot_failed", "verify_mode")


def test_the_assessment_records_state_plan_and_device_name():
    assess = dict(STATE, step="assess", reason=None, plan={"action": "done", "goal": "passive", "wave": False})
    record, verdict = apply({}, "h", results=[assess], step="assess")
    assert verdict is None
    assert record["rollout_group"] == "done" and record["plan"]["action"] == "done"
    assert record["device_name"] == "ws-01.corp.example.com"
    assert record["state"]["diagnosis"]["compliant"]


def test_an_unprotected_host_stays_flagged_until_a_read_shows_protection():
    plan = {"action": "repair", "goal": "active_by_design", "wave": True, "reason": "unprotected"}
    unprotected = dict(STATE, diagnosis={"compliant": False, "protected": False, "problems": []})
    record, _v = apply({}, "h", results=[dict(unprotected, step="assess", plan=plan)], step="assess")
    assert record["unprotected"] is True
    record, _v = apply(record, "h", results=[dict(STATE, step="verify_mode")])
    assert record["unprotected"] is False


def test_the_fleet_check_refuses_one_host_only():
    fleet = {"refused": {"b": {"reason": "duplicate_host", "detail": "same machine as a"}}}
    assess = dict(STATE, step="assess", plan={"action": "rollout", "wave": True})
    _rec, verdict = apply({}, "a", results=[assess], step="assess", fleet=fleet)
    assert verdict is None
    rec, verdict = apply({}, "b", results=[assess], step="assess", fleet=fleet)
    assert verdict["reason"] == "duplicate_host" and rec["rollout_group"] == "done"


def test_wave_results_give_each_host_its_own_verdict():
    wave = {"step": "confirm_edr", "hosts": {"a": {"reason": None}, "b": {"reason": "not_onboarded", "detail": "?"}}}
    assert apply({}, "a", wave_results=[wave])[1] is None
    assert apply({}, "b", wave_results=[wave])[1]["reason"] == "not_onboarded"
    # a host the wave could not ask for fails alone
    assert apply({}, "c", wave_results=[wave])[1]["reason"] == "host_error"


def test_a_wave_level_failure_is_every_hosts_failure():
    wave = {"step": "confirm_edr", "reason": "api_unauthorized", "failed": True, "msg": "401"}
    for host in ("a", "b"):
        assert apply({}, host, wave_results=[wave])[1]["reason"] == "api_unauthorized"


def test_a_wave_result_without_hosts_only_records_its_step():
    step, own = wave_verdict({"step": "intune", "changed": True}, "a")
    assert step == "intune" and own == {"changed": True, "step": "intune"}


def test_device_names_as_windows_allows_them():
    assert device_name({"hostname": "KÜCHE-PC", "domain": {"joined": False}}) == "küche-pc"
    assert device_name({"hostname": "", "domain": {}}) is None
    assert device_name({"hostname": 'bad"name', "domain": {}}) is None


def test_a_wave_stops_when_more_than_the_threshold_failed():
    from ansible_collections.mdeops.defender.plugins.module_utils._progress import judge_wave

    ok, bad = {"steps": {"onboard": "changed"}}, {"failure": {"reason": "sensor_not_running"}}
    # the canary: one host, any failure stops (100 % > 10 %)
    assert judge_wave({"c": bad}, 10)[:2] == (["c"], True)
    assert judge_wave({"c": ok}, 10)[:2] == ([], False)
    # Ansible's rule: more than the percentage; exactly the percentage goes on
    wave = {"h%02d" % i: (bad if i < 1 else ok) for i in range(10)}
    failed, stop, msg = judge_wave(wave, 10)
    assert (failed, stop) == (["h00"], False) and "goes on" in msg
    wave["h01"] = bad
    failed, stop, msg = judge_wave(wave, 10)
    assert (failed, stop) == (["h00", "h01"], True) and "stops here" in msg and "h00, h01" in msg
    # 0: any failure stops; an empty wave never does
    assert judge_wave({"a": ok, "b": bad}, 0)[1] is True
    assert judge_wave({}, 0)[:2] == ([], False)


def test_device_names_follow_the_api_modules_rule():
    """One rule for a usable device name: what the API modules would refuse is not recorded as one."""
    from ansible_collections.mdeops.defender.plugins.module_utils._wave_hosts import usable_name

    for hostname in ("WS-01", "KÜCHE-PC", "bad name", "a|b", "x" * 64, "ws-01."):
        state = {"hostname": hostname, "domain": {"joined": True, "name": "corp.example"}}
        assert device_name(state) == usable_name(hostname + ".corp.example"), hostname
    assert device_name({"hostname": "bad name", "domain": {}}) is None

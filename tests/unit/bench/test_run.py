"""The benchmark's fleet (tests/bench/run.py) and its pure figures, targets and tables (tests/bench/report.py)."""

from __future__ import annotations

import json

import pytest

from tests.bench import report, run
from tests.winsim import fleet, rules

RECAP = """\
PLAY RECAP *********************************************************************
localhost                  : ok=3    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
h0003-srv                  : ok=7    changed=2    unreachable=0    failed=0    skipped=3    rescued=0    ignored=0
h0001-ws                   : ok=5    changed=1    unreachable=0    failed=1    skipped=2    rescued=1    ignored=0
h0002-ws                   : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""


def job(
    rt: dict[str, int], tasks: dict[str, int], wall: float = 10.0, cpu: float = 5.0, reboot: dict | None = None
) -> dict:
    """A measured job as run.measure builds it, from per-host round trips and task results."""
    deltas = {
        h: {
            "commands": float(v),
            "http_requests": 7.0 * v,
            "reboot_commands": float((reboot or {}).get(h, 0)),
            "reboots": 1.0 if (reboot or {}).get(h) else 0.0,
            "bytes_in": 2048.0,
        }
        for h, v in rt.items()
    }
    recap = {"hosts": {h: {"ok": t} for h, t in tasks.items()}, "bad_hosts": []}
    out = report.job_figures(deltas, recap)
    out.update(wall_s=wall, cpu_s=cpu, sim_cpu_s=1.0, rc=0, recap=recap, converged=len(tasks))
    return out


# ----------------------------------------------------------------------------- the fleet
def test_parse_sizes():
    assert run.parse_sizes("50,200,500") == [50, 200, 500]
    assert run.parse_sizes(" 10, 10 ,200,") == [10, 200]
    with pytest.raises(ValueError):
        run.parse_sizes("0")
    with pytest.raises(ValueError):
        run.parse_sizes(",")


@pytest.mark.parametrize("n", [1, 5, 20, 50, 200, 500, 1001])
def test_mix_counts_add_up_and_follow_the_mix(n):
    counts = run.mix_counts(n)
    assert sum(counts) == n
    total = sum(entry[2] for entry in run.FLEET_MIX)
    for count, entry in zip(counts, run.FLEET_MIX, strict=True):
        assert abs(count - n * entry[2] / total) < 1


def test_make_fleet_has_every_host_class_with_delays_on_and_is_convergible():
    data = run.make_fleet(200, seed=3, time_scale=0.1)
    fleet.validate_fleet(data)
    assert data["time_scale"] == 0.1 and data["defaults"]["reboot_seconds"] > 0
    assert len(data["hosts"]) == 200
    assert data == run.make_fleet(200, seed=3, time_scale=0.1)
    assert run.make_fleet(200, seed=4) != data  # another seed, another order
    assert run.fleet_summary(data) == {"client": 130, "server": 40, "installer": 20, "reboot": 10}
    for name, settings in data["hosts"].items():
        state = fleet.new_state(name, fleet.host_settings(data, name))
        cls = report.host_class(name)
        assert settings["third_party_av"], name
        assert not state["defender"]["tamper_protection"], name
        assert rules.host_has_real_time_protection(state), name
        workstation = state["os"]["product_type"] == 1
        assert workstation == (cls == "client"), name
        # installer hosts are exactly Server 2012 R2/2016 (md4ws.msi); reboot hosts are already onboarded
        assert (state["os"]["build"] in (9600, 14393)) == (cls == "installer"), name
        assert rules.is_onboarded(state) == (cls == "reboot"), name
        if cls == "reboot":
            assert rules.derive_running_mode(state) == rules.NORMAL  # active until the value and a reboot


def test_converged_hosts_counts_passive_onboarded_hosts_of_the_org():
    av = [{"name": "CrowdStrike Falcon"}]
    states = {
        "ok": fleet.new_state("ok", {"os": "windows11_23h2", "third_party_av": av, "onboarded_org": run.ORG_ID}),
        "other": fleet.new_state(
            "other",
            {"os": "windows11_23h2", "third_party_av": av, "onboarded_org": "c0ffee00-1234-4abc-8def-0123456789ab"},
        ),
        "fresh": fleet.new_state("fresh", {"os": "windows11_23h2", "third_party_av": av}),
        "active": fleet.new_state("active", {"os": "server2022", "third_party_av": av, "onboarded_org": run.ORG_ID}),
    }
    assert run.converged_hosts(states) == 1


# ----------------------------------------------------------------------------- figures
def test_host_class_by_name():
    assert [report.host_class(h) for h in ("h0001-ws", "h0012-srv", "h0004-dl", "h0003-rb", "dc-01")] == [
        "client",
        "server",
        "installer",
        "reboot",
        "other",
    ]


def test_parse_recap_per_host_and_task_results():
    recap = report.parse_recap("noise\n" + RECAP)
    assert sorted(recap["hosts"]) == ["h0001-ws", "h0002-ws", "h0003-srv"]  # localhost is not a fleet host
    assert recap["bad_hosts"] == ["h0001-ws", "h0002-ws"]
    assert report.task_results(recap["hosts"]["h0003-srv"]) == 10  # ok 7 (changed among them) + skipped 3
    assert report.task_results(recap["hosts"]["h0001-ws"]) == 8  # ok + skipped + failed
    assert report.parse_recap("no recap at all")["hosts"] == {}


def test_counter_deltas_split_a_reboots_round_trips():
    before = {"a": {"commands": 2, "http_requests": 12, "raw": {"remove": 1}, "modules": {"m": 1}, "bytes_in": 1024},
              "b": {}}  # fmt: skip
    after = {
        "a": {"commands": 9, "http_requests": 55, "raw": {"remove": 1, "boot_time": 3, "reboot": 1}, "reboots": 1,
              "modules": {"m": 3, "n": 1}, "bytes_in": 1024 + 20480},
        "b": {"commands": 1, "http_requests": 6, "modules": {"m": 1}},
    }  # fmt: skip
    deltas = report.counter_deltas(before, after)
    assert deltas["a"] == {"commands": 7, "http_requests": 43, "reboot_commands": 4, "reboots": 1, "bytes_in": 20480}
    assert deltas["b"]["commands"] == 1 and deltas["b"]["reboot_commands"] == 0


def test_a_command_lost_to_a_reboot_is_the_reboots():
    # 8 commands: 3 module runs and 4 of win_reboot's raw commands ran; the 8th was in flight when the host went down
    after = {"a": {"commands": 8, "raw": {"boot_time": 2, "reboot": 1, "logon_check": 1}, "reboots": 1,
                   "modules": {"win_mde_info": 2, "win_mde_passive_mode": 1}}}  # fmt: skip
    assert report.counter_deltas({}, after)["a"]["reboot_commands"] == 5
    # without a reboot nothing is attributed to one: an unexplained command stays the host's own
    after["a"]["reboots"] = 0
    assert report.counter_deltas({}, after)["a"]["reboot_commands"] == 4


def test_job_figures_count_run_once_tasks_apart():
    recap = report.parse_recap(RECAP)
    deltas = {h: {"commands": 1.0, "http_requests": 7.0, "reboot_commands": 0.0, "reboots": 0.0, "bytes_in": 0.0}
              for h in recap["hosts"]}  # fmt: skip
    plain = report.job_figures(deltas, recap)
    assert plain["task_results"]["all"]["max"] == 10 and plain["run_once_results"] is None
    counted = report.job_figures(deltas, recap, {"hosts": {"h0003-srv": 4, "h0001-ws": 8}, "run_once": 6})
    assert counted["task_results"]["server"]["max"] == 4 and counted["task_results"]["client"]["max"] == 8
    assert counted["run_once_results"] == 6
    assert counted["task_results_counted_total"] == counted["task_results_recap_total"] == 18


def test_job_figures_per_class():
    rt = {"h0001-ws": 2, "h0002-ws": 3, "h0003-srv": 3, "h0005-rb": 9}
    tasks = {"h0001-ws": 10, "h0002-ws": 10, "h0003-srv": 11, "h0005-rb": 14}
    j = job(rt, tasks, reboot={"h0005-rb": 6})
    assert j["hosts"] == 4
    assert j["round_trips"]["client"] == {"n": 2, "mean": 2.5, "median": 2.5, "min": 2.0, "max": 3.0}
    assert j["round_trips"]["all"]["max"] == 9 and j["round_trips_excl_reboot"]["reboot"]["max"] == 3
    assert j["task_results"]["all"]["mean"] == 11.25 and "installer" not in j["task_results"]
    assert j["reboots"] == 1


# ----------------------------------------------------------------------------- targets
def _by_id(targets: list[dict], size: int = 50) -> dict[str, dict]:
    return {t["id"]: t for t in targets if t["size"] == size}


def fleet_jobs(**overrides) -> dict[str, dict]:
    hosts = ("h0001-ws", "h0002-ws", "h0003-srv", "h0004-dl", "h0005-rb")
    jobs = {
        "rollout_first": job({"h0001-ws": 2, "h0002-ws": 2, "h0003-srv": 3, "h0004-dl": 6, "h0005-rb": 8},
                             dict.fromkeys(hosts, 10), wall=40, cpu=20, reboot={"h0005-rb": 5}),
        "rollout_rerun": job(dict.fromkeys(hosts, 1), dict.fromkeys(hosts, 3), wall=5, cpu=4),
        "baseline_first": job(dict.fromkeys(hosts, 11), dict.fromkeys(hosts, 12), wall=60, cpu=30),
        "baseline_rerun": job(dict.fromkeys(hosts, 5), dict.fromkeys(hosts, 9), wall=9, cpu=9),
        "rollout_one_wave": job(dict.fromkeys(hosts, 2), dict.fromkeys(hosts, 10), wall=30, cpu=18),
    }  # fmt: skip
    jobs.update(overrides)
    return jobs


def test_targets_met():
    jobs = fleet_jobs()
    targets = _by_id(report.check_targets({"50": {"jobs": jobs, "ratios": report.compare(jobs)}}))
    assert {t["status"] for t in targets.values()} == {"met"}, targets
    assert targets["first_rt_server"]["value"] == 3  # the reboot host: 8 - 5 reboot round trips
    assert "installer hosts excepted: max 6" in targets["first_rt_server"]["note"]
    assert targets["rerun_cpu_vs_baseline"]["value"] == 2.25
    assert targets["one_wave_wall_s_vs_baseline"]["value"] == 2.0


def test_targets_missed():
    hosts = ("h0001-ws", "h0003-srv")
    jobs = fleet_jobs(
        rollout_first=job({"h0001-ws": 3, "h0003-srv": 4}, dict.fromkeys(hosts, 13), wall=70, cpu=31),
        rollout_rerun=job({"h0001-ws": 1, "h0003-srv": 2}, dict.fromkeys(hosts, 4), wall=5, cpu=5),
        rollout_one_wave=job(dict.fromkeys(hosts, 2), dict.fromkeys(hosts, 10), wall=50, cpu=25),
    )
    targets = _by_id(report.check_targets({"50": {"jobs": jobs}}))
    missed = {k for k, t in targets.items() if t["status"] == "MISSED"}
    assert missed == {
        "rerun_tasks", "rerun_rt", "first_tasks", "first_rt_client", "first_rt_server", "first_wall_s_vs_baseline",
        "first_cpu_s_vs_baseline", "one_wave_wall_s_vs_baseline",
        "rerun_cpu_vs_baseline",
    }  # fmt: skip
    assert targets["first_one_wave_tasks"]["status"] == "met"


def test_ratios_are_collection_over_baseline():
    ratios = report.compare(fleet_jobs())
    assert ratios["rerun"]["controller_cpu"] == round(4 / 9, 3) and ratios["rerun"]["wall"] == round(5 / 9, 3)
    assert ratios["first (one wave)"]["wall"] == 0.5
    assert report.ratio(1.0, 0) is None and report.ratio(None, 1.0) is None


# ----------------------------------------------------------------------------- rendering
def results_of(jobs: dict) -> dict:
    results = {
        "meta": {"date": "2026-12-04", "machine": "vm", "cpus": 2, "python": "3.12.1", "ansible_core": "2.21.5",
                 "forks": 50, "time_scale": 0.1, "load_before": [1.0, 2.0, 3.0], "load_after": [2.0, 2.0, 2.0]},
        "sizes": {"50": {"jobs": jobs, "ratios": report.compare(jobs)}},
    }  # fmt: skip
    results["targets"] = report.check_targets(results["sizes"])
    return results


def test_render_text_and_markdown():
    results = results_of(fleet_jobs())
    text = report.render(results)
    assert "rollout_one_wave" in text and "time_scale 0.1" in text and "forks 50" in text
    assert "3.00 (3.00/-/-/-)" not in text and "10.00 (10.00/10.00/10.00/10.00)" in text
    assert "met" in text and "0.50 (2.00x)" in text
    md = report.render(results, report.md_table)
    assert "| hosts | job |" in md and "|---|" in md


def test_from_json_rerenders_without_measuring(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps(results_of(fleet_jobs())))
    assert run.main(["--from-json", str(source), "--out", str(tmp_path / "out")]) == 0
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {t["status"] for t in written["targets"]} == {"met"}
    assert "rerun: 2x less controller CPU" in (tmp_path / "out" / "results.md").read_text()


def test_profile_tasks_adds_the_task_timer_to_every_job(tmp_path):
    plain = run.ansible_env(tmp_path, tmp_path, callback=True)
    assert "profile_tasks" not in plain["ANSIBLE_CALLBACKS_ENABLED"]
    for callback in (True, False):
        env = run.ansible_env(tmp_path, tmp_path, callback=callback, profile=True)
        assert env["ANSIBLE_CALLBACKS_ENABLED"].split(",")[-1] == "ansible.posix.profile_tasks"
        assert env["PROFILE_TASKS_SORT_ORDER"] == "none" and env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] == "all"

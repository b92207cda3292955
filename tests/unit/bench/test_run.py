"""The pure parts of the benchmark driver (tests/bench/run.py): fleets, aggregation, targets, rendering."""

from __future__ import annotations

import json

import pytest

from tests.bench import run
from tests.winsim import fleet, rules

RECAP = """\
PLAY RECAP *********************************************************************
localhost                  : ok=3    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
srv0001                    : ok=25   changed=2    unreachable=0    failed=0    skipped=25   rescued=0    ignored=0
ws0001                     : ok=22   changed=1    unreachable=0    failed=1    skipped=24   rescued=1    ignored=0
ws0002                     : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""


def job(rt: list[int], http_per_rt: int = 6, wall: float = 10.0, cpu: float = 5.0, reboot: int = 0, rc: int = 0):
    deltas = {
        "h%d" % i: {
            "commands": float(v),
            "http_requests": float(v * http_per_rt),
            "reboot_commands": float(reboot),
            "module_runs": float(v),
            "reboots": 1.0 if reboot else 0.0,
        }
        for i, v in enumerate(rt)
    }
    out = run.aggregate(deltas)
    out.update(wall_s=wall, cpu_s=cpu, max_rss_mb=70.0, rc=rc, recap={"hosts": len(rt), "bad_hosts": []})
    return out


# ----------------------------------------------------------------------------- fleets
def test_parse_sizes():
    assert run.parse_sizes("10,100,500") == [10, 100, 500]
    assert run.parse_sizes(" 10, 10 ,200,") == [10, 200]
    with pytest.raises(ValueError):
        run.parse_sizes("0")
    with pytest.raises(ValueError):
        run.parse_sizes(",")


@pytest.mark.parametrize("n", [1, 5, 10, 20, 100, 500, 1001])
def test_mix_counts_add_up_and_follow_the_mix(n):
    counts = run.mix_counts(n)
    assert sum(counts.values()) == n
    total = sum(entry[2] for entry in run.FLEET_MIX)
    for os_key, _prefix, weight in run.FLEET_MIX:
        assert abs(counts[os_key] - n * weight / total) < 1


def test_make_fleet_is_valid_deterministic_and_convergible():
    data = run.make_fleet(100, seed=3)
    fleet.validate_fleet(data)
    assert len(data["hosts"]) == 100
    assert data == run.make_fleet(100, seed=3)
    assert run.make_fleet(100, seed=4) != data  # another seed, another order
    assert run.fleet_summary(data) == run.mix_counts(100)
    clients = servers = 0
    for name, settings in data["hosts"].items():
        state = fleet.new_state(name, fleet.host_settings(data, name))
        assert settings["third_party_av"], name
        assert state["os"]["build"] not in (9600, 14393), "no Server 2012 R2/2016: they need md4ws.msi"
        assert not rules.is_onboarded(state)
        assert not state["defender"]["tamper_protection"]
        assert rules.host_has_real_time_protection(state)
        if state["os"]["product_type"] == 1:
            clients += 1
            assert name.startswith("ws") and rules.derive_running_mode(state) == rules.NOT_RUNNING
        else:
            servers += 1
            assert name.startswith("srv") and rules.derive_running_mode(state) == rules.NORMAL
    assert (clients, servers) == (70, 30)
    assert len({s["third_party_av"][0]["name"] for s in data["hosts"].values()}) == len(run.AV_PRODUCTS)


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


# ----------------------------------------------------------------------------- aggregation
def test_counter_deltas_and_aggregate():
    before = {"a": {"commands": 2, "http_requests": 12, "raw": {"remove": 1}, "bytes_in": 1024}, "b": {}}
    after = {
        "a": {"commands": 9, "http_requests": 55, "raw": {"remove": 1, "boot_time": 3, "reboot": 1}, "reboots": 1,
              "modules": {"x.y.z": 2}, "bytes_in": 1024 + 20480, "bytes_out": 2048},
        "b": {"commands": 1, "http_requests": 6, "modules": {"x.y.z": 1}},
    }  # fmt: skip
    deltas = run.counter_deltas(before, after)
    assert deltas["a"] == {
        "commands": 7,
        "http_requests": 43,
        "reboot_commands": 4,
        "module_runs": 2,
        "reboots": 1,
        "bytes_in": 20480,
        "bytes_out": 2048,
    }
    assert deltas["b"]["commands"] == 1 and deltas["b"]["reboot_commands"] == 0
    agg = run.aggregate(deltas)
    assert agg["hosts"] == 2
    assert agg["round_trips_per_host"] == {"mean": 4.0, "min": 1, "max": 7, "total": 8}
    assert agg["round_trips_excl_reboot_per_host"]["max"] == 3
    assert agg["http_requests_per_round_trip"] == round(49 / 8, 3)
    assert agg["hosts_by_round_trips"] == {"1": 1, "7": 1}
    assert agg["reboots"] == 1
    assert agg["kb_to_host_per_host"]["max"] == 20.0 and agg["kb_from_host_per_host"]["total"] == 2.0
    assert run.stats([]) == {"mean": 0.0, "min": 0.0, "max": 0.0, "total": 0.0}


def test_parse_recap_and_time_file():
    recap = run.parse_recap("noise\n" + RECAP)
    assert recap["hosts"] == 3  # localhost is not a fleet host
    assert recap["ok"] == 47 and recap["failed"] == 1 and recap["unreachable"] == 1
    assert recap["bad_hosts"] == ["ws0001", "ws0002"]
    assert run.parse_recap("no recap at all")["hosts"] == 0
    assert run.tasks_per_host(recap) == round((47 + 49 + 1) / 3, 1)
    assert run.tasks_per_host({"hosts": 0}) is None
    assert run.parse_time_file("Command exited with non-zero status 2\n12.50 9.10 1.20 70400\n") == {
        "wall_s": 12.5,
        "user_s": 9.1,
        "sys_s": 1.2,
        "max_rss_kb": 70400.0,
    }
    assert run.parse_time_file("garbage") is None


def test_ratios_are_collection_over_baseline():
    jobs = {
        "rollout_first": job([4, 6], wall=20.0, cpu=10.0),
        "baseline_first": job([12, 13], wall=10.0, cpu=8.0),
        "rollout_rerun": job([1, 1], wall=4.0),
        "baseline_rerun": job([4, 5], wall=8.0),
        "verify": job([1, 1], wall=2.0),
    }
    ratios = run.compare(jobs)
    assert set(ratios) == {"first_run", "rerun", "verify_vs_baseline_rerun"}
    assert ratios["first_run"]["round_trips"] == 0.4
    assert ratios["first_run"]["wall"] == 2.0 and ratios["first_run"]["controller_cpu"] == 1.25
    assert ratios["rerun"]["round_trips"] == round(1 / 4.5, 3)
    assert run.ratio(1.0, 0) is None and run.ratio(None, 1.0) is None


# ----------------------------------------------------------------------------- targets
def _by_id(targets, size=10):
    return {t["id"]: t for t in targets if t["size"] == size}


def test_targets_pass_and_miss():
    jobs = {
        "verify": job([1, 1, 1]),
        "rollout_first": job([4, 6, 10], reboot=3),  # 10 - 3 reboot round trips = 7
        "rollout_rerun": job([1, 1, 2]),
        "baseline_first": job([12, 13, 12], wall=30.0),
        "baseline_rerun": job([4, 5, 4], wall=12.0),
    }
    jobs["rollout_first"]["wall_s"] = 10.0
    jobs["rollout_rerun"]["wall_s"] = 8.0
    sizes = {"10": {"jobs": jobs, "ratios": run.compare(jobs)}}
    targets = _by_id(run.check_targets(sizes))
    assert targets["verify_1_rt"]["status"] == "PASS"
    assert targets["rerun_le_2"]["status"] == "PASS"
    assert targets["first_le_8"]["status"] == "PASS" and targets["first_le_8"]["value"] == 7
    assert targets["rt_3x_first_run"]["status"] == "MISS"  # 37 / 20 = 1.85x
    assert targets["wall_2x_first_run"]["status"] == "PASS"  # 30 / 10
    assert targets["rt_3x_rerun"]["status"] == "PASS"  # 13 / 4
    assert targets["wall_2x_rerun"]["status"] == "MISS"  # 12 / 8
    # no 500-host run: that target is not measured, not passed
    none = [t for t in run.check_targets(sizes) if t["id"] == "verify_500"]
    assert none and none[0]["status"] == "n/a"


def test_targets_verify_500_and_worst_host():
    jobs = {"verify": job([1] * 499 + [2])}
    jobs["verify"]["recap"] = {"hosts": 500, "bad_hosts": []}
    targets = _by_id(run.check_targets({"500": {"jobs": jobs, "ratios": {}}}), 500)
    assert targets["verify_1_rt"]["status"] == "MISS" and targets["verify_1_rt"]["value"] == 2
    assert targets["verify_500"]["status"] == "PASS"
    jobs["verify"]["recap"] = {"hosts": 500, "bad_hosts": ["ws0001"]}
    assert _by_id(run.check_targets({"500": {"jobs": jobs}}), 500)["verify_500"]["status"] == "MISS"


def test_render_text_and_markdown():
    jobs = {
        "verify": job([1, 1]),
        "rollout_first": job([4, 6]),
        "rollout_rerun": job([1, 1]),
        "baseline_first": job([12, 13]),
        "baseline_rerun": job([4, 5]),
    }
    results = {
        "meta": {"date": "2026-11-30", "machine": "vm", "cpus": 2, "python": "3.12.1", "ansible_core": "2.21.5",
                 "forks": 50, "load_before": [1.0, 2.0, 3.0], "load_after": [2.0, 2.0, 2.0]},
        "sizes": {"10": {"jobs": jobs, "ratios": run.compare(jobs)}},
        "adhoc": {"10": {"ansible.windows.win_ping": {"wall_s": 2.0, "http_requests_per_module_run": 6.0,
                                                      "round_trips_per_host": {"mean": 1.0}, "cpu_s": 3.0,
                                                      "recap_ok": 10}}},
    }  # fmt: skip
    results["targets"] = run.check_targets(results["sizes"])
    text = run.render(results)
    assert "rollout_first" in text and "5.00 (4-6)" in text and "PASS" in text and "MISS" in text
    assert "ansible.windows.win_ping" in text and "forks 50" in text
    md = run.render(results, run.md_table)
    assert "| hosts | job |" in md and "|---|" in md


def test_from_json_rerenders_without_measuring(tmp_path):
    results = {
        "meta": {"date": "d", "machine": "m", "cpus": 2, "python": "3", "ansible_core": "2", "forks": 50},
        "sizes": {"10": {"jobs": {"verify": job([1, 1])}, "ratios": {}}},
        "adhoc": {},
    }
    source = tmp_path / "in.json"
    source.write_text(json.dumps(results))
    assert run.main(["--from-json", str(source), "--out", str(tmp_path / "out")]) == 0
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert written["targets"][0]["id"] == "verify_1_rt" and written["targets"][0]["status"] == "PASS"
    assert "verify = 1 round trip per host" in (tmp_path / "out" / "results.md").read_text()


def test_make_fleet_latency_is_the_simulators_fault_on_every_host():
    assert "faults" not in run.make_fleet(10)["defaults"]
    data = run.make_fleet(10, latency_ms=150)
    fleet.validate_fleet(data)
    for name in data["hosts"]:
        assert fleet.host_settings(data, name)["faults"] == {"latency_ms": 150}

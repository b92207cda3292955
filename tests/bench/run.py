#!/usr/bin/env python
"""`make bench`: the collection's rollout against a naive public-role-style playbook, on one simulated fleet.

    python tests/bench/run.py [--sizes 50,200,500] [--forks 50] [--time-scale 0.1] [--quick]

For each fleet size N (default 50, 200, 500):

1. generate a fleet of N hosts (``make_fleet``): Windows 10/11 clients, Server 2019/2022, Server
   2012 R2/2016 that need md4ws.msi transferred and installed ("installer hosts"), and servers
   onboarded before ForceDefenderPassiveMode was set that need a reboot ("reboot hosts"); each
   host has a third-party antivirus. The fleet's ``time_scale`` (default 0.1) runs the
   simulated delays (Sense starting, msiexec, the reboot) at that fraction of their time;
2. run, measuring each: ``rollout_first`` (playbooks/rollout.yml as shipped), ``rollout_rerun``
   (the compliant fleet), ``verify`` (playbooks/verify.yml); the simulator restarts from the
   fleet file (fresh state): ``baseline_first`` and ``baseline_rerun``
   (tests/bench/baseline/baseline.yml); fresh state again: ``rollout_one_wave`` (one wave).

Per job: task results per host (ok + skipped + failed, as the PLAY RECAP counts them; the
bench_tasks callback in tests/bench/callback_plugins counts the run-once tasks apart, and its total
is checked against the PLAY RECAP's), WinRM round trips per host
(the simulator's counters), both per host class; wall time; controller CPU (user + sys of
ansible-playbook and the workers it reaped, from ``wait4``); the simulator's CPU (its own
process, read from /proc before and after); controller memory sampled every 0.5 s: the main
process's peak RSS and own CPU, and the workers' PSS (proportional set size: pages shared with the main
process after fork are split, not counted once per worker). Every job ends with the hosts
checked in the simulator's state: passive (or EDR block mode), onboarded to the organisation,
Sense running.

Results: ``reports/bench/results.json`` and ``results.md`` (reports/ is git-ignored); the tables
and the targets (met / MISSED) are printed. ``--quick``: one fleet of 20 hosts, every host class (a smoke run).
``--from-json``: re-render the tables and re-check the targets of a saved run.

Exit status: 0 when every job ran and converged (targets may be missed: that is a finding), 1
when a job failed or left hosts unconverged.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.bench import report  # noqa: E402
from tests.tools.local_fleet import ansible_settings, winsim_up_command  # noqa: E402

ORG_ID = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"  # the demo organisation (tests/winsim/fleets/demo.yml)
DEFAULT_SIZES = (50, 200, 500)
DEFAULT_FORKS = 50
#: Simulated seconds run at this fraction of real time: Sense's 15 s start takes 1.5 s.
DEFAULT_TIME_SCALE = 0.1
OUT_DIR = REPO_ROOT / "reports" / "bench"
BASELINE = REPO_ROOT / "tests" / "bench" / "baseline" / "baseline.yml"
START_TIMEOUT = 300.0
JOB_TIMEOUT = 4 * 3600.0
SAMPLE_INTERVAL = 0.5
PASSIVE_MODES = ("Passive Mode", "EDR Block Mode")

#: (os, name prefix = host class, weight in 20ths, extra host settings)
FLEET_MIX: tuple[tuple[str, str, int, dict[str, Any]], ...] = (
    ("windows10_22h2", "ws", 6, {}),
    ("windows11_23h2", "ws", 4, {}),
    ("windows11_24h2", "ws", 3, {}),
    ("server2019", "srv", 2, {}),
    ("server2022", "srv", 2, {}),
    ("server2012r2", "dl", 1, {}),
    ("server2016", "dl", 1, {}),
    # onboarded before ForceDefenderPassiveMode was set, no tamper protection: the value, then a reboot
    ("server2019", "rb", 1, {"onboarded_org": ORG_ID}),
)
AV_PRODUCTS = (
    "CrowdStrike Falcon",
    "SentinelOne",
    "Sophos Endpoint",
    "Trend Micro Apex One",
    "ESET Endpoint Antivirus",
    "Bitdefender Endpoint Security",
    "Trellix Endpoint Security",
    "Symantec Endpoint Protection",
)


# ============================================================================ the fleet
def parse_sizes(text: str) -> list[int]:
    """``"50,200,500"`` -> ``[50, 200, 500]`` (positive, de-duplicated, in the given order)."""
    out: list[int] = []
    for piece in str(text).split(","):
        piece = piece.strip()
        if not piece:
            continue
        value = int(piece)
        if value < 1:
            raise ValueError("a fleet size must be >= 1, got %d" % value)
        if value not in out:
            out.append(value)
    if not out:
        raise ValueError("no fleet size given")
    return out


def mix_counts(n: int) -> list[int]:
    """How many hosts of each FLEET_MIX entry in a fleet of ``n`` (largest remainder)."""
    total = sum(entry[2] for entry in FLEET_MIX)
    exact = [n * entry[2] / total for entry in FLEET_MIX]
    counts = [int(v) for v in exact]
    order = sorted(range(len(FLEET_MIX)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def make_fleet(n: int, seed: int = 0, time_scale: float = DEFAULT_TIME_SCALE) -> dict[str, Any]:
    """A fleet file (dict) of ``n`` hosts that the collection and the baseline can both converge.

    Host names end in the class (``report.CLASSES``): ``-ws`` clients, ``-srv`` Server 2019/2022,
    ``-dl`` Server 2012 R2/2016 (md4ws.msi), ``-rb`` servers onboarded before the passive-mode
    value (a reboot); the numbers are shuffled, so the waves (cut in sorted name order) get a mix
    of classes. Deterministic for a given ``seed``.
    """
    slots = [i for i, count in enumerate(mix_counts(n)) for _copy in range(count)]
    random.Random(seed).shuffle(slots)
    hosts: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(slots):
        os_key, prefix, _weight, extra = FLEET_MIX[entry]
        hosts["h%04d-%s" % (index + 1, prefix)] = {
            "os": os_key,
            "third_party_av": [{"name": AV_PRODUCTS[index % len(AV_PRODUCTS)]}],
            **extra,
        }
    defaults: dict[str, Any] = {
        "credentials": {"username": "ansible", "password": "Sim-Passw0rd!"},
        "defender_platform": "4.18.24090.11",
        "reboot_seconds": 30,
        "domain_joined": False,
    }
    return {"time_scale": time_scale, "defaults": defaults, "hosts": dict(sorted(hosts.items()))}


def fleet_summary(fleet: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in fleet["hosts"]:
        cls = report.host_class(name)
        out[cls] = out.get(cls, 0) + 1
    return out


def converged_hosts(states: dict[str, dict[str, Any]], org_id: str = ORG_ID) -> int:
    """Hosts that end passive (or EDR block), onboarded to ``org_id`` with Sense running."""
    from tests.e2e.invariants import onboarded_org
    from tests.winsim import rules

    return sum(
        1
        for state in states.values()
        if rules.derive_running_mode(state) in PASSIVE_MODES
        and rules.is_onboarded(state)
        and (onboarded_org(state) or "") == org_id.lower()
    )


# ============================================================================ running things
def log(msg: str) -> None:
    print("[bench] %s" % msg, flush=True)


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def read_counters(state_dir: Path) -> dict[str, dict]:
    out = {}
    for path in state_dir.glob("*.counters.json"):
        try:
            out[path.name[: -len(".counters.json")]] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out[path.name[: -len(".counters.json")]] = {}
    return out


def settled_counters(state_dir: Path, timeout: float = 15.0) -> dict[str, dict]:
    """Counters once the simulator has flushed them (two identical reads in a row)."""
    previous = read_counters(state_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = read_counters(state_dir)
        if current == previous:
            return current
        previous = current
    return previous


def read_states(state_dir: Path) -> dict[str, dict]:
    return {
        p.name[:-5]: json.loads(p.read_text(encoding="utf-8"))
        for p in state_dir.glob("*.json")
        if not p.name.endswith(".counters.json")
    }


def proc_cpu_seconds(pid: int) -> float | None:
    """user+sys CPU seconds of a running process (Linux /proc), None elsewhere."""
    try:
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError, IndexError):
        return None


class Simulator:
    """One ``python -m tests.winsim up`` process for a fleet."""

    def __init__(self, work: Path, fleet: dict[str, Any]) -> None:
        import yaml

        self.work = work
        self.fleet_path = work / "fleet.yml"
        self.fleet_path.write_text(yaml.safe_dump(fleet, sort_keys=False), encoding="utf-8")
        self.inventory = work / "inventory.yml"
        self.state_dir = work / "state"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.inventory.exists():
            self.inventory.unlink()
        cmd = winsim_up_command(self.fleet_path, self.inventory, self.state_dir, "--reset")
        with (self.work / "winsim.log").open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.inventory.is_file() and self.inventory.stat().st_size > 0):
            if self.proc.poll() is not None:
                raise RuntimeError("the simulator exited with %s; see %s" % (self.proc.returncode, self.work))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator wrote no inventory within %.0f s" % START_TIMEOUT)
            time.sleep(0.2)

    def cpu_seconds(self) -> float | None:
        return proc_cpu_seconds(self.proc.pid) if self.proc else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def _proc_kb(path: str, field: str) -> float | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()]
    except (OSError, ValueError):
        return []


class MemorySampler(threading.Thread):
    """Samples the controller: the main ansible-playbook process's RSS, its workers' PSS (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.stop_event = threading.Event()
        self.main_rss_kb = 0.0
        self.worker_pss_kb: list[float] = []  # one entry per live worker per sample
        self.total_kb = 0.0  # main RSS + every worker's PSS, peak
        self.workers_max = 0
        self.main_cpu_s = 0.0  # the main process's own CPU (not its workers'), last sample

    def run(self) -> None:
        while not self.stop_event.wait(SAMPLE_INTERVAL):
            main = _proc_kb("/proc/%d/status" % self.pid, "VmRSS")
            if main is None:
                continue
            own = proc_cpu_seconds(self.pid)
            self.main_cpu_s = own if own is not None else self.main_cpu_s
            workers = [_proc_kb("/proc/%d/smaps_rollup" % c, "Pss") for c in _children(self.pid)]
            live = [w for w in workers if w]
            self.main_rss_kb = max(self.main_rss_kb, main)
            self.worker_pss_kb += live
            self.workers_max = max(self.workers_max, len(live))
            self.total_kb = max(self.total_kb, main + sum(live))

    def figures(self) -> dict[str, Any]:
        mean = sum(self.worker_pss_kb) / len(self.worker_pss_kb) if self.worker_pss_kb else None
        return {
            "main_rss_peak_mb": round(self.main_rss_kb / 1024, 1),
            "worker_pss_mean_mb": None if mean is None else round(mean / 1024, 1),
            "workers_max": self.workers_max,
            "controller_total_peak_mb": round(self.total_kb / 1024, 1),
            "main_cpu_s": round(self.main_cpu_s, 2),
        }


def timed_run(argv: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]:
    """Run a playbook: wall time, CPU of it and its reaped workers (wait4), memory samples."""
    start = time.monotonic()
    with log_path.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        deadline = start + JOB_TIMEOUT
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise subprocess.TimeoutExpired(argv, JOB_TIMEOUT)
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop_event.set()
        sampler.join()
    wall = time.monotonic() - start
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "cpu_user_s": round(usage.ru_utime, 2),
        "cpu_sys_s": round(usage.ru_stime, 2),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "memory": sampler.figures(),
        "recap": report.parse_recap(text),
        "log": str(log_path),
    }


BENCH_CALLBACKS = REPO_ROOT / "tests" / "bench" / "callback_plugins"


def ansible_env(work: Path, collections_dir: Path, callback: bool, profile: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ansible_settings(collections_dir))
    env.update(
        ANSIBLE_SYSTEM_WARNINGS="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        ANSIBLE_CALLBACK_PLUGINS=str(BENCH_CALLBACKS),
    )
    env["ANSIBLE_CALLBACKS_ENABLED"] = "bench_tasks" + (",mdeops.defender.fleet_report" if callback else "")
    if profile:
        # every task's duration in the job's log, in playbook order (where a job's wall time goes)
        env["ANSIBLE_CALLBACKS_ENABLED"] += ",ansible.posix.profile_tasks"
        env.update(PROFILE_TASKS_SORT_ORDER="none", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    return env


def measure(name: str, sim: Simulator, argv: list[str], env: dict[str, str], logs: Path) -> dict[str, Any]:
    log("%-17s $ %s" % (name, " ".join(Path(a).name if a.startswith("/") else a for a in argv[:4]) + " ..."))
    counters_before = settled_counters(sim.state_dir)
    sim_cpu_before = sim.cpu_seconds()
    load_start = load_average()
    counted_file = logs / ("%s.tasks.json" % name)
    result = timed_run(argv, dict(env, BENCH_TASKS_FILE=str(counted_file)), logs / ("%s.log" % name))
    counters_after = settled_counters(sim.state_dir)
    sim_cpu_after = sim.cpu_seconds()
    counted = json.loads(counted_file.read_text(encoding="utf-8")) if counted_file.exists() else None
    deltas = report.counter_deltas(counters_before, counters_after)
    result.update(report.job_figures(deltas, result["recap"], counted))
    if result["task_results_counted_total"] not in (None, result["task_results_recap_total"]):
        log("%s: the task results counted (%s) differ from the PLAY RECAP's (%s)"
            % (name, result["task_results_counted_total"], result["task_results_recap_total"]))  # fmt: skip
    result["sim_cpu_s"] = (
        round(sim_cpu_after - sim_cpu_before, 2) if sim_cpu_before is not None and sim_cpu_after is not None else None
    )
    result["load_1m_start"] = load_start[0] if load_start else None
    result["converged"] = converged_hosts(read_states(sim.state_dir))
    mem = result["memory"]
    log(
        "%-17s rc %s, %.1f s wall, %.1f s ctl CPU, %s s sim CPU, tasks/host %.2f, RT/host %.2f (max %d), "
        "%d/%d hosts ok, %d passive, main RSS %s MB, worker PSS %s MB"
        % (name, result["rc"], result["wall_s"], result["cpu_s"], result["sim_cpu_s"],
           result["task_results"]["all"]["mean"], result["round_trips"]["all"]["mean"],
           result["round_trips"]["all"]["max"], len(result["recap"]["hosts"]) - len(result["recap"]["bad_hosts"]),
           len(result["recap"]["hosts"]), result["converged"], mem["main_rss_peak_mb"], mem["worker_pss_mean_mb"])
    )  # fmt: skip
    return result


def run_size(n: int, args: argparse.Namespace, work: Path, collections_dir: Path, packages: dict) -> dict[str, Any]:
    fleet = make_fleet(n, seed=args.seed, time_scale=args.time_scale)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    sim = Simulator(work, fleet)
    forks = ["-f", str(args.forks)]
    playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(sim.inventory)]
    report_dir = "mde_report_dir=%s" % (work / "fleet-reports")
    ours = ansible_env(work, collections_dir, callback=True, profile=args.profile_tasks)
    theirs = ansible_env(work, collections_dir, callback=False, profile=args.profile_tasks)
    rollout = [
        *playbook, "playbooks/rollout.yml", *forks,
        "-e", "mde_rollout_expected_org_id=%s" % ORG_ID,
        "-e", "mde_rollout_onboarding_package=%s" % packages["onboarding_zip"],
        "-e", "mde_rollout_installer=%s" % packages["installer"],
        "-e", "mde_rollout_allow_reboot=true",
        "-e", report_dir,
    ]  # fmt: skip
    one_wave = [*rollout, "-e", json.dumps({"mde_waves": ["100%"]})]
    verify = [
        *playbook,
        "playbooks/verify.yml",
        *forks,
        "-e",
        "mde_verify_expected_org_id=%s" % ORG_ID,
        "-e",
        report_dir,
    ]
    baseline = [
        *playbook, str(BASELINE), *forks,
        "-e", "baseline_onboarding_package=%s" % packages["onboarding_zip"],
        "-e", "baseline_installer=%s" % packages["installer"],
    ]  # fmt: skip
    jobs: dict[str, dict[str, Any]] = {}
    log("fleet of %d hosts, time_scale %s: %s" % (n, fleet["time_scale"], fleet_summary(fleet)))
    plan = [
        ("rollout_first", rollout, ours, False),
        ("rollout_rerun", rollout, ours, False),
        ("verify", verify, ours, False),
        ("baseline_first", baseline, theirs, True),
        ("baseline_rerun", baseline, theirs, False),
        ("rollout_one_wave", one_wave, ours, True),
    ]
    sim.start()
    try:
        for name, argv, env, reset in plan:
            if name not in args.jobs:
                continue
            if reset and jobs:
                log("fleet reset (fresh state from the same fleet file)")
                sim.stop()
                sim.start()
            jobs[name] = measure(name, sim, argv, env, logs)
    finally:
        sim.stop()
    return {"hosts": n, "fleet_mix": fleet_summary(fleet), "jobs": jobs, "ratios": report.compare(jobs)}


def versions() -> str:
    try:
        from importlib.metadata import version

        return version("ansible-core")
    except Exception:  # informative only
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="fleet sizes (default 50,200,500)")
    parser.add_argument("--forks", type=int, default=DEFAULT_FORKS, help="ansible forks for every job (default 50)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="the fleet's time_scale: real seconds per simulated second (default 0.1)",
    )
    parser.add_argument("--jobs", default=",".join(report.JOBS), help="the jobs to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smoke run: one fleet of 20 hosts (every host class)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fleet generator")
    parser.add_argument(
        "--profile-tasks",
        action="store_true",
        help="log every task's duration (ansible.posix.profile_tasks) in each job's log; costs a little CPU",
    )
    parser.add_argument("--out", default=str(OUT_DIR), help="where results.json/results.md go")
    parser.add_argument(
        "--from-json",
        metavar="RESULTS_JSON",
        help="measure nothing: re-render results.md and the tables (targets re-checked) from a results.json",
    )
    args = parser.parse_args(argv)
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        _write(out_dir, results)
        print(report.render(results))
        return 0
    args.sizes = parse_sizes("20" if args.quick else args.sizes)
    args.jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    unknown = sorted(set(args.jobs) - set(report.JOBS))
    if unknown:
        parser.error("unknown jobs %s; known: %s" % (unknown, ", ".join(report.JOBS)))

    sys.path.insert(0, str(REPO_ROOT / "tests" / "tools"))
    from collection_farm import ensure_farm  # type: ignore[import-not-found]

    from tests.winsim import packages as pkg

    collections_dir = ensure_farm()
    work_root = out_dir / "work"
    if work_root.exists():
        shutil.rmtree(work_root)
    packages = pkg.write_set(str(work_root / "packages"), ORG_ID)
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": "%s (%s)" % (platform.machine(), _cpu_model()),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ansible_core": versions(),
            "forks": args.forks,
            "sizes": args.sizes,
            "time_scale": args.time_scale,
            "git": _git_state(),
            "load_before": load_average(),
        },
        "sizes": {},
        "targets": [],
        "failures": [],
    }
    failures: list[str] = []
    started = time.monotonic()
    for n in args.sizes:
        try:
            data = run_size(n, args, work_root / ("fleet-%d" % n), collections_dir, packages)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log("size %d FAILED: %s" % (n, exc))
            failures.append("size %d: %s" % (n, exc))
            continue
        results["sizes"][str(n)] = data
        for name, job in data["jobs"].items():
            if job["rc"] != 0:
                failures.append("size %d: %s exited %s (see %s)" % (n, name, job["rc"], job["log"]))
            if job["converged"] != n:
                failures.append("size %d: %s left %d of %d hosts passive" % (n, name, n - job["converged"], n))
        results["failures"] = failures
        _write(out_dir, results)  # partial results survive a later failure
    results["meta"]["load_after"] = load_average()
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    _write(out_dir, results)
    print()
    print(report.render(results))
    log("results: %s, %s" % (out_dir / "results.json", out_dir / "results.md"))
    for failure in failures:
        log("FAILED: %s" % failure)
    return 1 if failures else 0


def _write(out_dir: Path, results: dict[str, Any]) -> None:
    results["targets"] = report.check_targets(results["sizes"])
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out_dir / "results.md").write_text(
        "# Benchmark results\n\n" + report.render(results, report.md_table), encoding="utf-8"
    )


def _git_state() -> str:
    """HEAD and whether the working tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.count("\n")
    except OSError:
        return "unknown"
    return "%s%s" % (head or "unknown", " + %d changed/untracked paths" % dirty if dirty else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())

"""The pure parts of `make bench` (tests/bench/run.py): per-host figures, targets, tables.

Nothing here runs anything; tests/unit/bench/test_report.py holds it. A job's figures come from
three sources: the simulator's per-host counters (WinRM round trips = Command..Signal exchanges),
the playbook output (the PLAY RECAP per host: task results = ok + skipped + failed), and the
process accounting of the run (wall, controller CPU, memory; tests/bench/run.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

#: Host classes of the bench fleet, by the end of their names (tests/bench/run.py FLEET_MIX).
CLASSES = {"ws": "client", "srv": "server", "dl": "installer", "rb": "reboot"}
CLASS_TITLES = {
    "client": "clients (Windows 10/11)",
    "server": "servers (2019/2022)",
    "installer": "installer hosts (2012 R2/2016, md4ws.msi)",
    "reboot": "servers that need a reboot (onboarded before the value)",
}
#: Raw commands that belong to a reboot (ansible.windows.win_reboot), see tests/winsim/raw.py.
REBOOT_RAW_KINDS = ("boot_time", "reboot", "reboot_abort", "logon_check")

#: The jobs, in the order they run.
JOBS = ("rollout_first", "rollout_rerun", "verify", "baseline_first", "baseline_rerun", "rollout_one_wave")
JOB_TITLES = {
    "rollout_first": "playbooks/rollout.yml as shipped (waves 1, 50, 100, 30 %, 100 %), first run",
    "rollout_rerun": "the same, rerun on the compliant fleet",
    "verify": "playbooks/verify.yml on the compliant fleet",
    "baseline_first": "tests/bench/baseline/baseline.yml, first run (fleet reset before)",
    "baseline_rerun": "the same, rerun",
    "rollout_one_wave": "playbooks/rollout.yml with one wave (mde_waves: ['100%']), first run (fleet reset before)",
}
#: (name, collection job, baseline job): ratios collection/baseline.
COMPARISONS = (
    ("first (shipped waves)", "rollout_first", "baseline_first"),
    ("first (one wave)", "rollout_one_wave", "baseline_first"),
    ("rerun", "rollout_rerun", "baseline_rerun"),
)


def host_class(name: str) -> str:
    """``h0007-srv`` -> ``server`` (the bench fleet's names end in their class)."""
    return CLASSES.get(name.rpartition("-")[2], "other")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


# ============================================================================ parsing
def counter_deltas(before: dict[str, dict], after: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Per host: round trips (with and without a reboot's), HTTP requests, reboots, bytes."""
    out = {}
    for host, now in after.items():
        then = before.get(host, {})
        raw_now, raw_then = now.get("raw") or {}, then.get("raw") or {}
        reboot = sum(_num(raw_now.get(k)) - _num(raw_then.get(k)) for k in REBOOT_RAW_KINDS)
        commands = _num(now.get("commands")) - _num(then.get("commands"))
        rebooted = _num(now.get("reboots")) - _num(then.get("reboots"))
        if rebooted:
            # A command the host accepted and never ran: in flight when it went down (win_reboot's poll
            # of the boot time, sent while the shutdown began; every shell dies with the machine,
            # tests/winsim/server.py). Without faults, a reboot is the only way a command is lost.
            ran = sum(_num(v) - _num(raw_then.get(k)) for k, v in raw_now.items())
            modules_now, modules_then = now.get("modules") or {}, then.get("modules") or {}
            ran += sum(_num(v) - _num(modules_then.get(k)) for k, v in modules_now.items())
            reboot += max(0.0, commands - ran)
        out[host] = {
            "commands": commands,
            "http_requests": _num(now.get("http_requests")) - _num(then.get("http_requests")),
            "reboot_commands": reboot,
            "reboots": rebooted,
            "bytes_in": _num(now.get("bytes_in")) - _num(then.get("bytes_in")),
        }
    return out


def parse_recap(text: str) -> dict[str, Any]:
    """The last PLAY RECAP of a playbook output: per fleet host (localhost left out) its counts."""
    hosts: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap, hosts = True, {}
            continue
        if not in_recap or ":" not in line or "=" not in line:
            continue
        host, _sep, rest = line.partition(":")
        fields = {}
        for part in rest.split():
            key, _sep, value = part.partition("=")
            if value.isdigit():
                fields[key] = int(value)
        if fields and host.strip() != "localhost":
            hosts[host.strip()] = fields
    bad = sorted(h for h, f in hosts.items() if f.get("failed") or f.get("unreachable"))
    return {"hosts": hosts, "bad_hosts": bad}


def task_results(fields: dict[str, int]) -> int:
    """Task results of one host in a PLAY RECAP: ok + skipped + failed (changed is part of ok)."""
    return fields.get("ok", 0) + fields.get("skipped", 0) + fields.get("failed", 0)


def stats(values: Iterable[float]) -> dict[str, float]:
    data = list(values)
    if not data:
        return {"n": 0, "mean": 0.0, "median": 0.0, "min": 0.0, "max": 0.0}
    return {
        "n": len(data),
        "mean": round(sum(data) / len(data), 2),
        "median": statistics.median(data),
        "min": min(data),
        "max": max(data),
    }


def per_class(values: dict[str, float]) -> dict[str, dict[str, float]]:
    """``stats`` of a per-host figure, for the whole fleet (``all``) and per host class."""
    out = {"all": stats(values.values())}
    for cls in CLASS_TITLES:
        picked = [v for h, v in values.items() if host_class(h) == cls]
        if picked:
            out[cls] = stats(picked)
    return out


def job_figures(
    deltas: dict[str, dict[str, float]], recap: dict[str, Any], counted: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The per-host figures of one job: round trips and task results, per class.

    ``counted`` is what the bench_tasks callback wrote: task results per host without the run-once
    tasks, and how many run-once results the run had. Without it the PLAY RECAP's counts are used
    (the run-once tasks then weigh on the one host Ansible ran them on).
    """
    rt = {h: d["commands"] for h, d in deltas.items() if d["commands"] or h in recap["hosts"]}
    rt_no_reboot = {h: d["commands"] - d["reboot_commands"] for h, d in deltas.items() if h in rt}
    recap_total = sum(task_results(f) for f in recap["hosts"].values())
    if counted and counted.get("hosts"):
        tasks = {h: float(counted["hosts"].get(h, 0)) for h in recap["hosts"]}
        run_once = int(counted.get("run_once") or 0)
    else:
        tasks = {h: float(task_results(f)) for h, f in recap["hosts"].items()}
        run_once = None
    return {
        "hosts": len(recap["hosts"]) or len(rt),
        "round_trips": per_class(rt),
        "round_trips_excl_reboot": per_class(rt_no_reboot),
        "task_results": per_class(tasks),
        "run_once_results": run_once,
        # the callback's count and the PLAY RECAP's must agree: they count the same results
        "task_results_recap_total": recap_total,
        "task_results_counted_total": None if run_once is None else int(sum(tasks.values())) + run_once,
        "http_requests_per_host": stats(d["http_requests"] for h, d in deltas.items() if h in rt),
        "kb_to_host_per_host": stats(round(d["bytes_in"] / 1024, 1) for h, d in deltas.items() if h in rt),
        "reboots": sum(d["reboots"] for d in deltas.values()),
    }


# ============================================================================ targets
def ratio(ours: float | None, theirs: float | None) -> float | None:
    """collection / baseline (below 1: the collection needs less)."""
    if ours is None or theirs is None or not theirs:
        return None
    return round(ours / theirs, 3)


def compare(jobs: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    out = {}
    for name, ours, theirs in COMPARISONS:
        a, b = jobs.get(ours), jobs.get(theirs)
        if a and b:
            out[name] = {
                "wall": ratio(a["wall_s"], b["wall_s"]),
                "controller_cpu": ratio(a["cpu_s"], b["cpu_s"]),
                "sim_cpu": ratio(a.get("sim_cpu_s"), b.get("sim_cpu_s")),
                "round_trips": ratio(a["round_trips"]["all"]["mean"], b["round_trips"]["all"]["mean"]),
                "task_results": ratio(a["task_results"]["all"]["mean"], b["task_results"]["all"]["mean"]),
            }
    return out


def _target(tid: str, size: int, text: str, value: Any, limit: str, ok: bool | None, note: str = "") -> dict:
    status = "n/a" if ok is None else ("met" if ok else "MISSED")
    return {"id": tid, "size": size, "target": text, "value": value, "limit": limit, "status": status, "note": note}


def _class_max(job: dict[str, Any], figure: str, classes: tuple[str, ...]) -> float | None:
    found = [job[figure][c]["max"] for c in classes if c in job[figure]]
    return max(found) if found else None


def _task_target(tid: str, n: int, label: str, job: dict[str, Any], limit: int) -> dict[str, Any]:
    """Task results per host, the worst host; the run-once tasks (pre-flight, fleet check, a wave-wide
    step that is off) are results of the run, counted apart (``run_once_results``)."""
    tasks = job["task_results"]
    classes = [c for c in CLASS_TITLES if c in tasks]
    note = "max per class: %s; + %s run-once for the run" % (
        ", ".join("%s %s" % (c, _fmt(tasks[c]["max"])) for c in classes),
        _fmt(job.get("run_once_results")),
    )
    worst = tasks["all"]["max"]
    return _target(tid, n, "%s: <= %d task results per host" % (label, limit), worst, "max <= %d" % limit,
                   worst <= limit, note)  # fmt: skip


def _faster(ours: dict | None, theirs: dict | None, key: str) -> float | None:
    """How many times less ``key`` (wall_s, cpu_s) the collection's job needed than the baseline's."""
    if not ours or not theirs or not ours.get(key):
        return None
    return round(theirs[key] / ours[key], 2)


def check_targets(sizes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The performance targets, per fleet size; a job that was not measured gives ``n/a``."""
    out = []
    for key in sorted(sizes, key=int):
        n, jobs = int(key), sizes[key].get("jobs", {})
        first, rerun, one = jobs.get("rollout_first"), jobs.get("rollout_rerun"), jobs.get("rollout_one_wave")
        base_first, base_rerun = jobs.get("baseline_first"), jobs.get("baseline_rerun")
        if rerun:
            out.append(_task_target("rerun_tasks", n, "rerun", rerun, 3))
            worst = rerun["round_trips"]["all"]["max"]
            out.append(_target("rerun_rt", n, "rerun: 1 round trip per host", worst, "max == 1", worst == 1))
        for name, job in (("first", first), ("first one wave", one)):
            if job:
                out.append(_task_target(name.replace(" ", "_") + "_tasks", n, name, job, 12))
        if first:
            client = _class_max(first, "round_trips_excl_reboot", ("client",))
            server = _class_max(first, "round_trips_excl_reboot", ("server", "reboot"))
            installer = _class_max(first, "round_trips_excl_reboot", ("installer",))
            if client is not None:
                out.append(_target("first_rt_client", n, "first rollout: <= 2 round trips per client", client,
                                   "max <= 2", client <= 2))  # fmt: skip
            if server is not None:
                out.append(_target("first_rt_server", n, "first rollout: <= 3 round trips per server", server,
                                   "max <= 3 (a reboot's own round trips excluded)", server <= 3,
                                   "installer hosts excepted: max %s" % installer))  # fmt: skip
        for key_, label in (("wall_s", "wall"), ("cpu_s", "controller CPU")):
            factor = _faster(first, base_first, key_)
            if factor is not None:
                out.append(_target("first_%s_vs_baseline" % key_, n, "first rollout (shipped waves): %s <= baseline"
                                   % label, factor, "baseline/ours >= 1.0", factor >= 1.0))  # fmt: skip
        factor = _faster(one, base_first, "wall_s")
        if factor is not None:
            out.append(_target("one_wave_wall_s_vs_baseline", n, "first rollout (one wave): 1.5x faster than the "
                               "baseline", factor, "baseline/ours wall >= 1.5", factor >= 1.5))  # fmt: skip
        factor = _faster(rerun, base_rerun, "cpu_s")
        if factor is not None:
            out.append(_target("rerun_cpu_vs_baseline", n, "rerun: 2x less controller CPU than the baseline's rerun",
                               factor, "baseline/ours >= 2.0", factor >= 2.0))  # fmt: skip
    return out


# ============================================================================ rendering
def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value.is_integer() and digits <= 1:
            return "%d" % value
        return ("%%.%df" % digits) % value
    return str(value)


def _by_class(fig: dict[str, dict[str, float]]) -> str:
    """``mean`` for the fleet, then ``c/s/i/r`` class means (client, server, installer, reboot)."""
    parts = [_fmt(fig[c]["mean"], 2) if c in fig else "-" for c in CLASS_TITLES]
    return "%s (%s)" % (_fmt(fig["all"]["mean"], 2), "/".join(parts))


JOB_HEADER = [
    "hosts", "job", "wall s", "ctl CPU s", "sim CPU s", "tasks/host all (c/s/i/r)", "run-once",
    "RT/host all (c/s/i/r)",
    "reboots", "main RSS MB", "worker PSS MB", "workers", "ok/passive", "load 1m",
]  # fmt: skip


def job_rows(size_key: str, jobs: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name in JOBS:
        job = jobs.get(name)
        if not job:
            continue
        mem = job.get("memory") or {}
        ok = len(job["recap"]["hosts"]) - len(job["recap"]["bad_hosts"])
        rows.append([
            size_key, name, _fmt(job["wall_s"], 1), _fmt(job["cpu_s"], 1), _fmt(job.get("sim_cpu_s"), 1),
            _by_class(job["task_results"]), _fmt(job.get("run_once_results")), _by_class(job["round_trips"]),
            _fmt(job.get("reboots"), 0),
            _fmt(mem.get("main_rss_peak_mb"), 0), _fmt(mem.get("worker_pss_mean_mb"), 1),
            _fmt(mem.get("workers_max"), 0),
            "%d/%s" % (ok, "-" if job.get("converged") is None else job["converged"]),
            _fmt(job.get("load_1m_start"), 2),
        ])  # fmt: skip
    return rows


RATIO_HEADER = ["hosts", "collection vs baseline", "wall", "ctl CPU", "sim CPU", "round trips", "task results"]


def ratio_rows(size_key: str, ratios: dict[str, dict[str, float | None]]) -> list[list[str]]:
    rows = []
    for name, values in ratios.items():
        cells = [size_key, name]
        for key in ("wall", "controller_cpu", "sim_cpu", "round_trips", "task_results"):
            r = values.get(key)
            cells.append("-" if r is None else "%.2f (%.2fx)" % (r, 1 / r if r else 0))
        rows.append(cells)
    return rows


TARGET_HEADER = ["status", "hosts", "target", "measured", "limit", "note"]


def target_rows(targets: list[dict[str, Any]]) -> list[list[str]]:
    return [[t["status"], str(t["size"]), t["target"], _fmt(t["value"], 2), t["limit"], t["note"]] for t in targets]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _column in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def render(results: dict[str, Any], table: Any = text_table) -> str:
    """The human summary (text tables, or markdown with ``table=md_table``)."""
    meta = results["meta"]
    parts = [
        "Benchmark %s on %s (%s CPUs), Python %s, ansible-core %s, forks %s, fleet time_scale %s; "
        "load average before: %s, after: %s"
        % (
            meta["date"],
            meta["machine"],
            meta["cpus"],
            meta["python"],
            meta["ansible_core"],
            meta["forks"],
            meta.get("time_scale"),
            " ".join(_fmt(x, 2) for x in meta.get("load_before", [])),
            " ".join(_fmt(x, 2) for x in meta.get("load_after", [])),
        )
    ]
    rows, rrows = [], []
    for key in sorted(results["sizes"], key=int):
        rows += job_rows(key, results["sizes"][key]["jobs"])
        rrows += ratio_rows(key, results["sizes"][key].get("ratios", {}))
    if rows:
        parts += [
            "Jobs (tasks = task results per host from the PLAY RECAP, ok+skipped+failed; RT = WinRM round trips "
            "per host; means for the fleet, then for clients/servers/installer hosts/reboot hosts; ok/passive = "
            "hosts without failure / hosts that ended passive and onboarded):",
            table(JOB_HEADER, rows),
        ]
    if rrows:
        parts += ["Collection / baseline (below 1: the collection needs less; in brackets: how many times less):",
                  table(RATIO_HEADER, rrows)]  # fmt: skip
    parts += ["Targets:", table(TARGET_HEADER, target_rows(results.get("targets", [])))]
    return "\n\n".join(parts) + "\n"

#!/usr/bin/env python
"""`make bench`: the collection against a naive public-role-style playbook, on the simulated fleet.

    python tests/bench/run.py [--sizes 10,100,500] [--adhoc-sizes 10,200] [--forks 50] [--quick]

For each fleet size N:

1. generate a fleet of N convergible hosts (``make_fleet``: Windows 10/11 clients and Server
   2019/2022, each with a third-party antivirus; no Server 2012 R2/2016, so no installer
   transfer), the demo organisation's onboarding packages, and start the simulator;
2. on that fleet state, measure (a) ``playbooks/verify.yml``, (b) ``playbooks/rollout.yml``
   (first run), (c) ``playbooks/rollout.yml`` again on the now compliant fleet;
3. restart the simulator from the same fleet file (fresh state) and measure (d) the baseline
   ``tests/bench/baseline/baseline.yml`` (first run) and (e) its rerun.

For each job: wall time, WinRM round trips per host (the simulator's ``commands`` counter: one
Command..Signal exchange each), HTTP requests per host, controller CPU time (user+sys of
ansible-playbook and all its children, from ``/usr/bin/time``, else ``RUSAGE_CHILDREN``
deltas), the peak memory (max RSS of the largest single process of the run - GNU time's %M:
the kernel reports the maximum over the process and its reaped descendants, not a sum), the
simulator's own CPU time, the PLAY RECAP totals and how many hosts ended passive and onboarded.

Also the issue-2 figure: HTTP requests per module run and wall time of one ad hoc module run
(``ansible.windows.win_ping``, ``mdeops.defender.win_mde_info``) on 10 and 200 hosts.

The same forks (``--forks``, default 50) are used for every job. Results go to
``reports/bench/results.json`` and ``results.md`` (reports/ is git-ignored); the table and the
PASS/MISS of every target are printed. ``--quick``: sizes 10, ad hoc size 10 (a smoke run).

Exit status: 0 when every job ran (targets may MISS: that is a finding, reported), 1 when a job
could not run or a fleet did not converge.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

ORG_ID = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"  # the demo organisation (tests/winsim/fleets/demo.yml)
DEFAULT_SIZES = (10, 100, 500)
DEFAULT_ADHOC_SIZES = (10, 200)
DEFAULT_FORKS = 50
OUT_DIR = REPO_ROOT / "reports" / "bench"
BASELINE = REPO_ROOT / "tests" / "bench" / "baseline" / "baseline.yml"
LEAN = REPO_ROOT / "tests" / "bench" / "lean" / "lean.yml"
START_TIMEOUT = 300.0
JOB_TIMEOUT = 4 * 3600.0

#: The jobs, in the order they run, and what they compare with.
JOBS = ("verify", "rollout_first", "rollout_rerun", "baseline_first", "baseline_rerun", "lean_first", "lean_rerun")
JOB_TITLES = {
    "verify": "collection verify.yml",
    "rollout_first": "collection rollout.yml, first run",
    "rollout_rerun": "collection rollout.yml, rerun (compliant fleet)",
    "baseline_first": "baseline, first run",
    "baseline_rerun": "baseline, rerun (compliant fleet)",
    "lean_first": "collection modules without the role's bookkeeping (tests/bench/lean), first run",
    "lean_rerun": "the same, rerun",
}
#: (name, collection job, baseline job): the ratios collection/baseline.
COMPARISONS = (
    ("first_run", "rollout_first", "baseline_first"),
    ("rerun", "rollout_rerun", "baseline_rerun"),
    ("verify_vs_baseline_rerun", "verify", "baseline_rerun"),
    ("lean_first_run", "lean_first", "baseline_first"),
    ("lean_rerun", "lean_rerun", "baseline_rerun"),
)
#: Raw commands that belong to a reboot (ansible.windows.win_reboot), see tests/winsim/raw.py.
REBOOT_RAW_KINDS = ("boot_time", "reboot", "reboot_abort", "logon_check")
ADHOC_MODULES = ("ansible.windows.win_ping", "mdeops.defender.win_mde_info")

# Realistic mix, in 20ths: Windows 10/11 clients and Server 2019/2022.
FLEET_MIX = (
    ("windows10_22h2", "ws", 7),
    ("windows11_23h2", "ws", 4),
    ("windows11_24h2", "ws", 3),
    ("server2019", "srv", 3),
    ("server2022", "srv", 3),
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
PASSIVE_MODES = ("Passive Mode", "EDR Block Mode")


# ============================================================================ pure parts
def parse_sizes(text: str) -> list[int]:
    """``"10,100,500"`` → ``[10, 100, 500]`` (positive, de-duplicated, in the given order)."""
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


def mix_counts(n: int, mix: Sequence[tuple[str, str, int]] = FLEET_MIX) -> dict[str, int]:
    """How many hosts of each OS in a fleet of ``n`` (largest remainder; every OS once n allows)."""
    total = sum(entry[2] for entry in mix)
    exact = {os_key: n * weight / total for os_key, _prefix, weight in mix}
    counts = {k: int(v) for k, v in exact.items()}
    for os_key in sorted(exact, key=lambda k: (-(exact[k] - counts[k]), k))[: n - sum(counts.values())]:
        counts[os_key] += 1
    return counts


def make_fleet(n: int, seed: int = 0, latency_ms: float = 0) -> dict[str, Any]:
    """A fleet file (dict) of ``n`` hosts that both the collection and the baseline can converge.

    Clients and servers as in ``FLEET_MIX``, each with a third-party antivirus with real-time
    protection (registered with Security Center on clients), no tamper protection, nothing
    onboarded yet, no Server 2012 R2/2016 (they would need md4ws.msi transferred). Host names
    ``ws0001``/``srv0001``...; deterministic for a given ``seed``. ``latency_ms`` delays every
    HTTP request of every host (the simulator's ``latency_ms`` fault), to stand for the time a
    real Windows host takes (a module run is 6 requests).
    """
    kinds = {os_key: prefix for os_key, prefix, _weight in FLEET_MIX}
    slots = [os_key for os_key, count in mix_counts(n).items() for _index in range(count)]
    random.Random(seed).shuffle(slots)
    hosts: dict[str, dict[str, Any]] = {}
    numbers = {"ws": 0, "srv": 0}
    for index, os_key in enumerate(slots):
        prefix = kinds[os_key]
        numbers[prefix] += 1
        hosts["%s%04d" % (prefix, numbers[prefix])] = {
            "os": os_key,
            "third_party_av": [{"name": AV_PRODUCTS[index % len(AV_PRODUCTS)]}],
        }
    defaults: dict[str, Any] = {
        "credentials": {"username": "ansible", "password": "Sim-Passw0rd!"},
        "defender_platform": "4.18.24090.11",
        "reboot_seconds": 2,
        "domain_joined": False,
    }
    if latency_ms:
        defaults["faults"] = {"latency_ms": latency_ms}
    return {"defaults": defaults, "hosts": hosts}


def fleet_summary(fleet: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for settings in fleet["hosts"].values():
        out[settings["os"]] = out.get(settings["os"], 0) + 1
    return dict(sorted(out.items()))


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def counter_deltas(before: dict[str, dict], after: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Per host: round trips, HTTP requests and reboot round trips between two counter snapshots.

    ``before``/``after`` map host name to the simulator's counters (``<host>.counters.json``).
    """
    out = {}
    for host, now in after.items():
        then = before.get(host, {})
        raw_now, raw_then = now.get("raw") or {}, then.get("raw") or {}
        reboot = sum(_num(raw_now.get(k)) - _num(raw_then.get(k)) for k in REBOOT_RAW_KINDS)
        modules_now, modules_then = now.get("modules") or {}, then.get("modules") or {}
        out[host] = {
            "commands": _num(now.get("commands")) - _num(then.get("commands")),
            "http_requests": _num(now.get("http_requests")) - _num(then.get("http_requests")),
            "reboot_commands": reboot,
            "module_runs": sum(_num(modules_now.get(m)) - _num(modules_then.get(m)) for m in modules_now),
            "reboots": _num(now.get("reboots")) - _num(then.get("reboots")),
            "bytes_in": _num(now.get("bytes_in")) - _num(then.get("bytes_in")),
            "bytes_out": _num(now.get("bytes_out")) - _num(then.get("bytes_out")),
        }
    return out


def stats(values: Iterable[float]) -> dict[str, float]:
    data = list(values)
    if not data:
        return {"mean": 0.0, "min": 0.0, "max": 0.0, "total": 0.0}
    return {
        "mean": round(sum(data) / len(data), 3),
        "min": min(data),
        "max": max(data),
        "total": sum(data),
    }


def aggregate(deltas: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per-host statistics of a job's counter deltas."""
    hosts = sorted(deltas)
    commands = [deltas[h]["commands"] for h in hosts]
    http = [deltas[h]["http_requests"] for h in hosts]
    without_reboot = [deltas[h]["commands"] - deltas[h]["reboot_commands"] for h in hosts]
    total_commands = sum(commands)
    return {
        "hosts": len(hosts),
        "round_trips_per_host": stats(commands),
        "round_trips_excl_reboot_per_host": stats(without_reboot),
        "http_requests_per_host": stats(http),
        "http_requests_per_round_trip": round(sum(http) / total_commands, 3) if total_commands else None,
        "module_runs_per_host": stats(deltas[h]["module_runs"] for h in hosts),
        # What the controller sent to each host (HTTP requests: payloads, files) and got back, in KB.
        "kb_to_host_per_host": stats(round(deltas[h].get("bytes_in", 0) / 1024, 1) for h in hosts),
        "kb_from_host_per_host": stats(round(deltas[h].get("bytes_out", 0) / 1024, 1) for h in hosts),
        "reboots": sum(deltas[h]["reboots"] for h in hosts),
        "hosts_by_round_trips": _histogram(commands),
    }


def _histogram(values: Iterable[float]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        key = str(int(v))
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def parse_recap(text: str) -> dict[str, Any]:
    """Totals of an ansible PLAY RECAP (and the hosts that failed or were unreachable)."""
    totals = {"hosts": 0, "ok": 0, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 0}
    bad: list[str] = []
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            totals = dict.fromkeys(totals, 0)
            bad = []
            continue
        if not in_recap or ":" not in line or "=" not in line:
            continue
        host, _sep, rest = line.partition(":")
        host = host.strip()
        fields = {}
        for part in rest.split():
            key, _sep, value = part.partition("=")
            if value.isdigit():
                fields[key] = int(value)
        if not fields or host == "localhost":
            continue
        totals["hosts"] += 1
        for key in totals:
            if key != "hosts":
                totals[key] += fields.get(key, 0)
        if fields.get("failed") or fields.get("unreachable"):
            bad.append(host)
    totals["bad_hosts"] = sorted(bad)
    return totals


def parse_time_file(text: str) -> dict[str, float] | None:
    """What ``/usr/bin/time -f '%e %U %S %M'`` wrote (the last line; earlier ones are warnings)."""
    for line in reversed(text.strip().splitlines()):
        parts = line.split()
        if len(parts) == 4:
            try:
                wall, user, system, rss = (float(p) for p in parts)
            except ValueError:
                continue
            return {"wall_s": wall, "user_s": user, "sys_s": system, "max_rss_kb": rss}
    return None


def ratio(collection: float | None, baseline: float | None) -> float | None:
    """collection / baseline (below 1: the collection needs less)."""
    if collection is None or baseline is None or not baseline:
        return None
    return round(collection / baseline, 3)


def compare(jobs: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """The ratios collection/baseline of each comparison whose two jobs were measured."""
    out = {}
    for name, ours, theirs in COMPARISONS:
        a, b = jobs.get(ours), jobs.get(theirs)
        if not a or not b:
            continue
        out[name] = {
            "round_trips": ratio(a["round_trips_per_host"]["mean"], b["round_trips_per_host"]["mean"]),
            "http_requests": ratio(a["http_requests_per_host"]["mean"], b["http_requests_per_host"]["mean"]),
            "wall": ratio(a["wall_s"], b["wall_s"]),
            "controller_cpu": ratio(a["cpu_s"], b["cpu_s"]),
            "max_rss": ratio(a.get("max_rss_mb"), b.get("max_rss_mb")),
            "kb_to_host": ratio(
                (a.get("kb_to_host_per_host") or {}).get("mean"), (b.get("kb_to_host_per_host") or {}).get("mean")
            ),
        }
    return out


def _target(tid: str, size: int | None, text: str, value: Any, limit: str, ok: bool | None, note: str = "") -> dict:
    status = "n/a" if ok is None else ("PASS" if ok else "MISS")
    return {"id": tid, "size": size, "target": text, "value": value, "limit": limit, "status": status, "note": note}


def check_targets(sizes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 6's targets, per fleet size; a missing measurement is ``n/a``."""
    out = []
    for key in sorted(sizes, key=int):
        n = int(key)
        jobs = sizes[key].get("jobs", {})
        ratios = sizes[key].get("ratios", {})
        verify, first, rerun = jobs.get("verify"), jobs.get("rollout_first"), jobs.get("rollout_rerun")
        if verify:
            worst = verify["round_trips_per_host"]["max"]
            out.append(_target("verify_1_rt", n, "verify = 1 round trip per host", worst, "max == 1", worst == 1))
        if rerun:
            worst = rerun["round_trips_per_host"]["max"]
            out.append(
                _target("rerun_le_2", n, "rerun on a compliant host <= 2 round trips", worst, "max <= 2", worst <= 2)
            )
        if first:
            worst = first["round_trips_excl_reboot_per_host"]["max"]
            reboots = first.get("reboots", 0)
            out.append(
                _target(
                    "first_le_8",
                    n,
                    "first rollout <= 8 round trips plus the reboot",
                    worst,
                    "max <= 8 (reboot round trips excluded)",
                    worst <= 8,
                    "%d reboot(s)" % reboots,
                )
            )
        for name, label in (("first_run", "first run"), ("rerun", "rerun")):
            r = ratios.get(name)
            if not r:
                continue
            rt = r.get("round_trips")
            factor = round(1 / rt, 2) if rt else None
            out.append(
                _target(
                    "rt_3x_" + name,
                    n,
                    "%s: >= 3x fewer round trips than the baseline" % label,
                    factor,
                    ">= 3.0",
                    None if factor is None else factor >= 3.0,
                )
            )
            wall = r.get("wall")
            factor = round(1 / wall, 2) if wall else None
            out.append(
                _target(
                    "wall_2x_" + name,
                    n,
                    "%s: >= 2x less wall time than the baseline" % label,
                    factor,
                    ">= 2.0",
                    None if factor is None else factor >= 2.0,
                )
            )
        if n >= 500 and verify:
            recap = verify.get("recap", {})
            ok = verify.get("rc") == 0 and recap.get("hosts") == n and not recap.get("bad_hosts")
            out.append(
                _target(
                    "verify_500",
                    n,
                    "500 hosts verified in one run",
                    "%s s" % verify["wall_s"],
                    "rc 0, every host answered",
                    ok,
                )
            )
    if not any(t["id"] == "verify_500" for t in out):
        out.append(_target("verify_500", None, "500 hosts verified in one run", None, "needs --sizes with 500", None))
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value.is_integer() and digits <= 1:
            return "%d" % value
        return ("%%.%df" % digits) % value
    return str(value)


def tasks_per_host(recap: dict[str, Any]) -> float | None:
    """Task results per fleet host (ok + skipped + failed in the PLAY RECAP): the controller's work."""
    if not recap.get("hosts"):
        return None
    return round((recap.get("ok", 0) + recap.get("skipped", 0) + recap.get("failed", 0)) / recap["hosts"], 1)


def job_rows(size_key: str, jobs: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name in JOBS:
        job = jobs.get(name)
        if not job:
            continue
        rt = job["round_trips_per_host"]
        http = job["http_requests_per_host"]
        recap = job.get("recap", {})
        rows.append(
            [
                size_key,
                name,
                _fmt(job["wall_s"], 1),
                "%s (%s-%s)" % (_fmt(rt["mean"], 2), _fmt(rt["min"]), _fmt(rt["max"])),
                _fmt(http["mean"], 1),
                _fmt((job.get("kb_to_host_per_host") or {}).get("mean"), 0),
                _fmt(job["cpu_s"], 1),
                _fmt(job.get("max_rss_mb"), 0),
                _fmt(job.get("sim_cpu_s"), 1),
                "%s/%s" % (recap.get("hosts", 0) - len(recap.get("bad_hosts", [])), recap.get("hosts", 0)),
                "-" if job.get("converged") is None else "%d/%d" % (job["converged"], job["hosts"]),
                _fmt(tasks_per_host(recap), 1),
                _fmt(job.get("load_1m_start"), 2),
            ]
        )
    return rows


JOB_HEADER = [
    "hosts",
    "job",
    "wall s",
    "RT/host mean (min-max)",
    "HTTP/host",
    "KB to host",
    "ctl CPU s",
    "max RSS MB",
    "sim CPU s",
    "ok hosts",
    "passive",
    "tasks/host",
    "load 1m",
]


def ratio_rows(size_key: str, ratios: dict[str, dict[str, float | None]]) -> list[list[str]]:
    rows = []
    for name, values in ratios.items():
        cells = [size_key, name]
        for key in ("round_trips", "http_requests", "kb_to_host", "wall", "controller_cpu", "max_rss"):
            r = values.get(key)
            cells.append("-" if r is None else "%.2f (%.1fx)" % (r, 1 / r if r else 0))
        rows.append(cells)
    return rows


RATIO_HEADER = ["hosts", "collection/baseline", "round trips", "HTTP", "KB to host", "wall", "ctl CPU", "max RSS"]


def adhoc_rows(adhoc: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for size_key in sorted(adhoc, key=int):
        for module, m in adhoc[size_key].items():
            rows.append(
                [
                    size_key,
                    module,
                    _fmt(m["wall_s"], 2),
                    _fmt(m["http_requests_per_module_run"], 2),
                    _fmt(m["round_trips_per_host"]["mean"], 2),
                    _fmt(m["cpu_s"], 1),
                    "%s/%s" % (m["recap_ok"], size_key),
                ]
            )
    return rows


ADHOC_HEADER = ["hosts", "ad hoc module", "wall s", "HTTP/module run", "RT/host", "ctl CPU s", "ok"]


def target_rows(targets: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            t["status"],
            "-" if t["size"] is None else str(t["size"]),
            t["target"],
            _fmt(t["value"], 2),
            t["limit"],
            t.get("note", ""),
        ]
        for t in targets
    ]


TARGET_HEADER = ["status", "hosts", "target", "measured", "limit", "note"]


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
        "Benchmark %s on %s (%s CPUs, %s), ansible-core %s, forks %s; load average before: %s, after: %s"
        % (
            meta["date"],
            meta["machine"],
            meta["cpus"],
            meta["python"],
            meta["ansible_core"],
            meta["forks"],
            " ".join(_fmt(x, 2) for x in meta.get("load_before", [])),
            " ".join(_fmt(x, 2) for x in meta.get("load_after", [])),
        )
        + ("; simulated latency %s ms per HTTP request" % _fmt(meta["latency_ms"], 0) if meta.get("latency_ms") else "")
    ]
    rows, rrows = [], []
    for key in sorted(results["sizes"], key=int):
        rows += job_rows(key, results["sizes"][key]["jobs"])
        rrows += ratio_rows(key, results["sizes"][key].get("ratios", {}))
    if rows:
        parts += [
            "Jobs (RT = WinRM round trips = simulator 'commands'; HTTP = HTTP requests):",
            table(JOB_HEADER, rows),
        ]
    if rrows:
        parts += [
            "Ratios collection/baseline (and how many times less the collection needs):",
            table(RATIO_HEADER, rrows),
        ]
    if results.get("adhoc"):
        parts += ["Ad hoc single-module runs (issue 2):", table(ADHOC_HEADER, adhoc_rows(results["adhoc"]))]
    parts += ["Targets (issue 6):", table(TARGET_HEADER, target_rows(results["targets"]))]
    return "\n\n".join(parts) + "\n"


def converged_hosts(states: dict[str, dict[str, Any]], org_id: str = ORG_ID) -> int:
    """Hosts that end passive (or EDR block), onboarded to ``org_id`` with Sense running."""
    from tests.e2e.invariants import onboarded_org
    from tests.winsim import rules

    count = 0
    for state in states.values():
        if (
            rules.derive_running_mode(state) in PASSIVE_MODES
            and rules.is_onboarded(state)
            and (onboarded_org(state) or "") == org_id.lower()
        ):
            count += 1
    return count


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
        cmd = [
            sys.executable,
            "-m",
            "tests.winsim",
            "up",
            "--fleet",
            str(self.fleet_path),
            "--inventory",
            str(self.inventory),
            "--state-dir",
            str(self.state_dir),
            "--reset",
        ]
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


def ansible_env(work: Path, collections_dir: Path, callback: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(collections_dir),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_DEPRECATION_WARNINGS="False",
        ANSIBLE_SYSTEM_WARNINGS="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        PATH="%s%s%s" % (Path(sys.executable).parent, os.pathsep, os.environ.get("PATH", "")),
    )
    if callback:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "mdeops.defender.fleet_report"
    return env


def timed_run(argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> dict[str, Any]:
    """Run a command; wall time, CPU (user+sys, children included) and max RSS; output to log_path."""
    time_bin = shutil.which("time", path="/usr/bin:/bin")
    time_file = log_path.with_suffix(".time")
    cmd = [time_bin, "-f", "%e %U %S %M", "-o", str(time_file), *argv] if time_bin else list(argv)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with log_path.open("wb") as out:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=JOB_TIMEOUT, check=False
        )
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    measured = parse_time_file(time_file.read_text()) if time_bin and time_file.exists() else None
    if measured:
        cpu, rss_mb, source = measured["user_s"] + measured["sys_s"], measured["max_rss_kb"] / 1024, "/usr/bin/time"
        user, system = measured["user_s"], measured["sys_s"]
    else:
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        cpu, rss_mb, source = user + system, None, "RUSAGE_CHILDREN"
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_user_s": round(user, 2),
        "cpu_sys_s": round(system, 2),
        "max_rss_mb": None if rss_mb is None else round(rss_mb, 1),
        "cpu_source": source,
        "recap": parse_recap(text),
        "log": str(log_path.relative_to(REPO_ROOT)) if log_path.is_relative_to(REPO_ROOT) else str(log_path),
    }


def measure(
    name: str, sim: Simulator, argv: list[str], env: dict[str, str], logs: Path, converge: bool
) -> dict[str, Any]:
    log("%-15s $ %s" % (name, " ".join(Path(a).name if a.startswith("/") else a for a in argv[:4]) + " ..."))
    counters_before = settled_counters(sim.state_dir)
    sim_cpu_before = sim.cpu_seconds()
    load_start = load_average()
    result = timed_run(argv, env, logs / ("%s.log" % name), cwd=REPO_ROOT)
    counters_after = settled_counters(sim.state_dir)
    sim_cpu_after = sim.cpu_seconds()
    result.update(aggregate(counter_deltas(counters_before, counters_after)))
    result["sim_cpu_s"] = (
        round(sim_cpu_after - sim_cpu_before, 2) if sim_cpu_before is not None and sim_cpu_after is not None else None
    )
    result["load_1m_start"] = load_start[0] if load_start else None
    result["load_1m_end"] = (load_average() or [None])[0]
    result["converged"] = converged_hosts(read_states(sim.state_dir)) if converge else None
    recap = result["recap"]
    log(
        "%-15s rc %s, %.1f s wall, %.1f s CPU, RT/host %.2f (max %d), HTTP/host %.1f, %d/%d hosts ok%s"
        % (
            name,
            result["rc"],
            result["wall_s"],
            result["cpu_s"],
            result["round_trips_per_host"]["mean"],
            result["round_trips_per_host"]["max"],
            result["http_requests_per_host"]["mean"],
            recap["hosts"] - len(recap["bad_hosts"]),
            recap["hosts"],
            "" if result["converged"] is None else ", %d passive+onboarded" % result["converged"],
        )
    )
    return result


def run_size(n: int, args: argparse.Namespace, work: Path, collections_dir: Path, packages: dict) -> dict[str, Any]:
    fleet = make_fleet(n, seed=args.seed, latency_ms=args.latency_ms)
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    sim = Simulator(work, fleet)
    forks = ["-f", str(args.forks)]
    playbook = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(sim.inventory)]
    report_dir = str(work / "fleet-reports")
    ours = ansible_env(work, collections_dir, callback=True)
    theirs = ansible_env(work, collections_dir, callback=False)
    rollout = [
        *playbook,
        "playbooks/rollout.yml",
        *forks,
        "-e",
        "mde_rollout_expected_org_id=%s" % ORG_ID,
        "-e",
        "mde_rollout_onboarding_package=%s" % packages["onboarding_zip"],
        "-e",
        "mde_rollout_allow_reboot=true",
        "-e",
        "mde_report_dir=%s" % report_dir,
    ]
    if args.waves:
        rollout += ["-e", json.dumps({"mde_waves": args.waves})]
    verify = [
        *playbook,
        "playbooks/verify.yml",
        *forks,
        "-e",
        "mde_verify_expected_org_id=%s" % ORG_ID,
        "-e",
        "mde_report_dir=%s" % report_dir,
    ]
    baseline = [*playbook, str(BASELINE), *forks, "-e", "baseline_onboarding_package=%s" % packages["onboarding_zip"]]
    lean = [
        *playbook,
        str(LEAN),
        *forks,
        "-e",
        "lean_org_id=%s" % ORG_ID,
        "-e",
        "lean_package=%s" % packages["onboarding_zip"],
    ]
    jobs: dict[str, dict[str, Any]] = {}
    adhoc: dict[str, Any] = {}
    log("fleet of %d hosts: %s" % (n, fleet_summary(fleet)))
    sim.start()
    try:
        if n in args.adhoc_sizes:
            adhoc = run_adhoc(n, sim, args, collections_dir, logs)
        if n in args.sizes:
            jobs["verify"] = measure("verify", sim, verify, ours, logs, converge=False)
            jobs["rollout_first"] = measure("rollout_first", sim, rollout, ours, logs, converge=True)
            jobs["rollout_rerun"] = measure("rollout_rerun", sim, rollout, ours, logs, converge=True)
            sim.stop()
            log("fleet reset (fresh state from the same fleet file) for the baseline")
            sim.start()
            jobs["baseline_first"] = measure("baseline_first", sim, baseline, theirs, logs, converge=True)
            jobs["baseline_rerun"] = measure("baseline_rerun", sim, baseline, theirs, logs, converge=True)
            if args.lean:
                sim.stop()
                log("fleet reset again for the lean variant (the collection's modules without the role)")
                sim.start()
                plain = ansible_env(work, collections_dir, callback=False)
                jobs["lean_first"] = measure("lean_first", sim, lean, plain, logs, converge=True)
                jobs["lean_rerun"] = measure("lean_rerun", sim, lean, plain, logs, converge=True)
    finally:
        sim.stop()
    out: dict[str, Any] = {"hosts": n, "fleet_mix": fleet_summary(fleet), "work_dir": str(work)}
    if jobs:
        out["jobs"] = jobs
        out["ratios"] = compare(jobs)
    if adhoc:
        out["adhoc"] = adhoc
    return out


def run_adhoc(
    n: int, sim: Simulator, args: argparse.Namespace, collections_dir: Path, logs: Path
) -> dict[str, dict[str, Any]]:
    env = ansible_env(sim.work, collections_dir, callback=False)
    out = {}
    for module in ADHOC_MODULES:
        argv = [
            str(Path(sys.executable).parent / "ansible"),
            "all",
            "-i",
            str(sim.inventory),
            "-m",
            module,
            "-f",
            str(args.forks),
        ]
        name = "adhoc-" + module.rsplit(".", 1)[-1]
        counters_before = settled_counters(sim.state_dir)
        result = timed_run(argv, env, logs / ("%s.log" % name), cwd=REPO_ROOT)
        deltas = counter_deltas(counters_before, settled_counters(sim.state_dir))
        agg = aggregate(deltas)
        runs = sum(d["module_runs"] for d in deltas.values())
        http = sum(d["http_requests"] for d in deltas.values())
        text = (logs / ("%s.log" % name)).read_text(encoding="utf-8", errors="replace")
        ok = sum(1 for line in text.splitlines() if " | SUCCESS" in line)
        result.update(
            module=module,
            hosts=n,
            recap_ok=ok,
            round_trips_per_host=agg["round_trips_per_host"],
            http_requests_per_host=agg["http_requests_per_host"],
            module_runs=runs,
            http_requests_per_module_run=round(http / runs, 2) if runs else None,
        )
        log(
            "ad hoc %-30s %d hosts: %.2f s wall, %.2f HTTP requests per module run, %d/%d ok"
            % (module, n, result["wall_s"], result["http_requests_per_module_run"] or 0, ok, n)
        )
        out[module] = result
    return out


def versions() -> tuple[str, str]:
    try:
        from importlib.metadata import version

        return version("ansible-core"), version("ansible")
    except Exception:  # informative only
        return "?", "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="fleet sizes (default 10,100,500)")
    parser.add_argument(
        "--adhoc-sizes",
        default=",".join(map(str, DEFAULT_ADHOC_SIZES)),
        help="fleet sizes of the ad hoc single-module runs (default 10,200)",
    )
    parser.add_argument("--forks", type=int, default=DEFAULT_FORKS, help="ansible forks for every job (default 50)")
    parser.add_argument("--quick", action="store_true", help="smoke run: size 10 only, ad hoc on 10 hosts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fleet generator")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="delay every HTTP request of every simulated host by this many ms (default 0: no latency)",
    )
    parser.add_argument(
        "--waves",
        type=json.loads,
        default=None,
        help="JSON list passed as mde_waves to rollout.yml (default: the playbook's own waves)",
    )
    parser.add_argument(
        "--no-lean",
        dest="lean",
        action="store_false",
        help="skip the lean variant (the collection's modules without the role's bookkeeping)",
    )
    parser.add_argument("--out", default=str(OUT_DIR), help="where results.json/results.md go")
    parser.add_argument(
        "--from-json",
        metavar="RESULTS_JSON",
        help="measure nothing: re-render results.md and the table (targets re-checked) from a results.json",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        out_dir = Path(args.out).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        _write(out_dir, results)
        print(render(results))
        return 0
    if args.quick:
        args.sizes, args.adhoc_sizes = "10", "10"
    args.sizes = parse_sizes(args.sizes)
    args.adhoc_sizes = parse_sizes(args.adhoc_sizes) if args.adhoc_sizes else []
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    sys.path.insert(0, str(REPO_ROOT / "tests" / "tools"))
    from collection_farm import ensure_farm  # type: ignore[import-not-found]

    from tests.winsim import packages as pkg

    collections_dir = ensure_farm()
    work_root = out_dir / "work"
    if work_root.exists():
        shutil.rmtree(work_root)
    packages = pkg.write_set(str(work_root / "packages"), ORG_ID)
    core, ansible = versions()
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": "%s %s (%s)" % (platform.node(), platform.machine(), _cpu_model()),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "ansible_core": core,
            "ansible": ansible,
            "forks": args.forks,
            "sizes": args.sizes,
            "adhoc_sizes": args.adhoc_sizes,
            "waves": args.waves or "playbook default [1, '10%', '30%', '100%']",
            "latency_ms": args.latency_ms,
            "memory_note": "max RSS = the largest single process of the run (GNU time %M), not a sum",
            "git": _git_state(),
            "load_before": load_average(),
        },
        "sizes": {},
        "adhoc": {},
        "targets": [],
        "failures": [],
    }
    failures: list[str] = []
    started = time.monotonic()
    for n in sorted(set(args.sizes) | set(args.adhoc_sizes)):
        try:
            data = run_size(n, args, work_root / ("fleet-%d" % n), collections_dir, packages)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log("size %d FAILED: %s" % (n, exc))
            failures.append("size %d: %s" % (n, exc))
            continue
        if "adhoc" in data:
            results["adhoc"][str(n)] = data.pop("adhoc")
        if "jobs" in data:
            results["sizes"][str(n)] = data
            for name, job in data["jobs"].items():
                if job["rc"] != 0:
                    failures.append("size %d: %s exited %s (see %s)" % (n, name, job["rc"], job["log"]))
                if job.get("converged") is not None and job["converged"] != n:
                    failures.append("size %d: %s left %d of %d hosts passive" % (n, name, job["converged"], n))
        _write(out_dir, results)  # partial results survive a later failure
    results["meta"]["load_after"] = load_average()
    results["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    results["failures"] = failures
    _write(out_dir, results)
    print()
    print(render(results))
    log("results: %s, %s" % (out_dir / "results.json", out_dir / "results.md"))
    for failure in failures:
        log("FAILED: %s" % failure)
    return 1 if failures else 0


def _write(out_dir: Path, results: dict[str, Any]) -> None:
    results["targets"] = check_targets(results["sizes"])
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out_dir / "results.md").write_text("# Benchmark results\n\n" + render(results, md_table), encoding="utf-8")


def _git_state() -> str:
    """HEAD and whether the working tree differs (other engineers may be changing it during a run)."""
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

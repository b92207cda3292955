#!/usr/bin/env python
"""`make demo`: start the simulated Windows fleet, run the collection against it, show the result.

1. Start `python -m tests.winsim up --fleet tests/winsim/fleets/demo.yml ...` in the
   background (fresh state, under reports/demo/), wait for its inventory.
2. Run every playbook of PLAYBOOKS that exists (rollout, then verify), with the fleet report
   callback when the collection has it.
3. Run the best read-only check available (the first of READ_ONLY_CHECKS whose module exists)
   and print one table row per host.
4. Stop the fleet (also on Ctrl-C or failure). The state files stay in reports/demo/state/.

Exit status 0 when the run completed and at least one host answered; the demo fleet has
hosts that fail on purpose, so per-host failures are content, not errors of the demo.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from collection_farm import ensure_farm  # noqa: E402  (sibling script)

FLEET = "tests/winsim/fleets/demo.yml"
WORK_DIR = REPO_ROOT / "reports" / "demo"
# The playbooks the demo runs, in order; the ones that do not exist yet are skipped.
PLAYBOOKS = ["playbooks/rollout.yml", "playbooks/verify.yml"]
FLEET_REPORT_CALLBACK = ("mdeops.defender.fleet_report", "plugins/callback/fleet_report.py")
# Read-only checks, best first: (module FQCN, repository file that must exist or None, columns).
# A column is (title, dotted path into the module result).
READ_ONLY_CHECKS: list[tuple[str, str | None, list[tuple[str, str]]]] = [
    (
        "mdeops.defender.win_mde_info",
        "plugins/modules/win_mde_info.py",
        [
            ("os", "os.caption"),
            ("defender", "defender.mode"),
            ("rtp", "defender.real_time_protection_enabled"),
            ("onboarded", "onboarding.onboarded"),
            ("protected", "diagnosis.protected"),
            ("problems", "diagnosis.reasons"),
        ],
    ),
    ("ansible.windows.win_ping", None, [("ping", "ping")]),
]
START_TIMEOUT = 90.0
RUN_TIMEOUT = 900.0


def log(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def start_fleet(inventory: Path, state_dir: Path, log_path: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "tests.winsim", "up",
        "--fleet", FLEET, "--inventory", str(inventory), "--state-dir", str(state_dir), "--reset",
    ]  # fmt: skip
    log("$ " + " ".join(cmd[1:]))
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the simulator exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        if inventory.is_file() and inventory.stat().st_size > 0:
            return proc
        time.sleep(0.2)
    stop_fleet(proc)
    raise RuntimeError(f"no inventory after {START_TIMEOUT:.0f}s:\n{log_path.read_text(errors='replace')}")


def stop_fleet(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log(f"fleet stopped (exit {proc.returncode})")


def ansible_env(collections_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(collections_dir),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_DEPRECATION_WARNINGS="False",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run_playbooks(inventory: Path, env: dict[str, str]) -> list[tuple[str, int]]:
    results = []
    callback, callback_file = FLEET_REPORT_CALLBACK
    pb_env = dict(env)
    if (REPO_ROOT / callback_file).is_file():
        pb_env["ANSIBLE_CALLBACKS_ENABLED"] = callback
    for playbook in PLAYBOOKS:
        if not (REPO_ROOT / playbook).is_file():
            log(f"{playbook}: not written yet - skipped")
            continue
        log(f"$ ansible-playbook -i {inventory.name} {playbook}")
        proc = subprocess.run(
            ["ansible-playbook", "-i", str(inventory), playbook],
            cwd=REPO_ROOT,
            env=pb_env,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        results.append((playbook, proc.returncode))
        log(f"{playbook}: exit {proc.returncode}")
    return results


def pick_check() -> tuple[str, list[tuple[str, str]]]:
    for module, required_file, columns in READ_ONLY_CHECKS:
        if required_file is None or (REPO_ROOT / required_file).is_file():
            return module, columns
    raise AssertionError("READ_ONLY_CHECKS has no fallback")


def dig(data: Any, dotted: str) -> str:
    for key in dotted.split("."):
        if not isinstance(data, dict) or key not in data:
            return ""
        data = data[key]
    if isinstance(data, list):
        return ",".join(str(item) for item in data) or "-"
    return "" if data is None else str(data)


def run_check(inventory: Path, env: dict[str, str]) -> tuple[int, list[str], list[list[str]]]:
    module, columns = pick_check()
    check_env = dict(env, ANSIBLE_LOAD_CALLBACK_PLUGINS="True", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cmd = ["ansible", "all", "-i", str(inventory), "-m", module, "--forks", "20"]
    log("$ " + " ".join(cmd) + "   (read-only)")
    proc = subprocess.run(
        cmd, cwd=REPO_ROOT, env=check_env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    try:
        report = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        print(proc.stdout + proc.stderr)
        raise RuntimeError(f"{module}: no JSON result from ansible (exit {proc.returncode})") from None
    hosts: dict[str, dict] = {}
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            hosts.update(task.get("hosts", {}))
    header = ["host", "status", *[column[0] for column in columns]]
    rows = []
    for name in sorted(hosts):
        result = hosts[name]
        if result.get("unreachable"):
            status = "UNREACHABLE"
        elif result.get("failed"):
            status = "FAILED"
        else:
            status = "changed" if result.get("changed") else "ok"
        cells = [dig(result, column[1]) for column in columns]
        if status in ("FAILED", "UNREACHABLE") and not any(cells):
            reason = f"[{result['reason']}] " if result.get("reason") else ""
            cells[-1] = (reason + str(result.get("msg", "")).splitlines()[0])[:90]
        rows.append([name, status, *cells])
    return proc.returncode, header, rows


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print(line)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print()


def main() -> int:
    if not (REPO_ROOT / FLEET).is_file() or not (REPO_ROOT / "tests" / "winsim" / "__main__.py").is_file():
        log(f"the simulated fleet is not there yet ({FLEET}, tests/winsim/__main__.py) - nothing to demo")
        return 1
    if WORK_DIR.exists():
        shutil.rmtree(WORK_DIR)
    WORK_DIR.mkdir(parents=True)
    inventory, state_dir = WORK_DIR / "inventory.yml", WORK_DIR / "state"
    collections_dir = ensure_farm()
    env = ansible_env(collections_dir)
    started = time.monotonic()
    proc = start_fleet(inventory, state_dir, WORK_DIR / "winsim.log")
    try:
        log(f"fleet up ({time.monotonic() - started:.1f}s); inventory {inventory.relative_to(REPO_ROOT)}")
        playbook_results = run_playbooks(inventory, env)
        rc, header, rows = run_check(inventory, env)
    finally:
        stop_fleet(proc)
    print_table(header, rows)
    answered = sum(1 for r in rows if r[1] != "UNREACHABLE")
    counts = {s: sum(1 for r in rows if r[1] == s) for s in ("ok", "changed", "FAILED", "UNREACHABLE")}
    log(f"{len(rows)} hosts: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    for playbook, prc in playbook_results:
        log(f"{playbook}: exit {prc}")
    log(f"state files: {state_dir.relative_to(REPO_ROOT)}/  (simulator log: reports/demo/winsim.log)")
    if rc not in (0, 2, 4) or not answered:
        log(f"FAILED: ansible exit {rc}, {answered} host(s) answered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

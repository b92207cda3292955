#!/usr/bin/env python
"""`make demo`: start the simulated Windows fleet, run the collection against it, show the result.

1. Start `python -m tests.winsim up --fleet tests/winsim/fleets/demo.yml ...` in the
   background (fresh state, under reports/demo/), wait for its inventory.
2. Generate onboarding/offboarding packages for the demo organisation (and a stand-in
   md4ws.msi for Windows Server 2016) under reports/demo/packages/.
3. Run playbooks/rollout.yml (waves, fleet report), then playbooks/verify.yml, with the fleet
   report callback.
4. Print one row per host from the rollout's fleet report (outcome, Defender mode, protected,
   reason) with what the demo expects of that host, the totals of the audit, and the path of
   the HTML report.
5. Stop the fleet (also on Ctrl-C or failure). The state files stay in reports/demo/state/.

The demo fleet has hosts that are refused or fail on purpose: per-host failures are content.
Exit status 0 when every host ended as DEMO_EXPECTED says (so `make demo` is a smoke test too).
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
from local_fleet import ansible_settings, winsim_up_command  # noqa: E402  (sibling module)

FLEET = "tests/winsim/fleets/demo.yml"
WORK_DIR = REPO_ROOT / "reports" / "demo"
# The playbooks the demo runs, in order; the ones that do not exist yet are skipped.
PLAYBOOKS = ["playbooks/rollout.yml", "playbooks/verify.yml"]
DEMO_ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"  # the org of tests/winsim/fleets/demo.yml
# What each demo host must end as after the rollout: (outcome, Defender mode, reason, why).
DEMO_EXPECTED: dict[str, tuple[str, str | None, str | None, str]] = {
    "ws-w11-01": ("converged", "passive", None, "client + AV: passive once onboarded, no registry change"),
    "ws-w11-02": ("converged", "passive", None, "client + AV: passive once onboarded"),
    "ws-w10-01": ("converged", "passive", None, "client + AV: passive once onboarded"),
    "ws-w10-tp": ("converged", "passive", None, "tamper protection does not stop a client"),
    "ws-w10-noav": ("active_by_design", "active", "no_third_party_av", "no AV: onboarded, Defender stays active"),
    "ws-w10-nowsc": (
        "active_by_design",
        "active",
        "security_center_disabled",
        "Security Center off: onboarded, Defender stays active",
    ),
    "ws-w10-otherorg": ("refused", "passive", "wrong_org", "onboarded to another org: refused"),
    "ws-w7-legacy": ("refused", "not_installed", "unsupported_os", "Windows 7: skipped, reason given"),
    "srv-2016-01": ("converged", "passive", None, "value before onboarding + md4ws.msi"),
    "srv-2019-01": ("converged", "passive", None, "server: value set before onboarding"),
    "srv-2022-01": ("converged", "passive", None, "server + tamper protection: value before onboarding"),
    "srv-2022-tp": (
        "refused",
        "active",
        "tamper_protection_blocks_passive",
        "onboarded before, TP on: refused at assessment, left as is",
    ),
    "dc-01": ("converged", "passive", None, "domain controller: value before onboarding"),
    "srv-2025-down": ("unreachable", None, "unreachable", "switched off"),
}
FLEET_REPORT_CALLBACK = ("mdeops.defender.fleet_report", "plugins/callback/fleet_report.py")
START_TIMEOUT = 90.0
RUN_TIMEOUT = 900.0


def log(msg: str) -> None:
    print(f"[demo] {msg}", flush=True)


def start_fleet(inventory: Path, state_dir: Path, log_path: Path) -> subprocess.Popen:
    cmd = winsim_up_command(FLEET, inventory, state_dir, "--reset")
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
    env.update(ansible_settings(collections_dir))
    return env


def demo_vars(packages: dict[str, str]) -> dict[str, Any]:
    return {
        "mde_targets": "windows",
        "mde_report_dir": str(WORK_DIR / "reports"),
        "mde_rollout_expected_org_id": DEMO_ORG,
        "mde_rollout_onboarding_package": packages["onboarding_zip"],
        "mde_rollout_installer": packages["installer"],
        "mde_rollout_allow_reboot": True,
        "mde_verify_expected_org_id": DEMO_ORG,
    }


def run_playbooks(inventory: Path, env: dict[str, str], extra_vars: dict[str, Any]) -> list[tuple[str, int]]:
    results = []
    callback, callback_file = FLEET_REPORT_CALLBACK
    pb_env = dict(env)
    if (REPO_ROOT / callback_file).is_file():
        pb_env["ANSIBLE_CALLBACKS_ENABLED"] = callback
    for playbook in PLAYBOOKS:
        if not (REPO_ROOT / playbook).is_file():
            log(f"{playbook}: not written yet - skipped")
            continue
        log(f"$ ansible-playbook -i {inventory.name} {playbook} -e <demo vars>")
        proc = subprocess.run(
            ["ansible-playbook", "-i", str(inventory), playbook, "-e", json.dumps(extra_vars)],
            cwd=REPO_ROOT,
            env=pb_env,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        results.append((playbook, proc.returncode))
        log(f"{playbook}: exit {proc.returncode}")
    return results


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    print(line)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print()


def report_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]], int]:
    """Rows of the per-host table from the rollout's fleet report, checked against DEMO_EXPECTED."""
    header = ["host", "wave", "outcome", "mode", "protected", "reason", "expected", "why"]
    rows, mismatches = [], 0
    for host in sorted(report["hosts"], key=lambda h: h["name"]):
        expected = DEMO_EXPECTED.get(host["name"])
        got = (host["outcome"], host["mode"], host["reason"])
        ok = expected is not None and got == expected[:3]
        mismatches += 0 if ok else 1
        rows.append(
            [
                host["name"],
                "" if host["wave"] is None else str(host["wave"]),
                host["outcome"],
                str(host["mode"] or "-"),
                {True: "yes", False: "NO", None: "?"}[host["protected"]],
                host["reason"] or "-",
                "ok" if ok else "MISMATCH (expected %s)" % ((expected[:3],) if expected else "nothing"),
                expected[3] if expected else "",
            ]
        )
    return header, rows, mismatches


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
    sys.path.insert(0, str(REPO_ROOT))
    from tests.winsim import packages as demo_packages  # test infrastructure, imported once the path is set

    packages = demo_packages.write_set(str(WORK_DIR / "packages"), DEMO_ORG)
    log(f"packages for org {DEMO_ORG}: {Path(packages['onboarding_zip']).relative_to(REPO_ROOT)}")
    started = time.monotonic()
    proc = start_fleet(inventory, state_dir, WORK_DIR / "winsim.log")
    try:
        log(f"fleet up ({time.monotonic() - started:.1f}s); inventory {inventory.relative_to(REPO_ROOT)}")
        playbook_results = run_playbooks(inventory, env, demo_vars(packages))
    finally:
        stop_fleet(proc)
    reports = WORK_DIR / "reports"
    rollout_json = reports / "fleet-report.json"
    if not rollout_json.is_file():
        log("FAILED: the rollout left no fleet report")
        return 1
    header, rows, mismatches = report_rows(json.loads(rollout_json.read_text(encoding="utf-8")))
    print_table(header, rows)
    audit = reports / "verify-report.json"
    if audit.is_file():
        totals = json.loads(audit.read_text(encoding="utf-8"))["totals"]
        log(
            "audit after the rollout: %d hosts, %d compliant, %d protected, %d unprotected, modes %s"
            % (totals["hosts"], totals["compliant"], totals["protected"], totals["unprotected"], totals["by_mode"])
        )
    for playbook, prc in playbook_results:
        log(f"{playbook}: exit {prc} (hosts refused, failed or unreachable on purpose make it non-zero)")
    log(f"HTML report: {(reports / 'fleet-report.html').relative_to(REPO_ROOT)}")
    log(f"audit report: {(reports / 'verify-report.html').relative_to(REPO_ROOT)}")
    log(f"state files: {state_dir.relative_to(REPO_ROOT)}/  (simulator log: reports/demo/winsim.log)")
    if mismatches:
        log(f"FAILED: {mismatches} host(s) did not end as the demo expects")
        return 1
    log(f"every host ended as the demo expects ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
